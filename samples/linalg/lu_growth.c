/* lu_growth.c: stability of the two LU panels of libdaglinalg (gather: exact partial
 * pivoting; tournament: CALU) against LAPACK's dgetrf on the growth-factor test matrices
 * (random uniform and normal, Higham's orthog, ris and circul, Wilkinson's matrix with
 * growth 2^(n-1) under partial pivoting, Foster's and Wright's matrices where partial
 * pivoting grows). For each it prints the growth factor max|U| / max|A|, the backward
 * error of the factorisation ||P A - L U||_F / (||A||_F n eps) and that of a solve
 * ||A x - b|| / (||A|| ||x|| n eps). Runnable with mpirun; exit status 1 if a panel's
 * factorisation backward error is not below 10 on a matrix without exponential growth.
 * usage: lu_growth [n] [nb] [p] [q]     (default 512 64 0 0) */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <dag/linalg.h>

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static double unif(void) /* [0, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double normal(void)
{
    double u = unif(), v = unif();
    return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

enum { RANDU, RANDN, ORTHOG, RIS, CIRCUL, WILKINSON, FOSTER, WRIGHT, NMAT };
static const char *names[] = {"randu", "randn", "orthog", "ris", "circul", "wilkinson",
                              "foster", "wright"};

/* the n x n test matrix `which`, column-major */
static void gen(int which, int n, double *a)
{
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        v[i] = normal();
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double x = 0, i1 = i + 1, j1 = j + 1;
            switch (which) {
            case RANDU: x = 2 * unif() - 1; break;
            case RANDN: x = normal(); break;
            case ORTHOG: x = sqrt(2.0 / (n + 1)) * sin(i1 * j1 * M_PI / (n + 1)); break;
            case RIS: x = 0.5 / (n - i1 - j1 + 1.5); break;
            case CIRCUL: x = v[((j - i) % n + n) % n]; break;
            case WILKINSON: x = i == j || j == n - 1 ? 1 : i > j ? -1 : 0; break;
            case FOSTER: { /* Foster (1994): kh = 2/3, c = 1 (multipliers of modulus 1) */
                double kh = 2.0 / 3, c = 1;
                if (j == n - 1)
                    x = (i == n - 1 ? 1 - kh / 2 : 0) - 1 / c;
                else if (i == j)
                    x = i == 0 ? 1 : 1 - kh / 2;
                else if (i > j)
                    x = j == 0 ? -kh / 2 : -kh;
                break;
            }
            case WRIGHT: { /* Wright (1993), multiple shooting: M = [-1/6 1; 1 -1/6], h = .3 */
                int nb2 = n / 2 * 2, bi = i / 2, bj = j / 2;
                double h = 0.3, e1 = exp(5 * h / 6), e2 = exp(-7 * h / 6);
                double em = (i % 2 == j % 2) ? (e1 + e2) / 2 : (e1 - e2) / 2;
                if (i >= nb2 || j >= nb2)
                    x = i == j;
                else if (bi == bj)
                    x = i == j;
                else if (bi == 0 && bj == nb2 / 2 - 1)
                    x = i == j - (nb2 - 2);
                else if (bi == bj + 1)
                    x = -em;
                break;
            }
            }
            a[(size_t)j * n + i] = x;
        }
    free(v);
}

static double amax(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* growth, factor and solve backward errors of packed factors lu with pivots ip */
static void measure(const double *A, const double *lu, const int *ip, const double *x,
                    const double *b, int n, double out[3])
{
    double *L = calloc((size_t)n * n, sizeof(double)), *U = calloc((size_t)n * n, 8);
    double *W = malloc(sizeof(double) * (size_t)n * n), *r = malloc(sizeof(double) * n);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            if (i > j)
                L[(size_t)j * n + i] = lu[(size_t)j * n + i];
            else
                U[(size_t)j * n + i] = lu[(size_t)j * n + i];
            if (i == j)
                L[(size_t)j * n + i] = 1;
        }
    out[0] = amax(U, (size_t)n * n) / amax(A, (size_t)n * n);
    memcpy(W, A, sizeof(double) * (size_t)n * n);
    LAPACKE_dlaswp(LAPACK_COL_MAJOR, n, W, n, 1, n, ip, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, -1.0, L, n, U, n, 1.0, W, n);
    double na = LAPACKE_dlange(LAPACK_COL_MAJOR, 'F', n, n, A, n);
    out[1] = LAPACKE_dlange(LAPACK_COL_MAJOR, 'F', n, n, W, n) / (na * n * DBL_EPSILON);
    memcpy(r, b, sizeof(double) * (size_t)n);
    cblas_dgemv(CblasColMajor, CblasNoTrans, n, n, 1.0, A, n, x, 1, -1.0, r, 1);
    out[2] = cblas_dnrm2(n, r, 1) / (na * cblas_dnrm2(n, x, 1) * n * DBL_EPSILON);
    free(L), free(U), free(W), free(r);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 512, nb = argc > 2 ? atoi(argv[2]) : 64;
    dag_dist_t d = {.kind = DAG_DIST_2D, .p = argc > 3 ? atoi(argv[3]) : 0,
                    .q = argc > 4 ? atoi(argv[4]) : 0};
    if (n < 2 || nb < 1) {
        fprintf(stderr, "usage: lu_growth [n >= 2] [nb] [p] [q]\n");
        return 2;
    }
    int me = dag_rank(), fail = 0;
    double *A = malloc(sizeof(double) * (size_t)n * n), *F = malloc(sizeof(double) * n * n);
    double *b = malloc(sizeof(double) * (size_t)n), *x = malloc(sizeof(double) * n);
    int *ip = malloc(sizeof(int) * (size_t)n);
    if (me == 0)
        printf("lu_growth n=%d nb=%d ranks=%d: growth max|U|/max|A|, backward errors "
               "||PA-LU||_F/(||A||_F n eps) and ||Ax-b||/(||A|| ||x|| n eps)\n"
               "%-10s | %-30s | %-30s | %-30s\n", n, nb, dag_nranks(), "matrix",
               "LAPACK dgetrf", "gather (partial pivoting)", "tournament (CALU)");
    for (int w = 0; w < NMAT; w++) {
        gen(w, n, A);
        for (int i = 0; i < n; i++)
            b[i] = 2 * unif() - 1;
        double res[3][3];
        memcpy(F, A, sizeof(double) * (size_t)n * n);
        memcpy(x, b, sizeof(double) * (size_t)n);
        LAPACKE_dgesv(LAPACK_COL_MAJOR, n, 1, F, n, ip, x, n);
        measure(A, F, ip, x, b, n, res[0]);
        for (int v = 1; v <= 2; v++) {
            dag_la_t *a, *bb;
            int info;
            dag_status_t st = dag_la_create(&a, DAG_LA_DOUBLE, n, n, nb, nb, &d);
            if (!st)
                st = dag_la_create(&bb, DAG_LA_DOUBLE, n, 1, nb, nb, &d);
            if (!st)
                st = dag_la_set(a, A, n, -1);
            if (!st)
                st = dag_la_set(bb, b, n, -1);
            if (!st)
                st = dag_la_getrf_ex(a, v == 1 ? DAG_LA_LU_GATHER : DAG_LA_LU_TOURNAMENT, ip,
                                     &info);
            if (!st)
                st = dag_la_getrs(a, bb);
            if (!st)
                st = dag_la_get(a, F, n, -1);
            if (!st)
                st = dag_la_get(bb, x, n, -1);
            if (st) {
                fprintf(stderr, "lu_growth: %s %s\n", dag_strerror(st), dag_la_error());
                return 1;
            }
            measure(A, F, ip, x, b, n, res[v]);
            if (w < WILKINSON && res[v][1] >= 10) {
                fail = 1;
                if (me == 0)
                    fprintf(stderr, "lu_growth: %s, %s panel: backward error %g >= 10\n",
                            names[w], v == 1 ? "gather" : "tournament", res[v][1]);
            }
            dag_la_destroy(a), dag_la_destroy(bb);
        }
        if (me == 0) {
            printf("%-10s", names[w]);
            for (int v = 0; v < 3; v++)
                printf(" | %9.3g %9.3g %9.3g", res[v][0], res[v][1], res[v][2]);
            printf("\n");
        }
    }
    free(A), free(F), free(b), free(x), free(ip);
    dag_finalize();
    return fail;
}
