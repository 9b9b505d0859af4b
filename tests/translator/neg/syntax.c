/* expect: error: expected ')' to match this '(' */
int main(void)
{
    int x = 0;
    #pragma dag task depend(out: x
    x = 1;
    return x;
}
