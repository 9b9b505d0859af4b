// jacobi_kernels.cu: the CUDA implementation of jacobi_main.c's sweep task (written from
// docs/cuda.md): the launcher is extern "C" and takes the task function's parameters
// plus the context; src's dependency range starts at the halo row above the block.
#include <dag/cuda.h>

__global__ static void k_sweep(const double *src, double *dst, long rows, long cols,
                               long first, long nrows, long src_first)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    long i = first + blockIdx.y;
    if (j >= cols || blockIdx.y >= nrows)
        return;
    const double *s = src + (i - src_first) * cols; // row i in the device copy of src
    double *d = dst + (i - first) * cols;
    if (i == 0 || j == 0 || i == rows - 1 || j == cols - 1) {
        d[j] = s[j];
        return;
    }
    double t = s[j - cols] + s[j + cols];
    t += s[j - 1] + s[j + 1];
    d[j] = 0.25 * t;
}

extern "C" int sweep_cuda(const double *src, double *dst, long rows, long cols, long first,
                          long nrows, struct dag_cuda_ctx *ctx)
{
    long src_first = first > 0 ? first - 1 : 0;
    const double *ds = (const double *)dag_cuda_ptr(ctx, src + src_first * cols);
    double *dd = (double *)dag_cuda_ptr(ctx, dst + first * cols);
    if (!ds || !dd)
        return 1;
    dim3 grid((unsigned)((cols + 255) / 256), (unsigned)nrows);
    k_sweep<<<grid, 256, 0, dag_cuda_stream(ctx)>>>(ds, dd, rows, cols, first, nrows,
                                                     src_first);
    return cudaGetLastError() != cudaSuccess;
}
