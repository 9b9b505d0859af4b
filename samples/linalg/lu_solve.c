/* lu_solve.c: distributed LU solve with partial pivoting (libdaglinalg); runnable with
 * mpirun. Prints GFLOP/s of the factorisation and the backward error of the solve.
 * usage: lu_solve [n] [nb] [p] [q] [cpu|cuda|any]     (default 2000 200 0 0 any) */
#include "common.h"

static double rnd(int i, int j, void *u)
{
    unsigned long long h = ((unsigned long long)i << 32 | (unsigned)j) + *(int *)u;
    h ^= h >> 33, h *= 0xff51afd7ed558ccdull, h ^= h >> 33, h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (double)(h >> 11) / 9007199254740992.0 - 0.5;
}

int main(int argc, char **argv)
{
    struct args a = parse(argc, argv, 2000, 200);
    dag_dist_t d = grid(&a);
    dag_la_t *A, *LU, *X, *R;
    int nrhs = 4, info, sa = 1, sb = 2;
    CHECK(dag_la_create(&A, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d));
    CHECK(dag_la_create(&LU, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d));
    CHECK(dag_la_create(&X, DAG_LA_DOUBLE, a.n, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_create(&R, DAG_LA_DOUBLE, a.n, nrhs, a.nb, a.nb, &d));
    CHECK(dag_la_fill(A, rnd, &sa));
    CHECK(dag_la_fill(LU, rnd, &sa));
    CHECK(dag_la_fill(X, rnd, &sb));
    CHECK(dag_la_fill(R, rnd, &sb));
    double t = now();
    CHECK(dag_la_getrf(LU, NULL, &info));
    double s = now() - t;
    CHECK(dag_la_getrs(LU, X));
    double res = residual(A, X, R, a.n);
    if (dag_rank() == 0)
        printf("lu_solve n=%d nb=%d ranks=%d device=%s: getrf %.3f s %.2f GFLOP/s, info %d, "
               "backward error %.2e\n", a.n, a.nb, dag_nranks(), a.device, s,
               2.0 / 3 * a.n * a.n * a.n / s * 1e-9, info, res);
    dag_la_destroy(A), dag_la_destroy(LU), dag_la_destroy(X), dag_la_destroy(R);
    dag_finalize();
    return res < 10 ? 0 : 1;
}
