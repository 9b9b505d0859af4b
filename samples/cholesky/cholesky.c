/* cholesky.c: the flagship dagcc demo. Tiled Cholesky factorisation A = L L^T of an SPD
 * matrix; each tile kernel (LAPACKE potrf, CBLAS trsm/syrk/gemm from OpenBLAS) is a
 * function task whose depend clauses name whole tiles, so the runtime builds the DAG.
 * Prints GFLOP/s and the residual ||A - L L^T|| / ||A||.
 * usage: cholesky [tiles] [tile size]     (default 16 x 192) */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int n); /* the runtime provides the parallelism */

#pragma dag task depend(inout: a[0:b*b]) label("potrf")
static void potrf(double *a, int b)
{
    LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', b, a, b);
}

#pragma dag task depend(in: l[0:b*b]) depend(inout: a[0:b*b]) label("trsm")
static void trsm(const double *l, double *a, int b)
{
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, b, b, 1.0,
                l, b, a, b);
}

#pragma dag task depend(in: a[0:b*b]) depend(inout: c[0:b*b]) label("syrk")
static void syrk(const double *a, double *c, int b)
{
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, b, b, -1.0, a, b, 1.0, c, b);
}

#pragma dag task depend(in: a[0:b*b], l[0:b*b]) depend(inout: c[0:b*b]) label("gemm")
static void gemm(const double *a, const double *l, double *c, int b)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, b, b, b, -1.0, a, b, l, b, 1.0,
                c, b);
}

/* Tile (i, j) of an nt x nt tiled matrix, each tile b x b column-major. */
#define T(m, i, j) ((m) + ((size_t)(j) * nt + (i)) * (size_t)b * b)

static void cholesky(double *m, int nt, int b)
{
    for (int k = 0; k < nt; k++) {
        potrf(T(m, k, k), b);
        for (int i = k + 1; i < nt; i++)
            trsm(T(m, k, k), T(m, i, k), b);
        for (int i = k + 1; i < nt; i++) {
            for (int j = k + 1; j < i; j++)
                gemm(T(m, i, k), T(m, j, k), T(m, i, j), b);
            syrk(T(m, i, k), T(m, i, i), b);
        }
    }
    #pragma dag taskwait
}

static double elem(const double *m, int nt, int b, int r, int c)
{
    return T(m, r / b, c / b)[(size_t)(c % b) * b + r % b];
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 16, b = argc > 2 ? atoi(argv[2]) : 192;
    int n = nt * b;
    openblas_set_num_threads(1);
    size_t bytes = sizeof(double) * (size_t)n * n;
    double *m = malloc(bytes), *orig = malloc(bytes);
    if (!m || !orig)
        return 1;
    for (int bj = 0; bj < nt; bj++)
        for (int bi = 0; bi < nt; bi++)
            for (int c = 0; c < b; c++)
                for (int r = 0; r < b; r++) {
                    int gr = bi * b + r, gc = bj * b + c;
                    T(m, bi, bj)[(size_t)c * b + r] =
                        (gr == gc ? n : 0) + 1.0 / (1.0 + gr + gc);
                }
    for (size_t i = 0; i < (size_t)n * n; i++)
        orig[i] = m[i];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cholesky(m, nt, b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    double flops = (double)n * n * n / 3.0;
    /* residual on a sample of rows: max |A - L L^T| / max |A| */
    double err = 0, amax = 0;
    for (int r = 0; r < n; r += (n / 64 > 0 ? n / 64 : 1))
        for (int c = 0; c <= r; c++) {
            double sum = 0;
            for (int k = 0; k <= c; k++)
                sum += elem(m, nt, b, r, k) * elem(m, nt, b, c, k);
            err = fmax(err, fabs(sum - elem(orig, nt, b, r, c)));
            amax = fmax(amax, fabs(elem(orig, nt, b, r, c)));
        }
    printf("cholesky n=%d (%dx%d tiles of %d): %.3f s, %.2f GFLOP/s, residual %.2e\n", n,
           nt, nt, b, s, flops / s * 1e-9, err / amax);
    free(m);
    free(orig);
    return err / amax < 1e-12 ? 0 : 1;
}
