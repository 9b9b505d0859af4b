/* chol.c: tiled Cholesky factorisation (right-looking: POTRF on the diagonal tile, TRSM
 * down the panel, SYRK/GEMM on the trailing matrix) and the solve with its factor.
 * Translated by dagcc-translate at build time: the loop nest below is the sequential
 * algorithm, each tile operation a function task of la_tasks.h. */
#include <string.h>

#include "la_tasks.h"

/* Factor the diagonal tile; a failure is recorded (the tile's column, 1-based) in the
 * tile's aux record instead of failing the task, so every rank keeps the same flow. */
void la_potrf_task(dag_la_type_t t, int n, char *a, int lda, size_t abytes, char *info,
                   size_t ibytes, int prio, dag_status_t *st)
{
    (void)abytes, (void)ibytes, (void)prio, (void)st;
    int r = k_potrf(t, n, a, lda);
    memcpy(info + sizeof(int), &r, sizeof r);
}

dag_status_t dag_la_potrf(char uplo, dag_la_t *a, int *info)
{
    if (info)
        *info = 0;
    if (!a)
        return la_invalid("dag_la_potrf: null matrix");
    if (uplo != 'L' && uplo != 'l')
        return la_invalid("dag_la_potrf: only uplo 'L' is implemented (got '%c')", uplo);
    if (a->m != a->n || a->mb != a->nb)
        return la_invalid("dag_la_potrf: A must be square with square tiles (%dx%d, tiles "
                          "%dx%d)", a->m, a->n, a->mb, a->nb);
    dag_status_t st = la_aux(a, 2 * sizeof(int));
    if (st)
        return st;
    int nt = a->nt;
    size_t tb = la_tb(a);
    for (int k = 0; k < nt && !st; k++) {
        int nk = la_nj(a, k);
        char *akk = la_t(a, k, k);
        la_potrf_task(a->type, nk, akk, a->mb, tb, dag_tile(a->aux, k, k), a->aux_bytes,
                      la_prio(k, k, nt, 1), &st);
        for (int i = k + 1; i < nt && !st; i++)
            la_trsm_task(a->type, 'R', 'L', 'T', 'N', la_mi(a, i), nk, 1.0, akk, a->mb, tb,
                         la_t(a, i, k), a->mb, tb, la_prio(k, k, nt, 1), &st);
        for (int j = k + 1; j < nt && !st; j++) {
            int pr = la_prio(k, j, nt, 0);
            la_syrk_task(a->type, 'N', la_nj(a, j), nk, -1.0, la_t(a, j, k), a->mb, tb, 1.0,
                         la_t(a, j, j), a->mb, tb, pr, &st);
            for (int i = j + 1; i < nt && !st; i++)
                la_gemm_task(a->type, 'N', 'T', la_mi(a, i), la_nj(a, j), nk, -1.0,
                             la_t(a, i, k), a->mb, tb, la_t(a, j, k), a->mb, tb, 1.0,
                             la_t(a, i, j), a->mb, tb, pr, &st);
        }
    }
    for (int k = 0; k < nt && !st; k++)
        st = dag_dist_fetch(dag_tile(a->aux, k, k), a->aux_bytes, -1);
    if ((st = la_finish(st, NULL)))
        return st;
    for (int k = 0; k < nt; k++) {
        const int *r = dag_tile(a->aux, k, k);
        if (r[1] > 0) {
            int col = k * a->nb + r[1];
            if (info)
                *info = col;
            return la_invalid("dag_la_potrf: the leading minor of order %d is not positive "
                              "definite (diagonal tile (%d,%d), its column %d)", col, k, k,
                              r[1]);
        }
    }
    a->factored = 'L';
    return DAG_OK;
}

dag_status_t dag_la_potrs(char uplo, const dag_la_t *l, dag_la_t *b)
{
    if (!l || !b)
        return la_invalid("dag_la_potrs: null matrix");
    if (uplo != 'L' && uplo != 'l')
        return la_invalid("dag_la_potrs: only uplo 'L' is implemented (got '%c')", uplo);
    if (l->factored != 'L')
        return la_invalid("dag_la_potrs: the matrix holds no Cholesky factor (run "
                          "dag_la_potrf first)");
    if (l->type != b->type || b->m != l->n || b->mb != l->nb)
        return la_invalid("dag_la_potrs: B (%dx%d, tiles %dx%d) does not conform to L (%dx%d, "
                          "tiles %dx%d)", b->m, b->n, b->mb, b->nb, l->m, l->n, l->mb, l->nb);
    dag_status_t st = la_trsm_part('L', 'L', 'N', 'N', 1.0, l, b, l->n);
    if (!st)
        st = la_trsm_part('L', 'L', 'T', 'N', 1.0, l, b, l->n);
    return la_finish(st, NULL);
}
