/* cuda_emu.h: runs libdagnn's CUDA code on the CPU, for checking it on a machine without a
 * GPU. A .cu file compiled as C++ with -DNN_CUDA_EMU -include cuda_emu.h gets: kernels as
 * plain functions (LAUNCH runs every thread of the grid in turn, so kernels must not use
 * __syncthreads or warp shuffles: libdagnn's and the cuBLAS anchor's do not), device memory
 * as host memory, cuBLAS's SGEMM / strided-batched SGEMM / SGEMV as column-major reference
 * loops with the real argument conventions, and the dag_cuda_* calls of a CUDA variant
 * (pointers translate to themselves, one workspace). tests/nn/test_cuda_emu.c compares the
 * variants with the CPU bodies; bench/nn/emu_anchor.sh runs the anchor's --check. */
#ifndef NN_CUDA_EMU_H
#define NN_CUDA_EMU_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct dim3 {
    unsigned x, y, z;
};
static thread_local dim3 blockIdx, threadIdx, blockDim, gridDim;

/* every block, every thread in order */
template <class F> static void nn_emu_launch(unsigned grid, unsigned block, F f) {
    gridDim = {grid, 1, 1}, blockDim = {block, 1, 1};
    for (unsigned b = 0; b < grid; b++)
        for (unsigned t = 0; t < block; t++) {
            blockIdx = {b, 0, 0}, threadIdx = {t, 0, 0};
            f();
        }
}
/* the .cu files launch with LAUNCH(kernel, grid-block-stream, args...), which expands to
 * LAUNCH_(kernel, grid, block, stream, args...): here a loop, under nvcc <<<...>>> */
#define LAUNCH_(k, grid, block, stream, ...)                                                 \
    nn_emu_launch((unsigned)(grid), (unsigned)(block), [&] { k(__VA_ARGS__); })

template <class T> static T atomicAdd(T *p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}

/* ---- CUDA runtime ---- */
typedef int cudaError_t;
typedef void *cudaStream_t;
enum { cudaSuccess = 0 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
static inline cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static inline const char *cudaGetErrorString(cudaError_t) { return "emulated"; }
template <class T> static cudaError_t cudaMalloc(T **p, size_t n) {
    *p = (T *)calloc(1, n ? n : 1);
    return *p ? cudaSuccess : 2;
}
static inline cudaError_t cudaFree(void *p) { return free(p), cudaSuccess; }
static inline cudaError_t cudaMemset(void *p, int v, size_t n) { return memset(p, v, n), 0; }
static inline cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t) {
    return memset(p, v, n), 0;
}
static inline cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind) {
    return memmove(d, s, n), 0;
}
static inline cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind,
                                          cudaStream_t) {
    return memmove(d, s, n), 0;
}
static inline cudaError_t cudaStreamCreate(cudaStream_t *s) { return *s = NULL, 0; }
static inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return 0; }
static inline cudaError_t cudaDeviceSynchronize(void) { return 0; }

/* ---- cuBLAS (column-major, as the library) ---- */
typedef void *cublasHandle_t;
typedef int cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
enum { CUBLAS_STATUS_SUCCESS = 0 };
static inline cublasStatus_t cublasCreate(cublasHandle_t *h) { return *h = NULL, 0; }
static inline cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return 0; }
static inline cublasStatus_t cublasSgemmStridedBatched(
    cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
    const float *alpha, const float *A, int lda, long long sa, const float *B, int ldb,
    long long sb, const float *beta, float *C, int ldc, long long sc, int batch) {
    for (int q = 0; q < batch; q++) {
        const float *a = A + q * sa, *b = B + q * sb;
        float *c = C + q * sc;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta == CUBLAS_OP_N ? a[i + (size_t)p * lda] : a[p + (size_t)i * lda];
                    float bv = tb == CUBLAS_OP_N ? b[p + (size_t)j * ldb] : b[j + (size_t)p * ldb];
                    s += (double)av * bv;
                }
                float *o = &c[i + (size_t)j * ldc];
                *o = (float)(*alpha * s + (*beta == 0.0f ? 0.0 : (double)*beta * *o));
            }
    }
    return 0;
}
static inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         const float *B, int ldb, const float *beta, float *C,
                                         int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                                     ldc, 0, 1);
}
static inline cublasStatus_t cublasSgemv(cublasHandle_t, cublasOperation_t t, int m, int n,
                                         const float *alpha, const float *A, int lda,
                                         const float *x, int incx, const float *beta, float *y,
                                         int incy) {
    int ny = t == CUBLAS_OP_N ? m : n, nx = t == CUBLAS_OP_N ? n : m;
    for (int i = 0; i < ny; i++) {
        double s = 0;
        for (int p = 0; p < nx; p++)
            s += (double)(t == CUBLAS_OP_N ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda]) *
                 x[(size_t)p * incx];
        float *o = &y[(size_t)i * incy];
        *o = (float)(*alpha * s + (*beta == 0.0f ? 0.0 : (double)*beta * *o));
    }
    return 0;
}

/* ---- the dag_cuda_* calls of a CUDA variant ---- */
struct dag_cuda_ctx {
    int device;
    cudaStream_t stream;
    void *impl_;
};
static inline int dag_cuda_device_count(void) { return 0; }
/* dag_cuda_register / dag_cuda_unregister: libdagrt's own (dag.h), which do nothing
 * without a GPU */
static inline void *dag_cuda_ptr(const struct dag_cuda_ctx *, const void *p) { return (void *)p; }
static inline cudaStream_t dag_cuda_stream(const struct dag_cuda_ctx *) { return NULL; }
static inline void *dag_cuda_cublas(const struct dag_cuda_ctx *) { return NULL; }
static inline void *dag_cuda_workspace(const struct dag_cuda_ctx *, size_t bytes) {
    static void *w;
    static size_t have;
    if (bytes > have) {
        free(w);
        w = calloc(1, bytes);
        have = w ? bytes : 0;
    }
    return w;
}
#define DAG_CUDA_H /* dag/cuda.h's declarations are the ones above */

#endif
