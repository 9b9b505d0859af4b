/* cuda.c: CUDA variants of the BLAS 3 tile tasks (cuBLAS on the task's stream), attached
 * through dag_task_attr_t.cuda when libdaglinalg is built with CUDA (DAG_LA_CUDA). */
#include "la.h"

#ifdef DAG_LA_CUDA
#include <cublas_v2.h>

#include "dag/cuda.h"

static cublasOperation_t op(char c) { return c == 'T' ? CUBLAS_OP_T : CUBLAS_OP_N; }

static int cuda_gemm(void *p, struct dag_cuda_ctx *ctx)
{
    struct la_gemm_args *a = p;
    cublasHandle_t h = dag_cuda_cublas(ctx);
    const void *da = dag_cuda_ptr(ctx, a->a), *db = dag_cuda_ptr(ctx, a->b);
    void *dc = dag_cuda_ptr(ctx, a->c);
    if (!h || !da || !db || !dc)
        return DAG_ERR_DEVICE;
    cublasStatus_t s;
    if (a->t == DAG_LA_DOUBLE)
        s = cublasDgemm(h, op(a->ta), op(a->tb), a->m, a->n, a->k, &a->alpha, da, a->lda, db,
                        a->ldb, &a->beta, dc, a->ldc);
    else {
        float al = (float)a->alpha, be = (float)a->beta;
        s = cublasSgemm(h, op(a->ta), op(a->tb), a->m, a->n, a->k, &al, da, a->lda, db,
                        a->ldb, &be, dc, a->ldc);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

static int cuda_syrk(void *p, struct dag_cuda_ctx *ctx)
{
    struct la_syrk_args *a = p;
    cublasHandle_t h = dag_cuda_cublas(ctx);
    const void *da = dag_cuda_ptr(ctx, a->a);
    void *dc = dag_cuda_ptr(ctx, a->c);
    if (!h || !da || !dc)
        return DAG_ERR_DEVICE;
    cublasStatus_t s;
    if (a->t == DAG_LA_DOUBLE)
        s = cublasDsyrk(h, CUBLAS_FILL_MODE_LOWER, op(a->trans), a->n, a->k, &a->alpha, da,
                        a->lda, &a->beta, dc, a->ldc);
    else {
        float al = (float)a->alpha, be = (float)a->beta;
        s = cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, op(a->trans), a->n, a->k, &al, da, a->lda,
                        &be, dc, a->ldc);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

static int cuda_trsm(void *p, struct dag_cuda_ctx *ctx)
{
    struct la_trsm_args *a = p;
    cublasHandle_t h = dag_cuda_cublas(ctx);
    const void *da = dag_cuda_ptr(ctx, a->a);
    void *db = dag_cuda_ptr(ctx, a->b);
    if (!h || !da || !db)
        return DAG_ERR_DEVICE;
    cublasSideMode_t sd = a->side == 'R' ? CUBLAS_SIDE_RIGHT : CUBLAS_SIDE_LEFT;
    cublasFillMode_t fm = a->uplo == 'U' ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
    cublasDiagType_t dg = a->diag == 'U' ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT;
    cublasStatus_t s;
    if (a->t == DAG_LA_DOUBLE)
        s = cublasDtrsm(h, sd, fm, op(a->trans), dg, a->m, a->n, &a->alpha, da, a->lda, db,
                        a->ldb);
    else {
        float al = (float)a->alpha;
        s = cublasStrsm(h, sd, fm, op(a->trans), dg, a->m, a->n, &al, da, a->lda, db, a->ldb);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

dag_cuda_fn la_cuda_gemm(void) { return cuda_gemm; }
dag_cuda_fn la_cuda_syrk(void) { return cuda_syrk; }
dag_cuda_fn la_cuda_trsm(void) { return cuda_trsm; }
#else
dag_cuda_fn la_cuda_gemm(void) { return NULL; }
dag_cuda_fn la_cuda_syrk(void) { return NULL; }
dag_cuda_fn la_cuda_trsm(void) { return NULL; }
#endif
