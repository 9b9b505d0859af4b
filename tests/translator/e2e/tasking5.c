/* OpenMP 5 tasking in `#pragma dag` form, checked against sequential results: taskloop
 * reductions (built-in and declared), taskgroup task_reduction with in_reduction tasks
 * (also created by descendants and in another function), depend(iterator(...)),
 * dependence objects, omp_all_memory, taskyield, untied / mergeable / affinity,
 * dag_in_final / dag_worker_id inside tasks, a pointer-to-VLA view read by a task.
 * ompcmp/tasking5.c is its `#pragma omp` twin and must stay a separate source: the
 * translator reads directives from the source text (a _Pragma made by a macro is not seen,
 * so one file cannot switch the family), the twin needs a parallel/single region and
 * prints what libgomp must print too, while this one checks itself against sequential
 * sums at a larger N and uses what gcc 12's libgomp lacks (omp_all_memory) and the dag_*
 * API (dag_depobj_t, dag_in_final, dag_worker_id). */
#include <dag.h>
#include <stdlib.h>

#include "check.h"

#define N 5000

struct stats {
    long n, sum, max;
};

static void stats_add(struct stats *o, const struct stats *i)
{
    o->n += i->n;
    o->sum += i->sum;
    o->max = i->max > o->max ? i->max : o->max;
}

#pragma dag declare reduction(merge : struct stats : stats_add(&omp_out, &omp_in)) \
    initializer(omp_priv = (struct stats){0, 0, -1})

static long gtotal;

static void spawn(int depth, long v)
{
    #pragma dag task in_reduction(+: gtotal)
    gtotal += v;
    if (depth > 0) {
        #pragma dag task
        spawn(depth - 1, v * 2);
    }
}

int main(void)
{
    static long a[N];
    long ssum = 0, smx = -1;
    for (int i = 0; i < N; i++) {
        a[i] = (i * 7919) % 1009;
        ssum += a[i];
        smx = a[i] > smx ? a[i] : smx;
    }
    for (int g = 1; g <= 257; g += 64) {
        long sum = 5, mx = -1;
        double dsum = 0;
        #pragma dag taskloop reduction(+: sum, dsum) reduction(max: mx) grainsize(g)
        for (int i = 0; i < N; i++) {
            sum += a[i];
            dsum += 0.5;
            if (a[i] > mx)
                mx = a[i];
        }
        CHECK(sum == ssum + 5 && mx == smx && dsum == 0.5 * N);
    }
    unsigned long bits = 0;
    long prod = 1;
    int ok = 1;
    #pragma dag taskloop reduction(*: prod) reduction(|: bits) reduction(&&: ok) num_tasks(7)
    for (int i = 1; i <= 20; i++) {
        prod *= i % 3 + 1;
        bits |= 1ul << (i % 13);
        ok = ok && i > 0;
    }
    CHECK(prod == 279936 && bits == 0x1fff && ok == 1);
    struct stats st = {0, 0, -1};
    #pragma dag taskloop reduction(merge: st)
    for (int i = 0; i < N; i++) {
        st.n++;
        st.sum += a[i];
        if (a[i] > st.max)
            st.max = a[i];
    }
    CHECK(st.n == N && st.sum == ssum && st.max == smx);
    long total = 100;
    #pragma dag taskgroup task_reduction(+: total)
    {
        for (int t = 0; t < 50; t++) {
            #pragma dag task in_reduction(+: total)
            total += t;
        }
        #pragma dag task shared(total)
        {
            #pragma dag task in_reduction(+: total)
            total += 1000;
        }
    }
    CHECK(total == 100 + 1225 + 1000);
    #pragma dag taskgroup task_reduction(+: gtotal)
    spawn(10, 1);
    CHECK(gtotal == 2047);
    /* iterator dependences: one consumer after the producers */
    static long b[64];
    long x = 0;
    for (int i = 0; i < 64; i++) {
        #pragma dag task depend(out: b[i]) untied mergeable affinity(b[i])
        b[i] = (long)i * i;
    }
    #pragma dag task depend(iterator(int i = 0:64:2, j = 0:2), in: b[i + j]) shared(x)
    for (int i = 0; i < 64; i++)
        x += b[i];
    #pragma dag taskwait
    CHECK(x == 85344);
    /* a dependence object orders a chain; updated to `in`, then destroyed */
    dag_depobj_t obj;
    long chain = 0;
    int order[16], norder = 0;
    #pragma dag depobj(obj) depend(inout: chain)
    for (int k = 0; k < 16; k++) {
        #pragma dag task depend(depobj: obj) shared(chain, order, norder)
        {
            chain = chain * 3 + k;
            order[norder++] = k;
            #pragma dag taskyield
        }
    }
    #pragma dag depobj(obj) update(in)
    #pragma dag taskwait
    #pragma dag depobj(obj) destroy
    for (int k = 0; k < 16; k++)
        CHECK(order[k] == k);
    /* omp_all_memory: after every earlier sibling, before every later one */
    static long c[8], seen, later;
    for (int i = 0; i < 8; i++) {
        #pragma dag task depend(out: c[i])
        {
            for (volatile int spin = 0; spin < 200000 * (i % 3); spin++)
                ;
            c[i] = i + 1;
        }
    }
    #pragma dag task depend(inout: omp_all_memory)
    for (int i = 0; i < 8; i++)
        seen += c[i];
    #pragma dag task depend(out: later)
    later = seen;
    #pragma dag taskwait
    CHECK(seen == 36 && later == 36);
    /* dag_in_final and dag_worker_id inside tasks */
    int finals = 0, ids_ok = 1;
    #pragma dag task final(1) shared(finals, ids_ok)
    {
        finals = dag_in_final();
        ids_ok = dag_worker_id() >= 0 && dag_worker_id() < dag_num_threads();
    }
    #pragma dag taskwait
    CHECK(finals == 1 && ids_ok);
    /* a pointer-to-VLA view whose sizes the task reads (and shares) */
    int nx = 7, ny = 9;
    double *buf = calloc((size_t)nx * ny, sizeof *buf);
    double (*u)[nx][ny] = (void *)buf;
    double vsum = 0;
    #pragma dag task shared(nx, ny, vsum)
    {
        for (int i = 0; i < nx; i++)
            for (int j = 0; j < ny; j++)
                (*u)[i][j] = i * 10 + j;
        for (int i = 0; i < nx; i++)
            for (int j = 0; j < ny; j++)
                vsum += (*u)[i][j];
    }
    #pragma dag taskwait
    CHECK(vsum == 9 * (10 * 21) + 7 * 36);
    free(buf);
    puts("OK");
    return 0;
}
