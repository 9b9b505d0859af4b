/* expect: variable 'x' appears in more than one data-sharing clause */
int main(void)
{
    int x = 0;
    #pragma dag task shared(x) firstprivate(x)
    x = 1;
    return 0;
}
