/* lu.c: tiled LU with partial pivoting across the whole column. Step k: one panel task
 * (on the owner of the diagonal tile) factors tile column k below the diagonal with
 * LAPACK's getrf, so every pivot is searched over the whole column as in dgetrf; the
 * step's row interchanges go to every other tile column as tasks on its tiles' owners
 * (lu_swap.c: only tile row k and one record per rank travel); TRSM on tile row k and
 * GEMM on the trailing matrix follow; the columns of L on the left take the step's
 * interchanges too (LAPACK's layout), off the critical path. The solve applies every
 * step's interchanges to B, then two triangular solves.
 * dag_la_getrf_ex(..., DAG_LA_LU_TOURNAMENT, ...) (or DAG_LA_LU=tournament) replaces the
 * panel task by lu_tour.c's tournament pivoting; the rest is shared. Translated by
 * dagcc-translate at build time: the panel, TRSM and GEMM are function tasks of la_tasks.h
 * (the panel's dependences on its column of tiles are an iterator). */
#include <stdlib.h>
#include <string.h>

#include "la_tasks.h"

/* The gathered panel of step k (la_tasks.h): tile column k from the diagonal down,
 * copied into one buffer and factored with LAPACK's getrf. piv record of step k: [0..nb-1]
 * pivots (global 0-based rows), [nb] info, [nb+1] count. */
int la_getrf_panel_task(const dag_la_t *a, int k, size_t tbytes, char *pivrec, size_t pbytes,
                        int prio, dag_status_t *st)
{
    (void)tbytes, (void)pbytes, (void)prio, (void)st;
    int *piv = (int *)(void *)pivrec, nk = la_nj(a, k), n = a->mt - k;
    int rows = a->m - k * a->mb, es = a->type == DAG_LA_DOUBLE ? 8 : 4;
    char *buf = malloc((size_t)rows * nk * es);
    int *ip = malloc(sizeof(int) * (size_t)(nk > 0 ? nk : 1));
    if (!buf || !ip) {
        free(buf);
        free(ip);
        return DAG_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        int r0 = i * a->mb, mi = la_min(a->mb, rows - r0);
        k_lacpy(a->type, mi, nk, la_t(a, k + i, k), a->mb, buf + (size_t)r0 * es, rows);
    }
    int npiv = la_min(rows, nk);
    int r = k_getrf(a->type, rows, nk, buf, rows, ip);
    for (int i = 0; i < n; i++) {
        int r0 = i * a->mb, mi = la_min(a->mb, rows - r0);
        k_lacpy(a->type, mi, nk, buf + (size_t)r0 * es, rows, la_t(a, k + i, k), a->mb);
    }
    for (int t = 0; t < npiv; t++)
        piv[t] = k * a->mb + ip[t] - 1;
    piv[a->nb] = r > 0 ? k * a->nb + r : 0;
    piv[a->nb + 1] = npiv;
    free(buf);
    free(ip);
    return 0;
}

/* DAG_LA_LU: the default panel (gather | tournament) */
static dag_status_t lu_panel_env(dag_la_lu_panel_t *p)
{
    const char *e = getenv("DAG_LA_LU");
    *p = DAG_LA_LU_GATHER;
    if (!e || !*e || !strcmp(e, "gather"))
        return DAG_OK;
    if (!strcmp(e, "tournament")) {
        *p = DAG_LA_LU_TOURNAMENT;
        return DAG_OK;
    }
    return la_invalid("DAG_LA_LU=%s: expected gather or tournament", e);
}

dag_status_t dag_la_getrf(dag_la_t *a, int *ipiv, int *info)
{
    return dag_la_getrf_ex(a, DAG_LA_LU_DEFAULT, ipiv, info);
}

dag_status_t dag_la_getrf_ex(dag_la_t *a, dag_la_lu_panel_t panel, int *ipiv, int *info)
{
    if (info)
        *info = 0;
    if (!a)
        return la_invalid("dag_la_getrf: null matrix");
    if (a->mb != a->nb)
        return la_invalid("dag_la_getrf: tiles must be square (%dx%d)", a->mb, a->nb);
    dag_status_t st = DAG_OK;
    if (panel == DAG_LA_LU_DEFAULT && (st = lu_panel_env(&panel)))
        return st;
    if (panel != DAG_LA_LU_GATHER && panel != DAG_LA_LU_TOURNAMENT)
        return la_invalid("dag_la_getrf_ex: unknown panel %d", (int)panel);
    size_t pb = sizeof(int) * (size_t)(a->nb + 2);
    if (!a->piv && (st = dag_matrix_create(&a->piv, a->mt, a->nt, pb, &a->dist)))
        return st;
    la_tour_t *tour = NULL;
    la_xch_t *xc = NULL;
    if ((st = la_xch_init(a, &xc)))
        return st;
    if (panel == DAG_LA_LU_TOURNAMENT && (st = la_tour_init(a, &tour))) {
        la_xch_free(xc);
        return st;
    }
    int kt = la_min(a->mt, a->nt), mt = a->mt, nt = a->nt;
    size_t tb = la_tb(a);
    for (int k = 0; k < kt && !st; k++) {
        int nk = la_nj(a, k), pp = la_prio(k, k, kt, 1);
        if (tour && !la_tour_one_leaf(tour, a, k))
            st = la_tour_panel(a, tour, k, pp);
        else
            la_getrf_panel_task(a, k, tb, dag_tile(a->piv, k, k), pb, pp, &st);
        int pk = la_min(la_mi(a, k), nk);
        /* L's columns on the left take the step's interchanges (LAPACK's layout) */
        for (int j = 0; j < k && !st; j++)
            st = la_xch_submit(a, a, xc, j, k, 0);
        for (int j = k + 1; j < nt && !st; j++) {
            int pr = la_prio(k, j, kt, 0);
            st = la_xch_submit(a, a, xc, j, k, pr);
            if (!st)
                la_trsm_task(a->type, 'L', 'L', 'N', 'U', pk, la_nj(a, j), 1.0, la_t(a, k, k),
                             a->mb, tb, la_t(a, k, j), a->mb, tb, pr, &st);
            for (int i = k + 1; i < mt && !st; i++)
                la_gemm_task(a->type, 'N', 'N', la_mi(a, i), la_nj(a, j), pk, -1.0,
                             la_t(a, i, k), a->mb, tb, la_t(a, k, j), a->mb, tb, 1.0,
                             la_t(a, i, j), a->mb, tb, pr, &st);
        }
    }
    for (int k = 0; k < kt && !st; k++)
        st = dag_dist_fetch(dag_tile(a->piv, k, k), pb, -1);
    st = la_finish(st, a->tiles);
    la_tour_free(tour);
    la_xch_free(xc);
    if (st)
        return st;
    int bad = 0;
    for (int k = 0; k < kt; k++) {
        const int *piv = dag_tile(a->piv, k, k);
        if (ipiv)
            for (int t = 0; t < piv[a->nb + 1]; t++)
                ipiv[k * a->nb + t] = piv[t] + 1;
        if (!bad && piv[a->nb] > 0)
            bad = piv[a->nb];
    }
    a->factored = 'U';
    if (info)
        *info = bad;
    return DAG_OK;
}

dag_status_t dag_la_getrs(const dag_la_t *lu, dag_la_t *b)
{
    if (!lu || !b)
        return la_invalid("dag_la_getrs: null matrix");
    if (lu->factored != 'U' || !lu->piv)
        return la_invalid("dag_la_getrs: the matrix holds no LU factors (run dag_la_getrf "
                          "first)");
    if (lu->m != lu->n)
        return la_invalid("dag_la_getrs: the factored matrix must be square (%dx%d)", lu->m,
                          lu->n);
    if (lu->type != b->type || b->m != lu->n || b->mb != lu->nb)
        return la_invalid("dag_la_getrs: B (%dx%d, tiles %dx%d) does not conform to A (%dx%d, "
                          "tiles %dx%d)", b->m, b->n, b->mb, b->nb, lu->m, lu->n, lu->mb,
                          lu->nb);
    la_xch_t *xc = NULL;
    dag_status_t st = la_xch_init(b, &xc);
    int kt = la_min(lu->mt, lu->nt);
    for (int j = 0; j < b->nt && !st; j++)
        for (int k = 0; k < kt && !st; k++)
            st = la_xch_submit(lu, b, xc, j, k, 0);
    if (!st)
        st = la_trsm_part('L', 'L', 'N', 'U', 1.0, lu, b, lu->n);
    if (!st)
        st = la_trsm_part('L', 'U', 'N', 'N', 1.0, lu, b, lu->n);
    st = la_finish(st, b->tiles);
    la_xch_free(xc);
    return st;
}
