/* stranger_power.c: written from docs/distributed.md and docs/pragmas.md alone, as a user
 * with a cluster would: power iteration y = A x, x = y / |y| on a 2D block-cyclic matrix
 * of 8 MiB tiles (4 x 4 tiles of 1024 x 1024 doubles: 128 MiB) with x and y tiled 1D
 * arrays, every operation a task on tiles. The tasks that accumulate y_i run on y_i's
 * owner, so A's tiles travel there once (and are reused from the cache), x's tiles every
 * iteration; the norm is a task every rank runs (it writes private memory). Rank 0 then
 * repeats the computation sequentially and demands the same x to the last bit and the same
 * eigenvalue estimates. Usage: stranger_power [N] [TILE] [ITERS]; prints OK on rank 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>
#include <dag/dist.h>

static double a_elem(int i, int j, int n)
{
    /* symmetric, diagonally dominant enough to have a clear largest eigenvalue */
    return (i == j ? 2.0 * n : 0.0) + (double)((i * 31 + j * 17) % 101 + (j * 31 + i * 17) % 101) / 202.0;
}

static void fill_tile(double *t, int bi, int bj, int b, int n)
{
    for (int c = 0; c < b; c++)
        for (int r = 0; r < b; r++)
            t[(size_t)c * b + r] = a_elem(bi * b + r, bj * b + c, n);
}

/* y += A_ij x_j (column-major tile) */
static void gemv_tile(const double *a, const double *x, double *y, int b)
{
    for (int c = 0; c < b; c++) {
        double xc = x[c];
        const double *col = a + (size_t)c * b;
        for (int r = 0; r < b; r++)
            y[r] += col[r] * xc;
    }
}

static void zero(double *y, int b) { memset(y, 0, sizeof(double) * (size_t)b); }

static void sumsq(const double *y, int b, double *acc)
{
    double s = 0;
    for (int r = 0; r < b; r++)
        s += y[r] * y[r];
    *acc += s;
}

static void scale(const double *y, double *x, int b, const double *nrm)
{
    for (int r = 0; r < b; r++)
        x[r] = y[r] / *nrm;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4096, b = argc > 2 ? atoi(argv[2]) : 1024;
    int iters = argc > 3 ? atoi(argv[3]) : 6;
    if (n <= 0 || b <= 0 || n % b || iters <= 0) {
        fprintf(stderr, "usage: %s [N] [TILE] [ITERS] (N a multiple of TILE)\n", argv[0]);
        return 2;
    }
    int nt = n / b, rank = dag_rank();
    size_t tb = sizeof(double) * (size_t)b * b, vb = sizeof(double) * (size_t)b;
    dag_matrix_t *A, *X, *Y;
    dag_dist_t d2 = {.kind = DAG_DIST_2D}, d1 = {.kind = DAG_DIST_CYCLIC};
    if (dag_matrix_create(&A, nt, nt, tb, &d2) || dag_matrix_create(&X, nt, 1, vb, &d1) ||
        dag_matrix_create(&Y, nt, 1, vb, &d1)) {
        fprintf(stderr, "rank %d: dag_matrix_create failed\n", rank);
        return 1;
    }
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nt; j++) {
            double *t = dag_tile(A, i, j);
#pragma dag task depend(out: t[0:b*b])
            fill_tile(t, i, j, b, n);
        }
    for (int i = 0; i < nt; i++) {
        double *x = dag_tile(X, i, 0);
#pragma dag task depend(out: x[0:b])
        for (int r = 0; r < b; r++)
            x[r] = 1.0;
    }
    double *lambda = calloc((size_t)iters, sizeof(double));
    double nrm = 0;
    for (int it = 0; it < iters; it++) {
        for (int i = 0; i < nt; i++) {
            double *y = dag_tile(Y, i, 0);
#pragma dag task depend(out: y[0:b])
            zero(y, b);
            for (int j = 0; j < nt; j++) {
                double *a = dag_tile(A, i, j), *x = dag_tile(X, j, 0);
#pragma dag task depend(in: a[0:b*b], x[0:b]) depend(inout: y[0:b]) label("gemv")
                gemv_tile(a, x, y, b);
            }
        }
        /* |y|: written into this rank's private nrm, so every rank runs it */
        nrm = 0;
        for (int i = 0; i < nt; i++) {
            double *y = dag_tile(Y, i, 0);
#pragma dag task depend(in: y[0:b]) depend(inout: nrm)
            sumsq(y, b, &nrm);
        }
#pragma dag task depend(inout: nrm)
        nrm = sqrt(nrm);
        for (int i = 0; i < nt; i++) {
            double *y = dag_tile(Y, i, 0), *x = dag_tile(X, i, 0);
#pragma dag task depend(in: y[0:b], nrm) depend(out: x[0:b])
            scale(y, x, b, &nrm);
        }
#pragma dag taskwait
        lambda[it] = nrm; /* |A x| with |x| = 1 after the first step */
    }
    for (int i = 0; i < nt; i++)
        dag_dist_fetch(dag_tile(X, i, 0), vb, 0);
#pragma dag taskwait
    int bad = 0;
    if (rank == 0) {
        double *ra = malloc(tb), *rx = malloc(sizeof(double) * (size_t)n),
               *ry = malloc(sizeof(double) * (size_t)n);
        if (!ra || !rx || !ry)
            return 1;
        for (int r = 0; r < n; r++)
            rx[r] = 1.0;
        for (int it = 0; it < iters && !bad; it++) {
            for (int i = 0; i < nt; i++) {
                zero(ry + (size_t)i * b, b);
                for (int j = 0; j < nt; j++) {
                    fill_tile(ra, i, j, b, n);
                    gemv_tile(ra, rx + (size_t)j * b, ry + (size_t)i * b, b);
                }
            }
            double s = 0;
            for (int i = 0; i < nt; i++)
                sumsq(ry + (size_t)i * b, b, &s);
            s = sqrt(s);
            for (int i = 0; i < nt; i++)
                scale(ry + (size_t)i * b, rx + (size_t)i * b, b, &s);
            if (s != lambda[it]) {
                printf("iteration %d: estimate %.17g, sequential %.17g\n", it, lambda[it], s);
                bad = 1;
            }
        }
        for (int i = 0; i < nt && !bad; i++)
            if (memcmp(dag_tile(X, i, 0), rx + (size_t)i * b, vb)) {
                printf("x tile %d differs from the sequential run\n", i);
                bad = 1;
            }
        printf("n %d tile %d iterations %d ranks %d: largest eigenvalue ~ %.12g\n", n, b,
               iters, dag_nranks(), lambda[iters - 1]);
        free(ra), free(rx), free(ry);
    }
    dag_dist_barrier();
    dag_matrix_destroy(A), dag_matrix_destroy(X), dag_matrix_destroy(Y);
    free(lambda);
    if (rank == 0 && !bad)
        printf("OK\n");
    return bad;
}
