/* la_tasks.h: the one-tile tasks of the BLAS 3, Cholesky, LU and QR graphs, declared as dagcc
 * function tasks (docs/pragmas.md). Only files that go through dagcc-translate at build time
 * include it (blas3.c, chol.c, lu.c, qr.c: runtime/linalg/CMakeLists.txt); in them every call of these
 * functions submits a task, with the dependences, priority, CUDA implementation and device
 * choice written below, and a failed submission stored in *st instead of ending the
 * program (a library must not exit). Tiles are passed as bytes with their sizes in bytes,
 * because one task serves both element types. */
#ifndef DAG_LA_TASKS_H
#define DAG_LA_TASKS_H

#include "la.h"

/* C := alpha op(A) op(B) + beta C on one tile; A and B may be the same tile. */
#pragma dag task depend(inout: c[0:cbytes]) depend(in: a[0:abytes], b[0:bbytes]) \
    priority(prio) device(la_device()) variant(cuda: la_gemm_cuda) label("la_gemm") \
    status(*st)
void la_gemm_task(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
                  const char *a, int lda, size_t abytes, const char *b, int ldb, size_t bbytes,
                  double beta, char *c, int ldc, size_t cbytes, int prio, dag_status_t *st);

/* C := alpha op(A) op(A)^T + beta C on the lower triangle of one tile. */
#pragma dag task depend(inout: c[0:cbytes]) depend(in: a[0:abytes]) priority(prio) \
    device(la_device()) variant(cuda: la_syrk_cuda) label("la_syrk") status(*st)
void la_syrk_task(dag_la_type_t t, char trans, int n, int k, double alpha, const char *a,
                  int lda, size_t abytes, double beta, char *c, int ldc, size_t cbytes,
                  int prio, dag_status_t *st);

/* B := alpha op(A)^-1 B or alpha B op(A)^-1, A triangular, on one tile. */
#pragma dag task depend(inout: b[0:bbytes]) depend(in: a[0:abytes]) priority(prio) \
    device(la_device()) variant(cuda: la_trsm_cuda) label("la_trsm") status(*st)
void la_trsm_task(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
                  double alpha, const char *a, int lda, size_t abytes, char *b, int ldb,
                  size_t bbytes, int prio, dag_status_t *st);

/* B := A, one whole tile (dag_la_copy). */
#pragma dag task depend(in: a[0:bytes]) depend(out: b[0:bytes]) device(la_device()) \
    variant(cuda: la_copy_cuda) label("la_copy") status(*st)
void la_copy_task(const char *a, char *b, size_t bytes, dag_status_t *st);

/* Cholesky of the diagonal tile (n x n, lower). A failure is not the task's: the tile's
 * failing column (LAPACK's info) goes to info[1] of the tile's aux record, so every rank
 * keeps the same flow and the caller reports it after the graph. */
#pragma dag task depend(inout: a[0:abytes]) depend(out: info[0:ibytes]) priority(prio) \
    device(la_device()) variant(cuda: la_potrf_cuda) label("la_potrf") status(*st)
void la_potrf_task(dag_la_type_t t, int n, char *a, int lda, size_t abytes, char *info,
                   size_t ibytes, int prio, dag_status_t *st);

/* The gathered LU panel of step k (lu.c): tiles (k..mt-1, k) in one task on the owner of
 * the diagonal tile (the first dependence), factored with getrf; the pivots, info and
 * count go to the step's pivot record. */
#pragma dag task depend(iterator(int i = k : a->mt), inout: la_tc(a, i, k)[0:tbytes]) \
    depend(out: pivrec[0:pbytes]) priority(prio) label("la_getrf_panel") status(*st)
int la_getrf_panel_task(const dag_la_t *a, int k, size_t tbytes, char *pivrec, size_t pbytes,
                        int prio, dag_status_t *st);

/* QR (qr.c). T factors are ib x n (ldt = ib); a non-zero return fails the task. */
/* GEQRT: the tile a (m x n) := its QR factors, tq its T. */
#pragma dag task depend(inout: a[0:abytes]) depend(out: tq[0:tbytes]) priority(prio) \
    label("la_geqrt") status(*st)
int la_geqrt_task(dag_la_type_t t, int m, int n, int ib, char *a, int lda, size_t abytes,
                  char *tq, int ldt, size_t tbytes, int prio, dag_status_t *st);
/* TPQRT: folds tile b (m rows; its first l form a triangle, l = 0: a square) into the
 * triangle of a; b := the reflectors, tq their T. */
#pragma dag task depend(inout: b[0:bbytes], a[0:abytes]) depend(out: tq[0:tbytes]) \
    priority(prio) label("la_tpqrt") status(*st)
int la_tpqrt_task(dag_la_type_t t, int m, int n, int l, int ib, char *a, int lda,
                  size_t abytes, char *b, int ldb, size_t bbytes, char *tq, int ldt,
                  size_t tbytes, int prio, dag_status_t *st);
/* GEMQRT: c := Q^T c with GEQRT's reflectors v and T. */
#pragma dag task depend(inout: c[0:cbytes]) depend(in: v[0:vbytes], tq[0:tbytes]) \
    priority(prio) label("la_gemqrt") status(*st)
int la_gemqrt_task(dag_la_type_t t, int m, int n, int k, int ib, const char *v, int ldv,
                   size_t vbytes, const char *tq, int ldt, size_t tbytes, char *c, int ldc,
                   size_t cbytes, int prio, dag_status_t *st);
/* TPMQRT: [a; b] := Q^T [a; b] with TPQRT's reflectors v and T (a, b: ldc each). */
#pragma dag task depend(inout: b[0:cbytes], a[0:cbytes]) depend(in: v[0:vbytes], tq[0:tbytes]) \
    priority(prio) label("la_tpmqrt") status(*st)
int la_tpmqrt_task(dag_la_type_t t, int m, int n, int k, int l, int ib, const char *v,
                   int ldv, size_t vbytes, const char *tq, int ldt, size_t tbytes, char *a,
                   char *b, int ldc, size_t cbytes, int prio, dag_status_t *st);

#endif
