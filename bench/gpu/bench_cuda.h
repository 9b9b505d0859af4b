/* bench_cuda.h: what the GPU benchmark programs share: a CUDA error check that stops the
 * program, a monotonic clock in seconds, the arithmetic kernel whose run time is set by
 * its iteration count, and cuSOLVER dpotrf's device workspace for the Cholesky anchors. */
#ifndef DAG_BENCH_CUDA_H
#define DAG_BENCH_CUDA_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <dag/cuda.h>

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

/* cuSOLVER dpotrf's workspace for the n x n lower factor at a (leading dimension lda) and
 * its info word, on the device (free both with cudaFree); returns the workspace length. */
static inline int potrf_alloc(cusolverDnHandle_t h, int n, double *a, int lda, double **ws,
                              int **info)
{
    int lwork = 0;
    if (cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, a, lda, &lwork) !=
        CUSOLVER_STATUS_SUCCESS) {
        fprintf(stderr, "cusolverDnDpotrf_bufferSize failed (n %d)\n", n);
        exit(1);
    }
    CK(cudaMalloc(ws, (size_t)lwork * sizeof(double)));
    CK(cudaMalloc(info, sizeof(int)));
    return lwork;
}

/* The same inside a CUDA task, in the task's workspace (the info word first): 0, 1 when
 * cuSOLVER gives no size, 2 without workspace. */
static inline int potrf_task_ws(struct dag_cuda_ctx *ctx, cusolverDnHandle_t h, int n,
                                double *a, int lda, double **ws, int **info, int *lwork)
{
    *lwork = 0;
    if (cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, n, a, lda, lwork))
        return 1;
    char *w = (char *)dag_cuda_workspace(ctx, (size_t)*lwork * sizeof(double) + 256);
    if (!w)
        return 2;
    *info = (int *)w, *ws = (double *)(w + 256);
    return 0;
}

#endif
