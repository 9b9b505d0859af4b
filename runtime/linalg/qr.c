/* qr.c: tiled Householder QR with a hierarchical reduction tree, and the least-squares
 * solve. For tile column k the tiles on and below the diagonal are grouped by the rank
 * that owns them; each group is reduced locally along a flat tree of triangle-on-square
 * (TS) kernels into its first tile (GEQRT on it, TPQRT l = 0 folding each other tile into
 * it), then the groups' triangles are merged pairwise along a binary tree of
 * triangle-on-triangle (TT) kernels (TPQRT l = m), so only log2(groups) triangles cross
 * ranks per column. GEMQRT / TPMQRT apply every step to the tiles on the right; the solve
 * replays them on B (Q^T B), then solves with R. DAG_LA_QR_TREE=flat: one group (PLASMA's
 * flat TS tree). Translated by dagcc-translate at build time: the four tile kernels are
 * function tasks of la_tasks.h. */
#include <stdlib.h>
#include <string.h>

#include "la_tasks.h"

#define QR_IB 64

/* inner block of the QR kernels: DAG_LA_QR_IB (default QR_IB), at most nb */
static int qr_ib(int nb)
{
    const char *s = getenv("DAG_LA_QR_IB");
    int ib = s && atoi(s) > 0 ? atoi(s) : QR_IB;
    return la_min(ib, nb);
}

/* ---- the QR tile tasks (la_tasks.h: each call submits a task; non-zero fails it) ---- */

int la_geqrt_task(dag_la_type_t t, int m, int n, int ib, char *a, int lda, size_t abytes,
                  char *tq, int ldt, size_t tbytes, int prio, dag_status_t *st)
{
    (void)abytes, (void)tbytes, (void)prio, (void)st;
    return k_geqrt(t, m, n, ib, a, lda, tq, ldt) ? DAG_ERR_INVALID : 0;
}

int la_tpqrt_task(dag_la_type_t t, int m, int n, int l, int ib, char *a, int lda,
                  size_t abytes, char *b, int ldb, size_t bbytes, char *tq, int ldt,
                  size_t tbytes, int prio, dag_status_t *st)
{
    (void)abytes, (void)bbytes, (void)tbytes, (void)prio, (void)st;
    return k_tpqrt(t, m, n, l, ib, a, lda, b, ldb, tq, ldt) ? DAG_ERR_INVALID : 0;
}

int la_gemqrt_task(dag_la_type_t t, int m, int n, int k, int ib, const char *v, int ldv,
                   size_t vbytes, const char *tq, int ldt, size_t tbytes, char *c, int ldc,
                   size_t cbytes, int prio, dag_status_t *st)
{
    (void)vbytes, (void)tbytes, (void)cbytes, (void)prio, (void)st;
    return k_gemqrt(t, 'T', m, n, k, ib, v, ldv, tq, ldt, c, ldc) ? DAG_ERR_INVALID : 0;
}

int la_tpmqrt_task(dag_la_type_t t, int m, int n, int k, int l, int ib, const char *v,
                   int ldv, size_t vbytes, const char *tq, int ldt, size_t tbytes, char *a,
                   char *b, int ldc, size_t cbytes, int prio, dag_status_t *st)
{
    (void)vbytes, (void)tbytes, (void)cbytes, (void)prio, (void)st;
    return k_tpmqrt(t, 'T', m, n, k, l, ib, v, ldv, tq, ldt, a, ldc, b, ldc) ? DAG_ERR_INVALID
                                                                           : 0;
}

/* One reduction step of column k: 'G' on tile h, 'S' (TS) or 'T' (TT) folding tile i
 * into tile h. */
struct qr_op {
    char kind;
    int h, i;
};

static int flat_tree(void)
{
    const char *s = getenv("DAG_LA_QR_TREE");
    return s && !strcmp(s, "flat");
}

/* The steps of column k, in submission order. ops has room for 2 * (mt - k) entries. */
static int plan(const dag_la_t *a, int k, struct qr_op *ops)
{
    int n = a->mt - k, ng = 0, nops = 0;
    int *owner = malloc(sizeof(int) * (size_t)n), *head = malloc(sizeof(int) * (size_t)n);
    int *grp = malloc(sizeof(int) * (size_t)n);
    if (!owner || !head || !grp) {
        free(owner), free(head), free(grp);
        return -1;
    }
    int flat = flat_tree();
    for (int i = k; i < a->mt; i++) {
        int o = flat ? 0 : dag_tile_owner(a->tiles, i, k), g = 0;
        while (g < ng && owner[g] != o)
            g++;
        if (g == ng) {
            owner[ng] = o;
            head[ng++] = i;
            ops[nops++] = (struct qr_op){'G', i, i};
        }
        grp[i - k] = g;
    }
    for (int i = k; i < a->mt; i++)
        if (head[grp[i - k]] != i)
            ops[nops++] = (struct qr_op){'S', head[grp[i - k]], i};
    for (int s = 1; s < ng; s *= 2)
        for (int x = 0; x + s < ng; x += 2 * s)
            ops[nops++] = (struct qr_op){'T', head[x], head[x + s]};
    free(owner), free(head), free(grp);
    return nops;
}

/* Submit step op of column k: the factorisation (c == a: also its updates of the tiles on
 * the right) or its application to the tile column j of c (Q^T C). */
static dag_status_t submit_op(dag_la_t *a, int k, const struct qr_op *op, dag_la_t *c,
                              int j, int prio)
{
    int nk = la_nj(a, k), ib = a->ib, mh = la_mi(a, op->h), mi = la_mi(a, op->i);
    size_t tb = la_tb(a), cb = la_tb(c), qb = (size_t)ib * a->nb * a->esize;
    char *T = dag_tile(op->kind == 'T' ? a->tt : a->tq, op->i, k);
    char *ah = la_t(a, op->h, k), *ai = la_t(a, op->i, k);
    /* TT folds a triangle (l = its rows), TS a square (l = 0) */
    int mt = op->kind == 'T' ? la_min(mi, nk) : mi, l = op->kind == 'T' ? mt : 0;
    dag_status_t st = DAG_OK;
    if (j < 0) { /* factorisation step */
        if (op->kind == 'G')
            la_geqrt_task(a->type, mh, nk, la_min(ib, la_min(mh, nk)), ah, a->mb, tb, T, ib,
                          qb, prio, &st);
        else
            la_tpqrt_task(a->type, mt, nk, l, la_min(ib, nk), ah, a->mb, tb, ai, a->mb, tb, T,
                          ib, qb, prio, &st);
    } else if (op->kind == 'G') {
        int kk = la_min(mh, nk);
        la_gemqrt_task(a->type, mh, la_nj(c, j), kk, la_min(ib, kk), ah, a->mb, tb, T, ib, qb,
                       la_t(c, op->h, j), c->mb, cb, prio, &st);
    } else
        la_tpmqrt_task(a->type, mt, la_nj(c, j), nk, l, la_min(ib, nk), ai, a->mb, tb, T, ib,
                       qb, la_t(c, op->h, j), la_t(c, op->i, j), c->mb, cb, prio, &st);
    return st;
}

dag_status_t dag_la_geqrf(dag_la_t *a)
{
    if (!a)
        return la_invalid("dag_la_geqrf: null matrix");
    if (a->mb != a->nb)
        return la_invalid("dag_la_geqrf: tiles must be square (%dx%d)", a->mb, a->nb);
    if (a->m < a->n)
        return la_invalid("dag_la_geqrf: needs m >= n (%dx%d)", a->m, a->n);
    a->ib = qr_ib(a->nb);
    size_t qb = (size_t)a->ib * a->nb * a->esize;
    dag_status_t st = DAG_OK;
    if (a->tq && dag_tile_bytes(a->tq) < qb) { /* a larger DAG_LA_QR_IB than last time */
        st = dag_taskwait();
        dag_matrix_destroy(a->tq);
        dag_matrix_destroy(a->tt);
        a->tq = a->tt = NULL;
    }
    if (!st && !a->tq)
        st = dag_matrix_create(&a->tq, a->mt, a->nt, qb, &a->dist);
    if (!st && !a->tt)
        st = dag_matrix_create(&a->tt, a->mt, a->nt, qb, &a->dist);
    struct qr_op *ops = malloc(sizeof *ops * 2 * (size_t)a->mt);
    if (!ops)
        st = DAG_ERR_NOMEM;
    int nt = a->nt;
    for (int k = 0; k < nt && !st; k++) {
        int nops = plan(a, k, ops);
        if (nops < 0)
            st = DAG_ERR_NOMEM;
        for (int o = 0; o < nops && !st; o++) {
            st = submit_op(a, k, &ops[o], a, -1, la_prio(k, k, nt, 1));
            for (int j = k + 1; j < nt && !st; j++)
                st = submit_op(a, k, &ops[o], a, j, la_prio(k, j, nt, 0));
        }
    }
    free(ops);
    if ((st = la_finish(st, a->tiles)))
        return st;
    a->factored = 'Q';
    return DAG_OK;
}

dag_status_t dag_la_gels(const dag_la_t *qr, dag_la_t *b)
{
    if (!qr || !b)
        return la_invalid("dag_la_gels: null matrix");
    if (qr->factored != 'Q')
        return la_invalid("dag_la_gels: the matrix holds no QR factors (run dag_la_geqrf "
                          "first)");
    if (qr->type != b->type || b->m != qr->m || b->mb != qr->mb)
        return la_invalid("dag_la_gels: B (%dx%d, tiles %dx%d) does not conform to A (%dx%d, "
                          "tiles %dx%d)", b->m, b->n, b->mb, b->nb, qr->m, qr->n, qr->mb,
                          qr->nb);
    dag_la_t *a = (dag_la_t *)qr;
    struct qr_op *ops = malloc(sizeof *ops * 2 * (size_t)a->mt);
    dag_status_t st = ops ? DAG_OK : DAG_ERR_NOMEM;
    for (int k = 0; k < a->nt && !st; k++) {
        int nops = plan(a, k, ops); /* the same tree as the factorisation's */
        if (nops < 0)
            st = DAG_ERR_NOMEM;
        for (int o = 0; o < nops && !st; o++)
            for (int j = 0; j < b->nt && !st; j++)
                st = submit_op(a, k, &ops[o], b, j, 0);
    }
    free(ops);
    if (!st)
        st = la_trsm_part('L', 'U', 'N', 'N', 1.0, qr, b, qr->n);
    return la_finish(st, b->tiles);
}
