// axpy_kernels.cu: the CUDA implementation named by variant(cuda: axpy_cuda) in
// axpy_main.c. extern "C": the C side calls it by its C name. It translates the host
// pointers of the task's dependencies and only enqueues on the task's stream.
#include <dag/cuda.h>

__global__ static void k_axpy(int n, double a, const double *x, double *y)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] += a * x[i];
}

extern "C" int axpy_cuda(int n, double a, const double *x, double *y, struct dag_cuda_ctx *ctx)
{
    const double *dx = (const double *)dag_cuda_ptr(ctx, x);
    double *dy = (double *)dag_cuda_ptr(ctx, y);
    if (!dx || !dy)
        return 1;
    k_axpy<<<(n + 255) / 256, 256, 0, dag_cuda_stream(ctx)>>>(n, a, dx, dy);
    return cudaGetLastError() != cudaSuccess;
}
