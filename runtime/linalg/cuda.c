/* cuda.c: CUDA implementations of the BLAS 3 tile tasks (cuBLAS on the task's stream) and
 * of the Cholesky diagonal task (cuSOLVER): the variant(cuda: ...) functions named by
 * la_tasks.h, each taking its task's parameters plus the CUDA context. Without CUDA
 * (DAG_LA_CUDA unset) no CUDA layer exists to call them: they report DAG_ERR_DEVICE. */
#include "la.h"

#ifdef DAG_LA_CUDA
#include <cublas_v2.h>
#include <cusolverDn.h>

#include "dag/cuda.h"

static cublasOperation_t op(char c) { return c == 'T' ? CUBLAS_OP_T : CUBLAS_OP_N; }

int la_gemm_cuda(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
                 const char *a, int lda, size_t abytes, const char *b, int ldb, size_t bbytes,
                 double beta, char *c, int ldc, size_t cbytes, int prio, dag_status_t *st,
                 struct dag_cuda_ctx *ctx)
{
    (void)abytes, (void)bbytes, (void)cbytes, (void)prio, (void)st;
    cublasHandle_t h = dag_cuda_cublas(ctx);
    const void *da = dag_cuda_ptr(ctx, a), *db = dag_cuda_ptr(ctx, b);
    void *dc = dag_cuda_ptr(ctx, c);
    if (!h || !da || !db || !dc)
        return DAG_ERR_DEVICE;
    cublasStatus_t s;
    if (t == DAG_LA_DOUBLE)
        s = cublasDgemm(h, op(ta), op(tb), m, n, k, &alpha, da, lda, db, ldb, &beta, dc, ldc);
    else {
        float al = (float)alpha, be = (float)beta;
        s = cublasSgemm(h, op(ta), op(tb), m, n, k, &al, da, lda, db, ldb, &be, dc, ldc);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

int la_syrk_cuda(dag_la_type_t t, char trans, int n, int k, double alpha, const char *a,
                 int lda, size_t abytes, double beta, char *c, int ldc, size_t cbytes, int prio,
                 dag_status_t *st, struct dag_cuda_ctx *ctx)
{
    (void)abytes, (void)cbytes, (void)prio, (void)st;
    cublasHandle_t h = dag_cuda_cublas(ctx);
    const void *da = dag_cuda_ptr(ctx, a);
    void *dc = dag_cuda_ptr(ctx, c);
    if (!h || !da || !dc)
        return DAG_ERR_DEVICE;
    cublasStatus_t s;
    if (t == DAG_LA_DOUBLE)
        s = cublasDsyrk(h, CUBLAS_FILL_MODE_LOWER, op(trans), n, k, &alpha, da, lda, &beta, dc,
                        ldc);
    else {
        float al = (float)alpha, be = (float)beta;
        s = cublasSsyrk(h, CUBLAS_FILL_MODE_LOWER, op(trans), n, k, &al, da, lda, &be, dc, ldc);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

int la_trsm_cuda(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
                 double alpha, const char *a, int lda, size_t abytes, char *b, int ldb,
                 size_t bbytes, int prio, dag_status_t *st, struct dag_cuda_ctx *ctx)
{
    (void)abytes, (void)bbytes, (void)prio, (void)st;
    cublasHandle_t h = dag_cuda_cublas(ctx);
    const void *da = dag_cuda_ptr(ctx, a);
    void *db = dag_cuda_ptr(ctx, b);
    if (!h || !da || !db)
        return DAG_ERR_DEVICE;
    cublasSideMode_t sd = side == 'R' ? CUBLAS_SIDE_RIGHT : CUBLAS_SIDE_LEFT;
    cublasFillMode_t fm = uplo == 'U' ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
    cublasDiagType_t dg = diag == 'U' ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT;
    cublasStatus_t s;
    if (t == DAG_LA_DOUBLE)
        s = cublasDtrsm(h, sd, fm, op(trans), dg, m, n, &alpha, da, lda, db, ldb);
    else {
        float al = (float)alpha;
        s = cublasStrsm(h, sd, fm, op(trans), dg, m, n, &al, da, lda, db, ldb);
    }
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

/* POTRF on the diagonal tile; cuSOLVER writes its info straight into the task's info
 * record (a dependency of the task, so it has a device copy that goes home after). */
int la_potrf_cuda(dag_la_type_t t, int n, char *a, int lda, size_t abytes, char *info,
                  size_t ibytes, int prio, dag_status_t *st, struct dag_cuda_ctx *ctx)
{
    (void)abytes, (void)ibytes, (void)prio, (void)st;
    cusolverDnHandle_t h = dag_cuda_cusolver(ctx);
    void *da = dag_cuda_ptr(ctx, a);
    int *dinfo = dag_cuda_ptr(ctx, info + sizeof(int));
    if (!h || !da || !dinfo)
        return DAG_ERR_DEVICE;
    int lwork = 0;
    cusolverStatus_t s;
    size_t es = t == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    if (t == DAG_LA_DOUBLE)
        s = cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, da, lda, &lwork);
    else
        s = cusolverDnSpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, da, lda, &lwork);
    void *ws = s == CUSOLVER_STATUS_SUCCESS ? dag_cuda_workspace(ctx, (size_t)lwork * es) : NULL;
    if (!ws)
        return DAG_ERR_DEVICE;
    if (t == DAG_LA_DOUBLE)
        s = cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, n, da, lda, ws, lwork, dinfo);
    else
        s = cusolverDnSpotrf(h, CUBLAS_FILL_MODE_LOWER, n, da, lda, ws, lwork, dinfo);
    return s == CUSOLVER_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

/* one whole tile, device to device on the task's stream */
int la_copy_cuda(const char *a, char *b, size_t bytes, dag_status_t *st,
                 struct dag_cuda_ctx *ctx)
{
    (void)st;
    const void *da = dag_cuda_ptr(ctx, a);
    void *db = dag_cuda_ptr(ctx, b);
    if (!da || !db)
        return DAG_ERR_DEVICE;
    return cudaMemcpyAsync(db, da, bytes, cudaMemcpyDeviceToDevice, dag_cuda_stream(ctx)) ==
                   cudaSuccess
               ? 0
               : DAG_ERR_DEVICE;
}

int la_device(void) { return la_opts()->device; }
#else
int la_copy_cuda(const char *a, char *b, size_t bytes, dag_status_t *st,
                 struct dag_cuda_ctx *ctx)
{
    (void)a, (void)b, (void)bytes, (void)st, (void)ctx;
    return DAG_ERR_DEVICE;
}
int la_gemm_cuda(dag_la_type_t t, char ta, char tb, int m, int n, int k, double alpha,
                 const char *a, int lda, size_t abytes, const char *b, int ldb, size_t bbytes,
                 double beta, char *c, int ldc, size_t cbytes, int prio, dag_status_t *st,
                 struct dag_cuda_ctx *ctx)
{
    (void)t, (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda;
    (void)abytes, (void)b, (void)ldb, (void)bbytes, (void)beta, (void)c, (void)ldc;
    (void)cbytes, (void)prio, (void)st, (void)ctx;
    return DAG_ERR_DEVICE;
}
int la_syrk_cuda(dag_la_type_t t, char trans, int n, int k, double alpha, const char *a,
                 int lda, size_t abytes, double beta, char *c, int ldc, size_t cbytes, int prio,
                 dag_status_t *st, struct dag_cuda_ctx *ctx)
{
    (void)t, (void)trans, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)abytes;
    (void)beta, (void)c, (void)ldc, (void)cbytes, (void)prio, (void)st, (void)ctx;
    return DAG_ERR_DEVICE;
}
int la_trsm_cuda(dag_la_type_t t, char side, char uplo, char trans, char diag, int m, int n,
                 double alpha, const char *a, int lda, size_t abytes, char *b, int ldb,
                 size_t bbytes, int prio, dag_status_t *st, struct dag_cuda_ctx *ctx)
{
    (void)t, (void)side, (void)uplo, (void)trans, (void)diag, (void)m, (void)n, (void)alpha;
    (void)a, (void)lda, (void)abytes, (void)b, (void)ldb, (void)bbytes, (void)prio, (void)st;
    (void)ctx;
    return DAG_ERR_DEVICE;
}
int la_potrf_cuda(dag_la_type_t t, int n, char *a, int lda, size_t abytes, char *info,
                  size_t ibytes, int prio, dag_status_t *st, struct dag_cuda_ctx *ctx)
{
    (void)t, (void)n, (void)a, (void)lda, (void)abytes, (void)info, (void)ibytes, (void)prio;
    (void)st, (void)ctx;
    return DAG_ERR_DEVICE;
}

/* no CUDA implementations in this build: the runtime picks (it runs them on the CPU) */
int la_device(void) { return DAG_DEVICE_ANY; }
#endif
