/* expect: the type of 'acc' is declared inside a function; a task cannot capture it as a reduction item */
int main(void)
{
    enum level { ZERO, ONE, TWO };
    enum level acc = ZERO;
    #pragma dag taskgroup task_reduction(+: acc)
    {
        #pragma dag task in_reduction(+: acc)
        acc += ONE;
    }
    return acc == ONE ? 0 : 1;
}
