/* lu_system.c: written from docs/linalg.md alone, as a user would (issue 15, third
 * session): a dense non-symmetric system A X = B of a discretised integral equation
 * (a smooth kernel plus a random perturbation, so the pivots matter), 8 right-hand
 * sides, factored with each LU panel (gather, tournament) on however many ranks it is
 * started with, and checked by its own residual ||B - A X||_F / (||A||_F ||X||_F n eps)
 * computed with dag_la_gemm on a second copy of A.
 * usage: mpirun -np 4 lu_system [n] [nb]   (default 6000 1200: 11 MiB tiles) */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <dag.h>
#include <dag/linalg.h>

static int n;

static double kernel(int i, int j, void *u)
{
    (void)u;
    uint64_t h = (uint64_t)i * 2654435761u ^ ((uint64_t)j * 40503u + 0x9e3779b97f4a7c15u);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 32;
    double noise = (double)(h % 2000000) / 1e6 - 1.0; /* in [-1, 1) */
    double x = (double)i / n, y = (double)j / n;
    return exp(-fabs(x - y) * 8) / n + 0.5 * noise / sqrt((double)n);
}

static double rhs(int i, int j, void *u)
{
    (void)u;
    return sin(0.01 * i + j) + 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    n = argc > 1 ? atoi(argv[1]) : 6000;
    int nb = argc > 2 ? atoi(argv[2]) : 1200, nrhs = 8, bad = 0;
    if (dag_init(NULL) != DAG_OK)
        return 1;
    dag_dist_t d = {.kind = DAG_DIST_2D};
    const dag_la_lu_panel_t panels[2] = {DAG_LA_LU_GATHER, DAG_LA_LU_TOURNAMENT};
    const char *names[2] = {"gather", "tournament"};
    for (int p = 0; p < 2; p++) {
        dag_la_t *A, *A0, *B, *X;
        if (dag_la_create(&A, DAG_LA_DOUBLE, n, n, nb, nb, &d) ||
            dag_la_create(&A0, DAG_LA_DOUBLE, n, n, nb, nb, &d) ||
            dag_la_create(&B, DAG_LA_DOUBLE, n, nrhs, nb, nb, &d) ||
            dag_la_create(&X, DAG_LA_DOUBLE, n, nrhs, nb, nb, &d)) {
            fprintf(stderr, "create: %s\n", dag_la_error());
            return 1;
        }
        dag_la_fill(A, kernel, NULL);
        dag_la_fill(A0, kernel, NULL);
        dag_la_fill(B, rhs, NULL);
        dag_la_fill(X, rhs, NULL);
        int info = 0;
        double t0 = now();
        dag_status_t st = dag_la_getrf_ex(A, panels[p], NULL, &info);
        double tf = now() - t0;
        if (st || info) {
            fprintf(stderr, "getrf (%s): %s, info %d: %s\n", names[p], dag_strerror(st), info,
                    dag_la_error());
            return 1;
        }
        t0 = now();
        st = dag_la_getrs(A, X);
        double ts = now() - t0;
        double na, nx, nr;
        dag_la_norm(A0, 'F', &na);
        dag_la_norm(X, 'F', &nx);
        /* B := B - A0 X */
        st = st ? st : dag_la_gemm('N', 'N', -1.0, A0, X, 1.0, B);
        dag_la_norm(B, 'F', &nr);
        double res = nr / (na * nx * n * DBL_EPSILON);
        if (dag_rank() == 0)
            printf("%-10s n=%d nb=%d on %d rank(s): getrf %.2f s (%.1f GFLOP/s), getrs %.3f s, "
                   "residual %.3g %s\n",
                   names[p], n, nb, dag_nranks(), tf, 2.0 / 3 * n * (double)n * n / tf * 1e-9,
                   ts, res, st || !(res < 10) ? "FAIL" : "ok");
        bad |= st || !(res < 10);
        dag_la_destroy(A);
        dag_la_destroy(A0);
        dag_la_destroy(B);
        dag_la_destroy(X);
    }
    dag_finalize();
    return bad;
}
