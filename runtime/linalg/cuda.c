/* cuda.c: CUDA variants of the BLAS 3 tile tasks (cuBLAS on the task's stream) and of
 * the Cholesky diagonal task (cuSOLVER), attached
 * through dag_task_attr_t.cuda when libdaglinalg is built with CUDA (DAG_LA_CUDA). */
#include "la.h"

#ifdef DAG_LA_CUDA
#include <cublas_v2.h>
#include <cusolverDn.h>

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

/* POTRF on the diagonal tile; cuSOLVER writes its info straight into the task's info
 * record (a dependency of the task, so it has a device copy that goes home after). */
static int cuda_potrf(void *p, struct dag_cuda_ctx *ctx)
{
    struct la_potrf_args *a = p;
    cusolverDnHandle_t h = dag_cuda_cusolver(ctx);
    void *da = dag_cuda_ptr(ctx, a->a);
    int *dinfo = dag_cuda_ptr(ctx, &a->info[1]);
    if (!h || !da || !dinfo)
        return DAG_ERR_DEVICE;
    int lwork = 0;
    cusolverStatus_t s;
    size_t es = a->t == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    if (a->t == DAG_LA_DOUBLE)
        s = cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, a->n, da, a->ld, &lwork);
    else
        s = cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, a->n, da, a->ld, &lwork);
    void *ws = s == CUSOLVER_STATUS_SUCCESS ? dag_cuda_workspace(ctx, (size_t)lwork * es) : NULL;
    if (!ws)
        return DAG_ERR_DEVICE;
    if (a->t == DAG_LA_DOUBLE)
        s = cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, a->n, da, a->ld, ws, lwork, dinfo);
    else
        s = cusolverDnSpotrf(h, CUBLAS_FILL_MODE_LOWER, a->n, da, a->ld, ws, lwork, dinfo);
    return s == CUSOLVER_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

dag_cuda_fn la_cuda_potrf(void) { return cuda_potrf; }
dag_cuda_fn la_cuda_gemm(void) { return cuda_gemm; }
dag_cuda_fn la_cuda_syrk(void) { return cuda_syrk; }
dag_cuda_fn la_cuda_trsm(void) { return cuda_trsm; }
#else
dag_cuda_fn la_cuda_potrf(void) { return NULL; }
dag_cuda_fn la_cuda_gemm(void) { return NULL; }
dag_cuda_fn la_cuda_syrk(void) { return NULL; }
dag_cuda_fn la_cuda_trsm(void) { return NULL; }
#endif
