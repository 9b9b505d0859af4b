/* fine_omp.c: a fine-grained OpenMP task program written from docs/pragmas.md and
 * docs/translator.md alone ("as a stranger would"), built both by `dagcc -fopenmp` and by
 * `gcc -fopenmp` (see run.sh). Two kernels with millions of tiny tasks:
 *   fib   recursive Fibonacci, one task per call above a cutoff, taskwait in each call
 *         (fib(30), cutoff 2: 2.7 million tasks);
 *   spmv  y = A x for a random CSR matrix, one task per row (10^6 rows, 3-11 nonzeros
 *         each), then a taskwait; checked against a sequential loop, bit for bit.
 * Usage: fine_omp [FIB_N] [ROWS] [REPS]; prints the best time of each kernel. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cutoff = 2;

static long fib(int n)
{
    if (n < cutoff)
        return n < 2 ? n : fib(n - 1) + fib(n - 2);
    long a, b;
#pragma omp task shared(a) firstprivate(n)
    a = fib(n - 1);
#pragma omp task shared(b) firstprivate(n)
    b = fib(n - 2);
#pragma omp taskwait
    return a + b;
}

static long fib_seq(int n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

struct csr {
    long n;
    long *rowptr;
    int *col;
    double *val;
};

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int csr_make(struct csr *a, long n)
{
    a->n = n;
    a->rowptr = malloc(sizeof(long) * (size_t)(n + 1));
    a->col = malloc(sizeof(int) * (size_t)n * 11);
    a->val = malloc(sizeof(double) * (size_t)n * 11);
    if (!a->rowptr || !a->col || !a->val)
        return -1;
    long k = 0;
    for (long i = 0; i < n; i++) {
        a->rowptr[i] = k;
        int nnz = 3 + (int)(next_rand() % 9);
        for (int j = 0; j < nnz; j++) {
            a->col[k] = (int)(next_rand() % (uint64_t)n);
            a->val[k] = (double)(next_rand() % 1000) / 997.0 - 0.5;
            k++;
        }
    }
    a->rowptr[n] = k;
    return 0;
}

static inline double row_dot(const struct csr *a, const double *x, long i)
{
    double s = 0;
    for (long k = a->rowptr[i]; k < a->rowptr[i + 1]; k++)
        s += a->val[k] * x[a->col[k]];
    return s;
}

static void spmv_tasks(const struct csr *a, const double *x, double *y)
{
    for (long i = 0; i < a->n; i++) {
#pragma omp task firstprivate(i) shared(a, x, y)
        y[i] = row_dot(a, x, i);
    }
#pragma omp taskwait
}

int main(int argc, char **argv)
{
    int fn = argc > 1 ? atoi(argv[1]) : 30;
    long rows = argc > 2 ? atol(argv[2]) : 1000000;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (fn < 2 || fn > 40 || rows < 1 || rows > 100000000 || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: %s [FIB_N 2..40] [ROWS] [REPS 1..100]\n", argv[0]);
        return 2;
    }
    struct csr a;
    double *x = malloc(sizeof(double) * (size_t)rows);
    double *y = malloc(sizeof(double) * (size_t)rows);
    double *ref = malloc(sizeof(double) * (size_t)rows);
    if (!x || !y || !ref || csr_make(&a, rows)) {
        fprintf(stderr, "out of memory\n");
        return 3;
    }
    for (long i = 0; i < rows; i++)
        x[i] = (double)(next_rand() % 100) / 10.0;
    double seq_s = 1e30; /* the sequential loop, best of REPS: the baseline of spmv */
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (long i = 0; i < rows; i++)
            ref[i] = row_dot(&a, x, i);
        if (now() - t0 < seq_s)
            seq_s = now() - t0;
    }
    long want = fib_seq(fn);

    double best_fib = 1e30, best_spmv = 1e30;
    long got = 0;
    int threads = 0, bad = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
#pragma omp parallel
#pragma omp single
        {
            threads = omp_get_num_threads();
            got = fib(fn);
        }
        double t1 = now();
        memset(y, 0, sizeof(double) * (size_t)rows);
        double t2 = now();
#pragma omp parallel
#pragma omp single
        spmv_tasks(&a, x, y);
        double t3 = now();
        if (got != want) {
            fprintf(stderr, "fib(%d) = %ld, expected %ld\n", fn, got, want);
            bad = 1;
        }
        if (memcmp(y, ref, sizeof(double) * (size_t)rows)) {
            fprintf(stderr, "spmv: result differs from the sequential loop\n");
            bad = 1;
        }
        if (t1 - t0 < best_fib)
            best_fib = t1 - t0;
        if (t3 - t2 < best_spmv)
            best_spmv = t3 - t2;
    }
    /* with cutoff 2 every call but the root is a task: 2 F(n+1) - 2 of them */
    double fib_tasks = 2.0 * (double)fib_seq(fn + 1) - 2;
    printf("threads=%d fib(%d)=%ld fib_s=%.4f fib_ns_per_task=%.1f spmv_rows=%ld spmv_s=%.4f "
           "spmv_ns_per_row=%.1f seq_ns_per_row=%.1f %s\n",
           threads, fn, got, best_fib, 1e9 * best_fib / fib_tasks, rows, best_spmv,
           1e9 * best_spmv / (double)rows, 1e9 * seq_s / (double)rows, bad ? "WRONG" : "ok");
    free(a.rowptr);
    free(a.col);
    free(a.val);
    free(x);
    free(y);
    free(ref);
    return bad;
}
