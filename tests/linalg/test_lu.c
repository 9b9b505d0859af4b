/* test_lu.c: randomised differential tests of the two LU panels of libdaglinalg (the
 * gathered one, exact partial pivoting, and CALU's tournament pivoting) against LAPACK's
 * dgetrf / dgesv on the gathered matrices, on one 2D grid p x q (argv: p q seed rounds;
 * p = q = 0: near-square; run under mpirun with 1, 2 or 4 ranks). Random M, N (M != N,
 * odd, not multiples of nb), nb, and matrices that need pivoting (zero or tiny
 * diagonals, graded rows). Checks per variant: ||P A - L U|| / (||A|| max(M,N) eps) < 10,
 * pivots a valid swap sequence (the gathered panel's equal to dgetrf's), info as dgetrf's
 * on a matrix with a zero column, and for square A the solve: backward error < 10 and
 * the solution within the condition number's bound of dgesv's. The tournament's leaves
 * (DAG_LA_LU_LEAF) per rank or per tile at random. A float twin too.
 * Exit status 0 is a pass; each failure prints what differed. */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag/linalg.h"
#include "la_check.h"

static int one_row; /* one_row: every tile column on one rank */
static dag_dist_t dist;


static unsigned long long rng = 88172645463325252ull;
static double urand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 * 2 - 1;
}
static int irand(int lo, int hi)
{
    return lo + (int)((urand() + 1) / 2 * (hi - lo + 1)) % (hi - lo + 1);
}
static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static const char *kinds[] = {"uniform", "zero diagonal", "tiny diagonal", "graded rows",
                              "zero column"};

/* m x n test matrix of one of the kinds; the zero column is column *zc (else -1) */
static double *gen(int m, int n, int kind, int *zc)
{
    double *a = malloc(sizeof(double) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * n; i++)
        a[i] = urand();
    *zc = -1;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double *x = &a[(size_t)j * m + i];
            if (kind == 1 && i == j)
                *x = 0;
            if (kind == 2 && i == j)
                *x *= 1e-12;
            if (kind == 3)
                *x *= pow(10.0, -(double)(i % 7));
        }
    if (kind == 4) {
        *zc = irand(0, n - 1);
        for (int i = 0; i < m; i++)
            a[(size_t)*zc * m + i] = 0;
    }
    return a;
}

static dag_la_t *mk(dag_la_type_t t, int m, int n, int nb, const void *buf)
{
    dag_la_t *a = NULL;
    OK(dag_la_create(&a, t, m, n, nb, nb, &dist));
    if (a && buf)
        OK(dag_la_set(a, buf, m, -1));
    return a;
}

static double fnorm(const double *a, int m, int n)
{
    return LAPACKE_dlange(LAPACK_COL_MAJOR, 'F', m, n, a, m);
}

/* ||P A - L U||_F / (||A||_F max(m, n) eps) from the packed factors lu and pivots ip */
static double lu_residual(const double *A, const double *lu, const int *ip, int m, int n,
                          double eps)
{
    int mn = imin(m, n);
    double *L = calloc((size_t)m * mn, sizeof(double)), *U = calloc((size_t)mn * n,
                                                                     sizeof(double));
    double *W = malloc(sizeof(double) * (size_t)m * n);
    for (int j = 0; j < mn; j++)
        for (int i = j; i < m; i++)
            L[(size_t)j * m + i] = i == j ? 1 : lu[(size_t)j * m + i];
    for (int j = 0; j < n; j++)
        for (int i = 0; i <= imin(j, mn - 1); i++)
            U[(size_t)j * mn + i] = lu[(size_t)j * m + i];
    memcpy(W, A, sizeof(double) * (size_t)m * n);
    LAPACKE_dlaswp(LAPACK_COL_MAJOR, n, W, m, 1, mn, ip, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, mn, -1.0, L, m, U, mn, 1.0,
                W, m);
    double na = fnorm(A, m, n), r = fnorm(W, m, n) / ((na > 0 ? na : 1) * imax(m, n) * eps);
    free(L), free(U), free(W);
    return r;
}

static void t_case(int m, int n, int nb, int kind, dag_la_lu_panel_t panel)
{
    const char *pn = panel == DAG_LA_LU_GATHER ? "gather" : "tournament";
    int zc, mn = imin(m, n), info = -1;
    double *A = gen(m, n, kind, &zc);
    dag_la_t *a = mk(DAG_LA_DOUBLE, m, n, nb, A);
    int *ip = malloc(sizeof(int) * (size_t)mn), *rp = malloc(sizeof(int) * (size_t)mn);
    double *LU = malloc(sizeof(double) * (size_t)m * n), *R = malloc(sizeof(double) * m * n);
    int tile_leaf = urand() < 0;
    setenv("DAG_LA_LU_LEAF", tile_leaf ? "tile" : "rank", 1); /* tournament leaves */
    OK(dag_la_getrf_ex(a, panel, ip, &info));
    OK(dag_la_get(a, LU, m, -1));
    memcpy(R, A, sizeof(double) * (size_t)m * n);
    int rinfo = LAPACKE_dgetrf(LAPACK_COL_MAJOR, m, n, R, m, rp);
    CHECK(info == rinfo, "%s %dx%d nb %d %s: info %d, dgetrf %d", pn, m, n, nb, kinds[kind],
          info, rinfo);
    int bad = 0;
    for (int t = 0; t < mn; t++)
        bad += ip[t] < t + 1 || ip[t] > m;
    CHECK(!bad, "%s %dx%d nb %d: %d pivots out of range", pn, m, n, nb, bad);
    /* one leaf per rank on a panel that one rank holds: partial pivoting's rows */
    if (panel == DAG_LA_LU_GATHER || (one_row && !tile_leaf))
        CHECK(!memcmp(ip, rp, sizeof(int) * (size_t)mn), "%s %dx%d nb %d %s: pivots "
              "differ from dgetrf", pn, m, n, nb, kinds[kind]);
    if (!bad && zc < 0) {
        double r = lu_residual(A, LU, ip, m, n, DBL_EPSILON);
        CHECK(r < 10, "%s %dx%d nb %d %s: ||PA - LU|| / (||A|| n eps) = %g", pn, m, n, nb,
              kinds[kind], r);
    }
    if (m == n && zc < 0 && rinfo == 0) {
        int r = irand(1, 5);
        double *B = malloc(sizeof(double) * (size_t)n * r), *X = malloc(sizeof(double) * n * r);
        for (int i = 0; i < n * r; i++)
            B[i] = urand();
        dag_la_t *b = mk(DAG_LA_DOUBLE, n, r, nb, B);
        OK(dag_la_getrs(a, b));
        OK(dag_la_get(b, X, n, -1));
        double *W = malloc(sizeof(double) * (size_t)n * r), rc = 0;
        memcpy(W, B, sizeof(double) * (size_t)n * r);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, r, n, 1.0, A, n, X, n, -1.0,
                    W, n);
        double be = fnorm(W, n, r) / (fnorm(A, n, n) * fnorm(X, n, r) * n * DBL_EPSILON);
        CHECK(be < 10, "%s getrs n %d nb %d %s: backward error %g", pn, n, nb, kinds[kind], be);
        /* dgesv's solution, from the factors above; the two agree to cond(A) n eps */
        memcpy(W, B, sizeof(double) * (size_t)n * r);
        LAPACKE_dgetrs(LAPACK_COL_MAJOR, 'N', n, r, R, n, rp, W, n);
        LAPACKE_dgecon(LAPACK_COL_MAJOR, '1', n, R, n, LAPACKE_dlange(LAPACK_COL_MAJOR, '1',
                       n, n, A, n), &rc);
        double d = 0, xn = 0;
        for (int i = 0; i < n * r; i++)
            d = fmax(d, fabs(X[i] - W[i])), xn = fmax(xn, fabs(W[i]));
        CHECK(d <= 100 * n * DBL_EPSILON / fmax(rc, 1e-300) * xn, "%s getrs n %d nb %d %s: "
              "solution off dgesv's by %g (max |x| %g, rcond %g)", pn, n, nb, kinds[kind], d,
              xn, rc);
        dag_la_destroy(b);
        free(B), free(X), free(W);
    }
    dag_la_destroy(a);
    free(A), free(ip), free(rp), free(LU), free(R);
}

/* single precision, tournament panel: residual in float's eps, solve backward error */
static void t_float(int n, int nb)
{
    int zc, info = -1, *ip = malloc(sizeof(int) * (size_t)n);
    double *A = gen(n, n, 2, &zc);
    float *Af = malloc(sizeof(float) * (size_t)n * n), *LUf = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++)
        Af[i] = (float)A[i];
    for (int i = 0; i < n * n; i++)
        A[i] = Af[i];
    dag_la_t *a = mk(DAG_LA_FLOAT, n, n, nb, Af);
    OK(dag_la_getrf_ex(a, DAG_LA_LU_TOURNAMENT, ip, &info));
    OK(dag_la_get(a, LUf, n, -1));
    double *LU = malloc(sizeof(double) * (size_t)n * n);
    for (int i = 0; i < n * n; i++)
        LU[i] = LUf[i];
    double r = lu_residual(A, LU, ip, n, n, FLT_EPSILON);
    CHECK(info == 0 && r < 10, "float tournament n %d nb %d: info %d residual %g", n, nb, info,
          r);
    dag_la_destroy(a);
    free(A), free(Af), free(LUf), free(LU), free(ip);
}

static void t_bad(void)
{
    dag_la_t *a = mk(DAG_LA_DOUBLE, 8, 8, 4, NULL);
    CHECK(dag_la_getrf_ex(a, (dag_la_lu_panel_t)7, NULL, NULL) == DAG_ERR_INVALID &&
          strstr(dag_la_error(), "panel"), "unknown panel: '%s'", dag_la_error());
    setenv("DAG_LA_LU", "nope", 1);
    CHECK(dag_la_getrf(a, NULL, NULL) == DAG_ERR_INVALID && strstr(dag_la_error(), "DAG_LA_LU"),
          "bad DAG_LA_LU: '%s'", dag_la_error());
    unsetenv("DAG_LA_LU");
    setenv("DAG_LA_LU_LEAF", "trees", 1);
    CHECK(dag_la_getrf_ex(a, DAG_LA_LU_TOURNAMENT, NULL, NULL) == DAG_ERR_INVALID &&
          strstr(dag_la_error(), "DAG_LA_LU_LEAF"), "bad DAG_LA_LU_LEAF: '%s'", dag_la_error());
    unsetenv("DAG_LA_LU_LEAF");
    dag_la_destroy(a);
}

int main(int argc, char **argv)
{
    int p = argc > 1 ? atoi(argv[1]) : 0, q = argc > 2 ? atoi(argv[2]) : 0;
    unsigned seed = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
    int rounds = argc > 4 ? atoi(argv[4]) : 4;
    rng += seed * 0x9E3779B97F4A7C15ull;
    me = dag_rank();
    one_row = p == 1 || dag_nranks() == 1;
    for (int r = 0; r < rounds; r++) {
        dist = (dag_dist_t){.kind = DAG_DIST_2D, .p = p, .q = q, .block = irand(1, 2)};
        int nb = irand(2, 40), m = irand(1, 200), n = urand() < 0 ? m : irand(1, 200);
        int kind = irand(0, 4);
        t_case(m, n, nb, kind, DAG_LA_LU_GATHER);
        t_case(m, n, nb, kind, DAG_LA_LU_TOURNAMENT);
        if (r % 2 == 0)
            t_float(irand(1, 120), irand(2, 32));
    }
    dist = (dag_dist_t){.kind = DAG_DIST_2D, .p = p, .q = q};
    t_case(700, 650, 128, 0, DAG_LA_LU_TOURNAMENT); /* tiles of realistic shape */
    t_case(640, 640, 96, 3, DAG_LA_LU_TOURNAMENT);
    t_bad();
    int np = dag_nranks();
    dag_finalize();
    if (!fails && me == 0)
        printf("test_lu %dx%d seed %u on %d ranks: ok\n", p, q, seed, np);
    return fails ? 1 : 0;
}
