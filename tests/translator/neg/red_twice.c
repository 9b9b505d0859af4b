/* expect: variable 'x' appears in more than one data-sharing or reduction clause */
int main(void)
{
    long x = 0;
    #pragma dag taskgroup task_reduction(+: x)
    {
        #pragma dag task shared(x) in_reduction(+: x)
        x += 1;
    }
    return (int)x;
}
