/* expect: expected 'begin : end [: step]' in 'iterator' */
int main(void)
{
    int a[8] = {0};
    #pragma dag task depend(iterator(i = 0), in: a[i]) shared(a)
    a[0] = 1;
    return a[0];
}
