/* lib.c: per-stream resources a CUDA implementation asks for: cuBLAS and cuSOLVER
 * handles bound to the stream and a grow-only scratch buffer. Each is touched only by
 * the thread launching on the stream (it holds stream.launch), so none needs a lock. */
#include <cublas_v2.h>
#include <cusolverDn.h>

#include "internal.h"

void *cuapi_cublas(const struct dag_cuda_ctx *ctx)
{
    struct stream *st = ctx_stream(ctx);
    if (!st)
        return NULL;
    if (!st->cublas) {
        cublasHandle_t h;
        cudaSetDevice(st->dev);
        if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
            return NULL;
        cublasSetStream(h, st->s);
        st->cublas = h;
    }
    return st->cublas;
}

void *cuapi_cusolver(const struct dag_cuda_ctx *ctx)
{
    struct stream *st = ctx_stream(ctx);
    if (!st)
        return NULL;
    if (!st->cusolver) {
        cusolverDnHandle_t h;
        cudaSetDevice(st->dev);
        if (cusolverDnCreate(&h) != CUSOLVER_STATUS_SUCCESS)
            return NULL;
        cusolverDnSetStream(h, st->s);
        st->cusolver = h;
    }
    return st->cusolver;
}

void *cuapi_workspace(const struct dag_cuda_ctx *ctx, size_t bytes)
{
    struct stream *st = ctx_stream(ctx);
    if (!st)
        return NULL;
    if (st->work_size < bytes) {
        cudaSetDevice(st->dev);
        if (st->work) {
            cudaStreamSynchronize(st->s); /* growth only: earlier tasks may still use it */
            cudaFree(st->work);
            st->work = NULL;
            st->work_size = 0;
        }
        size_t size = bytes < ((size_t)1 << 20) ? (size_t)1 << 20 : bytes;
        if (cudaMalloc(&st->work, size) != cudaSuccess) {
            cudaGetLastError();
            st->work = NULL;
            return NULL;
        }
        st->work_size = size;
    }
    return st->work;
}

void lib_release(int dev)
{
    struct device *dv = &cu.dev[dev];
    for (int i = 0; i < dv->nall; i++) {
        struct stream *st = &dv->st[i];
        if (st->cublas)
            cublasDestroy((cublasHandle_t)st->cublas);
        if (st->cusolver)
            cusolverDnDestroy((cusolverDnHandle_t)st->cusolver);
        if (st->work)
            cudaFree(st->work);
        st->cublas = st->cusolver = st->work = NULL;
        st->work_size = 0;
    }
}
