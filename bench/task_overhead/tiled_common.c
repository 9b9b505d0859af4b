/* tiled_common.c: operands, checks, timing, the result line and the tile kernels of the
 * tiled linear algebra benchmark (see tiled_common.h). */
#define _POSIX_C_SOURCE 200809L
#include "tiled_common.h"
#include "bench_clock.h"
#include "bench_harness.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* LAPACK's Fortran interface, which libopenblas exports (no LAPACKE needed, so the
 * benchmark builds wherever OpenBLAS's development files are). */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);

struct tl_args tl;
double **tl_a, **tl_b, **tl_c;
static double **saved; /* the operand the factorisation or product overwrites, as given */
static double **orig_a; /* GEMM: A itself; factorisations: the copy in `saved` */

static const char *const alg_names[TL_NALGS] = {"cholesky", "lu", "gemm"};

const char *tl_alg_name(int alg) { return alg >= 0 && alg < TL_NALGS ? alg_names[alg] : "?"; }

void tl_parse(int argc, char **argv)
{
    char *e;
    if (argc != 6)
        goto usage;
    tl.alg = -1;
    for (int a = 0; a < TL_NALGS; a++)
        if (!strcmp(argv[1], alg_names[a]))
            tl.alg = a;
    tl.threads = (int)strtol(argv[2], &e, 10);
    if (*e)
        goto usage;
    tl.reps = (int)strtol(argv[3], &e, 10);
    if (*e)
        goto usage;
    tl.n = (int)strtol(argv[4], &e, 10);
    if (*e)
        goto usage;
    tl.nb = (int)strtol(argv[5], &e, 10);
    if (*e || tl.alg < 0 || tl.threads < 1 || tl.reps < 1 || tl.reps > TL_MAX_REPS ||
        tl.nb < 8 || tl.n < tl.nb || tl.n % tl.nb)
        goto usage;
    tl.nt = tl.n / tl.nb;
    return;
usage:
    fprintf(stderr,
            "usage: %s ALG THREADS REPS N NB\n"
            "  ALG: cholesky | lu | gemm; N a multiple of NB; REPS 1..%d timed after a warm-up\n",
            argc ? argv[0] : "tiled_impl", TL_MAX_REPS);
    exit(2);
}

static double **tiles_alloc(void)
{
    size_t nt2 = (size_t)tl.nt * tl.nt;
    double **m = malloc(sizeof *m * nt2);
    if (!m)
        goto oom;
    for (size_t t = 0; t < nt2; t++)
        if (!(m[t] = aligned_alloc(64, tl_tile_bytes())))
            goto oom;
    return m;
oom:
    fprintf(stderr, "tiled: out of memory (n = %d)\n", tl.n);
    exit(3);
}

static void tiles_copy(double **dst, double **src)
{
    for (size_t t = 0; t < (size_t)tl.nt * tl.nt; t++)
        memcpy(dst[t], src[t], tl_tile_bytes());
}

/* element (r, c) of a tiled matrix */
static inline double *at(double **m, int r, int c)
{
    return tl_tile(m, r / tl.nb, c / tl.nb) + (size_t)(c % tl.nb) * tl.nb + r % tl.nb;
}

static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 - 0.5;
}

void tl_init(void)
{
    uint64_t s = 12345;
    tl_a = tiles_alloc();
    for (int c = 0; c < tl.n; c++)
        for (int r = 0; r < tl.n; r++)
            *at(tl_a, r, c) = rnd(&s);
    if (tl.alg == TL_CHOLESKY) { /* symmetric, diagonally dominant: positive definite */
        for (int c = 0; c < tl.n; c++)
            for (int r = 0; r < c; r++)
                *at(tl_a, r, c) = *at(tl_a, c, r);
    }
    if (tl.alg != TL_GEMM)
        for (int d = 0; d < tl.n; d++)
            *at(tl_a, d, d) += tl.n; /* |a_dd| > sum of the others in its row and column */
    if (tl.alg == TL_GEMM) {
        tl_b = tiles_alloc();
        tl_c = tiles_alloc();
        for (int c = 0; c < tl.n; c++)
            for (int r = 0; r < tl.n; r++) {
                *at(tl_b, r, c) = rnd(&s);
                *at(tl_c, r, c) = rnd(&s);
            }
        saved = tiles_alloc();
        tiles_copy(saved, tl_c);
        orig_a = tl_a;
    } else {
        saved = tiles_alloc();
        tiles_copy(saved, tl_a);
        orig_a = saved;
    }
}

void tl_reset(void) { tiles_copy(tl.alg == TL_GEMM ? tl_c : tl_a, saved); }

enum part { FULL, LOWER, LOWER_UNIT, UPPER };

/* y += op(M restricted to `part`) x, M tiled; trans: use M^T. */
static void matvec(double **m, enum part part, int trans, const double *x, double *y)
{
    int nb = tl.nb;
    double *tmp = malloc(sizeof *tmp * nb);
    for (int bi = 0; bi < tl.nt; bi++)
        for (int bj = 0; bj < tl.nt; bj++) {
            int i = trans ? bj : bi, j = trans ? bi : bj; /* tile of M used for block (bi, bj) */
            if ((part == LOWER || part == LOWER_UNIT) && j > i)
                continue;
            if (part == UPPER && j < i)
                continue;
            const double *t = tl_tile(m, i, j);
            if (i != j || part == FULL) {
                cblas_dgemv(CblasColMajor, trans ? CblasTrans : CblasNoTrans, nb, nb, 1.0, t, nb,
                            x + (size_t)bj * nb, 1, 1.0, y + (size_t)bi * nb, 1);
            } else {
                memcpy(tmp, x + (size_t)bj * nb, sizeof *tmp * nb);
                cblas_dtrmv(CblasColMajor, part == UPPER ? CblasUpper : CblasLower,
                            trans ? CblasTrans : CblasNoTrans,
                            part == LOWER_UNIT ? CblasUnit : CblasNonUnit, nb, t, nb, tmp, 1);
                cblas_daxpy(nb, 1.0, tmp, 1, y + (size_t)bi * nb, 1);
            }
        }
    free(tmp);
}

int tl_check(void)
{
    size_t n = (size_t)tl.n;
    double *x = malloc(sizeof *x * n), *y1 = calloc(n, sizeof *y1), *y2 = calloc(n, sizeof *y2),
           *t = calloc(n, sizeof *t);
    uint64_t s = 777;
    for (size_t i = 0; i < n; i++)
        x[i] = rnd(&s);
    switch (tl.alg) {
    case TL_CHOLESKY: /* A0 x = L (L^T x) */
        matvec(orig_a, FULL, 0, x, y1);
        matvec(tl_a, LOWER, 1, x, t);
        matvec(tl_a, LOWER, 0, t, y2);
        break;
    case TL_LU: /* A0 x = L (U x) */
        matvec(orig_a, FULL, 0, x, y1);
        matvec(tl_a, UPPER, 0, x, t);
        matvec(tl_a, LOWER_UNIT, 0, t, y2);
        break;
    default: /* C x = C0 x + A (B x) */
        matvec(saved, FULL, 0, x, y1);
        matvec(tl_b, FULL, 0, x, t);
        matvec(tl_a, FULL, 0, t, y1);
        matvec(tl_c, FULL, 0, x, y2);
        break;
    }
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (y1[i] - y2[i]) * (y1[i] - y2[i]);
        den += y1[i] * y1[i];
    }
    double err = sqrt(num / (den > 0 ? den : 1));
    free(x), free(y1), free(y2), free(t);
    if (!(err < 1e-10)) {
        fprintf(stderr, "tiled: %s n=%d: relative error %.3e\n", tl_alg_name(tl.alg), tl.n, err);
        return 0;
    }
    return 1;
}

double tl_flops(void)
{
    double n = tl.n;
    return tl.alg == TL_CHOLESKY ? n * n * n / 3 : tl.alg == TL_LU ? 2 * n * n * n / 3
                                                                   : 2 * n * n * n;
}

uint64_t tl_now_ns(void)
{
    return bench_clock_ns();
}

void tl_report(const char *impl, const uint64_t *ns)
{
    uint64_t s[TL_MAX_REPS];
    memcpy(s, ns, sizeof *s * (size_t)tl.reps);
    qsort(s, (size_t)tl.reps, sizeof *s, bench_cmp_u64);
    double med = tl.reps % 2 ? (double)s[tl.reps / 2]
                             : ((double)s[tl.reps / 2 - 1] + (double)s[tl.reps / 2]) / 2;
    printf("RESULT impl=%s alg=%s n=%d nb=%d threads=%d reps=%d gflops=%.2f min_s=%.4f\n",
           impl, tl_alg_name(tl.alg), tl.n, tl.nb, tl.threads, tl.reps, tl_flops() / med,
           (double)s[0] * 1e-9);
    fflush(stdout);
}

/* ---- tile kernels ------------------------------------------------------------------ */

void tl_potrf(double *akk)
{
    int info = 0;
    dpotrf_("L", &tl.nb, akk, &tl.nb, &info);
    if (info)
        fprintf(stderr, "tiled: dpotrf failed (info %d)\n", info);
}

void tl_trsm_chol(const double *akk, double *aik)
{
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, tl.nb, tl.nb,
                1.0, akk, tl.nb, aik, tl.nb);
}

void tl_syrk(const double *aik, double *aii)
{
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, tl.nb, tl.nb, -1.0, aik, tl.nb, 1.0,
                aii, tl.nb);
}

void tl_gemm_nt(const double *a, const double *b, double *c)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, tl.nb, tl.nb, tl.nb, -1.0, a, tl.nb, b,
                tl.nb, 1.0, c, tl.nb);
}

int tl_getrf(double *akk)
{
    int ipiv[4096], info = 0;
    if (tl.nb > 4096)
        return -1;
    dgetrf_(&tl.nb, &tl.nb, akk, &tl.nb, ipiv, &info);
    if (info)
        return -1;
    for (int i = 0; i < tl.nb; i++)
        if (ipiv[i] != i + 1)
            return -1; /* a row exchange: the matrix was not diagonally dominant enough */
    return 0;
}

void tl_trsm_l(const double *akk, double *akj)
{
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasUnit, tl.nb, tl.nb, 1.0,
                akk, tl.nb, akj, tl.nb);
}

void tl_trsm_u(const double *akk, double *aik)
{
    cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, tl.nb, tl.nb,
                1.0, akk, tl.nb, aik, tl.nb);
}

void tl_gemm_nn_sub(const double *a, const double *b, double *c)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, tl.nb, tl.nb, tl.nb, -1.0, a, tl.nb,
                b, tl.nb, 1.0, c, tl.nb);
}

void tl_gemm_nn_add(const double *a, const double *b, double *c)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, tl.nb, tl.nb, tl.nb, 1.0, a, tl.nb, b,
                tl.nb, 1.0, c, tl.nb);
}

/* ---- the shared timing loop -------------------------------------------------------- */

static void tl_loop_prepare(int rep, void *ctx) { (void)rep, (void)ctx, tl_reset(); }
static int tl_loop_run(int rep, void *ctx)
{
    (void)rep;
    return (*(int (**)(void))ctx)();
}
static int tl_loop_verify(int rep, void *ctx) { return (void)rep, (void)ctx, tl_check(); }

int tl_time_reps(int (*run)(void), uint64_t *ns)
{
    static const struct bench_ops ops = {tl_loop_prepare, tl_loop_run, tl_loop_verify};
    return bench_time_reps(tl.reps, &ops, &run, ns);
}
