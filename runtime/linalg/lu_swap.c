/* lu_swap.c: the row interchanges of one LU step applied to one tile column, as tasks on
 * the owners of its tiles (both LU panels, dag_la_getrs). The interchanges of step k
 * (LAPACK-style: row base + t <-> row piv[t], piv[t] >= base + t) only trade rows between
 * tile row k and the tiles below it: every row below tile row k either stays or receives
 * a row of tile k, and tile k receives the pivot rows. So, per tile column j:
 *  - one task per rank holding tiles of the column below tile row k: it copies the pivot
 *    rows its tiles give up into a record (a registered tile of that rank), then puts in
 *    their place the rows of tile (k, j) they receive (tile (k, j) is read, one copy per
 *    rank);
 *  - one task on the owner of tile (k, j): it takes the pivot rows from the records.
 * Only tile (k, j) and one record per rank travel, not the tile column. */
#include <stdlib.h>
#include <string.h>

#include "la.h"

struct la_xch {
    dag_matrix_t *rec; /* P x nt: the record of the rank holding tile (i, j) at (i mod P, j) */
    int p;
};

/* the smallest row period P of b's owners that a P x nt matrix of b's distribution
 * reproduces (else mt) */
dag_status_t la_xch_init(const dag_la_t *b, la_xch_t **out)
{
    la_xch_t *x = calloc(1, sizeof *x);
    if (!x)
        return DAG_ERR_NOMEM;
    int p = 1;
    for (; p < b->mt; p++) {
        int ok = 1;
        for (int i = p; i < b->mt && ok; i++)
            for (int j = 0; j < b->nt && ok; j++)
                ok = dag_tile_owner(b->tiles, i, j) == dag_tile_owner(b->tiles, i % p, j);
        if (ok)
            break;
    }
    for (;;) {
        dag_status_t st = dag_matrix_create(&x->rec, p, b->nt, la_tb(b), &b->dist);
        if (st) {
            free(x);
            return st;
        }
        int ok = 1;
        for (int i = 0; i < p && ok; i++)
            for (int j = 0; j < b->nt && ok; j++)
                ok = dag_tile_owner(x->rec, i, j) == dag_tile_owner(b->tiles, i, j);
        if (ok || p == b->mt)
            break;
        dag_matrix_destroy(x->rec);
        p = b->mt;
    }
    x->p = p;
    *out = x;
    return DAG_OK;
}

void la_xch_free(la_xch_t *x)
{
    if (!x)
        return;
    dag_matrix_destroy(x->rec);
    free(x);
}

static size_t al8(size_t v) { return (v + 7) & ~(size_t)7; }

/* pos[x]: the row (relative to base) that position base + x holds after the swaps
 * piv[0..np-1]; malloc'ed (NULL: no memory). Shared with lu_tour.c. */
int *la_net_perm(const int *piv, int np, int base, int rows)
{
    int *pos = malloc(sizeof(int) * (size_t)rows);
    if (!pos)
        return NULL;
    for (int r = 0; r < rows; r++)
        pos[r] = r;
    for (int t = 0; t < np; t++) {
        int q = piv[t] - base, x = pos[t];
        pos[t] = pos[q];
        pos[q] = x;
    }
    return pos;
}

/* copy row rs of s (ld lds) to row rd of d (ld ldd), n columns of es bytes */
void la_row_cpy(int n, size_t es, const char *s, int lds, int rs, char *d, int ldd, int rd)
{
    for (int j = 0; j < n; j++)
        memcpy(d + ((size_t)j * ldd + rd) * es, s + ((size_t)j * lds + rs) * es, es);
}

struct xg_args {
    dag_la_type_t t;
    int k, nb, ncols, mb, rows, mik, n;
    const int *piv;
    const void *top;
    void *rec;
    /* followed by n tile row numbers (int), then n tile addresses */
};

/* one rank's tiles below tile row k: pivot rows out to the record, rows of tile k in */
static int task_xgroup(void *p)
{
    struct xg_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    const int *ti = (const int *)(a + 1);
    void **tl = (void **)((char *)(a + 1) + al8(sizeof(int) * (size_t)a->n));
    int *pos = la_net_perm(a->piv, a->piv[a->nb + 1], a->k * a->mb, a->rows);
    if (!pos)
        return DAG_ERR_NOMEM;
    for (int x = 0; x < a->n; x++) {
        int off = (ti[x] - a->k) * a->mb;
        for (int t = 0; t < a->mik; t++)
            if (pos[t] >= off && pos[t] < off + a->mb)
                la_row_cpy(a->ncols, es, tl[x], a->mb, pos[t] - off, a->rec, a->mb, t);
    }
    for (int x = 0; x < a->n; x++) {
        int off = (ti[x] - a->k) * a->mb, mi = la_min(a->mb, a->rows - off);
        for (int r = 0; r < mi; r++)
            if (pos[off + r] != off + r)
                la_row_cpy(a->ncols, es, a->top, a->mb, pos[off + r], tl[x], a->mb, r);
    }
    free(pos);
    return 0;
}

struct xt_args {
    dag_la_type_t t;
    int k, nb, ncols, mb, rows, mik, n;
    const int *piv;
    void *top;
    /* followed by n record addresses: the record of tile row k + 1 + x's rank */
};

/* tile (k, j): its rows permuted among themselves, the pivot rows from the records */
static int task_xtop(void *p)
{
    struct xt_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    const void *const *rec = (const void *const *)(a + 1);
    int *pos = la_net_perm(a->piv, a->piv[a->nb + 1], a->k * a->mb, a->rows);
    char *orig = malloc((size_t)a->mb * a->ncols * es);
    if (!pos || !orig) {
        free(pos), free(orig);
        return DAG_ERR_NOMEM;
    }
    k_lacpy(a->t, a->mik, a->ncols, a->top, a->mb, orig, a->mb);
    for (int t = 0; t < a->mik; t++) {
        int s = pos[t];
        if (s < a->mb) {
            if (s != t)
                la_row_cpy(a->ncols, es, orig, a->mb, s, a->top, a->mb, t);
        } else {
            la_row_cpy(a->ncols, es, rec[s / a->mb - 1], a->mb, t, a->top, a->mb, t);
        }
    }
    free(pos), free(orig);
    return 0;
}

dag_status_t la_xch_submit(const dag_la_t *lu, dag_la_t *b, la_xch_t *xc, int j, int k,
                           int prio)
{
    int n = b->mt - k - 1, rows = b->m - k * b->mb, ncols = la_nj(b, j);
    size_t tb = la_tb(b), pb = sizeof(int) * (size_t)(lu->nb + 2);
    const int *piv = dag_tile(lu->piv, k, k);
    void *top = la_t(b, k, j);
    int *own = malloc(sizeof(int) * (size_t)(2 * n + 1));
    size_t xsz = sizeof(struct xg_args) + al8(sizeof(int) * (size_t)n) +
                 sizeof(void *) * (size_t)n;
    size_t tsz = sizeof(struct xt_args) + sizeof(void *) * (size_t)n;
    char *args = malloc(xsz > tsz ? xsz : tsz);
    dag_dep_t *d = malloc(sizeof *d * (size_t)(n + 3));
    if (!own || !args || !d) {
        free(own), free(args), free(d);
        return DAG_ERR_NOMEM;
    }
    int *grp = own + n; /* grp[x]: the first tile row (offset) of tile k+1+x's rank */
    dag_status_t st = DAG_OK;
    for (int x = 0; x < n; x++)
        own[x] = dag_tile_owner(b->tiles, k + 1 + x, j);
    for (int x = 0; x < n && !st; x++) {
        grp[x] = x;
        for (int y = 0; y < x; y++)
            if (own[y] == own[x]) {
                grp[x] = grp[y];
                break;
            }
        if (grp[x] != x)
            continue;
        struct xg_args *a = (struct xg_args *)args;
        void *rec = dag_tile(xc->rec, (k + 1 + x) % xc->p, j);
        int *ti = (int *)(a + 1), m = 0;
        void **tl = (void **)((char *)(a + 1) + al8(sizeof(int) * (size_t)n));
        for (int y = x; y < n; y++)
            if (own[y] == own[x]) {
                ti[m] = k + 1 + y;
                tl[m] = la_t(b, k + 1 + y, j);
                d[m] = (dag_dep_t){tl[m], tb, DAG_INOUT};
                m++;
            }
        *a = (struct xg_args){b->type, k, lu->nb, ncols, b->mb, rows, la_mi(b, k), m, piv,
                              top, rec};
        /* the tile rows and addresses packed right after the header for m tiles */
        if (m < n)
            memmove((char *)(a + 1) + al8(sizeof(int) * (size_t)m), tl,
                    sizeof(void *) * (size_t)m);
        d[m] = (dag_dep_t){top, tb, DAG_IN};
        d[m + 1] = (dag_dep_t){(void *)piv, pb, DAG_IN};
        d[m + 2] = (dag_dep_t){rec, tb, DAG_OUT};
        size_t sz = sizeof *a + al8(sizeof(int) * (size_t)m) + sizeof(void *) * (size_t)m;
        st = la_submit(task_xgroup, a, sz, d, m + 3, "la_laswp_rows", prio, -1);
    }
    if (!st) {
        struct xt_args *a = (struct xt_args *)args;
        *a = (struct xt_args){b->type, k, lu->nb, ncols, b->mb, rows, la_mi(b, k), n, piv, top};
        void **rec = (void **)(a + 1);
        int nd = 2;
        d[0] = (dag_dep_t){top, tb, DAG_INOUT};
        d[1] = (dag_dep_t){(void *)piv, pb, DAG_IN};
        for (int x = 0; x < n; x++) {
            rec[x] = dag_tile(xc->rec, (k + 1 + grp[x]) % xc->p, j);
            if (grp[x] == x)
                d[nd++] = (dag_dep_t){rec[x], tb, DAG_IN};
        }
        st = la_submit(task_xtop, a, tsz, d, nd, "la_laswp_top", prio, -1);
    }
    free(own), free(args), free(d);
    return st;
}
