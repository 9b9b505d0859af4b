/* expect: the 'task' reduction modifier is not supported by dagcc */
int main(void)
{
    long x = 0;
    #pragma omp parallel
    #pragma omp single
    {
        #pragma omp taskloop reduction(task, +: x)
        for (int i = 0; i < 10; i++)
            x += i;
    }
    return (int)x;
}
