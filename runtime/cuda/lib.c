/* lib.c: per-stream resources a CUDA implementation asks for: cuBLAS and cuSOLVER
 * handles bound to the stream and a grow-only scratch buffer. Each is touched only by
 * the thread launching on the stream (it holds stream.launch), so none needs a lock.
 * Each cuBLAS handle gets a workspace of its own (cublasSetWorkspace: 32 MiB from compute
 * capability 9, the size NVIDIA recommends for Hopper, else 4 MiB): without one, cuBLAS
 * inside a stream capture (a chained training step replayed as a CUDA graph,
 * runtime/nn/graph.cu) allocates its workspace through the capture, so the graph carries
 * memory nodes, or picks kernels that need none. */
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
        int major = 0;
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, st->dev);
        size_t ws = (size_t)(major >= 9 ? 32 : 4) << 20;
        if (cudaMalloc(&st->cublas_ws, ws) == cudaSuccess) {
            if (cublasSetWorkspace(h, st->cublas_ws, ws) != CUBLAS_STATUS_SUCCESS) {
                cudaFree(st->cublas_ws); /* the library's default workspace then */
                st->cublas_ws = NULL;
            }
        } else {
            cudaGetLastError();
            st->cublas_ws = NULL;
        }
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
        if (st->cublas_ws)
            cudaFree(st->cublas_ws);
        st->cublas_ws = NULL;
        if (st->cusolver)
            cusolverDnDestroy((cusolverDnHandle_t)st->cusolver);
        if (st->work)
            cudaFree(st->work);
        st->cublas = st->cusolver = st->work = NULL;
        st->work_size = 0;
    }
}
