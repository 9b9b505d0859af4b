/* OpenMP-compat: sparse LU factorisation over a block matrix with missing blocks (the
 * BOTS sparselu kernel, task version with depend). Checked against a sequential run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef NB
#define NB 10  /* blocks per dimension */
#endif
#ifndef BS
#define BS 24  /* block size */
#endif

static float *alloc_block(void)
{
    return calloc(BS * BS, sizeof(float));
}

static void genmat(float *M[NB][NB])
{
    for (int ii = 0; ii < NB; ii++)
        for (int jj = 0; jj < NB; jj++) {
            int null = (ii < jj) && (ii % 3 != 0);
            null |= (ii > jj) && (jj % 3 != 0);
            null |= ii % 2 == 1;
            null |= jj % 2 == 1;
            null &= ii != jj;
            null &= ii != jj - 1 && ii != jj + 1;
            M[ii][jj] = NULL;
            if (null)
                continue;
            M[ii][jj] = alloc_block();
            unsigned seed = 1325u + 7u * (unsigned)ii + 13u * (unsigned)jj;
            for (int k = 0; k < BS * BS; k++) {
                seed = seed * 3125u % 65536u;
                M[ii][jj][k] = (float)((seed - 32768.0) / 16384.0);
            }
            if (ii == jj)
                for (int k = 0; k < BS; k++)
                    M[ii][jj][k * BS + k] += 4.0f * BS;
        }
}

static void lu0(float *d)
{
    for (int k = 0; k < BS; k++)
        for (int i = k + 1; i < BS; i++) {
            d[i * BS + k] /= d[k * BS + k];
            for (int j = k + 1; j < BS; j++)
                d[i * BS + j] -= d[i * BS + k] * d[k * BS + j];
        }
}

static void fwd(float *d, float *c)
{
    for (int k = 0; k < BS; k++)
        for (int i = k + 1; i < BS; i++)
            for (int j = 0; j < BS; j++)
                c[i * BS + j] -= d[i * BS + k] * c[k * BS + j];
}

static void bdiv(float *d, float *r)
{
    for (int i = 0; i < BS; i++)
        for (int k = 0; k < BS; k++) {
            r[i * BS + k] /= d[k * BS + k];
            for (int j = k + 1; j < BS; j++)
                r[i * BS + j] -= r[i * BS + k] * d[k * BS + j];
        }
}

static void bmod(float *r, float *c, float *in)
{
    for (int i = 0; i < BS; i++)
        for (int j = 0; j < BS; j++)
            for (int k = 0; k < BS; k++)
                in[i * BS + j] -= r[i * BS + k] * c[k * BS + j];
}

static void sparselu_seq(float *M[NB][NB])
{
    for (int kk = 0; kk < NB; kk++) {
        lu0(M[kk][kk]);
        for (int jj = kk + 1; jj < NB; jj++)
            if (M[kk][jj])
                fwd(M[kk][kk], M[kk][jj]);
        for (int ii = kk + 1; ii < NB; ii++)
            if (M[ii][kk])
                bdiv(M[kk][kk], M[ii][kk]);
        for (int ii = kk + 1; ii < NB; ii++)
            if (M[ii][kk])
                for (int jj = kk + 1; jj < NB; jj++)
                    if (M[kk][jj]) {
                        if (!M[ii][jj])
                            M[ii][jj] = alloc_block();
                        bmod(M[ii][kk], M[kk][jj], M[ii][jj]);
                    }
    }
}

static void sparselu_par(float *M[NB][NB])
{
    #pragma omp parallel
    #pragma omp single nowait
    for (int kk = 0; kk < NB; kk++) {
        #pragma omp task firstprivate(kk) shared(M) depend(inout: M[kk][kk][0:BS*BS])
        lu0(M[kk][kk]);
        for (int jj = kk + 1; jj < NB; jj++)
            if (M[kk][jj]) {
                #pragma omp task firstprivate(kk, jj) shared(M) \
                    depend(in: M[kk][kk][0:BS*BS]) depend(inout: M[kk][jj][0:BS*BS])
                fwd(M[kk][kk], M[kk][jj]);
            }
        for (int ii = kk + 1; ii < NB; ii++)
            if (M[ii][kk]) {
                #pragma omp task firstprivate(kk, ii) shared(M) \
                    depend(in: M[kk][kk][0:BS*BS]) depend(inout: M[ii][kk][0:BS*BS])
                bdiv(M[kk][kk], M[ii][kk]);
            }
        for (int ii = kk + 1; ii < NB; ii++)
            if (M[ii][kk])
                for (int jj = kk + 1; jj < NB; jj++)
                    if (M[kk][jj]) {
                        if (!M[ii][jj])
                            M[ii][jj] = alloc_block();
                        #pragma omp task firstprivate(kk, jj, ii) shared(M) \
                            depend(in: M[ii][kk][0:BS*BS], M[kk][jj][0:BS*BS]) \
                            depend(inout: M[ii][jj][0:BS*BS])
                        bmod(M[ii][kk], M[kk][jj], M[ii][jj]);
                    }
    }
}

int main(int argc, char **argv)
{
    static float *A[NB][NB], *B[NB][NB];
    genmat(A);
    double t0 = bench_now();
    sparselu_par(A);
    bench_report(t0, bench_now());
    if (!bench_check(argc, argv)) {
        puts("unchecked");
        return 0;
    }
    genmat(B);
    sparselu_seq(B);
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB; j++) {
            if (!A[i][j] != !B[i][j]) {
                puts("FAIL: structure");
                return 1;
            }
            if (A[i][j] && memcmp(A[i][j], B[i][j], BS * BS * sizeof(float))) {
                printf("FAIL: block %d %d differs\n", i, j);
                return 1;
            }
        }
    puts("OK");
    return 0;
}
