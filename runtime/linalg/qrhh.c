/* qrhh.c: blocked Householder QR in LAPACK's and ScaLAPACK's format (the reflectors below the
 * diagonal, R on and above, tau), for dag_la_geqrf_lapack and libdagscalapack's pdgeqrf_:
 * ScaLAPACK's own consumers (pdormqr, pdorgqr, pdgeqrs...) read the result. Step k: one panel
 * task on the owner of the diagonal tile gathers tile column k from row k down (the runtime
 * moves the tiles there and back), factors it with LAPACK's geqrf (the reflectors pdgeqr2
 * makes, up to rounding) and forms the block reflector's T (larft); then, per tile column j on
 * the right, W = V^T C is reduced over the tile rows as tasks (one chain of GEMMs per owning
 * rank into its first tile, the ranks' partial sums added along a binary tree), W := T^T W on
 * the owner of tile (k, j), and every tile takes C -= V W on its own rank. Priorities put the
 * panel and the lookahead columns first (la_prio), so panel k + 1 starts while step k still
 * updates the columns further right. */
#include <stdlib.h>
#include <string.h>

#include "la.h"

struct hh_panel_args {
    dag_la_type_t t;
    int k, mt, mb, nb, rows, nk, mk0;
    void *ht;
    /* followed by the mt - k tile addresses of the panel */
};

static int task_panel(void *p)
{
    struct hh_panel_args *a = p;
    void **tiles = (void **)(a + 1);
    size_t es = a->t == DAG_LA_DOUBLE ? 8 : 4;
    char *buf = malloc((size_t)a->rows * a->nk * es);
    if (!buf)
        return DAG_ERR_NOMEM;
    for (int i = 0; i < a->mt - a->k; i++) {
        int r0 = i * a->mb, mi = la_min(a->mb, a->rows - r0);
        k_lacpy(a->t, mi, a->nk, tiles[i], a->mb, buf + (size_t)r0 * es, a->rows);
    }
    int r = k_geqrf_t(a->t, a->rows, a->nk, buf, a->rows, a->ht, a->nb);
    for (int i = 0; i < a->mt - a->k; i++) {
        int r0 = i * a->mb, mi = la_min(a->mb, a->rows - r0);
        k_lacpy(a->t, mi, a->nk, buf + (size_t)r0 * es, a->rows, tiles[i], a->mb);
    }
    /* the diagonal tile's V with its unit diagonal and zeros above, for the GEMMs */
    int kk = la_min(a->rows, a->nk);
    char *v = (char *)a->ht + (size_t)a->nb * a->nb * es;
    memset(v, 0, (size_t)a->nb * a->nb * es);
    for (int c = 0; c < kk; c++)
        for (int i = c; i < a->mk0; i++) {
            if (a->t == DAG_LA_DOUBLE)
                ((double *)v)[(size_t)c * a->nb + i] =
                    i == c ? 1.0 : ((double *)buf)[(size_t)c * a->rows + i];
            else
                ((float *)v)[(size_t)c * a->nb + i] =
                    i == c ? 1.0f : ((float *)buf)[(size_t)c * a->rows + i];
        }
    free(buf);
    return r ? DAG_ERR_INVALID : 0;
}

/* 'W' w (=|+=) v^T c (beta 0 or 1); 'A' w += x; 'T' w := T^T w; 'U' c -= v w */
struct hh_args {
    dag_la_type_t t;
    char kind;
    int m, n, k, ldv, ldc, ldw;
    double beta;
    const void *v;
    void *c, *w;
};

static int task_hh(void *p)
{
    struct hh_args *a = p;
    switch (a->kind) {
    case 'W':
        k_gemm(a->t, 'T', 'N', a->k, a->n, a->m, 1.0, a->v, a->ldv, a->c, a->ldc, a->beta,
               a->w, a->ldw);
        break;
    case 'A':
        k_add(a->t, a->k, a->n, a->v, a->ldv, a->w, a->ldw);
        break;
    case 'T':
        k_trmm(a->t, 'U', 'T', 'N', a->k, a->n, 1.0, a->v, a->ldv, a->w, a->ldw);
        break;
    default:
        k_gemm(a->t, 'N', 'N', a->m, a->n, a->k, -1.0, a->v, a->ldv, a->w, a->ldw, 1.0, a->c,
               a->ldc);
    }
    return 0;
}

static dag_status_t submit_panel(dag_la_t *a, int k, int prio)
{
    int n = a->mt - k;
    size_t sz = sizeof(struct hh_panel_args) + sizeof(void *) * (size_t)n;
    struct hh_panel_args *pa = malloc(sz);
    dag_dep_t *d = malloc(sizeof *d * (size_t)(n + 1));
    if (!pa || !d) {
        free(pa);
        free(d);
        return DAG_ERR_NOMEM;
    }
    *pa = (struct hh_panel_args){a->type, k, a->mt, a->mb, a->nb, a->m - k * a->mb,
                                 la_nj(a, k), la_mi(a, k), dag_tile(a->ht, k, k)};
    void **ptrs = (void **)(pa + 1);
    for (int i = 0; i < n; i++) {
        ptrs[i] = la_t(a, k + i, k);
        d[i] = (dag_dep_t){ptrs[i], la_tb(a), DAG_INOUT};
    }
    d[n] = (dag_dep_t){pa->ht, dag_tile_bytes(a->ht), DAG_OUT};
    dag_status_t st = la_submit(task_panel, pa, sz, d, n + 1, "la_hh_panel", prio, -1);
    free(pa);
    free(d);
    return st;
}

/* V of tile row i in step k: the unit-lower copy for the diagonal tile, else the tile */
static const void *vtile(const dag_la_t *a, int k, int i, size_t *bytes)
{
    if (i == k) {
        *bytes = dag_tile_bytes(a->ht);
        return (char *)dag_tile(a->ht, k, k) + (size_t)a->nb * a->nb * a->esize;
    }
    *bytes = la_tb(a);
    return la_t(a, i, k);
}

/* Q_k^T applied to tile column j (rows k and below); heads[g]: first tile row of owner
 * group g, grp[i - k]: the group of tile row i. */
static dag_status_t update_column(dag_la_t *a, int k, int j, int kk, const int *heads, int ng,
                                  const int *grp, int prio)
{
    int nj = la_nj(a, j);
    size_t tb = la_tb(a), wb = la_tb(a), vb;
    dag_status_t st = DAG_OK;
    for (int i = k; i < a->mt && !st; i++) { /* W_g = sum over its tiles of V_i^T C_ij */
        int h = heads[grp[i - k]];
        const void *v = vtile(a, k, i, &vb);
        void *base = vb == tb ? NULL : dag_tile(a->ht, k, k); /* the dependency's address */
        struct hh_args q = {a->type, 'W', la_mi(a, i), nj, kk, a->mb, a->mb, a->nb,
                            h == i ? 0.0 : 1.0, v, la_t(a, i, j), dag_tile(a->hw, h, j)};
        dag_dep_t d[3] = {{q.w, wb, h == i ? DAG_OUT : DAG_INOUT},
                          {q.c, tb, DAG_IN},
                          {base ? base : (void *)v, vb, DAG_IN}};
        if (base)
            q.ldv = a->nb;
        st = la_submit(task_hh, &q, sizeof q, d, 3, "la_hh_vtc", prio, -1);
    }
    for (int s = 1; s < ng && !st; s *= 2) /* the groups' sums, binary tree */
        for (int x = 0; x + s < ng && !st; x += 2 * s) {
            struct hh_args q = {a->type, 'A', 0, nj, kk, a->nb, 0, a->nb, 0,
                                dag_tile(a->hw, heads[x + s], j), NULL,
                                dag_tile(a->hw, heads[x], j)};
            dag_dep_t d[2] = {{q.w, wb, DAG_INOUT}, {(void *)q.v, wb, DAG_IN}};
            st = la_submit(task_hh, &q, sizeof q, d, 2, "la_hh_sum", prio, -1);
        }
    void *w = dag_tile(a->hw, k, j), *ht = dag_tile(a->ht, k, k);
    if (!st) { /* W := T^T W */
        struct hh_args q = {a->type, 'T', 0, nj, kk, a->nb, 0, a->nb, 0, ht, NULL, w};
        dag_dep_t d[2] = {{w, wb, DAG_INOUT}, {ht, dag_tile_bytes(a->ht), DAG_IN}};
        st = la_submit(task_hh, &q, sizeof q, d, 2, "la_hh_tw", prio, -1);
    }
    for (int i = k; i < a->mt && !st; i++) { /* C_ij -= V_i W */
        const void *v = vtile(a, k, i, &vb);
        void *base = vb == tb ? NULL : ht;
        struct hh_args q = {a->type, 'U', la_mi(a, i), nj, kk, base ? a->nb : a->mb, a->mb,
                            a->nb, 0, v, la_t(a, i, j), w};
        dag_dep_t d[3] = {{q.c, tb, DAG_INOUT},
                          {base ? base : (void *)v, vb, DAG_IN},
                          {w, wb, DAG_IN}};
        st = la_submit(task_hh, &q, sizeof q, d, 3, "la_hh_update", prio, -1);
    }
    return st;
}

/* Group the tile rows k.. of column j by owning rank: heads and grp as update_column's. */
static int group_rows(const dag_la_t *a, int k, int j, int *owner, int *heads, int *grp)
{
    int ng = 0;
    for (int i = k; i < a->mt; i++) {
        int o = dag_tile_owner(a->tiles, i, j), g = 0;
        while (g < ng && owner[g] != o)
            g++;
        if (g == ng) {
            owner[ng] = o;
            heads[ng++] = i;
        }
        grp[i - k] = g;
    }
    return ng;
}

static dag_status_t fetch_tau(dag_la_t *a, int np, void *tau)
{
    size_t tb = (size_t)a->nb * a->nb * a->esize;
    dag_status_t st = DAG_OK;
    for (int k = 0; k < np && !st; k++)
        st = dag_dist_fetch(dag_tile(a->ht, k, k), tb, -1);
    dag_status_t w = dag_taskwait();
    if ((st = st ? st : w))
        return st;
    int kmax = la_min(a->m, a->n);
    for (int k = 0; k < np; k++) {
        const char *t = dag_tile(a->ht, k, k);
        for (int c = 0; c < a->nb && k * a->nb + c < kmax; c++)
            memcpy((char *)tau + (size_t)(k * a->nb + c) * a->esize,
                   t + ((size_t)c * a->nb + c) * a->esize, a->esize);
    }
    return DAG_OK;
}

dag_status_t dag_la_geqrf_lapack(dag_la_t *a, void *tau)
{
    if (!a)
        return la_invalid("dag_la_geqrf_lapack: null matrix");
    if (a->mb != a->nb)
        return la_invalid("dag_la_geqrf_lapack: tiles must be square (%dx%d)", a->mb, a->nb);
    size_t hb = 2 * (size_t)a->nb * a->nb * a->esize;
    dag_status_t st = DAG_OK;
    if (!a->ht) /* only the diagonal tiles are touched (pages committed on first touch) */
        st = dag_matrix_create(&a->ht, a->mt, a->nt, hb, &a->dist);
    if (!st && !a->hw)
        st = dag_matrix_create(&a->hw, a->mt, a->nt, la_tb(a), &a->dist);
    int *owner = malloc(sizeof(int) * 3 * (size_t)a->mt);
    if (!owner && !st)
        st = DAG_ERR_NOMEM;
    int np = (la_min(a->m, a->n) + a->nb - 1) / a->nb, nt = a->nt;
    for (int k = 0; k < np && !st; k++) {
        int kk = la_min(a->m - k * a->mb, la_nj(a, k));
        st = submit_panel(a, k, la_prio(k, k, nt, 1));
        for (int j = k + 1; j < nt && !st; j++) {
            int *heads = owner + a->mt, *grp = heads + a->mt;
            int ng = group_rows(a, k, j, owner, heads, grp);
            st = update_column(a, k, j, kk, heads, ng, grp, la_prio(k, j, nt, 0));
        }
    }
    free(owner);
    if ((st = la_finish(st, a->tiles)))
        return st;
    a->factored = 0; /* not the tiled QR's factors: dag_la_gels does not apply */
    return tau ? fetch_tau(a, np, tau) : DAG_OK;
}
