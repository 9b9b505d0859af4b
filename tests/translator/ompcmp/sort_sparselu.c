/* An OpenMP 5 tasking program written from docs/pragmas.md alone ("use it as a stranger
 * would"): a task-parallel quicksort of 4M keys (16 MiB), checked with taskloop
 * reductions; a blocked sparse LU (BOTS sparselu shape, 16 x 16 blocks of 64 x 64, fill-in
 * blocks allocated as the factorisation goes) whose tasks view their blocks through casts
 * to pointer-to-VLA; a detached task completed by a helper
 * thread (an asynchronous digest); a dependence object ordering a chain of updates, then
 * concurrent readers. Every result is compared with the same work done sequentially, and
 * the output must be identical under dagcc -fopenmp and gcc -fopenmp. */
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS (1 << 22)
#define CUTOFF 4096
#define NB 16
#define BS 64

static unsigned long long lcg(unsigned long long *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* ---- quicksort ---------------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static long partition(int *a, long n)
{
    int p = a[n / 2];
    long i = -1, j = n;
    for (;;) {
        do
            i++;
        while (a[i] < p);
        do
            j--;
        while (a[j] > p);
        if (i >= j)
            return j + 1;
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static void qsort_tasks(int *a, long n)
{
    if (n <= CUTOFF) {
        qsort(a, (size_t)n, sizeof *a, cmp_int);
        return;
    }
    long m = partition(a, n);
    #pragma omp task firstprivate(a, m) if(m > CUTOFF) untied
    qsort_tasks(a, m);
    #pragma omp task firstprivate(a, m, n) if(n - m > CUTOFF) untied
    qsort_tasks(a + m, n - m);
    #pragma omp taskwait
}

/* ---- sparse LU on blocks -------------------------------------------------------------- */

static void lu0(double *diag, int bs)
{
    double (*d)[bs] = (double (*)[bs])diag;
    for (int k = 0; k < bs; k++)
        for (int i = k + 1; i < bs; i++) {
            d[i][k] /= d[k][k];
            for (int j = k + 1; j < bs; j++)
                d[i][j] -= d[i][k] * d[k][j];
        }
}

static void fwd(const double *diag, double *row, int bs)
{
    const double (*d)[bs] = (const double (*)[bs])diag;
    double (*r)[bs] = (double (*)[bs])row;
    for (int k = 0; k < bs; k++)
        for (int i = k + 1; i < bs; i++)
            for (int j = 0; j < bs; j++)
                r[i][j] -= d[i][k] * r[k][j];
}

static void bdiv(const double *diag, double *col, int bs)
{
    const double (*d)[bs] = (const double (*)[bs])diag;
    double (*c)[bs] = (double (*)[bs])col;
    for (int i = 0; i < bs; i++)
        for (int k = 0; k < bs; k++) {
            c[i][k] /= d[k][k];
            for (int j = k + 1; j < bs; j++)
                c[i][j] -= c[i][k] * d[k][j];
        }
}

static void bmod(const double *row, const double *col, double *inner, int bs)
{
    const double (*r)[bs] = (const double (*)[bs])row;
    const double (*c)[bs] = (const double (*)[bs])col;
    double (*x)[bs] = (double (*)[bs])inner;
    for (int i = 0; i < bs; i++)
        for (int j = 0; j < bs; j++) {
            double s = 0;
            for (int k = 0; k < bs; k++)
                s += c[i][k] * r[k][j];
            x[i][j] -= s;
        }
}

/* The BOTS sparselu pattern: some off-diagonal blocks are empty, the diagonal is heavy. */
static void genmat(double *A[NB][NB], int bs)
{
    unsigned long long s = 12345;
    for (int ii = 0; ii < NB; ii++)
        for (int jj = 0; jj < NB; jj++) {
            int empty = (ii < jj && (ii % 3) != 0) || (ii > jj && (jj % 3) != 0);
            if (ii == jj || (ii == jj + 1) || (jj == ii + 1))
                empty = 0;
            A[ii][jj] = NULL;
            if (empty)
                continue;
            A[ii][jj] = malloc((size_t)bs * bs * sizeof(double));
            for (int k = 0; k < bs * bs; k++)
                A[ii][jj][k] = (double)(lcg(&s) % 1000) / 1000.0 + (ii == jj && k % (bs + 1) == 0
                                                                     ? 4.0 * bs : 0.0);
        }
}

static void sparselu_seq(double *A[NB][NB], int bs)
{
    for (int kk = 0; kk < NB; kk++) {
        lu0(A[kk][kk], bs);
        for (int jj = kk + 1; jj < NB; jj++)
            if (A[kk][jj])
                fwd(A[kk][kk], A[kk][jj], bs);
        for (int ii = kk + 1; ii < NB; ii++)
            if (A[ii][kk])
                bdiv(A[kk][kk], A[ii][kk], bs);
        for (int ii = kk + 1; ii < NB; ii++) {
            if (!A[ii][kk])
                continue;
            for (int jj = kk + 1; jj < NB; jj++) {
                if (!A[kk][jj])
                    continue;
                if (!A[ii][jj])
                    A[ii][jj] = calloc((size_t)bs * bs, sizeof(double));
                bmod(A[kk][jj], A[ii][kk], A[ii][jj], bs);
            }
        }
    }
}

/* The same flow as tasks; the update task views its blocks through pointer-to-VLA casts
 * (gcc 12 fails with an internal error on such a cast inside a depend clause). */
static void sparselu_tasks(double *A[NB][NB], int bs)
{
    for (int kk = 0; kk < NB; kk++) {
        double *diag = A[kk][kk];
        #pragma omp task firstprivate(diag) depend(inout: diag[0:bs * bs])
        lu0(diag, bs);
        /* block kk + m of the row (fwd) and of the column (bdiv) */
        for (int m = kk + 1; m < NB; m++) {
            double *row = A[kk][m], *col = A[m][kk];
            if (row) {
                #pragma omp task depend(in: diag[0:bs * bs]) depend(inout: row[0:bs * bs])
                fwd(diag, row, bs);
            }
            if (col) {
                #pragma omp task depend(in: diag[0:bs * bs]) depend(inout: col[0:bs * bs])
                bdiv(diag, col, bs);
            }
        }
        for (int ii = kk + 1; ii < NB; ii++) {
            double *col = A[ii][kk];
            if (!col)
                continue;
            for (int jj = kk + 1; jj < NB; jj++) {
                double *row = A[kk][jj];
                if (!row)
                    continue;
                if (!A[ii][jj])
                    A[ii][jj] = calloc((size_t)bs * bs, sizeof(double));
                double *inner = A[ii][jj];
                #pragma omp task depend(in: row[0:bs * bs]) \
                                 depend(in: col[0:bs * bs]) \
                                 depend(inout: inner[0:bs * bs])
                {
                    /* the task's own pointer-to-VLA views (their type reads bs) */
                    const double (*r)[bs] = (const double (*)[bs])row;
                    const double (*c)[bs] = (const double (*)[bs])col;
                    double (*x)[bs] = (double (*)[bs])inner;
                    bmod(&r[0][0], &c[0][0], &x[0][0], bs);
                }
            }
        }
    }
    #pragma omp taskwait
}

/* ---- the asynchronous digest: a detached task completed by a helper thread ----------- */

/* how a finished job is reported: a table filled at file scope, before any function (the
 * translator once placed its omp_fulfill_event after such a use) */
struct job_ops {
    void (*done)(omp_event_handle_t);
};
static const struct job_ops digest_ops = {omp_fulfill_event};

struct digest_job {
    const int *keys;
    long n;
    unsigned long long *out;
    omp_event_handle_t ev;
};

static void *digest_thread(void *arg)
{
    struct digest_job *j = arg;
    unsigned long long h = 1469598103934665603ull;
    for (long i = 0; i < j->n; i++)
        h = (h ^ (unsigned)j->keys[i]) * 1099511628211ull;
    *j->out = h;
    digest_ops.done(j->ev);
    return NULL;
}

int main(void)
{
    int *keys = malloc(NKEYS * sizeof *keys), *ref = malloc(NKEYS * sizeof *ref);
    unsigned long long s = 2026;
    for (long i = 0; i < NKEYS; i++)
        keys[i] = ref[i] = (int)(lcg(&s) % 100000000) - 50000000;
    qsort(ref, NKEYS, sizeof *ref, cmp_int);

    double *A[NB][NB], *B[NB][NB];
    genmat(A, BS);
    genmat(B, BS);
    sparselu_seq(B, BS);

    long long sum = 0, refsum = 0;
    int mn = 0, mx = 0, unsorted = 0, differ = 0;
    unsigned long long digest = 0, seen_digest = 0;
    struct digest_job job = {.keys = keys, .n = NKEYS, .out = &digest};
    pthread_t helper;
    long chain = 1, readers = 0;
    omp_depend_t order;
    #pragma omp parallel shared(sum, mn, mx, unsorted, differ, digest, seen_digest, job, \
                                helper, chain, readers, order, A)
    #pragma omp single
    {
        #pragma omp taskgroup
        qsort_tasks(keys, NKEYS);

        mn = keys[0];
        mx = keys[0];
        #pragma omp taskloop reduction(+: sum, unsorted, differ) reduction(min: mn) \
                             reduction(max: mx) grainsize(65536)
        for (long i = 0; i < NKEYS; i++) {
            sum += keys[i];
            unsorted += i > 0 && keys[i - 1] > keys[i];
            differ += keys[i] != ref[i];
            mn = keys[i] < mn ? keys[i] : mn;
            mx = keys[i] > mx ? keys[i] : mx;
        }

        /* the digest task completes when the helper thread fulfils its event; the reader
         * after it sees the digest */
        omp_event_handle_t ev;
        #pragma omp task detach(ev) depend(out: digest) shared(job, helper)
        {
            job.ev = ev;
            pthread_create(&helper, NULL, digest_thread, &job);
        }
        #pragma omp task depend(in: digest) shared(digest, seen_digest)
        seen_digest = digest;

        /* a chain of updates ordered by one dependence object, then readers */
        #pragma omp depobj(order) depend(inout: chain)
        for (int k = 0; k < 12; k++) {
            #pragma omp task depend(depobj: order) shared(chain) firstprivate(k)
            chain = chain * 5 + k;
        }
        #pragma omp depobj(order) update(in)
        for (int r = 0; r < 4; r++) {
            #pragma omp task depend(depobj: order) shared(chain, readers)
            {
                #pragma omp atomic
                readers += chain % 1000;
            }
        }

        sparselu_tasks(A, BS);
        #pragma omp taskwait
        #pragma omp depobj(order) destroy
    }
    pthread_join(helper, NULL);

    for (long i = 0; i < NKEYS; i++)
        refsum += ref[i];
    unsigned long long h = 1469598103934665603ull;
    for (long i = 0; i < NKEYS; i++)
        h = (h ^ (unsigned)ref[i]) * 1099511628211ull;
    long refchain = 1;
    for (int k = 0; k < 12; k++)
        refchain = refchain * 5 + k;

    int lu_same = 1, nblocks = 0;
    double norm = 0;
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB; j++) {
            if (!A[i][j] != !B[i][j]) {
                lu_same = 0;
                continue;
            }
            if (!A[i][j])
                continue;
            nblocks++;
            lu_same &= memcmp(A[i][j], B[i][j], BS * BS * sizeof(double)) == 0;
            for (int k = 0; k < BS * BS; k++)
                norm += A[i][j][k] * A[i][j][k];
            free(A[i][j]);
            free(B[i][j]);
        }

    printf("sort: unsorted %d differ %d sum %s min %d max %d\n", unsorted, differ,
           sum == refsum ? "ok" : "WRONG", mn, mx);
    printf("digest: %s %s\n", digest == h ? "ok" : "WRONG", seen_digest == h ? "seen" : "MISSED");
    printf("depobj: chain %s readers %ld\n", chain == refchain ? "ok" : "WRONG", readers);
    printf("sparselu: %d blocks, identical to sequential %d, norm %.6e\n", nblocks, lu_same,
           norm);
    free(keys);
    free(ref);
    int ok = !unsorted && !differ && sum == refsum && digest == h && seen_digest == h &&
             chain == refchain && readers == 4 * (refchain % 1000) && lu_same;
    puts(ok ? "OK" : "FAILED");
    return !ok;
}
