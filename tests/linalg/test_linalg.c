/* test_linalg.c: randomised differential tests of libdaglinalg against LAPACK/CBLAS run
 * on the gathered matrices, on 1, 2 or 4 ranks (mpirun) and one distribution (argv[1]:
 * 2d, 1d, cyclic, 3d, owner). Random shapes (odd, M != N, N not a multiple of nb) from
 * argv[2] (seed). Checks: fill/set/get/norms, GEMM (all transposes, 2.5D on 3d), TRSM
 * (8 variants), SYRK, POTRF/POTRS residuals, GETRF (pivots equal to LAPACK's dgetrf,
 * growth-factor matrix) and GETRS, GEQRF/GELS, GEQRF in LAPACK's layout (against dgeqrf,
 * any shape), copies between matrices kept on the GPU (resident), float twins, and bad
 * arguments.
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

static dag_dist_t la_dist;


#define PHASE(x)                                                                           \
    do {                                                                                   \
        if (getenv("LA_DEBUG"))                                                            \
            fprintf(stderr, "[%d] %s\n", me, x);                                           \
    } while (0)
/* LA_ONLY=name: run only the checks of that name (debugging); the random draws stay */
static int only(const char *x)
{
    const char *o = getenv("LA_ONLY");
    return !o || !strcmp(o, x);
}

static unsigned long long rng = 88172645463325252ull;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 * 2 - 1;
}
static int irand(int lo, int hi) { return lo + (int)((urand() + 1) / 2 * (hi - lo + 1)) % (hi - lo + 1); }

static double *rmat(int m, int n)
{
    double *a = malloc(sizeof(double) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * n; i++)
        a[i] = urand();
    return a;
}

static dag_la_t *mk(int m, int n, int nb, const double *buf)
{
    dag_la_t *a = NULL;
    OK(dag_la_create(&a, DAG_LA_DOUBLE, m, n, nb, nb, &la_dist));
    if (buf)
        OK(dag_la_set(a, buf, m, -1));
    return a;
}

static double *get(const dag_la_t *a)
{
    int m = dag_la_rows(a), n = dag_la_cols(a);
    double *b = malloc(sizeof(double) * (size_t)m * n);
    OK(dag_la_get(a, b, m, -1));
    return b;
}

static double maxdiff(const double *a, const double *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static double fnorm(const double *a, int m, int n)
{
    return LAPACKE_dlange(LAPACK_COL_MAJOR, 'F', m, n, a, m);
}

static double elem_fn(int i, int j, void *u)
{
    return sin(0.3 * i + 0.7 * j) + (i == j ? *(double *)u : 0);
}

static void t_matrix(void)
{
    int m = irand(1, 70), n = irand(1, 70), mb = irand(1, 16), nb = irand(1, 16);
    dag_la_t *a;
    OK(dag_la_create(&a, DAG_LA_DOUBLE, m, n, mb, nb, &la_dist));
    double shift = 3;
    OK(dag_la_fill(a, elem_fn, &shift));
    double *g = get(a), *ref = malloc(sizeof(double) * (size_t)m * n);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
            ref[(size_t)j * m + i] = elem_fn(i, j, &shift);
    CHECK(maxdiff(g, ref, (size_t)m * n) == 0, "fill/get %dx%d tiles %dx%d", m, n, mb, nb);
    const char kinds[] = "M1IF";
    for (int k = 0; k < 4; k++) {
        double v = -1, r = LAPACKE_dlange(LAPACK_COL_MAJOR, kinds[k], m, n, ref, m);
        OK(dag_la_norm(a, kinds[k], &v));
        CHECK(fabs(v - r) <= 1e-13 * fmax(1, r), "norm %c %g vs %g", kinds[k], v, r);
    }
    /* set from one rank's buffer, get to one rank */
    double *src = rmat(m, n);
    OK(dag_la_set(a, dag_rank() == 0 ? src : NULL, m, 0));
    int root = dag_nranks() - 1;
    memset(g, 0, sizeof(double) * (size_t)m * n);
    OK(dag_la_get(a, g, m, root));
    if (me == root)
        CHECK(maxdiff(g, src, (size_t)m * n) == 0, "set(root 0)/get(root %d)", root);
    dag_la_destroy(a);
    free(g);
    free(ref);
    free(src);
}

static void t_gemm(void)
{
    int m = irand(1, 90), n = irand(1, 90), k = irand(1, 90), nb = irand(3, 24);
    for (int v = 0; v < 4; v++) {
        char ta = v & 1 ? 'T' : 'N', tb = v & 2 ? 'T' : 'N';
        int ar = ta == 'N' ? m : k, ac = ta == 'N' ? k : m;
        int br = tb == 'N' ? k : n, bc = tb == 'N' ? n : k;
        double *A = rmat(ar, ac), *B = rmat(br, bc), *C = rmat(m, n);
        dag_la_t *a = mk(ar, ac, nb, A), *b = mk(br, bc, nb, B), *c = mk(m, n, nb, C);
        OK(dag_la_gemm(ta, tb, 1.5, a, b, -0.5, c));
        double *g = get(c);
        cblas_dgemm(CblasColMajor, ta == 'T' ? CblasTrans : CblasNoTrans,
                    tb == 'T' ? CblasTrans : CblasNoTrans, m, n, k, 1.5, A, ar, B, br, -0.5, C,
                    m);
        CHECK(maxdiff(g, C, (size_t)m * n) <= 1e-12 * k, "gemm %c%c %dx%dx%d nb %d: %g", ta, tb,
              m, n, k, nb, maxdiff(g, C, (size_t)m * n));
        dag_la_destroy(a);
        dag_la_destroy(b);
        dag_la_destroy(c);
        free(A);
        free(B);
        free(C);
        free(g);
    }
    /* one matrix as both operands (C := A A^T + C / 2): the tasks on the diagonal of C
     * name the same tile of A twice */
    double *A = rmat(m, k), *C = rmat(m, m);
    dag_la_t *a = mk(m, k, nb, A), *c = mk(m, m, nb, C);
    OK(dag_la_gemm('N', 'T', 1.0, a, a, 0.5, c));
    double *g = get(c);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, m, m, k, 1.0, A, m, A, m, 0.5, C, m);
    CHECK(maxdiff(g, C, (size_t)m * m) <= 1e-12 * k, "gemm A A^T %dx%d nb %d: %g", m, k, nb,
          maxdiff(g, C, (size_t)m * m));
    dag_la_destroy(a);
    dag_la_destroy(c);
    free(A);
    free(C);
    free(g);
}

static void t_trsm_syrk(void)
{
    int n = irand(1, 80), r = irand(1, 60), nb = irand(2, 20);
    for (int v = 0; v < 8; v++) {
        char side = v & 1 ? 'R' : 'L', uplo = v & 2 ? 'U' : 'L', tr = v & 4 ? 'T' : 'N';
        double *A = rmat(n, n);
        for (int i = 0; i < n; i++)
            A[(size_t)i * n + i] = 4 + fabs(A[(size_t)i * n + i]) * n;
        int bm = side == 'L' ? n : r, bn = side == 'L' ? r : n;
        double *B = rmat(bm, bn);
        dag_la_t *a = mk(n, n, nb, A), *b = mk(bm, bn, nb, B);
        OK(dag_la_trsm(side, uplo, tr, 'N', 2.0, a, b));
        double *g = get(b);
        cblas_dtrsm(CblasColMajor, side == 'L' ? CblasLeft : CblasRight,
                    uplo == 'L' ? CblasLower : CblasUpper, tr == 'T' ? CblasTrans : CblasNoTrans,
                    CblasNonUnit, bm, bn, 2.0, A, n, B, bm);
        CHECK(maxdiff(g, B, (size_t)bm * bn) <= 1e-12, "trsm %c%c%c n %d nb %d: %g", side, uplo,
              tr, n, nb, maxdiff(g, B, (size_t)bm * bn));
        dag_la_destroy(a);
        dag_la_destroy(b);
        free(A);
        free(B);
        free(g);
    }
    for (int v = 0; v < 2; v++) {
        char tr = v ? 'T' : 'N';
        int ar = tr == 'N' ? n : r, ac = tr == 'N' ? r : n;
        double *A = rmat(ar, ac), *C = rmat(n, n);
        dag_la_t *a = mk(ar, ac, nb, A), *c = mk(n, n, nb, C);
        OK(dag_la_syrk('L', tr, -1.0, a, 0.5, c));
        double *g = get(c);
        cblas_dsyrk(CblasColMajor, CblasLower, tr == 'T' ? CblasTrans : CblasNoTrans, n, r, -1.0,
                    A, ar, 0.5, C, n);
        double d = 0;
        for (int j = 0; j < n; j++)
            for (int i = j; i < n; i++)
                d = fmax(d, fabs(g[(size_t)j * n + i] - C[(size_t)j * n + i]));
        CHECK(d <= 1e-12 * r, "syrk %c n %d k %d nb %d: %g", tr, n, r, nb, d);
        dag_la_destroy(a);
        dag_la_destroy(c);
        free(A);
        free(C);
        free(g);
    }
}

/* ||B - A X|| / (||A|| ||X|| n eps) */
static double backward(const double *A, int n, const double *X, const double *B, int r)
{
    double *R = malloc(sizeof(double) * (size_t)n * r);
    memcpy(R, B, sizeof(double) * (size_t)n * r);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, r, n, -1.0, A, n, X, n, 1.0, R, n);
    double e = fnorm(R, n, r) / (fnorm(A, n, n) * fnorm(X, n, r) * n * DBL_EPSILON);
    free(R);
    return e;
}

/* a random SPD matrix: A A^T + n I */
static double *spd(int n)
{
    double *A = rmat(n, n), *S = malloc(sizeof(double) * (size_t)n * n);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, A, n, A, n, 0.0, S, n);
    for (int i = 0; i < n; i++)
        S[(size_t)i * n + i] += n;
    free(A);
    return S;
}

/* ||S - L L^T||_F / (||S||_F n eps), L the lower triangle of the gathered factor F */
static double chol_residual(const double *S, double *F, int n)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < j; i++)
            F[(size_t)j * n + i] = 0;
    double *R = malloc(sizeof(double) * (size_t)n * n);
    memcpy(R, S, sizeof(double) * (size_t)n * n);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, -1.0, F, n, F, n, 1.0, R, n);
    double res = fnorm(R, n, n) / (fnorm(S, n, n) * n * DBL_EPSILON);
    free(R);
    return res;
}

static void t_potrf(int n, int nb)
{
    double *S = spd(n);
    dag_la_t *a = mk(n, n, nb, S);
    int info = -1;
    OK(dag_la_potrf('L', a, &info));
    CHECK(info == 0, "potrf info %d", info);
    double *L = get(a), res = chol_residual(S, L, n);
    CHECK(res < 10, "potrf n %d nb %d: ||A-LL^T||/(||A|| n eps) = %g", n, nb, res);
    int r = irand(1, 7);
    double *B = rmat(n, r);
    dag_la_t *b = mk(n, r, nb, B);
    OK(dag_la_potrs('L', a, b));
    double *X = get(b), be = backward(S, n, X, B, r);
    CHECK(be < 10, "potrs n %d: backward error %g", n, be);
    /* not SPD: make the leading minor of order q indefinite */
    int q = irand(1, n);
    S[(size_t)(q - 1) * n + q - 1] = -1e3 * n;
    OK(dag_la_set(a, S, n, -1));
    dag_status_t st = dag_la_potrf('L', a, &info);
    CHECK(st == DAG_ERR_INVALID && info == q, "non-SPD at %d: status %d info %d", q, st, info);
    CHECK(strstr(dag_la_error(), "not positive definite") != NULL, "message '%s'",
          dag_la_error());
    dag_la_destroy(a);
    dag_la_destroy(b);
    free(S), free(L), free(B), free(X);
}

/* dag_la_copy and resident tiles (dag_la_resident): A0 kept on the GPU (when one is used)
 * is copied into A there and factored twice; each factor must be A0's, so neither the
 * copy nor the factorisation may read a stale tile, and A0 must come through unchanged. */
static void t_resident(int n, int nb)
{
    double *S = spd(n);
    dag_la_t *a0 = mk(n, n, nb, S), *a = mk(n, n, nb, NULL), *w = mk(n + 1, n, nb, NULL);
    OK(dag_la_resident(a0, 1));
    OK(dag_la_resident(a, 1));
    CHECK(dag_la_copy(a0, w) == DAG_ERR_INVALID && strstr(dag_la_error(), "dag_la_copy"),
          "copy into a matrix of another shape: '%s'", dag_la_error());
    double *L1 = NULL;
    for (int round = 0; round < 2; round++) {
        OK(dag_la_copy(a0, a));
        int info = -1;
        OK(dag_la_potrf('L', a, &info));
        CHECK(info == 0, "resident potrf info %d", info);
        double *L = get(a);
        if (!L1) {
            L1 = L;
            continue;
        }
        CHECK(maxdiff(L, L1, (size_t)n * n) == 0, "resident: second factor differs (n %d nb %d)",
              n, nb);
        free(L);
    }
    double res = chol_residual(S, L1, n);
    CHECK(res < 10, "resident potrf n %d nb %d: ||A-LL^T||/(||A|| n eps) = %g", n, nb, res);
    double *G = get(a0);
    CHECK(maxdiff(G, S, (size_t)n * n) == 0, "resident: the source changed (n %d nb %d)", n, nb);
    OK(dag_la_resident(a, 0));
    dag_la_destroy(a0);
    dag_la_destroy(a);
    dag_la_destroy(w);
    free(S), free(L1), free(G);
}

static int la_min_g(int n) { return n < 20 ? n : 20; }

static void t_getrf(int n, int nb, int growth)
{
    double *A = rmat(n, n);
    if (growth) /* Wilkinson's matrix: growth factor 2^(n-1) under partial pivoting */
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                A[(size_t)j * n + i] = i == j || j == n - 1 ? 1 : i > j ? -1 : 0;
    dag_la_t *a = mk(n, n, nb, A);
    int *ip = malloc(sizeof(int) * n), *ref = malloc(sizeof(int) * n), info = -1;
    OK(dag_la_getrf(a, ip, &info));
    CHECK(info == 0, "getrf info %d", info);
    double *LU = get(a), *W = malloc(sizeof(double) * (size_t)n * n);
    memcpy(W, A, sizeof(double) * (size_t)n * n);
    LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, W, n, ref);
    CHECK(memcmp(ip, ref, sizeof(int) * n) == 0, "getrf n %d nb %d: pivots differ from dgetrf",
          n, nb);
    double d = maxdiff(LU, W, (size_t)n * n), umax = LAPACKE_dlange(LAPACK_COL_MAJOR, 'M', n, n,
                                                                    W, n);
    CHECK(d <= 1e-12 * fmax(1, umax) * n, "getrf n %d nb %d%s: factors differ from dgetrf by %g",
          n, nb, growth ? " (growth)" : "", d);
    /* residual ||P A - L U|| / (||A|| n eps) */
    double *L = calloc((size_t)n * n, sizeof(double)), *U = calloc((size_t)n * n, sizeof(double));
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            if (i > j)
                L[(size_t)j * n + i] = LU[(size_t)j * n + i];
            else
                U[(size_t)j * n + i] = LU[(size_t)j * n + i];
            if (i == j)
                L[(size_t)j * n + i] = 1;
        }
    memcpy(W, A, sizeof(double) * (size_t)n * n);
    LAPACKE_dlaswp(LAPACK_COL_MAJOR, n, W, n, 1, n, ip, 1);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, -1.0, L, n, U, n, 1.0, W, n);
    double res = fnorm(W, n, n) / (fnorm(A, n, n) * n * DBL_EPSILON);
    CHECK(res < 10 * (growth ? 1 << la_min_g(n) : 1), "getrf n %d: residual %g", n, res);
    int r = irand(1, 5);
    double *B = rmat(n, r);
    dag_la_t *b = mk(n, r, nb, B);
    OK(dag_la_getrs(a, b));
    double *X = get(b), be = backward(A, n, X, B, r);
    /* on Wilkinson's matrix the bound grows with 2^n: LAPACK's own dgetrs on the same
     * system says how large it gets */
    double bl = 1;
    if (growth) {
        double *F = malloc(sizeof(double) * (size_t)n * n);
        double *XL = malloc(sizeof(double) * (size_t)n * r);
        memcpy(F, A, sizeof(double) * (size_t)n * n);
        memcpy(XL, B, sizeof(double) * (size_t)n * r);
        LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, F, n, ref);
        LAPACKE_dgetrs(LAPACK_COL_MAJOR, 'N', n, r, F, n, ref, XL, n);
        bl = fmax(1 << la_min_g(n), backward(A, n, XL, B, r));
        free(F), free(XL);
    }
    CHECK(be < 10 * bl, "getrs n %d: backward error %g (LAPACK's bound %g)", n, be, 10 * bl);
    dag_la_destroy(a);
    dag_la_destroy(b);
    free(A), free(ip), free(ref), free(LU), free(W), free(L), free(U), free(B), free(X);
}

/* an exactly singular matrix: info names the first zero pivot, as dgetrf's */
static void t_singular(int n, int nb)
{
    double *A = rmat(n, n);
    int q = irand(0, n - 1);
    for (int i = 0; i < n; i++)
        A[(size_t)q * n + i] = 0;
    dag_la_t *a = mk(n, n, nb, A);
    int info = -1, ref, *ip = malloc(sizeof(int) * n);
    OK(dag_la_getrf(a, NULL, &info));
    ref = LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, A, n, ip);
    CHECK(info == ref && info == q + 1, "singular n %d column %d: info %d, dgetrf %d", n, q,
          info, ref);
    dag_la_destroy(a);
    free(A), free(ip);
}

static void t_geqrf(int m, int n, int nb)
{
    double *A = rmat(m, n);
    dag_la_t *a = mk(m, n, nb, A);
    OK(dag_la_geqrf(a));
    double *F = get(a);
    /* R^T R = A^T A */
    double *R = calloc((size_t)n * n, sizeof(double)), *G = malloc(sizeof(double) * (size_t)n * n);
    for (int j = 0; j < n; j++)
        for (int i = 0; i <= j; i++)
            R[(size_t)j * n + i] = F[(size_t)j * m + i];
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, n, m, 1.0, A, m, A, m, 0.0, G, n);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, n, n, -1.0, R, n, R, n, 1.0, G, n);
    double an = fnorm(A, m, n), res = fnorm(G, n, n) / (an * an * m * DBL_EPSILON);
    CHECK(res < 10, "geqrf %dx%d nb %d: ||A^TA - R^TR||/(||A||^2 m eps) = %g", m, n, nb, res);
    int r = irand(1, 4);
    double *B = rmat(m, r);
    dag_la_t *b = mk(m, r, nb, B);
    OK(dag_la_gels(a, b));
    double *X = get(b), *W = malloc(sizeof(double) * (size_t)m * n);
    memcpy(W, A, sizeof(double) * (size_t)m * n);
    double *Y = malloc(sizeof(double) * (size_t)m * r);
    memcpy(Y, B, sizeof(double) * (size_t)m * r);
    LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', m, n, r, W, m, Y, m);
    double d = 0, xn = 0;
    for (int j = 0; j < r; j++)
        for (int i = 0; i < n; i++) {
            d = fmax(d, fabs(X[(size_t)j * m + i] - Y[(size_t)j * m + i]));
            xn = fmax(xn, fabs(Y[(size_t)j * m + i]));
        }
    CHECK(d <= 1e-10 * fmax(1, xn), "gels %dx%d: x differs from dgels by %g", m, n, d);
    dag_la_destroy(a);
    dag_la_destroy(b);
    free(A), free(F), free(R), free(G), free(B), free(X), free(W), free(Y);
}

/* QR in LAPACK's layout, any m x n: the same reflectors and tau as LAPACK's dgeqrf (up to
 * rounding) and ||A - QR|| / (||A|| max(m, n) eps) < 10 with LAPACK's dormqr on them;
 * the float twin by its residual. */
static void t_geqrf_lapack(int m, int n, int nb)
{
    double *A = rmat(m, n), *F0 = malloc(sizeof(double) * (size_t)m * n);
    int k = m < n ? m : n;
    double *tau = malloc(sizeof(double) * (size_t)k), *tau0 = malloc(sizeof(double) * (size_t)k);
    memcpy(F0, A, sizeof(double) * (size_t)m * n);
    LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, F0, m, tau0);
    dag_la_t *a = mk(m, n, nb, A);
    OK(dag_la_geqrf_lapack(a, tau));
    double *F = get(a), *QR = calloc((size_t)m * n, sizeof(double));
    double fd = 0, td = 0;
    for (size_t i = 0; i < (size_t)m * n; i++)
        fd = fmax(fd, fabs(F[i] - F0[i]));
    for (int i = 0; i < k; i++)
        td = fmax(td, fabs(tau[i] - tau0[i]));
    CHECK(fd < 1e-9 * fnorm(A, m, n) && td < 1e-9, "geqrf_lapack %dx%d nb %d: factors differ "
          "from dgeqrf's by %g, tau by %g", m, n, nb, fd, td);
    for (int j = 0; j < n; j++)
        for (int i = 0; i <= j && i < m; i++)
            QR[(size_t)j * m + i] = F[(size_t)j * m + i];
    LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'N', m, n, k, F, m, tau, QR, m);
    for (size_t i = 0; i < (size_t)m * n; i++)
        QR[i] -= A[i];
    double res = fnorm(QR, m, n) / (fnorm(A, m, n) * (m > n ? m : n) * DBL_EPSILON);
    CHECK(res < 10, "geqrf_lapack %dx%d nb %d: ||A - QR||/(||A|| N eps) = %g", m, n, nb, res);
    dag_la_destroy(a);
    /* float */
    float *S = malloc(sizeof(float) * (size_t)m * n), *SR = calloc((size_t)m * n, sizeof(float));
    float *st = malloc(sizeof(float) * (size_t)k);
    for (size_t i = 0; i < (size_t)m * n; i++)
        S[i] = (float)A[i];
    dag_la_t *s = NULL;
    OK(dag_la_create(&s, DAG_LA_FLOAT, m, n, nb, nb, &la_dist));
    OK(dag_la_set(s, S, m, -1));
    OK(dag_la_geqrf_lapack(s, st));
    float *SF = malloc(sizeof(float) * (size_t)m * n);
    OK(dag_la_get(s, SF, m, -1));
    for (int j = 0; j < n; j++)
        for (int i = 0; i <= j && i < m; i++)
            SR[(size_t)j * m + i] = SF[(size_t)j * m + i];
    LAPACKE_sormqr(LAPACK_COL_MAJOR, 'L', 'N', m, n, k, SF, m, st, SR, m);
    double d2 = 0, a2 = 0;
    for (size_t i = 0; i < (size_t)m * n; i++)
        d2 += ((double)SR[i] - S[i]) * ((double)SR[i] - S[i]), a2 += (double)S[i] * S[i];
    res = sqrt(d2 / a2) / ((m > n ? m : n) * FLT_EPSILON);
    CHECK(res < 10, "float geqrf_lapack %dx%d nb %d: ||A - QR||/(||A|| N eps) = %g", m, n, nb,
          res);
    dag_la_destroy(s);
    free(A), free(F0), free(tau), free(tau0), free(F), free(QR), free(S), free(SR), free(st);
    free(SF);
}

static void t_float(void)
{
    int n = irand(5, 60), nb = irand(2, 16);
    float *S = malloc(sizeof(float) * n * n);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
            S[j * n + i] = (float)(1.0 / (1 + i + j) + (i == j ? n : 0));
    dag_la_t *a;
    OK(dag_la_create(&a, DAG_LA_FLOAT, n, n, nb, nb, &la_dist));
    OK(dag_la_set(a, S, n, -1));
    int info;
    OK(dag_la_potrf('L', a, &info));
    float *L = malloc(sizeof(float) * n * n);
    OK(dag_la_get(a, L, n, -1));
    for (int j = 0; j < n; j++)
        for (int i = 0; i < j; i++)
            L[j * n + i] = 0;
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, n, -1.0f, L, n, L, n, 1.0f, S, n);
    double e = 0, an = 0;
    for (int i = 0; i < n * n; i++)
        e += (double)S[i] * S[i];
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
            an += pow(1.0 / (1 + i + j) + (i == j ? n : 0), 2);
    double res = sqrt(e) / (sqrt(an) * n * FLT_EPSILON);
    CHECK(res < 10, "spotrf n %d: residual %g", n, res);
    dag_la_destroy(a);
    free(S);
    free(L);
}

static void t_bad(void)
{
    dag_la_t *a = mk(10, 12, 4, NULL), *b = mk(11, 12, 4, NULL), *c = mk(10, 12, 4, NULL), *f;
    CHECK(dag_la_gemm('N', 'N', 1, a, b, 0, c) == DAG_ERR_INVALID &&
              strstr(dag_la_error(), "do not conform"), "gemm shapes: '%s'", dag_la_error());
    int info;
    CHECK(dag_la_potrf('L', a, &info) == DAG_ERR_INVALID && strstr(dag_la_error(), "square"),
          "potrf non-square: '%s'", dag_la_error());
    CHECK(dag_la_getrs(a, c) == DAG_ERR_INVALID && strstr(dag_la_error(), "no LU"),
          "getrs unfactored: '%s'", dag_la_error());
    CHECK(dag_la_create(&f, DAG_LA_DOUBLE, 0, 3, 2, 2, &la_dist) == DAG_ERR_INVALID, "m = 0");
    OK(dag_la_create(&f, DAG_LA_FLOAT, 10, 12, 4, 4, &la_dist));
    CHECK(dag_la_gemm('N', 'T', 1, a, c, 0, f) == DAG_ERR_INVALID &&
              strstr(dag_la_error(), "types"), "mixed types: '%s'", dag_la_error());
    double v;
    CHECK(dag_la_norm(a, 'X', &v) == DAG_ERR_INVALID, "bad norm");
    dag_la_t *g = NULL;
    OK(dag_la_create(&g, DAG_LA_DOUBLE, 10, 12, 4, 3, &la_dist));
    CHECK(dag_la_geqrf_lapack(g, NULL) == DAG_ERR_INVALID && strstr(dag_la_error(), "square"),
          "geqrf_lapack 4x3 tiles: '%s'", dag_la_error());
    dag_la_destroy(g);
    dag_la_destroy(a), dag_la_destroy(b), dag_la_destroy(c), dag_la_destroy(f);
}

/* 2.5D GEMM on DAG_DIST_3D against 2D: same result, fewer bytes received per rank */
static void t_gemm3d(void)
{
    int np = dag_nranks();
    if (np < 2 || np % 2)
        return;
    int n = 96, nb = 12;
    double *A = rmat(n, n), *B = rmat(n, n);
    dag_dist_t d2 = {.kind = DAG_DIST_2D}, d3 = {.kind = DAG_DIST_3D, .layers = 2};
    dag_la_t *a, *b, *c2, *c3;
    OK(dag_la_create(&a, DAG_LA_DOUBLE, n, n, nb, nb, &d2));
    OK(dag_la_create(&b, DAG_LA_DOUBLE, n, n, nb, nb, &d2));
    OK(dag_la_create(&c2, DAG_LA_DOUBLE, n, n, nb, nb, &d2));
    OK(dag_la_create(&c3, DAG_LA_DOUBLE, n, n, nb, nb, &d3));
    OK(dag_la_set(a, A, n, -1));
    OK(dag_la_set(b, B, n, -1));
    OK(dag_la_gemm('N', 'N', 1, a, b, 0, c2));
    OK(dag_la_gemm('N', 'N', 1, a, b, 0, c3));
    double *g2 = get(c2), *g3 = get(c3);
    CHECK(maxdiff(g2, g3, (size_t)n * n) < 1e-12 * n, "3d gemm differs from 2d: %g",
          maxdiff(g2, g3, (size_t)n * n));
    dag_la_destroy(a), dag_la_destroy(b), dag_la_destroy(c2), dag_la_destroy(c3);
    free(A), free(B), free(g2), free(g3);
}

int main(int argc, char **argv)
{
    const char *d = argc > 1 ? argv[1] : "2d";
    unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
    int rounds = argc > 3 ? atoi(argv[3]) : 2;
    rng += seed * 0x9E3779B97F4A7C15ull;
    me = dag_rank();
    if (!strcmp(d, "2d"))
        la_dist = (dag_dist_t){.kind = DAG_DIST_2D};
    else if (!strcmp(d, "1d"))
        la_dist = (dag_dist_t){.kind = DAG_DIST_BLOCK};
    else if (!strcmp(d, "cyclic"))
        la_dist = (dag_dist_t){.kind = DAG_DIST_CYCLIC};
    else if (!strcmp(d, "3d"))
        la_dist = (dag_dist_t){.kind = DAG_DIST_3D, .layers = dag_nranks() % 2 ? 1 : 2};
    else if (!strcmp(d, "owner"))
        la_dist = (dag_dist_t){.kind = DAG_DIST_OWNER, .owner = dag_nranks() - 1};
    else {
        fprintf(stderr, "unknown distribution %s\n", d);
        return 2;
    }
    for (int r = 0; r < rounds; r++) {
        PHASE("matrix");
        if (only("matrix"))
            t_matrix();
        PHASE("t_gemm");
        if (only("gemm"))
            t_gemm();
        PHASE("t_trsm_syrk");
        if (only("trsm"))
            t_trsm_syrk();
        PHASE("t_potrf");
        if (only("potrf"))
            t_potrf(irand(1, 90), irand(2, 20));
        PHASE("t_resident");
        if (only("resident"))
            t_resident(irand(1, 90), irand(2, 20));
        PHASE("t_getrf");
        if (only("getrf"))
            t_getrf(irand(1, 90), irand(2, 20), 0);
        PHASE("t_getrf");
        if (only("growth"))
            t_getrf(irand(10, 40), irand(2, 12), 1);
        PHASE("int n = irand");
        int n = irand(1, 60);
        if (only("geqrf"))
            t_geqrf(n + irand(0, 50), n, irand(2, 20));
        if (only("singular"))
            t_singular(irand(2, 60), irand(2, 16));
        PHASE("t_geqrf_lapack");
        int qm = irand(1, 90), qn = irand(1, 90);
        if (only("geqrf_lapack"))
            t_geqrf_lapack(qm, qn, irand(2, 20));
        PHASE("t_float");
        if (only("float"))
            t_float();
    }
    PHASE("t_potrf");
    if (only("potrf"))
        t_potrf(300, 64); /* tiles of realistic shape */
    PHASE("t_getrf");
    if (only("getrf"))
        t_getrf(300, 64, 0);
    PHASE("t_geqrf");
    if (only("geqrf"))
        t_geqrf(330, 250, 64);
    PHASE("t_geqrf_lapack");
    if (only("geqrf_lapack")) {
        t_geqrf_lapack(330, 250, 64);
        t_geqrf_lapack(200, 290, 48);
    }
    PHASE("t_bad");
    if (only("bad"))
        t_bad();
    PHASE("t_gemm3d");
    if (only("gemm3d"))
        t_gemm3d();
    PHASE("dag_finalize");
    int np = dag_nranks();
    dag_finalize();
    if (!fails && me == 0)
        printf("test_linalg %s seed %u on %d ranks: ok\n", d, seed, np);
    return fails ? 1 : 0;
}
