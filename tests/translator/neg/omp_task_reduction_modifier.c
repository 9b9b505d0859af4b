/* expect: the 'task' reduction modifier is not supported by dagcc */
int main(void)
{
    long x = 0;
    #pragma omp parallel
    #pragma omp single
    {
        #pragma omp taskgroup task_reduction(task, +: x)
        {
            #pragma omp task in_reduction(+: x) depend(inout: omp_all_memory)
            x++;
        }
    }
    return (int)x;
}
