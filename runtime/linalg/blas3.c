/* blas3.c: tiled GEMM (2D owner-computes SUMMA and 2.5D on DAG_DIST_3D), TRSM and SYRK
 * as task graphs, and the one-tile tasks (la_tasks.h) they and the factorisations are
 * made of. Translated by dagcc-translate at build time: the tile tasks are function tasks. */
#include <string.h>

#include "la_tasks.h"

/* ---- the one-tile tasks (la_tasks.h: each call below submits a task) ---- */

void la_gemm_task(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
                  const char *a, int lda, size_t abytes, const char *b, int ldb, size_t bbytes,
                  double beta, char *c, int ldc, size_t cbytes, int prio, dag_status_t *st)
{
    (void)abytes, (void)bbytes, (void)cbytes, (void)prio, (void)st;
    k_gemm(t, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void la_syrk_task(dag_la_type_t t, char trans, int n, int k, double alpha, const char *a,
                  int lda, size_t abytes, double beta, char *c, int ldc, size_t cbytes,
                  int prio, dag_status_t *st)
{
    (void)abytes, (void)cbytes, (void)prio, (void)st;
    k_syrk(t, 'L', trans, n, k, alpha, a, lda, beta, c, ldc);
}

void la_trsm_task(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
                  double alpha, const char *a, int lda, size_t abytes, char *b, int ldb,
                  size_t bbytes, int prio, dag_status_t *st)
{
    (void)abytes, (void)bbytes, (void)prio, (void)st;
    k_trsm(t, side, uplo, trans, diag, m, n, alpha, a, lda, b, ldb);
}

void la_copy_task(const char *a, char *b, size_t bytes, dag_status_t *st)
{
    (void)st;
    memcpy(b, a, bytes);
}

dag_status_t la_gemm_tile(dag_la_type_t t, char ta, char tb, int m, int n, int k,
                          double alpha, const void *a, int lda, size_t abytes, const void *b,
                          int ldb, size_t bbytes, double beta, void *c, int ldc, size_t cbytes,
                          int prio)
{
    dag_status_t st = DAG_OK;
    la_gemm_task(t, ta, tb, m, n, k, alpha, a, lda, abytes, b, ldb, bbytes, beta, c, ldc,
                 cbytes, prio, &st);
    return st;
}

dag_status_t la_syrk_tile(dag_la_type_t t, char trans, int n, int k, double alpha,
                          const void *a, int lda, size_t abytes, double beta, void *c, int ldc,
                          size_t cbytes, int prio)
{
    dag_status_t st = DAG_OK;
    la_syrk_task(t, trans, n, k, alpha, a, lda, abytes, beta, c, ldc, cbytes, prio, &st);
    return st;
}

dag_status_t la_trsm_tile(dag_la_type_t t, char side, char uplo, char trans, char diag,
                          int m, int n, double alpha, const void *a, int lda, size_t abytes,
                          void *b, int ldb, size_t bbytes, int prio)
{
    dag_status_t st = DAG_OK;
    la_trsm_task(t, side, uplo, trans, diag, m, n, alpha, a, lda, abytes, b, ldb, bbytes, prio,
                 &st);
    return st;
}

static int is_t(char c) { return c == 'T' || c == 't' || c == 'C' || c == 'c'; }
static int is_n(char c) { return c == 'N' || c == 'n'; }

/* ---- GEMM ---- */

struct add_args {
    dag_la_type_t t;
    int m, n, ld;
    const void *src;
    void *dst;
};
static int task_add(void *p)
{
    struct add_args *a = p;
    k_add(a->t, a->m, a->n, a->src, a->ld, a->dst, a->ld);
    return 0;
}

dag_status_t dag_la_gemm(char ta, char tb, double alpha, const dag_la_t *a, const dag_la_t *b,
                         double beta, dag_la_t *c)
{
    if (!a || !b || !c)
        return la_invalid("dag_la_gemm: null matrix");
    if ((!is_t(ta) && !is_n(ta)) || (!is_t(tb) && !is_n(tb)))
        return la_invalid("dag_la_gemm: trans must be 'N' or 'T' (got '%c', '%c')", ta, tb);
    if (a->type != c->type || b->type != c->type)
        return la_invalid("dag_la_gemm: element types differ");
    int am = is_t(ta) ? a->n : a->m, ak = is_t(ta) ? a->m : a->n;
    int amb = is_t(ta) ? a->nb : a->mb, akb = is_t(ta) ? a->mb : a->nb;
    int bk = is_t(tb) ? b->n : b->m, bn = is_t(tb) ? b->m : b->n;
    int bkb = is_t(tb) ? b->nb : b->mb, bnb = is_t(tb) ? b->mb : b->nb;
    if (am != c->m || bn != c->n || ak != bk)
        return la_invalid("dag_la_gemm: shapes do not conform: op(A) %dx%d, op(B) %dx%d, "
                          "C %dx%d", am, ak, bk, bn, c->m, c->n);
    if (amb != c->mb || bnb != c->nb || akb != bkb)
        return la_invalid("dag_la_gemm: tile sizes do not conform: op(A) tiles %dx%d, "
                          "op(B) %dx%d, C %dx%d", amb, akb, bkb, bnb, c->mb, c->nb);
    int kt = (ak + akb - 1) / akb, L = c->layers;
    if (L > 64)
        return la_invalid("dag_la_gemm: at most 64 layers (C has %d)", L);
    size_t bytes = la_tb(c);
    dag_status_t st = DAG_OK;
    for (int j = 0; j < c->nt && !st; j++)
        for (int i = 0; i < c->mt && !st; i++) {
            int mi = la_mi(c, i), nj = la_nj(c, j);
            int first[64] = {0};
            for (int l = 0; l < kt && !st; l++) {
                int kl = la_min(akb, ak - l * akb), layer = L > 1 ? l % L : 0;
                const void *at = is_t(ta) ? la_t(a, l, i) : la_t(a, i, l);
                const void *bt = is_t(tb) ? la_t(b, j, l) : la_t(b, l, j);
                void *ct = layer ? dag_tile3(c->tiles, i, j, layer) : la_t(c, i, j);
                double bet = layer ? (first[layer] ? 1.0 : 0.0) : (l ? 1.0 : beta);
                first[layer] = 1;
                /* tile sizes may differ between a, b, c: each dependency its own bytes */
                la_gemm_task(c->type, is_t(ta) ? 'T' : 'N', is_t(tb) ? 'T' : 'N', mi, nj, kl,
                             alpha, at, a->mb, la_tb(a), bt, b->mb, la_tb(b), bet, ct, c->mb,
                             bytes, 0, &st);
            }
            for (int layer = 1; layer < L && layer < kt && !st; layer++) {
                struct add_args ad = {c->type, mi, nj, c->mb,
                                      dag_tile3(c->tiles, i, j, layer), la_t(c, i, j)};
                dag_dep_t d[2] = {{ad.dst, bytes, DAG_INOUT}, {(void *)ad.src, bytes, DAG_IN}};
                st = la_submit(task_add, &ad, sizeof ad, d, 2, "la_reduce", 0, -1);
            }
        }
    st = la_finish(st, NULL);
    c->factored = 0;
    return st;
}

/* ---- TRSM ---- */

struct scal_args {
    dag_la_type_t t;
    int m, n, ld;
    double alpha;
    void *a;
};
static int task_scal(void *p)
{
    struct scal_args *a = p;
    k_scal(a->t, a->m, a->n, a->alpha, a->a, a->ld);
    return 0;
}

dag_status_t la_trsm_part(char side, char uplo, char trans, char diag, double alpha,
                          const dag_la_t *a, dag_la_t *b, int order)
{
    int left = side == 'L' || side == 'l', lower = uplo == 'L' || uplo == 'l';
    int tr = is_t(trans), nb = a->nb;
    int kt = (order + nb - 1) / nb;
    dag_status_t st = DAG_OK;
    size_t bb = la_tb(b), ab = la_tb(a);
    /* op(A) lower: Left solves forward, Right backward */
    int oplower = lower != tr;
    int fwd = left ? oplower : !oplower;
    int other = left ? b->nt : b->mt;
    if (alpha != 1.0)
        for (int j = 0; j < b->nt && !st; j++)
            for (int i = 0; i < b->mt && !st; i++) {
                if ((left && i >= kt) || (!left && j >= kt))
                    continue;
                struct scal_args sa = {b->type, la_mi(b, i), la_nj(b, j), b->mb, alpha,
                                       la_t(b, i, j)};
                dag_dep_t d = {sa.a, bb, DAG_INOUT};
                st = la_submit(task_scal, &sa, sizeof sa, &d, 1, "la_scal", 0, -1);
            }
    for (int s = 0; s < kt && !st; s++) {
        int k = fwd ? s : kt - 1 - s;
        int kk = la_min(nb, order - k * nb);
        for (int o = 0; o < other && !st; o++) {
            void *bt = left ? la_t(b, k, o) : la_t(b, o, k);
            int m = left ? kk : la_mi(b, o), n = left ? la_nj(b, o) : kk;
            st = la_trsm_tile(b->type, left ? 'L' : 'R', lower ? 'L' : 'U', tr ? 'T' : 'N',
                              diag, m, n, 1.0, la_t(a, k, k), a->mb, ab, bt, b->mb, bb,
                              la_prio(s, s, kt, 1));
        }
        for (int s2 = s + 1; s2 < kt && !st; s2++) {
            int r = fwd ? s2 : kt - 1 - s2; /* the block updated */
            int rr = la_min(nb, order - r * nb);
            /* op(A)(r, k) for Left, op(A)(k, r) for Right */
            int ai = left ? r : k, aj = left ? k : r;
            const void *at = tr ? la_t(a, aj, ai) : la_t(a, ai, aj);
            for (int o = 0; o < other && !st; o++) {
                if (left)
                    st = la_gemm_tile(b->type, tr ? 'T' : 'N', 'N', rr, la_nj(b, o), kk, -1.0,
                                      at, a->mb, ab, la_t(b, k, o), b->mb, bb, 1.0,
                                      la_t(b, r, o), b->mb, bb, la_prio(s, s2, kt, 0));
                else
                    st = la_gemm_tile(b->type, 'N', tr ? 'T' : 'N', la_mi(b, o), rr, kk, -1.0,
                                      la_t(b, o, k), b->mb, bb, at, a->mb, ab, 1.0,
                                      la_t(b, o, r), b->mb, bb, la_prio(s, s2, kt, 0));
            }
        }
    }
    return st;
}

dag_status_t dag_la_trsm(char side, char uplo, char trans, char diag, double alpha,
                         const dag_la_t *a, dag_la_t *b)
{
    if (!a || !b)
        return la_invalid("dag_la_trsm: null matrix");
    int left = side == 'L' || side == 'l';
    if (!left && side != 'R' && side != 'r')
        return la_invalid("dag_la_trsm: side must be 'L' or 'R' (got '%c')", side);
    if (!strchr("LlUu", uplo) || !strchr("NnTtCc", trans) || !strchr("NnUu", diag) || !uplo ||
        !trans || !diag)
        return la_invalid("dag_la_trsm: bad uplo/trans/diag ('%c', '%c', '%c')", uplo, trans,
                          diag);
    if (a->type != b->type)
        return la_invalid("dag_la_trsm: element types differ");
    if (a->m != a->n || a->mb != a->nb)
        return la_invalid("dag_la_trsm: A must be square with square tiles (%dx%d, tiles "
                          "%dx%d)", a->m, a->n, a->mb, a->nb);
    if (left ? (b->m != a->m || b->mb != a->mb) : (b->n != a->n || b->nb != a->nb))
        return la_invalid("dag_la_trsm: B (%dx%d, tiles %dx%d) does not conform to A "
                          "(%dx%d, tiles %dx%d) on side '%c'", b->m, b->n, b->mb, b->nb, a->m,
                          a->n, a->mb, a->nb, side);
    dag_status_t st = la_trsm_part(side, uplo, trans, diag, alpha, a, b, a->n);
    st = la_finish(st, NULL);
    b->factored = 0;
    return st;
}

/* ---- SYRK ---- */

dag_status_t dag_la_syrk(char uplo, char trans, double alpha, const dag_la_t *a, double beta,
                         dag_la_t *c)
{
    if (!a || !c)
        return la_invalid("dag_la_syrk: null matrix");
    if (uplo != 'L' && uplo != 'l')
        return la_invalid("dag_la_syrk: only uplo 'L' is implemented (got '%c')", uplo);
    int tr = is_t(trans);
    if (!tr && !is_n(trans))
        return la_invalid("dag_la_syrk: trans must be 'N' or 'T' (got '%c')", trans);
    if (a->type != c->type)
        return la_invalid("dag_la_syrk: element types differ");
    int an = tr ? a->n : a->m, anb = tr ? a->nb : a->mb;
    int ak = tr ? a->m : a->n, akb = tr ? a->mb : a->nb;
    if (c->m != c->n || c->mb != c->nb || an != c->n || anb != c->nb)
        return la_invalid("dag_la_syrk: C (%dx%d, tiles %dx%d) must be square and match "
                          "op(A) (%d rows, tiles of %d)", c->m, c->n, c->mb, c->nb, an, anb);
    int kt = (ak + akb - 1) / akb;
    size_t ab = la_tb(a), cb = la_tb(c);
    dag_status_t st = DAG_OK;
    for (int j = 0; j < c->nt && !st; j++)
        for (int i = j; i < c->mt && !st; i++)
            for (int l = 0; l < kt && !st; l++) {
                int kl = la_min(akb, ak - l * akb);
                double bet = l ? 1.0 : beta;
                const void *ai = tr ? la_t(a, l, i) : la_t(a, i, l);
                const void *aj = tr ? la_t(a, l, j) : la_t(a, j, l);
                if (i == j)
                    st = la_syrk_tile(c->type, tr ? 'T' : 'N', la_nj(c, j), kl, alpha, ai,
                                      a->mb, ab, bet, la_t(c, i, j), c->mb, cb, 0);
                else
                    st = la_gemm_tile(c->type, tr ? 'T' : 'N', tr ? 'N' : 'T', la_mi(c, i),
                                      la_nj(c, j), kl, alpha, ai, a->mb, ab, aj, a->mb, ab,
                                      bet, la_t(c, i, j), c->mb, cb, 0);
            }
    st = la_finish(st, NULL);
    c->factored = 0;
    return st;
}

/* ---- copy ---- */

dag_status_t dag_la_copy(const dag_la_t *a, dag_la_t *b)
{
    if (!a || !b)
        return la_invalid("dag_la_copy: null matrix");
    if (a->type != b->type || a->m != b->m || a->n != b->n || a->mb != b->mb || a->nb != b->nb)
        return la_invalid("dag_la_copy: %dx%d matrix of %dx%d tiles (type %d) into %dx%d of "
                          "%dx%d (type %d)", a->m, a->n, a->mb, a->nb, (int)a->type, b->m, b->n,
                          b->mb, b->nb, (int)b->type);
    dag_status_t st = DAG_OK;
    for (int j = 0; j < a->nt && !st; j++)
        for (int i = 0; i < a->mt && !st; i++)
            la_copy_task(la_t(a, i, j), la_t(b, i, j), la_tb(a), &st);
    b->factored = 0;
    return la_finish(st, NULL);
}
