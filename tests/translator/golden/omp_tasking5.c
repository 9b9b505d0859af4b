/* golden: OpenMP 5 tasking with -fopenmp: reductions, iterators, depend objects,
 * omp_all_memory, taskyield, accepted hints, a VLA view in a parallel region. */
#include <omp.h>

#pragma omp declare reduction(mx2 : int, long : omp_out = omp_out > omp_in ? omp_out : omp_in)

void run(int *v, int n, int nx, int ny, double *buf)
{
    long best = 0, cnt = 0;
    omp_depend_t d;
    #pragma omp parallel
    #pragma omp single
    {
        #pragma omp taskloop reduction(mx2: best) reduction(+: cnt) num_tasks(4)
        for (int i = 0; i < n; i++) {
            best = v[i] > best ? v[i] : best;
            cnt++;
        }
        #pragma omp taskgroup task_reduction(+: cnt)
        {
            #pragma omp task in_reduction(+: cnt) mergeable affinity(v[0:n])
            cnt += v[0];
        }
        #pragma omp depobj(d) depend(inout: v[0])
        #pragma omp task depend(depobj: d) depend(iterator(j = 1:n), in: v[j])
        v[0] = (int)best;
        #pragma omp task depend(inout: omp_all_memory)
        {
            #pragma omp taskyield
            v[1] = (int)cnt;
        }
        #pragma omp taskwait
        #pragma omp depobj(d) destroy
        double (*u)[nx][ny] = (void *)buf;
        #pragma omp task
        (*u)[0][ny - 1] = nx;
    }
}
