/* expect: clause 'depend' is not allowed on '#pragma dag taskyield' */
int main(void)
{
    int x = 0;
    #pragma dag taskyield depend(in: x)
    return x;
}
