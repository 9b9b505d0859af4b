/* jacobi_omp5.c: written from docs/pragmas.md ("OpenMP compatibility") alone, as a user
 * with an existing OpenMP 5 code would: a blocked Jacobi sweep on an N x N grid seen
 * through pointer-to-VLA views, one task per block and sweep. Each task's inputs are the
 * block and its four neighbours, named through depend(iterator(...)) on a grid of block
 * tokens; the boundary rows wait on a depend(depobj: ...); each sweep's change is
 * summed by a taskloop reduction and its largest element found by a taskgroup
 * task_reduction with in_reduction tasks; a user-declared reduction counts the blocks.
 * Built without -fopenmp the pragmas are ignored and the program is its own sequential
 * reference. Prints the grid's checksum, the last sweep's sum and max, and the count.
 * Usage: jacobi_omp5 N B SWEEPS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    long blocks, cells;
} count_t;

static void count_add(count_t *out, const count_t *in)
{
    out->blocks += in->blocks;
    out->cells += in->cells;
}

#pragma omp declare reduction(cnt : count_t : count_add(&omp_out, &omp_in)) \
    initializer(omp_priv = (count_t){0, 0})

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void sweep_block(int n, double (*dst)[n], double (*src)[n], int i0, int j0, int b)
{
    for (int i = i0; i < i0 + b; i++)
        for (int j = j0; j < j0 + b; j++) {
            if (i == 0 || j == 0 || i == n - 1 || j == n - 1) {
                dst[i][j] = src[i][j];
                continue;
            }
            dst[i][j] = 0.25 * (src[i - 1][j] + src[i + 1][j] + src[i][j - 1] + src[i][j + 1]);
        }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s N B SWEEPS\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]), b = atoi(argv[2]), sweeps = atoi(argv[3]);
    if (n <= 0 || b <= 0 || n % b || sweeps <= 0) {
        fprintf(stderr, "N must be a positive multiple of B, SWEEPS positive\n");
        return 2;
    }
    int nb = n / b;
    double *buf0 = malloc(sizeof(double) * n * n), *buf1 = malloc(sizeof(double) * n * n);
    char *tok = calloc((size_t)2 * nb * nb, 1); /* a token per block and grid */
    if (!buf0 || !buf1 || !tok)
        return 1;
    double (*g0)[n] = (void *)buf0, (*g1)[n] = (void *)buf1;
    char (*t0)[nb] = (void *)tok, (*t1)[nb] = (void *)(tok + nb * nb);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            g0[i][j] = g1[i][j] = (i == 0 ? 100.0 : 0.0) + (double)((i * 7 + j * 13) % 17) / 17.0;
    double sum = 0, mx = 0;
    count_t cnt = {0, 0};
    char edge = 0; /* the top boundary row's token, for depobj */
#pragma omp parallel
#pragma omp single
    {
#ifdef _OPENMP
        omp_depend_t top;
#pragma omp depobj(top) depend(inout: edge)
#endif
        for (int s = 0; s < sweeps; s++) {
            double (*src)[n] = s % 2 ? g1 : g0, (*dst)[n] = s % 2 ? g0 : g1;
            char (*ts)[nb] = s % 2 ? t1 : t0, (*td)[nb] = s % 2 ? t0 : t1;
            for (int bi = 0; bi < nb; bi++)
                for (int bj = 0; bj < nb; bj++) {
                    if (bi == 0) {
#pragma omp task depend(iterator(int d = 0:5), in: ts[clampi(bi + (d == 1) - (d == 2), 0, nb - 1)][clampi(bj + (d == 3) - (d == 4), 0, nb - 1)]) \
    depend(out: td[bi][bj]) depend(depobj: top) firstprivate(bi, bj)
                        sweep_block(n, dst, src, bi * b, bj * b, b);
                    } else {
#pragma omp task depend(iterator(int d = 0:5), in: ts[clampi(bi + (d == 1) - (d == 2), 0, nb - 1)][clampi(bj + (d == 3) - (d == 4), 0, nb - 1)]) \
    depend(out: td[bi][bj]) firstprivate(bi, bj)
                        sweep_block(n, dst, src, bi * b, bj * b, b);
                    }
                }
            if (s == sweeps - 1) {
#pragma omp taskwait
                double *a = (double *)dst, *o = (double *)src;
                double part = 0;
#pragma omp taskloop reduction(+: part) grainsize(1)
                for (int bi = 0; bi < nb; bi++)
                    for (int i = bi * b; i < bi * b + b; i++)
                        for (int j = 0; j < n; j++) {
                            double d = a[(size_t)i * n + j] - o[(size_t)i * n + j];
                            part += d * d;
                        }
                sum = part;
                double m = 0;
#pragma omp taskgroup task_reduction(max: m)
                {
                    for (int bi = 0; bi < nb; bi++) {
#pragma omp task in_reduction(max: m) firstprivate(bi)
                        for (int i = bi * b; i < bi * b + b; i++)
                            for (int j = 0; j < n; j++) {
                                double d = dst[i][j] - src[i][j];
                                d = d < 0 ? -d : d;
                                if (d > m)
                                    m = d;
                            }
                    }
                }
                mx = m;
#pragma omp taskloop reduction(cnt: cnt) grainsize(4)
                for (int k = 0; k < nb * nb; k++) {
                    cnt.blocks += 1;
                    cnt.cells += (long)b * b;
                }
            }
        }
#ifdef _OPENMP
#pragma omp taskwait
#pragma omp depobj(top) destroy
#endif
    }
    double (*fin)[n] = sweeps % 2 ? g1 : g0;
    double check = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            check += fin[i][j] * (double)((i + 2 * j) % 5 + 1);
    printf("checksum %.17g\nsum %.17g\nmax %.17g\nblocks %ld cells %ld\n", check, sum, mx,
           cnt.blocks, cnt.cells);
    free(buf0), free(buf1), free(tok);
    return 0;
}
