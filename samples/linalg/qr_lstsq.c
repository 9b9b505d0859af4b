/* qr_lstsq.c: distributed least squares min ||A x - b|| by tiled Householder QR
 * (libdaglinalg) with A of m = 2n rows; runnable with mpirun. Prints GFLOP/s of the
 * factorisation and the normal-equations residual ||A^T (A x - b)|| / (||A||^2 ||x|| m eps).
 * usage: qr_lstsq [n] [nb] [p] [q] [cpu|cuda|any]     (default 1500 200 0 0 any) */
#include "common.h"

static double rnd(int i, int j, void *u)
{
    unsigned long long h = ((unsigned long long)i << 32 | (unsigned)j) * 0x9E3779B97F4A7C15ull +
                           *(int *)u;
    h ^= h >> 31, h *= 0xBF58476D1CE4E5B9ull, h ^= h >> 29;
    return (double)(h >> 11) / 9007199254740992.0 - 0.5;
}

int main(int argc, char **argv)
{
    struct args a = parse(argc, argv, 1500, 200);
    int m = 2 * a.n, n = a.n, nrhs = 2, sa = 3, sb = 4;
    dag_dist_t d = grid(&a);
    dag_la_t *A, *QR, *B, *R, *G;
    CHECK(dag_la_create(&A, DAG_LA_DOUBLE, m, n, a.nb, a.nb, &d));
    CHECK(dag_la_create(&QR, DAG_LA_DOUBLE, m, n, a.nb, a.nb, &d));
    CHECK(dag_la_create(&B, DAG_LA_DOUBLE, m, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_create(&R, DAG_LA_DOUBLE, m, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_create(&G, DAG_LA_DOUBLE, n, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_fill(A, rnd, &sa));
    CHECK(dag_la_fill(QR, rnd, &sa));
    CHECK(dag_la_fill(B, rnd, &sb));
    CHECK(dag_la_fill(R, rnd, &sb));
    double t = now();
    CHECK(dag_la_geqrf(QR));
    double s = now() - t;
    CHECK(dag_la_gels(QR, B));
    /* x = the first n rows of B: copy them out through a buffer-free gemm is not possible,
     * so gather x (n x nrhs, small) and set it into an n x nrhs matrix */
    double *xb = malloc(sizeof(double) * (size_t)m * nrhs);
    CHECK(dag_la_get(B, xb, m, -1));
    dag_la_t *X;
    CHECK(dag_la_create(&X, DAG_LA_DOUBLE, n, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_set(X, xb, m, -1));
    CHECK(dag_la_gemm('N', 'N', 1.0, A, X, -1.0, R));      /* R = A x - b */
    CHECK(dag_la_gemm('T', 'N', 1.0, A, R, 0.0, G));       /* G = A^T R */
    double na, nx, ng;
    CHECK(dag_la_norm(A, 'F', &na));
    CHECK(dag_la_norm(X, 'F', &nx));
    CHECK(dag_la_norm(G, 'F', &ng));
    double res = ng / (na * na * nx * m * DBL_EPSILON);
    double flops = 2.0 * n * n * (m - n / 3.0);
    if (dag_rank() == 0)
        printf("qr_lstsq m=%d n=%d nb=%d ranks=%d device=%s: geqrf %.3f s %.2f GFLOP/s, "
               "normal-equations residual %.2e\n", m, n, a.nb, dag_nranks(), a.device, s,
               flops / s * 1e-9, res);
    free(xb);
    dag_la_destroy(A), dag_la_destroy(QR), dag_la_destroy(B), dag_la_destroy(R);
    dag_la_destroy(G), dag_la_destroy(X);
    dag_finalize();
    return res < 10 ? 0 : 1;
}
