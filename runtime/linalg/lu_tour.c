/* lu_tour.c: the tournament-pivoting LU panel (CALU, Grigori, Demmel and Xiang 2011), an
 * alternative to lu.c's gathered panel. Step k, tile column k from the diagonal down:
 *  - leaf task per rank (the tiles of the panel it owns, stacked; DAG_LA_LU_LEAF=tile:
 *    per tile, then a binary tree of merges on the rank): LAPACK getrf on a copy
 *    proposes min(rows, nb) candidate pivot rows; their original values and global row
 *    numbers go into a candidate record (a registered tile, so only nb-row blocks travel);
 *  - reduction tree of merge tasks across ranks: the ranks' candidates are played off
 *    along a binary tree (getrf of the stacked 2nb x nb block; the winners' original rows
 *    go on);
 *  - diagonal task (owner of tile (k, k)): turns the winners into LAPACK-style swaps
 *    (the pivot record lu.c's swap tasks and dag_la_getrs read), puts the winners into the
 *    diagonal tile, keeps its displaced rows in a registered copy, and factors the tile
 *    without pivoting;
 *  - one task per tile below (on its owner): takes the displaced diagonal rows that land
 *    in it, then L = A U^-1 (TRSM; a zero pivot leaves its column unscaled, as dgetf2).
 * The tiles of the panel never leave their owners; the records are reused every w steps
 * (w: the period of the distribution along the columns, so they stay with the tiles). */
#include <stdlib.h>
#include <string.h>

#include "la.h"

struct la_tour {
    dag_matrix_t *cand; /* mt x w: candidate record of tile (i, k) at (i, k mod w) */
    dag_matrix_t *dsv;  /* mt x w: original rows of diagonal tile (k, k) at (k, k mod w) */
    size_t cb, hb;      /* record bytes, header bytes */
    int w;
    int rank_leaf;      /* one leaf per rank's tiles (default); 0: per tile */
};

static size_t al64(size_t x) { return (x + 63) & ~(size_t)63; }

/* candidate record: int header [count, unused, global row of each candidate], then the
 * candidates' rows, nb x nb column-major (leading dimension nb) */
static int *c_hdr(void *c) { return c; }
static char *c_val(void *c, size_t hb) { return (char *)c + hb; }

static double el(dag_la_type_t t, const void *a, size_t i)
{
    return t == DAG_LA_DOUBLE ? ((const double *)a)[i] : ((const float *)a)[i];
}

/* LU without pivoting of an m x n block (recursive: left half, TRSM, GEMM, right half).
 * A zero pivot leaves its column unscaled (dgetf2's rule); returns the first one
 * (1-based) or 0. */
static int lu_nopiv(dag_la_type_t t, int m, int n, char *a, int lda)
{
    size_t es = t == DAG_LA_DOUBLE ? 8 : 4;
    int mn = la_min(m, n);
    if (mn <= 0)
        return 0;
    if (n == 1 || m == 1) {
        double p = el(t, a, 0);
        if (p == 0)
            return 1;
        if (m > 1)
            k_scal(t, m - 1, 1, 1.0 / p, a + es, lda);
        return 0;
    }
    int n1 = mn / 2, n2 = n - n1;
    int i1 = lu_nopiv(t, m, n1, a, lda);
    char *a12 = a + (size_t)n1 * lda * es, *a21 = a + n1 * es, *a22 = a12 + n1 * es;
    k_trsm(t, 'L', 'L', 'N', 'U', n1, n2, 1.0, a, lda, a12, lda);
    if (m == n1)
        return i1;
    k_gemm(t, 'N', 'N', m - n1, n2, n1, -1.0, a21, lda, a12, lda, 1.0, a22, lda);
    int i2 = lu_nopiv(t, m - n1, n2, a22, lda);
    return i1 ? i1 : i2 ? i2 + n1 : 0;
}

/* B := B U^-1 (U n x n upper); a zero U(j,j) leaves column j of B unscaled */
static void trsm_u(dag_la_type_t t, int m, int n, const char *u, int ldu, char *b, int ldb)
{
    size_t es = t == DAG_LA_DOUBLE ? 8 : 4;
    int zero = 0;
    for (int j = 0; j < n && !zero; j++)
        zero = el(t, u, (size_t)j * ldu + j) == 0;
    if (!zero) {
        k_trsm(t, 'R', 'U', 'N', 'N', m, n, 1.0, u, ldu, b, ldb);
        return;
    }
    for (int j = 0; j < n; j++) {
        char *bj = b + (size_t)j * ldb * es;
        if (j > 0)
            k_gemm(t, 'N', 'N', m, 1, j, -1.0, b, ldb, u + (size_t)j * ldu * es, ldu, 1.0, bj,
                   ldb);
        double d = el(t, u, (size_t)j * ldu + j);
        if (d != 0)
            k_scal(t, m, 1, 1.0 / d, bj, ldb);
    }
}

/* Play off m rows (values o, ld ldo, nk columns; global rows ids): getrf of a copy picks
 * min(m, nk) of them in pivot order; their original values and rows go to record c. */
static int choose(dag_la_type_t t, int m, int nk, const char *o, int ldo, const int *ids,
                  void *c, int nb, size_t hb)
{
    size_t es = t == DAG_LA_DOUBLE ? 8 : 4;
    int np = la_min(m, nk);
    char *w = malloc((size_t)m * nk * es);
    int *ip = malloc(sizeof(int) * (size_t)np), *perm = malloc(sizeof(int) * (size_t)m);
    if (!w || !ip || !perm) {
        free(w), free(ip), free(perm);
        return DAG_ERR_NOMEM;
    }
    k_lacpy(t, m, nk, o, ldo, w, m);
    k_getrf(t, m, nk, w, m, ip);
    for (int r = 0; r < m; r++)
        perm[r] = r;
    for (int s = 0; s < np; s++) {
        int x = perm[s];
        perm[s] = perm[ip[s] - 1];
        perm[ip[s] - 1] = x;
    }
    int *h = c_hdr(c);
    h[0] = np;
    for (int s = 0; s < np; s++) {
        h[2 + s] = ids[perm[s]];
        la_row_cpy(nk, es, o, ldo, perm[s], c_val(c, hb), nb, s);
    }
    free(w), free(ip), free(perm);
    return 0;
}

struct leaf_args {
    dag_la_type_t t;
    int n, nk, mb, rows; /* n tiles of rows rows in all */
    size_t hb;
    void *cand;
    /* followed by n tile rows (int), then n tile addresses */
};

/* the candidates of one tile, or of a rank's tiles stacked */
static int task_leaf(void *p)
{
    struct leaf_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    const int *ti = (const int *)(a + 1);
    void **tl = (void **)((char *)(a + 1) + al64(sizeof(int) * (size_t)a->n));
    int *ids = malloc(sizeof(int) * (size_t)a->rows);
    char *o = a->n > 1 ? malloc((size_t)a->rows * a->nk * es) : NULL;
    if (!ids || (a->n > 1 && !o)) {
        free(ids), free(o);
        return DAG_ERR_NOMEM;
    }
    for (int x = 0, r0 = 0; x < a->n; x++) {
        int mi = la_min(a->mb, a->rows - r0);
        for (int r = 0; r < mi; r++)
            ids[r0 + r] = ti[x] * a->mb + r;
        if (o)
            k_lacpy(a->t, mi, a->nk, tl[x], a->mb, o + (size_t)r0 * es, a->rows);
        r0 += mi;
    }
    int st = o ? choose(a->t, a->rows, a->nk, o, a->rows, ids, a->cand, a->mb, a->hb)
               : choose(a->t, a->rows, a->nk, tl[0], a->mb, ids, a->cand, a->mb, a->hb);
    free(ids), free(o);
    return st;
}

struct merge_args {
    dag_la_type_t t;
    int nk, nb;
    size_t hb;
    void *dst;
    const void *src;
};

static int task_merge(void *p)
{
    struct merge_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    const int *h1 = c_hdr(a->dst), *h2 = c_hdr((void *)a->src);
    int c1 = h1[0], c2 = h2[0], m = c1 + c2;
    char *o = malloc((size_t)m * a->nk * es);
    int *ids = malloc(sizeof(int) * (size_t)m);
    if (!o || !ids) {
        free(o), free(ids);
        return DAG_ERR_NOMEM;
    }
    k_lacpy(a->t, c1, a->nk, c_val(a->dst, a->hb), a->nb, o, m);
    k_lacpy(a->t, c2, a->nk, c_val((void *)a->src, a->hb), a->nb, o + c1 * es, m);
    memcpy(ids, h1 + 2, sizeof(int) * (size_t)c1);
    memcpy(ids + c1, h2 + 2, sizeof(int) * (size_t)c2);
    int st = choose(a->t, m, a->nk, o, m, ids, a->dst, a->nb, a->hb);
    free(o), free(ids);
    return st;
}

struct diag_args {
    dag_la_type_t t;
    int k, mi, nk, mb, nb, rows;
    size_t hb;
    void *tile;
    const void *cand;
    int *piv;
    void *dsv;
};

static int task_diag(void *p)
{
    struct diag_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    int base = a->k * a->mb, *h = c_hdr((void *)a->cand), np = h[0];
    int *where = malloc(sizeof(int) * (size_t)a->rows);
    if (!where)
        return DAG_ERR_NOMEM;
    for (int r = 0; r < a->rows; r++)
        where[r] = r;
    int *held = malloc(sizeof(int) * (size_t)a->rows);
    if (!held) {
        free(where);
        return DAG_ERR_NOMEM;
    }
    for (int r = 0; r < a->rows; r++)
        held[r] = r;
    /* the winners in order: row g goes to position t by one interchange (t, where[g]) */
    for (int t = 0; t < np; t++) {
        int g = h[2 + t] - base, q = where[g], x = held[t];
        a->piv[t] = base + q;
        held[t] = g, held[q] = x;
        where[g] = t, where[x] = q;
    }
    a->piv[a->nb + 1] = np;
    k_lacpy(a->t, a->mi, a->nk, a->tile, a->mb, a->dsv, a->mb);
    for (int t = 0; t < a->mi; t++) {
        if (t < np)
            la_row_cpy(a->nk, es, c_val((void *)a->cand, a->hb), a->nb, t, a->tile, a->mb, t);
        else if (held[t] != t)
            la_row_cpy(a->nk, es, a->dsv, a->mb, held[t], a->tile, a->mb, t);
    }
    int r = lu_nopiv(a->t, a->mi, a->nk, a->tile, a->mb);
    a->piv[a->nb] = r > 0 ? a->k * a->nb + r : 0;
    free(where), free(held);
    return 0;
}

struct lpan_args {
    dag_la_type_t t;
    int k, i, mi, nk, mb, nb, rows;
    void *tile;
    const void *diag;
    const int *piv;
    const void *dsv;
};

static int task_lpanel(void *p)
{
    struct lpan_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    int base = a->k * a->mb, off = (a->i - a->k) * a->mb;
    int *pos = la_net_perm(a->piv, a->piv[a->nb + 1], base, a->rows);
    if (!pos)
        return DAG_ERR_NOMEM;
    for (int r = 0; r < a->mi; r++)
        if (pos[off + r] != off + r) /* a row of the diagonal tile lands here */
            la_row_cpy(a->nk, es, a->dsv, a->mb, pos[off + r], a->tile, a->mb, r);
    free(pos);
    trsm_u(a->t, a->mi, a->nk, a->diag, a->mb, a->tile, a->mb);
    return 0;
}

/* Records that stay with the panel tiles: the smallest period w of the owners along the
 * columns for which a mt x w matrix of a's distribution puts (i, j mod w) with (i, j);
 * else w = nt. */
dag_status_t la_tour_init(const dag_la_t *a, la_tour_t **out)
{
    la_tour_t *t = calloc(1, sizeof *t);
    if (!t)
        return DAG_ERR_NOMEM;
    const char *e = getenv("DAG_LA_LU_LEAF");
    if (e && *e && strcmp(e, "tile") && strcmp(e, "rank")) {
        free(t);
        return la_invalid("DAG_LA_LU_LEAF=%s: expected tile or rank", e);
    }
    t->rank_leaf = !e || strcmp(e, "tile");
    t->hb = al64(sizeof(int) * (size_t)(a->nb + 2));
    t->cb = t->hb + (size_t)a->nb * a->nb * a->esize;
    int w = 1;
    for (; w < a->nt; w++) {
        int ok = 1;
        for (int j = w; j < a->nt && ok; j++)
            for (int i = 0; i < a->mt && ok; i++)
                ok = dag_tile_owner(a->tiles, i, j) == dag_tile_owner(a->tiles, i, j % w);
        if (ok)
            break;
    }
    for (int pass = 0; pass < 2; pass++) {
        dag_status_t st = dag_matrix_create(&t->cand, a->mt, w, t->cb, &a->dist);
        if (!st)
            st = dag_matrix_create(&t->dsv, a->mt, w, la_tb(a), &a->dist);
        if (st) {
            la_tour_free(t);
            return st;
        }
        int ok = 1;
        for (int j = 0; j < w && ok; j++)
            for (int i = 0; i < a->mt && ok; i++)
                ok = dag_tile_owner(t->cand, i, j) == dag_tile_owner(a->tiles, i, j) &&
                     dag_tile_owner(t->dsv, i, j) == dag_tile_owner(a->tiles, i, j);
        if (ok || w == a->nt)
            break;
        dag_matrix_destroy(t->cand);
        dag_matrix_destroy(t->dsv);
        t->cand = t->dsv = NULL;
        w = a->nt;
    }
    t->w = w;
    *out = t;
    return DAG_OK;
}

void la_tour_free(la_tour_t *t)
{
    if (!t)
        return;
    if (t->cand)
        dag_matrix_destroy(t->cand);
    if (t->dsv)
        dag_matrix_destroy(t->dsv);
    free(t);
}

int la_tour_one_leaf(const la_tour_t *t, const dag_la_t *a, int k)
{
    if (!t->rank_leaf)
        return 0;
    int o = dag_tile_owner(a->tiles, k, k);
    for (int i = k + 1; i < a->mt; i++)
        if (dag_tile_owner(a->tiles, i, k) != o)
            return 0;
    return 1;
}

static dag_status_t sub_merge(const dag_la_t *a, la_tour_t *t, int k, int dst, int src,
                              int prio)
{
    void *cd = dag_tile(t->cand, dst, k % t->w), *cs = dag_tile(t->cand, src, k % t->w);
    struct merge_args ma = {a->type, la_nj(a, k), a->nb, t->hb, cd, cs};
    dag_dep_t d[2] = {{cd, t->cb, DAG_INOUT}, {cs, t->cb, DAG_IN}};
    return la_submit(task_merge, &ma, sizeof ma, d, 2, "la_getrf_tmerge", prio, -1);
}

/* binary tree over idx[0..n-1], each pair merged into its first */
static dag_status_t tree(const dag_la_t *a, la_tour_t *t, int k, const int *idx, int n,
                         int prio)
{
    dag_status_t st = DAG_OK;
    for (int s = 1; s < n && !st; s *= 2)
        for (int x = 0; x + s < n && !st; x += 2 * s)
            st = sub_merge(a, t, k, idx[x], idx[x + s], prio);
    return st;
}

dag_status_t la_tour_panel(dag_la_t *a, la_tour_t *t, int k, int prio)
{
    int n = a->mt - k, nk = la_nj(a, k), c = k % t->w;
    size_t tb = la_tb(a), pb = sizeof(int) * (size_t)(a->nb + 2);
    dag_status_t st = DAG_OK;
    /* group the tiles by owner (the diagonal tile's group first); per group one leaf on
     * its tiles stacked (the default) or, DAG_LA_LU_LEAF=tile, a leaf per tile and a
     * binary tree; then a binary tree over the groups' first tiles: the winner lands in
     * record k */
    int *own = malloc(sizeof(int) * (size_t)n * 3), ng = 0;
    size_t lsz = sizeof(struct leaf_args) + al64(sizeof(int) * (size_t)n) +
                 sizeof(void *) * (size_t)n;
    struct leaf_args *la = malloc(lsz);
    dag_dep_t *d = malloc(sizeof *d * (size_t)(n + 1));
    if (!own || !la || !d) {
        free(own), free(la), free(d);
        return DAG_ERR_NOMEM;
    }
    int *idx = own + n, *heads = idx + n;
    for (int i = 0; i < n; i++)
        own[i] = dag_tile_owner(a->tiles, k + i, k);
    for (int i = 0; i < n && !st; i++) {
        int first = 1, m = 0;
        for (int x = 0; x < i && first; x++)
            first = own[x] != own[i];
        if (!first)
            continue;
        for (int x = i; x < n; x++)
            if (own[x] == own[i])
                idx[m++] = k + x;
        heads[ng++] = k + i;
        for (int g = 0; g < (t->rank_leaf ? 1 : m) && !st; g++) {
            int nl = t->rank_leaf ? m : 1, rows = 0;
            int *ti = (int *)(la + 1);
            void **tl = (void **)((char *)(la + 1) + al64(sizeof(int) * (size_t)nl));
            void *cd = dag_tile(t->cand, idx[g], c);
            d[0] = (dag_dep_t){cd, t->cb, DAG_OUT};
            for (int x = 0; x < nl; x++) {
                ti[x] = idx[g + x];
                tl[x] = la_t(a, ti[x], k);
                rows += la_mi(a, ti[x]);
                d[1 + x] = (dag_dep_t){tl[x], tb, DAG_IN};
            }
            *la = (struct leaf_args){a->type, nl, nk, a->mb, rows, t->hb, cd};
            size_t sz = sizeof *la + al64(sizeof(int) * (size_t)nl) +
                        sizeof(void *) * (size_t)nl;
            st = la_submit(task_leaf, la, sz, d, nl + 1, "la_getrf_tleaf", prio, -1);
        }
        if (!st && !t->rank_leaf)
            st = tree(a, t, k, idx, m, prio);
    }
    if (!st)
        st = tree(a, t, k, heads, ng, prio);
    free(own), free(la), free(d);
    if (st)
        return st;
    int *piv = dag_tile(a->piv, k, k);
    void *dg = la_t(a, k, k), *dsv = dag_tile(t->dsv, k, c), *cand = dag_tile(t->cand, k, c);
    struct diag_args da = {a->type, k, la_mi(a, k), nk, a->mb, a->nb, a->m - k * a->mb,
                           t->hb, dg, cand, piv, dsv};
    dag_dep_t dd[4] = {{dg, tb, DAG_INOUT}, {cand, t->cb, DAG_IN}, {piv, pb, DAG_OUT},
                       {dsv, tb, DAG_OUT}};
    st = la_submit(task_diag, &da, sizeof da, dd, 4, "la_getrf_tdiag", prio, -1);
    for (int i = k + 1; i < a->mt && !st; i++) {
        struct lpan_args lp = {a->type, k, i, la_mi(a, i), nk, a->mb, a->nb,
                               a->m - k * a->mb, la_t(a, i, k), dg, piv, dsv};
        dag_dep_t d[4] = {{lp.tile, tb, DAG_INOUT}, {dg, tb, DAG_IN}, {piv, pb, DAG_IN},
                          {dsv, tb, DAG_IN}};
        st = la_submit(task_lpanel, &lp, sizeof lp, d, 4, "la_getrf_tl", prio, -1);
    }
    return st;
}
