/* golden: OpenMP 5 tasking in dag form: reductions (built-in, declared, task/in),
 * depend iterators, dependence objects, omp_all_memory, taskyield, a VLA view. */
#include <dag.h>

struct acc {
    double s;
    long n;
};

#pragma dag declare reduction(add : struct acc : omp_out.s += omp_in.s, omp_out.n += omp_in.n) \
    initializer(omp_priv = omp_orig)

static long hits;

void kernels(double *a, int n, int nx, int ny, double *buf)
{
    double sum = 0;
    struct acc acc = {0, 0};
    #pragma dag taskloop reduction(+: sum) reduction(add: acc) grainsize(16)
    for (int i = 0; i < n; i++) {
        sum += a[i];
        acc.s += a[i];
        acc.n++;
    }
    #pragma dag taskgroup task_reduction(+: hits)
    {
        #pragma dag task in_reduction(+: hits) untied
        hits++;
    }
    #pragma dag task depend(iterator(int i = 0:n:4), inout: a[i]) depend(in: omp_all_memory)
    a[0] = sum + acc.s;
    dag_depobj_t o;
    #pragma dag depobj(o) depend(in: a[0])
    #pragma dag task depend(depobj: o)
    {
        a[1] = a[0];
        #pragma dag taskyield
    }
    #pragma dag depobj(o) update(inout)
    #pragma dag depobj(o) destroy
    double (*u)[nx][ny] = (void *)buf;
    #pragma dag task shared(nx)
    (*u)[nx - 1][ny - 1] = nx;
    #pragma dag taskwait
}
