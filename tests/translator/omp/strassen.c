/* OpenMP-compat: recursive Strassen matrix multiplication with nested tasks, taskwait
 * and taskgroup (BOTS strassen style). Checked against the classical product. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#ifndef CUTOFF
#define CUTOFF 32  /* below this size, the classical product */
#endif
#ifndef SIZE
#define SIZE 256   /* matrix order, a power of two times CUTOFF */
#endif

static void add(int n, const double *a, int la, const double *b, int lb, double *c, int lc,
                double s)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            c[i * lc + j] = a[i * la + j] + s * b[i * lb + j];
}

static void mul_base(int n, const double *a, int la, const double *b, int lb, double *c,
                     int lc)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++)
                s += a[i * la + k] * b[k * lb + j];
            c[i * lc + j] = s;
        }
}

/* C = A * B, all n x n with leading dimensions. */
static void strassen(int n, const double *A, int la, const double *Bm, int lb, double *C,
                     int lc)
{
    if (n <= CUTOFF) {
        mul_base(n, A, la, Bm, lb, C, lc);
        return;
    }
    int h = n / 2;
    const double *A11 = A, *A12 = A + h, *A21 = A + h * la, *A22 = A + h * la + h;
    const double *B11 = Bm, *B12 = Bm + h, *B21 = Bm + h * lb, *B22 = Bm + h * lb + h;
    double *M = malloc(sizeof(double) * (size_t)h * h * 7);
    double *T = malloc(sizeof(double) * (size_t)h * h * 10);
    double *M1 = M, *M2 = M + h * h, *M3 = M + 2 * h * h, *M4 = M + 3 * h * h;
    double *M5 = M + 4 * h * h, *M6 = M + 5 * h * h, *M7 = M + 6 * h * h;
    #pragma omp taskgroup
    {
        #pragma omp task
        { add(h, A11, la, A22, la, T, h, 1); add(h, B11, lb, B22, lb, T + h * h, h, 1);
          strassen(h, T, h, T + h * h, h, M1, h); }
        #pragma omp task
        { add(h, A21, la, A22, la, T + 2 * h * h, h, 1);
          strassen(h, T + 2 * h * h, h, B11, lb, M2, h); }
        #pragma omp task
        { add(h, B12, lb, B22, lb, T + 3 * h * h, h, -1);
          strassen(h, A11, la, T + 3 * h * h, h, M3, h); }
        #pragma omp task
        { add(h, B21, lb, B11, lb, T + 4 * h * h, h, -1);
          strassen(h, A22, la, T + 4 * h * h, h, M4, h); }
        #pragma omp task
        { add(h, A11, la, A12, la, T + 5 * h * h, h, 1);
          strassen(h, T + 5 * h * h, h, B22, lb, M5, h); }
        #pragma omp task
        { add(h, A21, la, A11, la, T + 6 * h * h, h, -1);
          add(h, B11, lb, B12, lb, T + 7 * h * h, h, 1);
          strassen(h, T + 6 * h * h, h, T + 7 * h * h, h, M6, h); }
        #pragma omp task
        { add(h, A12, la, A22, la, T + 8 * h * h, h, -1);
          add(h, B21, lb, B22, lb, T + 9 * h * h, h, 1);
          strassen(h, T + 8 * h * h, h, T + 9 * h * h, h, M7, h); }
    }
    for (int i = 0; i < h; i++)
        for (int j = 0; j < h; j++) {
            int k = i * h + j;
            C[i * lc + j] = M1[k] + M4[k] - M5[k] + M7[k];
            C[i * lc + j + h] = M3[k] + M5[k];
            C[(i + h) * lc + j] = M2[k] + M4[k];
            C[(i + h) * lc + j + h] = M1[k] - M2[k] + M3[k] + M6[k];
        }
    free(M);
    free(T);
}

int main(int argc, char **argv)
{
    const int n = SIZE;
    double *A = malloc(sizeof(double) * n * n), *Bm = malloc(sizeof(double) * n * n);
    double *C = malloc(sizeof(double) * n * n), *R = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++) {
        A[i] = (i % 17) * 0.25 - 2;
        Bm[i] = (i % 13) * 0.5 - 3;
    }
    double t0 = bench_now();
    #pragma omp parallel
    #pragma omp single
    strassen(n, A, n, Bm, n, C, n);
    bench_report(t0, bench_now());
    if (!bench_check(argc, argv)) {
        puts("unchecked");
        free(A); free(Bm); free(C); free(R);
        return 0;
    }
    mul_base(n, A, n, Bm, n, R, n);
    double diff = 0;
    for (int i = 0; i < n * n; i++)
        diff = fmax(diff, fabs(C[i] - R[i]));
    printf("strassen max diff vs classical: %g\n", diff);
    free(A); free(Bm); free(C); free(R);
    if (diff > 1e-6) {
        puts("FAIL");
        return 1;
    }
    puts("OK");
    return 0;
}
