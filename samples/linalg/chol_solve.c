/* chol_solve.c: distributed Cholesky solve A X = B (A SPD) with libdaglinalg; runnable
 * with mpirun. Prints GFLOP/s of the factorisation and the backward error of the solve.
 * usage: chol_solve [n] [nb] [p] [q] [cpu|cuda|any]     (default 2000 200 0 0 any) */
#include "common.h"

static double spd(int i, int j, void *u) { return 1.0 / (1 + i + j) + (i == j ? *(int *)u : 0); }
static double rhs(int i, int j, void *u) { (void)u; return (double)((i * 7 + j * 13) % 11) - 5; }

int main(int argc, char **argv)
{
    struct args a = parse(argc, argv, 2000, 200);
    dag_dist_t d = grid(&a);
    dag_la_t *A, *L, *X, *R;
    int nrhs = 4, info;
    CHECK(dag_la_create(&A, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d));
    CHECK(dag_la_create(&L, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d));
    CHECK(dag_la_create(&X, DAG_LA_DOUBLE, a.n, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_create(&R, DAG_LA_DOUBLE, a.n, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_fill(A, spd, &a.n));
    CHECK(dag_la_fill(L, spd, &a.n));
    CHECK(dag_la_fill(X, rhs, NULL));
    CHECK(dag_la_fill(R, rhs, NULL));
    double t = now();
    CHECK(dag_la_potrf('L', L, &info));
    double s = now() - t;
    CHECK(dag_la_potrs('L', L, X));
    /* A is symmetric: only its lower half was defined by spd(), which is symmetric anyway */
    double res = residual(A, X, R, a.n);
    if (dag_rank() == 0)
        printf("chol_solve n=%d nb=%d ranks=%d device=%s: potrf %.3f s %.2f GFLOP/s, "
               "backward error %.2e\n", a.n, a.nb, dag_nranks(), a.device, s,
               (double)a.n * a.n * a.n / 3 / s * 1e-9, res);
    dag_la_destroy(A), dag_la_destroy(L), dag_la_destroy(X), dag_la_destroy(R);
    dag_finalize();
    return res < 10 ? 0 : 1;
}
