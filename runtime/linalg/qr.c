/* qr.c: tiled Householder QR with a hierarchical reduction tree, and the least-squares
 * solve. For tile column k the tiles on and below the diagonal are grouped by the rank
 * that owns them; each group is reduced locally along a flat tree of triangle-on-square
 * (TS) kernels into its first tile (GEQRT on it, TPQRT l = 0 folding each other tile into
 * it), then the groups' triangles are merged pairwise along a binary tree of
 * triangle-on-triangle (TT) kernels (TPQRT l = m), so only log2(groups) triangles cross
 * ranks per column. GEMQRT / TPMQRT apply every step to the tiles on the right; the solve
 * replays them on B (Q^T B), then solves with R. DAG_LA_QR_TREE=flat: one group (PLASMA's
 * flat TS tree). */
#include <stdlib.h>
#include <string.h>

#include "la.h"

#define QR_IB 64

/* inner block of the QR kernels: DAG_LA_QR_IB (default QR_IB), at most nb */
static int qr_ib(int nb)
{
    const char *s = getenv("DAG_LA_QR_IB");
    int ib = s && atoi(s) > 0 ? atoi(s) : QR_IB;
    return la_min(ib, nb);
}

struct qr_args {
    dag_la_type_t t;
    char kind; /* 'G' geqrt, 'g' gemqrt, 'S'/'T' tpqrt, 's'/'t' tpmqrt */
    int m, n, k, l, ib, lda, ldb, ldt;
    void *a, *b, *tq;
    const void *v;
};

static int task_qr(void *p)
{
    struct qr_args *a = p;
    int r = 0;
    switch (a->kind) {
    case 'G':
        r = k_geqrt(a->t, a->m, a->n, a->ib, a->a, a->lda, a->tq, a->ldt);
        break;
    case 'g':
        r = k_gemqrt(a->t, 'T', a->m, a->n, a->k, a->ib, a->v, a->lda, a->tq, a->ldt, a->b,
                     a->ldb);
        break;
    case 'S':
    case 'T':
        r = k_tpqrt(a->t, a->m, a->n, a->l, a->ib, a->a, a->lda, a->b, a->ldb, a->tq, a->ldt);
        break;
    default:
        r = k_tpmqrt(a->t, 'T', a->m, a->n, a->k, a->l, a->ib, a->v, a->lda, a->tq, a->ldt,
                     a->a, a->ldb, a->b, a->ldb);
    }
    return r ? DAG_ERR_INVALID : 0;
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
    dag_matrix_t *tm = op->kind == 'T' ? a->tt : a->tq;
    void *T = dag_tile(tm, op->i, k);
    struct qr_args q = {a->type, 0, 0, 0, 0, 0, 0, a->mb, c->mb, ib, NULL, NULL, T, NULL};
    dag_dep_t d[4];
    int nd;
    if (j < 0) { /* factorisation step */
        if (op->kind == 'G') {
            q.kind = 'G', q.m = mh, q.n = nk, q.ib = la_min(ib, la_min(mh, nk));
            q.a = la_t(a, op->h, k);
            d[0] = (dag_dep_t){q.a, tb, DAG_INOUT};
            d[1] = (dag_dep_t){T, qb, DAG_OUT};
            nd = 2;
        } else {
            q.kind = op->kind, q.n = nk, q.ib = la_min(ib, nk);
            q.m = op->kind == 'T' ? la_min(mi, nk) : mi;
            q.l = op->kind == 'T' ? q.m : 0;
            q.a = la_t(a, op->h, k), q.b = la_t(a, op->i, k);
            d[0] = (dag_dep_t){q.b, tb, DAG_INOUT};
            d[1] = (dag_dep_t){q.a, tb, DAG_INOUT};
            d[2] = (dag_dep_t){T, qb, DAG_OUT};
            nd = 3;
        }
        return la_submit(task_qr, &q, sizeof q, d, nd,
                         op->kind == 'G' ? "la_geqrt" : op->kind == 'S' ? "la_tpqrt_ts"
                                                                        : "la_tpqrt_tt",
                         prio, -1, NULL);
    }
    int nj = la_nj(c, j);
    if (op->kind == 'G') {
        q.kind = 'g', q.m = mh, q.n = nj, q.k = la_min(mh, nk);
        q.ib = la_min(ib, q.k);
        q.v = la_t(a, op->h, k), q.b = la_t(c, op->h, j);
        d[0] = (dag_dep_t){q.b, cb, DAG_INOUT};
        d[1] = (dag_dep_t){(void *)q.v, tb, DAG_IN};
        d[2] = (dag_dep_t){T, qb, DAG_IN};
        nd = 3;
    } else {
        q.kind = op->kind == 'T' ? 't' : 's', q.n = nj, q.k = nk, q.ib = la_min(ib, nk);
        q.m = op->kind == 'T' ? la_min(mi, nk) : mi;
        q.l = op->kind == 'T' ? q.m : 0;
        q.v = la_t(a, op->i, k), q.a = la_t(c, op->h, j), q.b = la_t(c, op->i, j);
        d[0] = (dag_dep_t){q.b, cb, DAG_INOUT};
        d[1] = (dag_dep_t){q.a, cb, DAG_INOUT};
        d[2] = (dag_dep_t){(void *)q.v, tb, DAG_IN};
        d[3] = (dag_dep_t){T, qb, DAG_IN};
        nd = 4;
    }
    return la_submit(task_qr, &q, sizeof q, d, nd, op->kind == 'G' ? "la_gemqrt" : "la_tpmqrt",
                     prio, -1, NULL);
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
