/* dag/linalg.h: distributed tiled dense linear algebra on the task flow (libdaglinalg).
 *
 * A dag_la_t is an M x N matrix of doubles or floats cut into mb x nb tiles (column-major,
 * leading dimension mb; edge tiles are partly used) and registered with dag_matrix_create,
 * so it takes any distribution of dag/dist.h (1D, 2D block-cyclic, 3D). Every operation
 * submits its tile kernels (OpenBLAS / LAPACKE, cuBLAS / cuSOLVER when the CUDA layer is
 * active) as tasks; the runtime infers every transfer between ranks. Like the rest of the
 * distributed API, every call is collective: call it on every rank in the same order.
 * Each operation waits for its own tasks before it returns (docs/linalg.md).
 * Link with -ldaglinalg -ldagrt -llapacke -lopenblas.
 */
#ifndef DAG_LINALG_H
#define DAG_LINALG_H

#include "dist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dag_la_type {
    DAG_LA_DOUBLE = 1,
    DAG_LA_FLOAT = 2
} dag_la_type_t;

/* A tiled matrix. Opaque. */
typedef struct dag_la dag_la_t;

/* Create an m x n matrix of mb x nb tiles over `dist` (NULL: 2D block-cyclic over a
 * near-square grid of all ranks). Tiles start zero. Factorisations need mb == nb. */
DAG_API dag_status_t dag_la_create(dag_la_t **a, dag_la_type_t type, int m, int n, int mb,
                                   int nb, const dag_dist_t *dist);
DAG_API dag_status_t dag_la_destroy(dag_la_t *a);

/* Shape and storage. dag_la_tile is dag_tile of the underlying matrix (layer 0). */
DAG_API int dag_la_rows(const dag_la_t *a);
DAG_API int dag_la_cols(const dag_la_t *a);
DAG_API dag_la_type_t dag_la_type_of(const dag_la_t *a);
DAG_API dag_matrix_t *dag_la_matrix(const dag_la_t *a);
DAG_API void *dag_la_tile(const dag_la_t *a, int i, int j);

/* Fill: element (i, j) (0-based) = f(i, j, user), evaluated by the owner of its tile.
 * f must be a function of (i, j, *user) alone (every rank computes its own tiles). */
typedef double (*dag_la_elem_fn)(int i, int j, void *user);
DAG_API dag_status_t dag_la_fill(dag_la_t *a, dag_la_elem_fn f, void *user);

/* Copy a column-major buffer (leading dimension ld, elements of the matrix's type) into
 * the matrix / out of it. root >= 0: the buffer exists on that rank only; -1: on every
 * rank (set: identical copies; get: every rank receives the whole matrix). */
DAG_API dag_status_t dag_la_set(dag_la_t *a, const void *buf, int ld, int root);
DAG_API dag_status_t dag_la_get(const dag_la_t *a, void *buf, int ld, int root);

/* B := A, tile by tile (same shape and tile sizes; any distributions): on a GPU the
 * copies run there, device to device. Elements only: B is not factored afterwards. */
DAG_API dag_status_t dag_la_copy(const dag_la_t *a, dag_la_t *b);

/* Keep this rank's tiles on the GPU between operations (on = 1): each tile is registered
 * with DAG_CUDA_RESIDENT (dag.h), so the wait that ends an operation leaves the results
 * there instead of copying the matrix home. dag_la_get, dag_la_norm (its tasks read the
 * tiles on the CPU) and dag_la_resident(a, 0) bring them home; dag_la_destroy drops them.
 * With no GPU in use it changes nothing. Collective, like every call here. */
DAG_API dag_status_t dag_la_resident(dag_la_t *a, int on);

/* Norms ('M' max |a_ij|, '1' max column sum, 'I' max row sum, 'F' Frobenius), the same
 * value on every rank. */
DAG_API dag_status_t dag_la_norm(const dag_la_t *a, char norm, double *value);

/* Scheduling options (defaults from DAG_LA_PRIO (1) and DAG_LA_LOOKAHEAD (1)):
 * priorities on the critical path (panel first) and the number of columns ahead of the
 * panel whose updates share its priority. Process-wide. */
typedef struct dag_la_options {
    int priorities; /* 0: every task at priority 0 */
    int lookahead;  /* columns after the panel updated at high priority (0: none) */
    int device;     /* DAG_DEVICE_ANY / CPU / CUDA for the tile kernels */
} dag_la_options_t;
DAG_API void dag_la_get_options(dag_la_options_t *opt);
DAG_API void dag_la_set_options(const dag_la_options_t *opt);

/* BLAS 3. trans: 'N' or 'T'. All matrices of one type; shapes must conform with equal
 * tile sizes along shared dimensions, else DAG_ERR_INVALID (dag_la_error() says why).
 * GEMM with C on DAG_DIST_3D (layers c > 1) runs the 2.5D algorithm: layer l sums the
 * products of its share of the inner dimension, then the layers are reduced into layer 0. */
DAG_API dag_status_t dag_la_gemm(char transa, char transb, double alpha, const dag_la_t *a,
                                 const dag_la_t *b, double beta, dag_la_t *c);
/* B := alpha op(A)^-1 B (side 'L') or alpha B op(A)^-1 (side 'R'); A triangular. */
DAG_API dag_status_t dag_la_trsm(char side, char uplo, char trans, char diag, double alpha,
                                 const dag_la_t *a, dag_la_t *b);
/* C := alpha A A^T + beta C (trans 'N') or alpha A^T A + beta C ('T'); uplo 'L' only. */
DAG_API dag_status_t dag_la_syrk(char uplo, char trans, double alpha, const dag_la_t *a,
                                 double beta, dag_la_t *c);

/* Cholesky A = L L^T (uplo 'L'; the strict upper triangle is not referenced). *info as
 * LAPACK: 0, or k > 0 when the leading minor of order k is not positive definite (the
 * status is then DAG_ERR_INVALID and dag_la_error() names the tile and its column). */
DAG_API dag_status_t dag_la_potrf(char uplo, dag_la_t *a, int *info);
DAG_API dag_status_t dag_la_potrs(char uplo, const dag_la_t *l, dag_la_t *b);

/* LU with partial pivoting across the whole column: P A = L U (m x n). ipiv (min(m, n)
 * entries, 1-based global rows as LAPACK's, identical on every rank) may be NULL; the
 * pivots are also kept with the matrix for dag_la_getrs. *info as LAPACK (k > 0: U(k,k)
 * is exactly zero). */
DAG_API dag_status_t dag_la_getrf(dag_la_t *a, int *ipiv, int *info);
DAG_API dag_status_t dag_la_getrs(const dag_la_t *lu, dag_la_t *b);
/* The same with a choice of panel. GATHER: the panel above (exact partial pivoting,
 * dgetrf's pivots; the tile column is factored on one rank). TOURNAMENT: CALU's
 * tournament pivoting (Grigori, Demmel, Xiang): each tile of the panel proposes nb
 * candidate rows (getrf on its owner), a reduction tree of tasks (inside each rank, then
 * binary across ranks) plays them off to the nb pivot rows, the diagonal tile is factored
 * without pivoting and the tiles below get L by TRSM where they live; the pivots differ
 * from dgetrf's, the growth factor is bounded less tightly (docs/linalg.md has the
 * measured stability). DEFAULT: the environment variable DAG_LA_LU (gather |
 * tournament), else GATHER. dag_la_getrs solves with either. */
typedef enum dag_la_lu_panel {
    DAG_LA_LU_DEFAULT = 0,
    DAG_LA_LU_GATHER = 1,
    DAG_LA_LU_TOURNAMENT = 2
} dag_la_lu_panel_t;
DAG_API dag_status_t dag_la_getrf_ex(dag_la_t *a, dag_la_lu_panel_t panel, int *ipiv,
                                     int *info);

/* QR by tiled Householder reflections with a flat tree of triangle-on-square (TS)
 * kernels (m >= n). The factors stay in a and in its T factors kept with the matrix.
 * dag_la_gels solves min ||A x - B|| for m >= n: X lands in the first n rows of B. */
DAG_API dag_status_t dag_la_geqrf(dag_la_t *a);
DAG_API dag_status_t dag_la_gels(const dag_la_t *qr, dag_la_t *b);

/* QR in LAPACK's layout (dgeqrf, pdgeqrf): any m x n; on return the Householder vectors
 * lie below the diagonal of a and R on and above; tau (min(m, n) elements of a's type, the
 * same on every rank; NULL: not wanted) holds the reflectors' scalars. Blocked by the
 * tile width: per tile column one panel task (LAPACK geqrf on the gathered column), the
 * block reflector applied to the right by tasks on each tile's owner. Not for
 * dag_la_gels (whose factors are the tiled dag_la_geqrf's). */
DAG_API dag_status_t dag_la_geqrf_lapack(dag_la_t *a, void *tau);

/* The reason for the calling thread's last DAG_ERR_INVALID from dag_la_* ("" if none). */
DAG_API const char *dag_la_error(void);

#ifdef __cplusplus
}
#endif

#endif /* DAG_LINALG_H */
