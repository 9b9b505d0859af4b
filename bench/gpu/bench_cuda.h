/* bench_cuda.h: what the GPU benchmark programs share: a CUDA error check that stops the
 * program, a monotonic clock in seconds, and the arithmetic kernel whose run time is set
 * by its iteration count. */
#ifndef DAG_BENCH_CUDA_H
#define DAG_BENCH_CUDA_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cuda_runtime.h>

#define CK(x)                                                                              \
    do {                                                                                   \
        cudaError_t e_ = (x);                                                              \
        if (e_ != cudaSuccess) {                                                           \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e_));   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* x[i] <- iters steps of an affine recurrence: compute-bound, length set by iters */
static __global__ void spin_kernel(float *x, size_t n, int iters)
{
    size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float v = x[i];
    for (int k = 0; k < iters; k++)
        v = v * 0.999f + 0.5f;
    x[i] = v;
}

#endif
