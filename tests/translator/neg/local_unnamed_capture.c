/* expect: the type of 'u' is an unnamed struct, union or enum; a task cannot capture it */
int main(void)
{
    struct { int a, b; } u = {1, 2};
    int out = 0;
    #pragma dag task shared(out) firstprivate(u)
    out = u.a + u.b;
    #pragma dag taskwait
    return out == 3 ? 0 : 1;
}
