/* expect: clause 'checkpoint' is not allowed on '#pragma dag taskwait' */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x)
    x = 1;
    #pragma dag taskwait checkpoint(x)
    return x;
}
