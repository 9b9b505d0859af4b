/* expect: unknown clause 'bogus' on '#pragma dag task' */
int main(void)
{
    int x = 0;
    #pragma dag task bogus(x)
    x = 1;
    return x;
}
