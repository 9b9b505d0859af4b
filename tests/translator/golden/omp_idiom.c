/* golden: -fopenmp parallel+single becomes the sequential task flow; depend items get
 * DAG_DEP_BASEADDR; a parallel for is left to OpenMP. */
void work(double *a, int n)
{
    #pragma omp parallel
    #pragma omp single
    {
        #pragma omp task depend(out: a[0:n/2])
        for (int i = 0; i < n / 2; i++)
            a[i] = i;
        #pragma omp task depend(inout: a[0:n/2])
        a[0] += 1;
        #pragma omp taskwait
    }
    #pragma omp parallel for
    for (int i = 0; i < n; i++)
        a[i] *= 2;
}
