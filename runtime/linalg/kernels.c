/* kernels.c: the CPU tile kernels of libdaglinalg, typed wrappers over OpenBLAS (CBLAS)
 * and LAPACKE. Tasks call them with the tile's own dimensions and leading dimension;
 * OpenBLAS runs single-threaded inside a task (matrix.c sets it once). */
#include <cblas.h>
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "la.h"

#define D(p) ((double *)(p))
#define S(p) ((float *)(p))
#define CD(p) ((const double *)(p))
#define CS(p) ((const float *)(p))

static enum CBLAS_TRANSPOSE tr(char c)
{
    return (c == 'T' || c == 't' || c == 'C' || c == 'c') ? CblasTrans : CblasNoTrans;
}
static enum CBLAS_UPLO up(char c) { return (c == 'U' || c == 'u') ? CblasUpper : CblasLower; }

void k_gemm(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
            const void *a, int lda, const void *b, int ldb, double beta, void *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (t == DAG_LA_DOUBLE)
        cblas_dgemm(CblasColMajor, tr(ta), tr(tb), m, n, k, alpha, CD(a), lda, CD(b), ldb,
                    beta, D(c), ldc);
    else
        cblas_sgemm(CblasColMajor, tr(ta), tr(tb), m, n, k, (float)alpha, CS(a), lda, CS(b),
                    ldb, (float)beta, S(c), ldc);
}

void k_syrk(dag_la_type_t t, char uplo, char trans, int n, int k, double alpha,
            const void *a, int lda, double beta, void *c, int ldc)
{
    if (n <= 0)
        return;
    if (t == DAG_LA_DOUBLE)
        cblas_dsyrk(CblasColMajor, up(uplo), tr(trans), n, k, alpha, CD(a), lda, beta, D(c),
                    ldc);
    else
        cblas_ssyrk(CblasColMajor, up(uplo), tr(trans), n, k, (float)alpha, CS(a), lda,
                    (float)beta, S(c), ldc);
}

void k_trsm(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
            double alpha, const void *a, int lda, void *b, int ldb)
{
    if (m <= 0 || n <= 0)
        return;
    enum CBLAS_SIDE sd = (side == 'R' || side == 'r') ? CblasRight : CblasLeft;
    enum CBLAS_DIAG dg = (diag == 'U' || diag == 'u') ? CblasUnit : CblasNonUnit;
    if (t == DAG_LA_DOUBLE)
        cblas_dtrsm(CblasColMajor, sd, up(uplo), tr(trans), dg, m, n, alpha, CD(a), lda, D(b),
                    ldb);
    else
        cblas_strsm(CblasColMajor, sd, up(uplo), tr(trans), dg, m, n, (float)alpha, CS(a), lda,
                    S(b), ldb);
}

int k_potrf(dag_la_type_t t, int n, void *a, int lda)
{
    if (t == DAG_LA_DOUBLE)
        return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, D(a), lda);
    return LAPACKE_spotrf_work(LAPACK_COL_MAJOR, 'L', n, S(a), lda);
}

int k_getrf(dag_la_type_t t, int m, int n, void *a, int lda, int *ipiv)
{
    if (t == DAG_LA_DOUBLE)
        return LAPACKE_dgetrf_work(LAPACK_COL_MAJOR, m, n, D(a), lda, ipiv);
    return LAPACKE_sgetrf_work(LAPACK_COL_MAJOR, m, n, S(a), lda, ipiv);
}

/* swap row ra of a with row rb of b over n columns */
void k_laswp_rows(dag_la_type_t t, int n, void *a, int lda, void *b, int ldb, int ra, int rb)
{
    if (t == DAG_LA_DOUBLE)
        cblas_dswap(n, D(a) + ra, lda, D(b) + rb, ldb);
    else
        cblas_sswap(n, S(a) + ra, lda, S(b) + rb, ldb);
}

/* The QR kernels call the LAPACKE *_work entry points with a workspace of their own,
 * sized for either side (ib x max(m, n, k), twice over): LAPACKE's allocating wrappers
 * were seen to overrun the heap with the triangle-on-triangle shapes. */
static void *qr_work(dag_la_type_t t, int ib, int m, int n, int k)
{
    size_t es = t == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    int w = la_max(la_max(m, n), la_max(k, 1));
    return malloc(2 * es * (size_t)la_max(ib, 1) * (size_t)w);
}

int k_geqrt(dag_la_type_t t, int m, int n, int ib, void *a, int lda, void *tq, int ldt)
{
    void *w = qr_work(t, ib, m, n, 0);
    if (!w)
        return -1;
    int r = t == DAG_LA_DOUBLE
                ? LAPACKE_dgeqrt_work(LAPACK_COL_MAJOR, m, n, ib, D(a), lda, D(tq), ldt, D(w))
                : LAPACKE_sgeqrt_work(LAPACK_COL_MAJOR, m, n, ib, S(a), lda, S(tq), ldt, S(w));
    free(w);
    return r;
}

int k_gemqrt(dag_la_type_t t, char trans, int m, int n, int k, int ib, const void *v,
             int ldv, const void *tq, int ldt, void *c, int ldc)
{
    void *w = qr_work(t, ib, m, n, k);
    if (!w)
        return -1;
    int r = t == DAG_LA_DOUBLE
                ? LAPACKE_dgemqrt_work(LAPACK_COL_MAJOR, 'L', trans, m, n, k, ib, CD(v), ldv,
                                       CD(tq), ldt, D(c), ldc, D(w))
                : LAPACKE_sgemqrt_work(LAPACK_COL_MAJOR, 'L', trans, m, n, k, ib, CS(v), ldv,
                                       CS(tq), ldt, S(c), ldc, S(w));
    free(w);
    return r;
}

/* l = 0: B square (TS kernel); l = m: B upper trapezoidal (TT kernel) */
int k_tpqrt(dag_la_type_t t, int m, int n, int l, int ib, void *a, int lda, void *b, int ldb,
            void *tq, int ldt)
{
    void *w = qr_work(t, ib, m, n, 0);
    if (!w)
        return -1;
    int r = t == DAG_LA_DOUBLE
                ? LAPACKE_dtpqrt_work(LAPACK_COL_MAJOR, m, n, l, ib, D(a), lda, D(b), ldb,
                                      D(tq), ldt, D(w))
                : LAPACKE_stpqrt_work(LAPACK_COL_MAJOR, m, n, l, ib, S(a), lda, S(b), ldb,
                                      S(tq), ldt, S(w));
    free(w);
    return r;
}

int k_tpmqrt(dag_la_type_t t, char trans, int m, int n, int k, int l, int ib, const void *v,
             int ldv, const void *tq, int ldt, void *a, int lda, void *b, int ldb)
{
    void *w = qr_work(t, ib, m, n, k);
    if (!w)
        return -1;
    int r = t == DAG_LA_DOUBLE
                ? LAPACKE_dtpmqrt_work(LAPACK_COL_MAJOR, 'L', trans, m, n, k, l, ib, CD(v), ldv,
                                       CD(tq), ldt, D(a), lda, D(b), ldb, D(w))
                : LAPACKE_stpmqrt_work(LAPACK_COL_MAJOR, 'L', trans, m, n, k, l, ib, CS(v), ldv,
                                       CS(tq), ldt, S(a), lda, S(b), ldb, S(w));
    free(w);
    return r;
}

void k_lacpy(dag_la_type_t t, int m, int n, const void *a, int lda, void *b, int ldb)
{
    size_t es = t == DAG_LA_DOUBLE ? 8 : 4;
    for (int j = 0; j < n; j++)
        memcpy((char *)b + (size_t)j * ldb * es, (const char *)a + (size_t)j * lda * es,
               (size_t)m * es);
}

void k_scal(dag_la_type_t t, int m, int n, double alpha, void *a, int lda)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            if (t == DAG_LA_DOUBLE)
                D(a)[(size_t)j * lda + i] = alpha == 0 ? 0 : alpha * D(a)[(size_t)j * lda + i];
            else
                S(a)[(size_t)j * lda + i] =
                    alpha == 0 ? 0 : (float)alpha * S(a)[(size_t)j * lda + i];
        }
}

void k_add(dag_la_type_t t, int m, int n, const void *a, int lda, void *b, int ldb)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            if (t == DAG_LA_DOUBLE)
                D(b)[(size_t)j * ldb + i] += CD(a)[(size_t)j * lda + i];
            else
                S(b)[(size_t)j * ldb + i] += CS(a)[(size_t)j * lda + i];
        }
}

/* Householder panel as LAPACK/ScaLAPACK leave it: geqrf (reflectors below the diagonal,
 * R above, tau), then the forward columnwise T of the k reflectors (larft), ld nb. */
int k_geqrf_t(dag_la_type_t t, int m, int n, void *a, int lda, void *tq, int ldt)
{
    int k = la_min(m, n);
    size_t es = t == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    int lw = la_max(1, n) * 64;
    void *tau = malloc(es * (size_t)la_max(k, 1)), *w = malloc(es * (size_t)lw);
    int r = -1;
    if (tau && w) {
        if (t == DAG_LA_DOUBLE) {
            r = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, m, n, D(a), lda, D(tau), D(w), lw);
            if (!r && k > 0)
                r = LAPACKE_dlarft_work(LAPACK_COL_MAJOR, 'F', 'C', m, k, D(a), lda, D(tau),
                                        D(tq), ldt);
        } else {
            r = LAPACKE_sgeqrf_work(LAPACK_COL_MAJOR, m, n, S(a), lda, S(tau), S(w), lw);
            if (!r && k > 0)
                r = LAPACKE_slarft_work(LAPACK_COL_MAJOR, 'F', 'C', m, k, S(a), lda, S(tau),
                                        S(tq), ldt);
        }
    }
    free(tau);
    free(w);
    return r;
}

/* B := alpha op(A) B, A upper or lower triangular (left side) */
void k_trmm(dag_la_type_t t, char uplo, char trans, char diag, int m, int n, double alpha,
            const void *a, int lda, void *b, int ldb)
{
    if (m <= 0 || n <= 0)
        return;
    enum CBLAS_DIAG dg = (diag == 'U' || diag == 'u') ? CblasUnit : CblasNonUnit;
    if (t == DAG_LA_DOUBLE)
        cblas_dtrmm(CblasColMajor, CblasLeft, up(uplo), tr(trans), dg, m, n, alpha, CD(a), lda,
                    D(b), ldb);
    else
        cblas_strmm(CblasColMajor, CblasLeft, up(uplo), tr(trans), dg, m, n, (float)alpha,
                    CS(a), lda, S(b), ldb);
}
