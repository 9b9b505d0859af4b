/* expect: depend item is not an lvalue or array section */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x) checkpoint(x + 1)
    x = 1;
    return x;
}
