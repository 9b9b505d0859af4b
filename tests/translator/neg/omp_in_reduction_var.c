/* expect: expected a variable name in 'task_reduction' clause */
int main(void)
{
    int a[4] = {0};
    #pragma omp parallel
    #pragma omp single
    {
        #pragma omp taskgroup task_reduction(+: a[1])
        a[1] = 1;
    }
    return a[1];
}
