/* heat_steps.c: written from docs/linalg.md alone, as a user would (issue 15, ninth
 * session): implicit time stepping with one operator, the pattern "factor once, solve
 * many times". A = I + dt K with K(i, j) = exp(-|i - j| / ell) (positive definite), 16
 * states advanced by U := A^-1 U for `steps` steps, with A's factor and U kept on the GPU
 * between the calls (dag_la_resident) when the tile kernels run there, and the state before
 * the last step saved with dag_la_copy. Checks, by its own means: the last step's residual
 * ||U_prev - A U||_F / (||A||_F ||U||_F n eps) (through dag_la_gemm on a copy of A), and
 * that ||U|| decayed (every eigenvalue of A exceeds 1).
 * usage: mpirun -np 2 heat_steps [n] [nb] [steps]   (default 8192 1024 20: 8 MiB tiles) */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <dag.h>
#include <dag/linalg.h>

static const double dt = 0.05, ell = 40.0;

static double op(int i, int j, void *u)
{
    (void)u;
    return (i == j ? 1.0 : 0.0) + dt * exp(-fabs((double)(i - j)) / ell);
}

static double state(int i, int j, void *u)
{
    int n = *(int *)u;
    return sin(M_PI * (j + 1) * (i + 0.5) / n) + 0.1 * cos(0.05 * i * (j + 1));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define TRY(x)                                                                             \
    do {                                                                                   \
        dag_status_t st_ = (x);                                                            \
        if (st_ != DAG_OK) {                                                               \
            fprintf(stderr, "heat_steps: %s: %s (%s)\n", #x, dag_strerror(st_),            \
                    dag_la_error());                                                       \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8192;
    int nb = argc > 2 ? atoi(argv[2]) : 1024;
    int steps = argc > 3 ? atoi(argv[3]) : 20, ns = 16;
    if (n < 1 || nb < 1 || steps < 1) {
        fprintf(stderr, "usage: heat_steps [n] [nb] [steps]\n");
        return 2;
    }
    TRY(dag_init(NULL));
    dag_la_t *A, *A0, *U, *Uprev;
    TRY(dag_la_create(&A, DAG_LA_DOUBLE, n, n, nb, nb, NULL));
    TRY(dag_la_create(&A0, DAG_LA_DOUBLE, n, n, nb, nb, NULL));
    TRY(dag_la_create(&U, DAG_LA_DOUBLE, n, ns, nb, ns, NULL));
    TRY(dag_la_create(&Uprev, DAG_LA_DOUBLE, n, ns, nb, ns, NULL));
    TRY(dag_la_resident(A, 1));
    TRY(dag_la_resident(A0, 1));
    TRY(dag_la_resident(U, 1));
    TRY(dag_la_resident(Uprev, 1));
    TRY(dag_la_fill(A, op, NULL));
    TRY(dag_la_fill(U, state, &n));
    TRY(dag_la_copy(A, A0));
    double u0, t0 = now();
    TRY(dag_la_norm(U, 'F', &u0));
    int info = -1;
    TRY(dag_la_potrf('L', A, &info));
    double tf = now() - t0;
    if (info) {
        fprintf(stderr, "heat_steps: potrf info %d\n", info);
        return 1;
    }
    t0 = now();
    for (int s = 0; s < steps; s++) {
        if (s == steps - 1)
            TRY(dag_la_copy(U, Uprev));
        TRY(dag_la_potrs('L', A, U));
    }
    double tsolve = now() - t0;
    double na, nu, nr;
    TRY(dag_la_norm(A0, 'F', &na));
    TRY(dag_la_norm(U, 'F', &nu));
    TRY(dag_la_gemm('N', 'N', -1.0, A0, U, 1.0, Uprev)); /* Uprev := Uprev - A U */
    TRY(dag_la_norm(Uprev, 'F', &nr));
    double res = nr / (na * nu * n * DBL_EPSILON);
    int ok = res < 10 && nu < u0 && nu > 0;
    if (dag_rank() == 0)
        printf("heat_steps n=%d nb=%d on %d rank(s), %d steps of %d states: factor %.2f s, "
               "%.3f s per step; ||U|| %.4g -> %.4g; last step's residual %.3g %s\n",
               n, nb, dag_nranks(), steps, ns, tf, tsolve / steps, u0, nu, res,
               ok ? "ok" : "FAIL");
    dag_la_destroy(A);
    dag_la_destroy(A0);
    dag_la_destroy(U);
    dag_la_destroy(Uprev);
    dag_finalize();
    return ok ? 0 : 1;
}
