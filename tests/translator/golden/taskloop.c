/* golden: taskloop with grainsize, taskgroup, taskwait depend. */
void axpy(int n, double a, const double *x, double *y)
{
    #pragma dag taskloop grainsize(256)
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
    #pragma dag taskgroup
    {
        #pragma dag task depend(out: y[0])
        y[0] = 0;
    }
    #pragma dag taskwait depend(in: y[0:n])
}
