/* OpenMP-compat: tiled Cholesky (potrf/trsm/syrk/gemm tasks with depend on tiles), in
 * the style of the BOTS / KASTORS task benchmarks. Checked against a sequential run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef NT
#define NT 8   /* tiles per dimension */
#endif
#ifndef TS
#define TS 32  /* tile size */
#endif
#define N (NT * TS)

typedef double tile_t[TS][TS];

static void potrf(tile_t a)
{
    for (int j = 0; j < TS; j++) {
        for (int k = 0; k < j; k++)
            a[j][j] -= a[j][k] * a[j][k];
        a[j][j] = sqrt(a[j][j]);
        for (int i = j + 1; i < TS; i++) {
            for (int k = 0; k < j; k++)
                a[i][j] -= a[i][k] * a[j][k];
            a[i][j] /= a[j][j];
        }
        for (int i = 0; i < j; i++)
            a[i][j] = 0;
    }
}

static void trsm(tile_t l, tile_t b) /* b = b * l^-T */
{
    for (int i = 0; i < TS; i++)
        for (int j = 0; j < TS; j++) {
            for (int k = 0; k < j; k++)
                b[i][j] -= b[i][k] * l[j][k];
            b[i][j] /= l[j][j];
        }
}

static void syrk(tile_t a, tile_t c) /* c -= a a^T */
{
    for (int i = 0; i < TS; i++)
        for (int j = 0; j < TS; j++)
            for (int k = 0; k < TS; k++)
                c[i][j] -= a[i][k] * a[j][k];
}

static void gemm(tile_t a, tile_t b, tile_t c) /* c -= a b^T */
{
    for (int i = 0; i < TS; i++)
        for (int j = 0; j < TS; j++)
            for (int k = 0; k < TS; k++)
                c[i][j] -= a[i][k] * b[j][k];
}

static void cholesky(tile_t *A[NT][NT], int par)
{
    if (!par) {
        for (int k = 0; k < NT; k++) {
            potrf(*A[k][k]);
            for (int i = k + 1; i < NT; i++)
                trsm(*A[k][k], *A[i][k]);
            for (int i = k + 1; i < NT; i++) {
                for (int j = k + 1; j < i; j++)
                    gemm(*A[i][k], *A[j][k], *A[i][j]);
                syrk(*A[i][k], *A[i][i]);
            }
        }
        return;
    }
    #pragma omp parallel
    #pragma omp single
    {
        for (int k = 0; k < NT; k++) {
            #pragma omp task depend(inout: A[k][k][0])
            potrf(*A[k][k]);
            for (int i = k + 1; i < NT; i++) {
                #pragma omp task depend(in: A[k][k][0]) depend(inout: A[i][k][0])
                trsm(*A[k][k], *A[i][k]);
            }
            for (int i = k + 1; i < NT; i++) {
                for (int j = k + 1; j < i; j++) {
                    #pragma omp task depend(in: A[i][k][0], A[j][k][0]) depend(inout: A[i][j][0])
                    gemm(*A[i][k], *A[j][k], *A[i][j]);
                }
                #pragma omp task depend(in: A[i][k][0]) depend(inout: A[i][i][0])
                syrk(*A[i][k], *A[i][i]);
            }
        }
        #pragma omp taskwait
    }
}

static void fill(tile_t *A[NT][NT])
{
    for (int bi = 0; bi < NT; bi++)
        for (int bj = 0; bj < NT; bj++)
            for (int i = 0; i < TS; i++)
                for (int j = 0; j < TS; j++) {
                    int gi = bi * TS + i, gj = bj * TS + j;
                    (*A[bi][bj])[i][j] = (gi == gj ? N : 0) + 1.0 / (1 + gi + gj);
                }
}

int main(int argc, char **argv)
{
    static tile_t *A[NT][NT], *B[NT][NT];
    for (int i = 0; i < NT; i++)
        for (int j = 0; j < NT; j++) {
            A[i][j] = malloc(sizeof(tile_t));
            B[i][j] = malloc(sizeof(tile_t));
        }
    fill(A);
    fill(B);
    double t0 = bench_now();
    cholesky(A, 1);
    bench_report(t0, bench_now());
    if (!bench_check(argc, argv)) {
        puts("unchecked");
        return 0;
    }
    cholesky(B, 0);
    double diff = 0;
    for (int bi = 0; bi < NT; bi++)
        for (int bj = 0; bj <= bi; bj++)
            for (int i = 0; i < TS; i++)
                for (int j = 0; j < TS; j++)
                    diff = fmax(diff, fabs((*A[bi][bj])[i][j] - (*B[bi][bj])[i][j]));
    printf("cholesky max diff vs sequential: %g\n", diff);
    if (diff != 0) {
        puts("FAIL");
        return 1;
    }
    puts("OK");
    return 0;
}
