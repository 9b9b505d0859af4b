/* la.h: internals of libdaglinalg shared by its files: the matrix descriptor, the task
 * submission helper, tile kernels (kernels.c) and error reporting. */
#ifndef DAG_LA_INTERNAL_H
#define DAG_LA_INTERNAL_H

#include <stddef.h>

#include "dag/linalg.h"

struct dag_la {
    dag_matrix_t *tiles;
    dag_la_type_t type;
    size_t esize;
    int m, n, mb, nb, mt, nt;
    dag_dist_t dist;
    int layers;
    dag_matrix_t *aux;  /* per-tile small records (norms, pivots, info); same distribution */
    size_t aux_bytes;
    dag_matrix_t *piv;  /* LU: pivots of step k (global 0-based rows) in tile (k, k) */
    dag_matrix_t *tq;   /* QR: T factors (ib x nb per tile) of GEQRT and TS steps */
    dag_matrix_t *tt;   /* QR: T factors of the TT steps that merge the heads */
    dag_matrix_t *ht;   /* Householder QR (qrhh.c): T and the unit-lower V of step k in
                           tile (k, k), 2 nb x nb each */
    dag_matrix_t *hw;   /* Householder QR: partial products V^T C, one per tile */
    int ib;
    int factored;       /* 0, 'L' (potrf), 'U' (getrf: pivots in aux diagonal), 'Q' */
    int resident;       /* dag_la_resident: this rank's tiles registered DAG_CUDA_RESIDENT */
};

/* rows / columns of tile i / j (edge tiles are partial) */
static inline int la_mi(const dag_la_t *a, int i)
{
    int r = a->m - i * a->mb;
    return r < a->mb ? r : a->mb;
}
static inline int la_nj(const dag_la_t *a, int j)
{
    int r = a->n - j * a->nb;
    return r < a->nb ? r : a->nb;
}
static inline void *la_t(const dag_la_t *a, int i, int j)
{
    return dag_tile(a->tiles, i, j);
}
/* the same, as bytes (dependences on tiles are byte ranges: la_tasks.h) */
static inline char *la_tc(const dag_la_t *a, int i, int j)
{
    return dag_tile(a->tiles, i, j);
}
static inline size_t la_tb(const dag_la_t *a)
{
    return (size_t)a->mb * a->nb * a->esize;
}
static inline int la_min(int x, int y) { return x < y ? x : y; }
static inline int la_max(int x, int y) { return x > y ? x : y; }

/* Set the calling thread's message; returns DAG_ERR_INVALID. */
dag_status_t la_invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Options in effect (dag_la_set_options / environment). */
const dag_la_options_t *la_opts(void);
/* Priority of a task of step k writing tile column j (of nt columns): panel tasks
 * (panel != 0) highest, then updates within the lookahead, else 0. */
int la_prio(int k, int j, int nt, int panel);

/* Submit one task without a CUDA implementation (those with one are the function tasks
 * of la_tasks.h). deps[0] should be the tile that decides where it runs. node >= 0 forces
 * the rank. */
dag_status_t la_submit(dag_task_fn fn, const void *args, size_t size, const dag_dep_t *deps,
                       int ndeps, const char *label, int prio, int node);
dag_status_t la_wait(void);
/* The end of a routine's submissions: unless st is already an error, sends the tiles of
 * flush (NULL: none) back to their owners; then waits for every task. Returns st if it is
 * an error, else the wait's status. */
dag_status_t la_finish(dag_status_t st, dag_matrix_t *flush);

/* Make the auxiliary per-tile records of a (bytes each), created on first use. */
dag_status_t la_aux(dag_la_t *a, size_t bytes);

/* Tile kernels, typed by t. Column-major, explicit leading dimensions. */
void k_gemm(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
            const void *a, int lda, const void *b, int ldb, double beta, void *c, int ldc);
void k_syrk(dag_la_type_t t, char uplo, char trans, int n, int k, double alpha,
            const void *a, int lda, double beta, void *c, int ldc);
void k_trsm(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
            double alpha, const void *a, int lda, void *b, int ldb);
int k_potrf(dag_la_type_t t, int n, void *a, int lda);
int k_getrf(dag_la_type_t t, int m, int n, void *a, int lda, int *ipiv);
void k_laswp_rows(dag_la_type_t t, int n, void *a, int lda, void *b, int ldb, int ra, int rb);
int k_geqrt(dag_la_type_t t, int m, int n, int ib, void *a, int lda, void *tq, int ldt);
int k_gemqrt(dag_la_type_t t, char trans, int m, int n, int k, int ib, const void *v,
             int ldv, const void *tq, int ldt, void *c, int ldc);
int k_tpqrt(dag_la_type_t t, int m, int n, int l, int ib, void *a, int lda, void *b, int ldb,
            void *tq, int ldt);
int k_tpmqrt(dag_la_type_t t, char trans, int m, int n, int k, int l, int ib, const void *v,
             int ldv, const void *tq, int ldt, void *a, int lda, void *b, int ldb);
int k_geqrf_t(dag_la_type_t t, int m, int n, void *a, int lda, void *tq, int ldt);
void k_trmm(dag_la_type_t t, char uplo, char trans, char diag, int m, int n, double alpha,
            const void *a, int lda, void *b, int ldb);
void k_lacpy(dag_la_type_t t, int m, int n, const void *a, int lda, void *b, int ldb);
void k_scal(dag_la_type_t t, int m, int n, double alpha, void *a, int lda);
void k_add(dag_la_type_t t, int m, int n, const void *a, int lda, void *b, int ldb);

/* Tournament-pivoting LU panel (lu_tour.c): per-call records, then one panel step k
 * (pivots into a->piv's tile (k, k), the panel factored, L below the diagonal). */
typedef struct la_tour la_tour_t;
dag_status_t la_tour_init(const dag_la_t *a, la_tour_t **t);
dag_status_t la_tour_panel(dag_la_t *a, la_tour_t *t, int k, int prio);
/* 1 when step k's tournament would have one leaf (the panel on one rank, leaves per
 * rank): its winners are then partial pivoting's, and the gathered panel gets them for
 * less work */
int la_tour_one_leaf(const la_tour_t *t, const dag_la_t *a, int k);
void la_tour_free(la_tour_t *t);

/* Row interchanges of LU step k (lu's pivot record) on tile column j of b (lu_swap.c):
 * tasks on the owners of the column's tiles; per-call records made for b. */
typedef struct la_xch la_xch_t;
dag_status_t la_xch_init(const dag_la_t *b, la_xch_t **x);
dag_status_t la_xch_submit(const dag_la_t *lu, dag_la_t *b, la_xch_t *x, int j, int k,
                           int prio);
void la_xch_free(la_xch_t *x);

/* The device the tile tasks with a CUDA implementation ask for (the options' device in a
 * build with CUDA, else DAG_DEVICE_ANY). */
int la_device(void);

/* CUDA implementations of the tile tasks of la_tasks.h (cuda.c): each takes its task's
 * parameters plus the CUDA context, and enqueues cuBLAS / cuSOLVER on the context's
 * stream (in a build without CUDA they are never called: DAG_ERR_DEVICE). */
struct dag_cuda_ctx;
int la_gemm_cuda(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
                 const char *a, int lda, size_t abytes, const char *b, int ldb, size_t bbytes,
                 double beta, char *c, int ldc, size_t cbytes, int prio, dag_status_t *st,
                 struct dag_cuda_ctx *ctx);
int la_syrk_cuda(dag_la_type_t t, char trans, int n, int k, double alpha, const char *a,
                 int lda, size_t abytes, double beta, char *c, int ldc, size_t cbytes, int prio,
                 dag_status_t *st, struct dag_cuda_ctx *ctx);
int la_trsm_cuda(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
                 double alpha, const char *a, int lda, size_t abytes, char *b, int ldb,
                 size_t bbytes, int prio, dag_status_t *st, struct dag_cuda_ctx *ctx);
int la_copy_cuda(const char *a, char *b, size_t bytes, dag_status_t *st,
                 struct dag_cuda_ctx *ctx);
int la_potrf_cuda(dag_la_type_t t, int n, char *a, int lda, size_t abytes, char *info,
                  size_t ibytes, int prio, dag_status_t *st, struct dag_cuda_ctx *ctx);

/* lu_swap.c: helpers of the row interchanges, shared with the tournament panel */
int *la_net_perm(const int *piv, int np, int base, int rows);
void la_row_cpy(int n, size_t es, const char *s, int lds, int rs, char *d, int ldd, int rd);
/* Submit one tile GEMM / SYRK / TRSM task (writes c / c / b); *bytes: each tile's size
 * (blas3.c, through the function tasks of la_tasks.h). */
dag_status_t la_gemm_tile(dag_la_type_t t, char ta, char tb, int m, int n, int k,
                          double alpha, const void *a, int lda, size_t abytes, const void *b,
                          int ldb, size_t bbytes, double beta, void *c, int ldc, size_t cbytes,
                          int prio);
dag_status_t la_syrk_tile(dag_la_type_t t, char trans, int n, int k, double alpha,
                          const void *a, int lda, size_t abytes, double beta, void *c, int ldc,
                          size_t cbytes, int prio);
dag_status_t la_trsm_tile(dag_la_type_t t, char side, char uplo, char trans, char diag,
                          int m, int n, double alpha, const void *a, int lda, size_t abytes,
                          void *b, int ldb, size_t bbytes, int prio);

/* Tiled triangular solve over a leading part of the matrices: A's first `kt` tile
 * rows/columns (order `order` elements), B's tiles. Used by potrs, getrs, gels. */
dag_status_t la_trsm_part(char side, char uplo, char trans, char diag, double alpha,
                          const dag_la_t *a, dag_la_t *b, int order);

#endif
