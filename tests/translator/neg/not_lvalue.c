/* expect: depend item is not an lvalue or array section */
int main(void)
{
    int a[4] = {0};
    #pragma dag task depend(in: a[0] + 1)
    a[1] = 2;
    return 0;
}
