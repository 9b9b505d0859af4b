/* chol.c: tiled Cholesky factorisation (right-looking: POTRF on the diagonal tile, TRSM
 * down the panel, SYRK/GEMM on the trailing matrix) and the solve with its factor. */
#include <string.h>

#include "la.h"

/* Factor the diagonal tile; a failure is recorded (the tile's column, 1-based) in the
 * tile's aux record instead of failing the task, so every rank keeps the same flow. */
static int task_potrf(void *p)
{
    struct la_potrf_args *a = p;
    a->info[1] = k_potrf(a->t, a->n, a->a, a->ld);
    return 0;
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
        struct la_potrf_args pa = {a->type, nk, a->mb, la_t(a, k, k), dag_tile(a->aux, k, k)};
        dag_dep_t d[2] = {{pa.a, tb, DAG_INOUT}, {pa.info, a->aux_bytes, DAG_OUT}};
        st = la_submit(task_potrf, &pa, sizeof pa, d, 2, "la_potrf", la_prio(k, k, nt, 1), -1,
                       la_cuda_potrf());
        for (int i = k + 1; i < nt && !st; i++)
            st = la_trsm_tile(a->type, 'R', 'L', 'T', 'N', la_mi(a, i), nk, 1.0, pa.a, a->mb,
                              tb, la_t(a, i, k), a->mb, tb, la_prio(k, k, nt, 1));
        for (int j = k + 1; j < nt && !st; j++) {
            int pr = la_prio(k, j, nt, 0);
            st = la_syrk_tile(a->type, 'N', la_nj(a, j), nk, -1.0, la_t(a, j, k), a->mb, tb,
                              1.0, la_t(a, j, j), a->mb, tb, pr);
            for (int i = j + 1; i < nt && !st; i++)
                st = la_gemm_tile(a->type, 'N', 'T', la_mi(a, i), la_nj(a, j), nk, -1.0,
                                  la_t(a, i, k), a->mb, tb, la_t(a, j, k), a->mb, tb, 1.0,
                                  la_t(a, i, j), a->mb, tb, pr);
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
