/* expect-warning: the task shares local variable 'x', whose lifetime may end before the task runs */
static void f(int *out)
{
    int x = 1;
    #pragma dag task shared(x) depend(out: out[0])
    out[0] = x;
}
int main(void)
{
    int o = 0;
    f(&o);
    #pragma dag taskwait
    return o == 1 ? 0 : 1;
}
