/* qr.c: tiled Householder QR with triangle-on-square kernels along a flat tree (PLASMA's
 * dgeqrf: GEQRT on the diagonal tile, TPQRT folding each tile below into it, GEMQRT and
 * TPMQRT applying the reflectors to the tiles on the right), and the least-squares solve
 * (Q^T B by the same kernels, then the triangular solve with R). */
#include "la.h"

#define QR_IB 32

struct geqrt_args {
    dag_la_type_t t;
    int m, n, ib, lda, ldt;
    void *a, *tq;
};
static int task_geqrt(void *p)
{
    struct geqrt_args *a = p;
    return k_geqrt(a->t, a->m, a->n, a->ib, a->a, a->lda, a->tq, a->ldt) ? DAG_ERR_INVALID : 0;
}

struct gemqrt_args {
    dag_la_type_t t;
    int m, n, k, ib, ldv, ldt, ldc;
    const void *v, *tq;
    void *c;
};
static int task_gemqrt(void *p)
{
    struct gemqrt_args *a = p;
    return k_gemqrt(a->t, 'T', a->m, a->n, a->k, a->ib, a->v, a->ldv, a->tq, a->ldt, a->c,
                    a->ldc) ? DAG_ERR_INVALID : 0;
}

struct tpqrt_args {
    dag_la_type_t t;
    int m, n, ib, lda, ldb, ldt;
    void *a, *b, *tq;
};
static int task_tpqrt(void *p)
{
    struct tpqrt_args *a = p;
    return k_tpqrt(a->t, a->m, a->n, a->ib, a->a, a->lda, a->b, a->ldb, a->tq, a->ldt)
               ? DAG_ERR_INVALID : 0;
}

struct tpmqrt_args {
    dag_la_type_t t;
    int m, n, k, ib, ldv, ldt, lda, ldb;
    const void *v, *tq;
    void *a, *b;
};
static int task_tpmqrt(void *p)
{
    struct tpmqrt_args *a = p;
    return k_tpmqrt(a->t, 'T', a->m, a->n, a->k, a->ib, a->v, a->ldv, a->tq, a->ldt, a->a,
                    a->lda, a->b, a->ldb) ? DAG_ERR_INVALID : 0;
}

/* Apply step k's reflectors (transposed) to tile column j of c (rows tiled like a). */
static dag_status_t apply_q(const dag_la_t *a, int k, dag_la_t *c, int j, int prio)
{
    int nk = la_nj(a, k), mk = la_mi(a, k), ib = a->ib;
    size_t tb = la_tb(a), cb = la_tb(c), qb = (size_t)ib * a->nb * a->esize;
    struct gemqrt_args g = {a->type, mk, la_nj(c, j), la_min(mk, nk), la_min(ib, nk), a->mb,
                            ib, c->mb, la_t(a, k, k), dag_tile(a->tq, k, k), la_t(c, k, j)};
    dag_dep_t d[3] = {{g.c, cb, DAG_INOUT}, {(void *)g.v, tb, DAG_IN}, {(void *)g.tq, qb, DAG_IN}};
    dag_status_t st = la_submit(task_gemqrt, &g, sizeof g, d, 3, "la_gemqrt", prio, -1, NULL);
    for (int i = k + 1; i < a->mt && !st; i++) {
        struct tpmqrt_args t = {a->type, la_mi(a, i), la_nj(c, j), nk, la_min(ib, nk), a->mb,
                                ib, c->mb, c->mb, la_t(a, i, k), dag_tile(a->tq, i, k),
                                la_t(c, k, j), la_t(c, i, j)};
        dag_dep_t e[4] = {{t.b, cb, DAG_INOUT}, {t.a, cb, DAG_INOUT},
                          {(void *)t.v, tb, DAG_IN}, {(void *)t.tq, qb, DAG_IN}};
        st = la_submit(task_tpmqrt, &t, sizeof t, e, 4, "la_tpmqrt", prio, -1, NULL);
    }
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
    a->ib = la_min(QR_IB, a->nb);
    size_t qb = (size_t)a->ib * a->nb * a->esize;
    if (!a->tq) {
        dag_status_t st = dag_matrix_create(&a->tq, a->mt, a->nt, qb, &a->dist);
        if (st)
            return st;
    }
    size_t tb = la_tb(a);
    int nt = a->nt;
    dag_status_t st = DAG_OK;
    for (int k = 0; k < nt && !st; k++) {
        int nk = la_nj(a, k), mk = la_mi(a, k), ib = la_min(a->ib, nk);
        struct geqrt_args g = {a->type, mk, nk, ib, a->mb, a->ib, la_t(a, k, k),
                               dag_tile(a->tq, k, k)};
        dag_dep_t d[2] = {{g.a, tb, DAG_INOUT}, {g.tq, qb, DAG_OUT}};
        st = la_submit(task_geqrt, &g, sizeof g, d, 2, "la_geqrt", la_prio(k, k, nt, 1), -1,
                       NULL);
        for (int j = k + 1; j < nt && !st; j++) {
            struct gemqrt_args m = {a->type, mk, la_nj(a, j), la_min(mk, nk), ib, a->mb, a->ib,
                                    a->mb, g.a, g.tq, la_t(a, k, j)};
            dag_dep_t e[3] = {{m.c, tb, DAG_INOUT}, {g.a, tb, DAG_IN}, {g.tq, qb, DAG_IN}};
            st = la_submit(task_gemqrt, &m, sizeof m, e, 3, "la_gemqrt", la_prio(k, j, nt, 0),
                           -1, NULL);
        }
        for (int i = k + 1; i < a->mt && !st; i++) {
            struct tpqrt_args t = {a->type, la_mi(a, i), nk, ib, a->mb, a->mb, a->ib, g.a,
                                   la_t(a, i, k), dag_tile(a->tq, i, k)};
            dag_dep_t e[3] = {{t.b, tb, DAG_INOUT}, {t.a, tb, DAG_INOUT}, {t.tq, qb, DAG_OUT}};
            st = la_submit(task_tpqrt, &t, sizeof t, e, 3, "la_tpqrt", la_prio(k, k, nt, 1), -1,
                           NULL);
            for (int j = k + 1; j < nt && !st; j++) {
                struct tpmqrt_args u = {a->type, la_mi(a, i), la_nj(a, j), nk, ib, a->mb,
                                        a->ib, a->mb, a->mb, t.b, t.tq, la_t(a, k, j),
                                        la_t(a, i, j)};
                dag_dep_t f[4] = {{u.b, tb, DAG_INOUT}, {u.a, tb, DAG_INOUT},
                                  {(void *)u.v, tb, DAG_IN}, {(void *)u.tq, qb, DAG_IN}};
                st = la_submit(task_tpmqrt, &u, sizeof u, f, 4, "la_tpmqrt",
                               la_prio(k, j, nt, 0), -1, NULL);
            }
        }
    }
    if (!st)
        st = dag_dist_flush(a->tiles);
    dag_status_t w = la_wait();
    if (st || w)
        return st ? st : w;
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
    dag_status_t st = DAG_OK;
    for (int k = 0; k < qr->nt && !st; k++)
        for (int j = 0; j < b->nt && !st; j++)
            st = apply_q(qr, k, b, j, 0);
    if (!st)
        st = la_trsm_part('L', 'U', 'N', 'N', 1.0, qr, b, qr->n);
    if (!st)
        st = dag_dist_flush(b->tiles);
    dag_status_t w = la_wait();
    return st ? st : w;
}
