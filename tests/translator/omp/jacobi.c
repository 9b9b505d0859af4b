/* OpenMP-compat: blocked Jacobi iteration with task dependences between neighbouring
 * blocks of two grids (KASTORS jacobi style). Checked against a sequential run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#ifndef N
#define N 256      /* grid points per dimension */
#endif
#ifndef B
#define B 32       /* block size */
#endif
#ifndef ITERS
#define ITERS 20
#endif

static double u[N][N], unew[N][N], f[N][N], useq[N][N], tmp[N][N];

static void sweep_block(double (*dst)[N], double (*src)[N], int bi, int bj)
{
    for (int i = bi * B; i < (bi + 1) * B; i++)
        for (int j = bj * B; j < (bj + 1) * B; j++) {
            if (i == 0 || j == 0 || i == N - 1 || j == N - 1) {
                dst[i][j] = src[i][j];
                continue;
            }
            dst[i][j] = 0.25 * (src[i - 1][j] + src[i + 1][j] + src[i][j - 1] +
                                src[i][j + 1] + f[i][j]);
        }
}

static void init(double (*g)[N])
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            g[i][j] = (i == 0 || j == 0 || i == N - 1 || j == N - 1) ? 1.0 : 0.0;
            f[i][j] = 1e-3 * ((i * 7 + j * 3) % 11);
        }
}

int main(int argc, char **argv)
{
    init(u);
    init(useq);
    const int nb = N / B;
    double t0 = bench_now();
    #pragma omp parallel
    {
        #pragma omp master
        {
            for (int it = 0; it < ITERS; it++) {
                double (*src)[N] = it % 2 ? unew : u;
                double (*dst)[N] = it % 2 ? u : unew;
                for (int bi = 0; bi < nb; bi++)
                    for (int bj = 0; bj < nb; bj++) {
                        int up = bi > 0 ? bi - 1 : bi, dn = bi < nb - 1 ? bi + 1 : bi;
                        int lf = bj > 0 ? bj - 1 : bj, rt = bj < nb - 1 ? bj + 1 : bj;
                        #pragma omp task depend(out: dst[bi * B][bj * B]) \
                            depend(in: src[bi * B][bj * B], src[up * B][bj * B], \
                                       src[dn * B][bj * B], src[bi * B][lf * B], \
                                       src[bi * B][rt * B])
                        sweep_block(dst, src, bi, bj);
                    }
            }
            #pragma omp taskwait
        }
    }
    bench_report(t0, bench_now());
    if (!bench_check(argc, argv)) {
        puts("unchecked");
        return 0;
    }
    for (int it = 0; it < ITERS; it++) {
        for (int bi = 0; bi < nb; bi++)
            for (int bj = 0; bj < nb; bj++)
                sweep_block(tmp, useq, bi, bj);
        memcpy(useq, tmp, sizeof tmp);
    }
    double (*res)[N] = ITERS % 2 ? unew : u;
    double diff = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            diff = fmax(diff, fabs(res[i][j] - useq[i][j]));
    printf("jacobi max diff vs sequential: %g\n", diff);
    if (diff != 0) {
        puts("FAIL");
        return 1;
    }
    puts("OK");
    return 0;
}
