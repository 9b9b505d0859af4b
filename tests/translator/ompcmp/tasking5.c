/* OpenMP 5 tasking, compared line by line with gcc -fopenmp (libgomp): taskloop
 * reductions, taskgroup task_reduction with in_reduction tasks, a declared reduction,
 * depend(iterator(...)), depend objects, taskyield, untied / mergeable /
 * affinity, omp_in_final and omp_get_thread_num inside tasks, a pointer-to-VLA view.
 * The `#pragma dag` twin is e2e/tasking5.c; why they are two sources is said there. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 2000

struct stats {
    long n, sum, max;
};

static void stats_add(struct stats *o, const struct stats *i)
{
    o->n += i->n;
    o->sum += i->sum;
    o->max = i->max > o->max ? i->max : o->max;
}

#pragma omp declare reduction(merge : struct stats : stats_add(&omp_out, &omp_in)) \
    initializer(omp_priv = (struct stats){0, 0, -1})

static long global_total;

static void spawn(int depth, long v)
{
    #pragma omp task in_reduction(+: global_total)
    global_total += v;
    if (depth > 0) {
        #pragma omp task
        spawn(depth - 1, v * 2);
    }
}

int main(void)
{
    static long a[N];
    static int log[64];
    int nlog = 0;
    long sum = 0, mx = -1, prod = 1;
    unsigned long bits = 0;
    struct stats st = {0, 0, -1};
    int nx = 7, ny = 9;
    double *buf = calloc((size_t)nx * ny, sizeof *buf);
    double vsum = 0;
    long total = 100;
    int finals = 0, ids_ok = 1;
    long x = 0, chain = 0;
    #pragma omp parallel shared(sum, mx, prod, bits, st, total, finals, ids_ok, x, chain, nlog)
    #pragma omp single
    {
        for (int i = 0; i < N; i++)
            a[i] = (i * 7919) % 1009;
        #pragma omp taskloop reduction(+: sum) reduction(max: mx) grainsize(64)
        for (int i = 0; i < N; i++) {
            sum += a[i];
            if (a[i] > mx)
                mx = a[i];
        }
        #pragma omp taskloop reduction(*: prod) reduction(|: bits) num_tasks(5)
        for (int i = 1; i <= 20; i++) {
            prod *= i % 3 + 1;
            bits |= 1ul << (i % 13);
        }
        #pragma omp taskloop reduction(merge: st)
        for (int i = 0; i < N; i++) {
            st.n++;
            st.sum += a[i];
            if (a[i] > st.max)
                st.max = a[i];
        }
        #pragma omp taskgroup task_reduction(+: total)
        {
            for (int t = 0; t < 50; t++) {
                #pragma omp task in_reduction(+: total) firstprivate(t)
                total += t;
            }
        }
        #pragma omp taskgroup task_reduction(+: global_total)
        spawn(10, 1);
        /* iterator dependences: one consumer after N producers */
        for (int i = 0; i < 16; i++) {
            #pragma omp task depend(out: a[i]) untied mergeable affinity(a[i])
            a[i] = (long)i * i;
        }
        #pragma omp task depend(iterator(int i = 0:16), in: a[i]) shared(x)
        for (int i = 0; i < 16; i++)
            x += a[i];
        /* a dependence object orders a chain */
        omp_depend_t obj;
        #pragma omp depobj(obj) depend(inout: chain)
        for (int k = 0; k < 10; k++) {
            #pragma omp task depend(depobj: obj) shared(chain, log, nlog) firstprivate(k)
            {
                chain = chain * 3 + k;
                log[nlog++] = k;
                #pragma omp taskyield
            }
        }
        #pragma omp depobj(obj) update(in)
        #pragma omp task depend(depobj: obj) shared(chain)
        chain += 1;
        #pragma omp taskwait
        #pragma omp depobj(obj) destroy
        /* (omp_all_memory: omp/all_memory.c; gcc 12 and clang 14 lack it) */
        for (int i = 0; i < 8; i++) {
            #pragma omp task depend(out: a[100 + i])
            a[100 + i] = i + 1;
        }
        #pragma omp task depend(iterator(k = 0:8), inout: a[100 + k]) shared(x)
        for (int i = 0; i < 8; i++)
            x += a[100 + i] * 1000;
        #pragma omp task depend(in: a[100]) shared(x)
        x += 1;
        #pragma omp task final(1) shared(finals, ids_ok)
        {
            #pragma omp atomic
            finals += omp_in_final();
            int id = omp_get_thread_num();
            if (id < 0 || id >= omp_get_num_threads())
                ids_ok = 0;
        }
        /* a pointer-to-VLA view whose sizes the task reads */
        double (*u)[nx][ny] = (void *)buf;
        for (int i = 0; i < nx; i++) {
            #pragma omp task depend(out: buf[i * ny])
            for (int j = 0; j < ny; j++)
                (*u)[i][j] = i * 10 + j + nx;
        }
        #pragma omp taskwait
        #pragma omp task shared(vsum)
        for (int i = 0; i < nx; i++)
            for (int j = 0; j < ny; j++)
                vsum += (*u)[i][j];
        #pragma omp taskwait
    }
    printf("taskloop sum %ld max %ld prod %ld bits %lx\n", sum, mx, prod, bits);
    printf("declared merge n %ld sum %ld max %ld\n", st.n, st.sum, st.max);
    printf("task_reduction %ld global %ld\n", total, global_total);
    printf("iterator x %ld chain %ld log", x, chain);
    for (int i = 0; i < nlog; i++)
        printf(" %d", log[i]);
    printf("\nfinal %d ids %d vla %.1f\n", finals, ids_ok, vsum);
    free(buf);
    return 0;
}
