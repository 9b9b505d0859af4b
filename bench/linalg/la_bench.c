/* la_bench.c: one-node anchors for libdaglinalg. One program, three engines on the same
 * problem (square n, tiles nb):
 *   lapack: LAPACKE / CBLAS on threaded OpenBLAS (dpotrf, dgetrf, dgeqrf, dgemm)
 *   omp:    the same tiled algorithms as libdaglinalg in OpenMP tasks (libgomp), tile
 *           kernels on single-threaded OpenBLAS
 *   dag:    libdaglinalg (dagcc runtime; under mpirun, distributed)
 *   peak:   DGEMM on threaded OpenBLAS, n x n (the reference for "fraction of peak")
 * usage: la_bench ENGINE OP N NB [threads]   OP: potrf getrf geqrf gemm (peak: OP ignored);
 *        geqrfl (dag only): dag_la_geqrf_lapack, the QR in LAPACK's layout (pdgeqrf_'s)
 * LA_BENCH_P=p: the dag engine's grid has p process rows (default: near-square).
 * LA_BENCH_RESIDENT=1 (dag, with LA_BENCH_REPS > 1): the matrices stay on the GPU between
 * calls (dag_la_resident), each call's input refilled there from a pristine copy
 * (dag_la_copy, untimed): the rate on device data, what cuSOLVER / cuBLAS are timed on.
 * Prints one line: "ENGINE OP n nb seconds GFLOP/s cpu CPU-seconds" (CPU time of the
 * timed call, all threads, summed over the ranks under mpirun). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <dag/linalg.h>
#ifdef LA_BENCH_MPI
#include <mpi.h>
/* every rank's share is done: an operation returns on a rank once its own tasks are */
static void barrier(void)
{
    int ok = 0;
    if (dag_nranks() > 1 && !MPI_Initialized(&ok) && ok)
        MPI_Barrier(MPI_COMM_WORLD);
}
static double sum_ranks(double x)
{
    int ok = 0;
    double r = x;
    if (dag_nranks() > 1 && !MPI_Initialized(&ok) && ok)
        MPI_Allreduce(&x, &r, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return r;
}
#else
static void barrier(void) {}
static double sum_ranks(double x) { return x; }
#endif

/* CPU seconds (user + system) of every thread of the process so far: on a shared
 * machine, GFLOP per CPU-second says how well the CPU time a run got was used */
static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void openblas_set_num_threads(int n);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double val(int i, int j, void *u)
{
    int n = *(int *)u;
    unsigned long long h = ((unsigned long long)i << 32 | (unsigned)j) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31, h *= 0xBF58476D1CE4E5B9ull, h ^= h >> 29;
    double r = (double)(h >> 11) / 9007199254740992.0 - 0.5;
    return i == j ? r + n : r; /* diagonally dominant: SPD after symmetrisation below */
}
static double spd(int i, int j, void *u)
{
    return i >= j ? val(i, j, u) : val(j, i, u);
}

static double flops(const char *op, double n)
{
    if (!strcmp(op, "potrf"))
        return n * n * n / 3;
    if (!strcmp(op, "getrf"))
        return 2 * n * n * n / 3;
    if (!strncmp(op, "geqrf", 5))
        return 4 * n * n * n / 3;
    return 2 * n * n * n;
}

/* ---- OpenMP tiled versions (tile (i,j) at T[j*nt+i], nb x nb column-major) ---- */

static void omp_potrf(double **T, int nt, int nb)
{
#pragma omp parallel
#pragma omp single
    for (int k = 0; k < nt; k++) {
        double *akk = T[k * nt + k];
#pragma omp task depend(inout: akk[0]) priority(10)
        LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', nb, akk, nb);
        for (int i = k + 1; i < nt; i++) {
            double *aik = T[k * nt + i];
#pragma omp task depend(in: akk[0]) depend(inout: aik[0]) priority(9)
            cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, nb, nb,
                        1.0, akk, nb, aik, nb);
        }
        for (int j = k + 1; j < nt; j++) {
            double *ajk = T[k * nt + j], *ajj = T[j * nt + j];
#pragma omp task depend(in: ajk[0]) depend(inout: ajj[0])
            cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, nb, nb, -1.0, ajk, nb, 1.0, ajj,
                        nb);
            for (int i = j + 1; i < nt; i++) {
                double *aik = T[k * nt + i], *aij = T[j * nt + i];
#pragma omp task depend(in: aik[0], ajk[0]) depend(inout: aij[0])
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, nb, nb, nb, -1.0, aik, nb,
                            ajk, nb, 1.0, aij, nb);
            }
        }
    }
}

static void omp_getrf(double **T, int nt, int nb, int *piv)
{
    int n = nt * nb;
#pragma omp parallel
#pragma omp single
    for (int k = 0; k < nt; k++) {
        double *akk = T[k * nt + k];
        int *pk = piv + k * nb;
        (void)akk;
        /* panel: the whole column below the diagonal, one task (as libdaglinalg) */
#pragma omp task depend(iterator(i2 = k:nt), inout: T[k * nt + i2][0]) depend(out: pk[0]) \
    priority(10)
        {
            int rows = n - k * nb;
            double *buf = malloc(sizeof(double) * (size_t)rows * nb);
            for (int i = k; i < nt; i++)
                LAPACKE_dlacpy_work(LAPACK_COL_MAJOR, 'A', nb, nb, T[k * nt + i], nb,
                                    buf + (i - k) * nb, rows);
            LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, rows, nb, buf, rows, pk);
            for (int i = k; i < nt; i++)
                LAPACKE_dlacpy_work(LAPACK_COL_MAJOR, 'A', nb, nb, buf + (i - k) * nb, rows,
                                    T[k * nt + i], nb);
            free(buf);
        }
        for (int j = 0; j < nt; j++) {
            if (j == k)
                continue;
            double *akj = T[j * nt + k];
#pragma omp task depend(in: pk[0]) depend(iterator(i2 = k:nt), inout: T[j * nt + i2][0]) \
    priority(j == k + 1 ? 9 : 0)
            {
                for (int t = 0; t < nb; t++) {
                    int r2 = pk[t] - 1, r1 = t; /* pk: 1-based rows of the panel */
                    if (r1 == r2)
                        continue;
                    double *x = T[j * nt + k + r1 / nb], *y = T[j * nt + k + r2 / nb];
                    cblas_dswap(nb, x + r1 % nb, nb, y + r2 % nb, nb);
                }
                if (j > k)
                    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasUnit,
                                nb, nb, 1.0, akk, nb, akj, nb);
            }
            if (j < k)
                continue;
            for (int i = k + 1; i < nt; i++) {
                double *aik = T[k * nt + i], *aij = T[j * nt + i];
#pragma omp task depend(in: aik[0], akj[0]) depend(inout: aij[0]) priority(j == k + 1 ? 8 : 0)
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, nb, nb, nb, -1.0,
                            aik, nb, akj, nb, 1.0, aij, nb);
            }
        }
    }
}

static void omp_geqrf(double **T, double **Q, int nt, int nb, int ib)
{
#pragma omp parallel
#pragma omp single
    for (int k = 0; k < nt; k++) {
        double *akk = T[k * nt + k], *tkk = Q[k * nt + k];
#pragma omp task depend(inout: akk[0]) depend(out: tkk[0]) priority(10)
        LAPACKE_dgeqrt(LAPACK_COL_MAJOR, nb, nb, ib, akk, nb, tkk, ib);
        for (int j = k + 1; j < nt; j++) {
            double *akj = T[j * nt + k];
#pragma omp task depend(in: akk[0], tkk[0]) depend(inout: akj[0])
            LAPACKE_dgemqrt(LAPACK_COL_MAJOR, 'L', 'T', nb, nb, nb, ib, akk, nb, tkk, ib, akj,
                            nb);
        }
        for (int i = k + 1; i < nt; i++) {
            double *aik = T[k * nt + i], *tik = Q[k * nt + i];
#pragma omp task depend(inout: akk[0], aik[0]) depend(out: tik[0]) priority(10)
            LAPACKE_dtpqrt(LAPACK_COL_MAJOR, nb, nb, 0, ib, akk, nb, aik, nb, tik, ib);
            for (int j = k + 1; j < nt; j++) {
                double *akj = T[j * nt + k], *aij = T[j * nt + i];
#pragma omp task depend(in: aik[0], tik[0]) depend(inout: akj[0], aij[0])
                LAPACKE_dtpmqrt(LAPACK_COL_MAJOR, 'L', 'T', nb, nb, nb, 0, ib, aik, nb, tik, ib,
                                akj, nb, aij, nb);
            }
        }
    }
}

static void omp_gemm(double **A, double **B, double **C, int nt, int nb)
{
#pragma omp parallel
#pragma omp single
    for (int j = 0; j < nt; j++)
        for (int i = 0; i < nt; i++)
            for (int l = 0; l < nt; l++) {
                double *a = A[l * nt + i], *b = B[j * nt + l], *c = C[j * nt + i];
#pragma omp task depend(in: a[0], b[0]) depend(inout: c[0])
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, nb, nb, nb, 1.0, a, nb, b,
                            nb, l ? 1.0 : 0.0, c, nb);
            }
}

static double **tiles(int nt, int nb, int n, int sym)
{
    double **T = malloc(sizeof(double *) * (size_t)nt * nt);
    for (int j = 0; j < nt; j++)
        for (int i = 0; i < nt; i++) {
            T[j * nt + i] = malloc(sizeof(double) * (size_t)nb * nb);
            for (int c = 0; c < nb; c++)
                for (int r = 0; r < nb; r++)
                    T[j * nt + i][c * nb + r] = (sym ? spd : val)(i * nb + r, j * nb + c, &n);
        }
    return T;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s lapack|omp|dag|peak OP N NB [threads]\n", argv[0]);
        return 2;
    }
    const char *eng = argv[1], *op = argv[2];
    int n = atoi(argv[3]), nb = atoi(argv[4]), th = argc > 5 ? atoi(argv[5]) : 2;
    double t = 0, s = 0, c0 = cpu_now(), cpu = 0;
    if (!strcmp(eng, "peak") || !strcmp(eng, "lapack")) {
        openblas_set_num_threads(th);
        double *a = malloc(sizeof(double) * (size_t)n * n), *b = NULL, *c = NULL;
        int sym = !strcmp(op, "potrf");
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                a[(size_t)j * n + i] = (sym ? spd : val)(i, j, &n);
        if (!strcmp(eng, "peak") || !strcmp(op, "gemm")) {
            op = !strcmp(eng, "peak") ? "dgemm" : op;
            b = malloc(sizeof(double) * (size_t)n * n), c = malloc(sizeof(double) * (size_t)n * n);
            memcpy(b, a, sizeof(double) * (size_t)n * n);
            t = now(), c0 = cpu_now();
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0,
                        c, n);
            s = now() - t, cpu = cpu_now() - c0;
        } else if (!strcmp(op, "potrf")) {
            t = now(), c0 = cpu_now();
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, a, n);
            s = now() - t, cpu = cpu_now() - c0;
        } else if (!strcmp(op, "getrf")) {
            int *ip = malloc(sizeof(int) * n);
            t = now(), c0 = cpu_now();
            LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, a, n, ip);
            s = now() - t, cpu = cpu_now() - c0;
            free(ip);
        } else {
            double *tau = malloc(sizeof(double) * n);
            t = now(), c0 = cpu_now();
            LAPACKE_dgeqrf(LAPACK_COL_MAJOR, n, n, a, n, tau);
            s = now() - t, cpu = cpu_now() - c0;
            free(tau);
        }
        free(a), free(b), free(c);
    } else if (!strcmp(eng, "omp")) {
        openblas_set_num_threads(1);
        omp_set_num_threads(th);
        int nt = n / nb;
        if (nt * nb != n) {
            fprintf(stderr, "omp engine: n must be a multiple of nb\n");
            return 2;
        }
        double **A = tiles(nt, nb, n, !strcmp(op, "potrf"));
        if (!strcmp(op, "potrf")) {
            t = now(), c0 = cpu_now();
            omp_potrf(A, nt, nb);
            s = now() - t, cpu = cpu_now() - c0;
        } else if (!strcmp(op, "getrf")) {
            int *piv = malloc(sizeof(int) * n);
            t = now(), c0 = cpu_now();
            omp_getrf(A, nt, nb, piv);
            s = now() - t, cpu = cpu_now() - c0;
            free(piv);
        } else if (!strcmp(op, "geqrf")) {
            int ib = nb < 32 ? nb : 32;
            double **Q = malloc(sizeof(double *) * (size_t)nt * nt);
            for (int i = 0; i < nt * nt; i++)
                Q[i] = malloc(sizeof(double) * (size_t)ib * nb);
            t = now(), c0 = cpu_now();
            omp_geqrf(A, Q, nt, nb, ib);
            s = now() - t, cpu = cpu_now() - c0;
        } else {
            double **B = tiles(nt, nb, n, 0), **C = tiles(nt, nb, n, 0);
            t = now(), c0 = cpu_now();
            omp_gemm(A, B, C, nt, nb);
            s = now() - t, cpu = cpu_now() - c0;
        }
    } else if (!strcmp(eng, "dag")) {
        dag_la_t *A, *B = NULL, *C = NULL;
        dag_dist_t d = {.kind = DAG_DIST_2D};
        const char *gp = getenv("LA_BENCH_P"); /* process rows (default: near-square grid) */
        if (gp && atoi(gp) > 0 && dag_nranks() % atoi(gp) == 0)
            d.p = atoi(gp), d.q = dag_nranks() / d.p;
        int info;
        dag_la_create(&A, DAG_LA_DOUBLE, n, n, nb, nb, &d);
        dag_la_fill(A, !strcmp(op, "potrf") ? spd : val, &n);
        dag_status_t st;
        if (!strcmp(op, "gemm")) {
            dag_la_create(&B, DAG_LA_DOUBLE, n, n, nb, nb, &d);
            dag_la_create(&C, DAG_LA_DOUBLE, n, n, nb, nb, &d);
            dag_la_fill(B, val, &n);
        }
        /* LA_BENCH_REPS > 1: the operation again on a refilled matrix, the fastest call
         * kept; the first call pays what a fresh matrix costs once (page-locking its tiles
         * for the GPU, first device allocations), it goes to stderr */
        const char *rp = getenv("LA_BENCH_REPS");
        int reps = rp && atoi(rp) > 1 ? atoi(rp) : 1;
        const char *rs = getenv("LA_BENCH_RESIDENT");
        dag_la_t *A0 = NULL; /* resident: the pristine input, copied into A on the device */
        st = DAG_OK;
        if (rs && atoi(rs) > 0) {
            dag_la_resident(A, 1);
            if (B)
                dag_la_resident(B, 1), dag_la_resident(C, 1);
            else if (!(st = dag_la_create(&A0, DAG_LA_DOUBLE, n, n, nb, nb, &d)) &&
                     !(st = dag_la_fill(A0, !strcmp(op, "potrf") ? spd : val, &n)))
                st = dag_la_resident(A0, 1);
        }
        for (int r = 0; r < reps && !st; r++) {
            if (r && A0)
                st = dag_la_copy(A0, A);
            else if (r && strcmp(op, "gemm"))
                dag_la_fill(A, !strcmp(op, "potrf") ? spd : val, &n);
            barrier();
            double t1 = now(), c1 = cpu_now();
            st = !strcmp(op, "potrf") ? dag_la_potrf('L', A, &info)
               : !strcmp(op, "getrf") ? dag_la_getrf(A, NULL, &info)
               : !strcmp(op, "geqrf") ? dag_la_geqrf(A)
               : !strcmp(op, "geqrfl") ? dag_la_geqrf_lapack(A, NULL)
                                      : dag_la_gemm('N', 'N', 1.0, A, B, 0.0, C);
            barrier();
            double s1 = now() - t1, cpu1 = sum_ranks(cpu_now() - c1);
            if (reps > 1 && dag_rank() == 0)
                fprintf(stderr, "# call %d: %.4f s, %.2f GFLOP/s\n", r + 1, s1,
                        flops(op, n) / s1 * 1e-9);
            if (r == 0 || s1 < s)
                s = s1, cpu = cpu1;
        }
        if (st)
            fprintf(stderr, "dag %s: %s %s\n", op, dag_strerror(st), dag_la_error());
        dag_la_destroy(A);
        dag_la_destroy(A0);
        dag_la_destroy(B);
        dag_la_destroy(C);
        int me = dag_rank();
        dag_finalize();
        if (me)
            return 0;
    } else {
        fprintf(stderr, "unknown engine %s\n", eng);
        return 2;
    }
    printf("%s %s %d %d %.4f %.2f cpu %.3f\n", eng, op, n, nb, s, flops(op, n) / s * 1e-9, cpu);
    return 0;
}
