// kernels.cu: CUDA implementations for the GPU tests (see kernels.h). Each one only
// enqueues on the task's stream and returns; the runtime observes completion.
#include <cublas_v2.h>

#include "kernels.h"

__global__ void k_add(uint32_t *x, size_t n, uint32_t v)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i < n)
        x[i] += v;
}

__global__ void k_mix(uint32_t *out, const uint32_t *in, size_t nout, size_t nin, uint32_t c)
{
    size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (k < nout && !(out + k >= in && out + k < in + nin))
        out[k] = out[k] * 3u + in[k % nin] + c;
}

static unsigned blocks(size_t n)
{
    return (unsigned)((n + 255) / 256);
}

extern "C" int cuda_add(void *args, struct dag_cuda_ctx *ctx)
{
    struct add_args *a = (struct add_args *)args;
    uint32_t *x = (uint32_t *)dag_cuda_ptr(ctx, a->x);
    if (!x)
        return 101;
    if (a->n)
        k_add<<<blocks(a->n), 256, 0, dag_cuda_stream(ctx)>>>(x, a->n, a->v);
    return cudaGetLastError() == cudaSuccess ? 0 : 102;
}

extern "C" int cpu_add(void *args)
{
    struct add_args *a = (struct add_args *)args;
    for (size_t i = 0; i < a->n; i++)
        a->x[i] += a->v;
    return 0;
}

extern "C" int cuda_mix(void *args, struct dag_cuda_ctx *ctx)
{
    struct mix_args *a = (struct mix_args *)args;
    uint32_t *out = (uint32_t *)dag_cuda_ptr(ctx, a->out);
    const uint32_t *in = (const uint32_t *)dag_cuda_ptr(ctx, a->in);
    if (!out || !in)
        return 101;
    k_mix<<<blocks(a->nout), 256, 0, dag_cuda_stream(ctx)>>>(out, in, a->nout, a->nin, a->c);
    return cudaGetLastError() == cudaSuccess ? 0 : 102;
}

extern "C" int cpu_mix(void *args)
{
    struct mix_args *a = (struct mix_args *)args;
    for (size_t k = 0; k < a->nout; k++)
        if (!(a->out + k >= a->in && a->out + k < a->in + a->nin))
            a->out[k] = a->out[k] * 3u + a->in[k % a->nin] + a->c;
    return 0;
}

extern "C" int body_add_current(void *args)
{
    struct dag_cuda_ctx *ctx = dag_cuda_current();
    if (!ctx)
        return 103;
    return cuda_add(args, ctx);
}

extern "C" int cuda_gemm(void *args, struct dag_cuda_ctx *ctx)
{
    struct gemm_args *g = (struct gemm_args *)args;
    cublasHandle_t h = (cublasHandle_t)dag_cuda_cublas(ctx);
    const double *a = (const double *)dag_cuda_ptr(ctx, g->a);
    const double *b = (const double *)dag_cuda_ptr(ctx, g->b);
    double *c = (double *)dag_cuda_ptr(ctx, g->c);
    if (!h || !a || !b || !c)
        return 101;
    const double one = 1.0;
    return cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, g->n, g->n, g->n, &one, a, g->n, b, g->n,
                       &one, c, g->n) == CUBLAS_STATUS_SUCCESS ? 0 : 104;
}
