/* kernels.h: the device side of the GPU tests: CUDA implementations (kernels.cu) with
 * the argument blocks they share with their CPU twins in test_gpu.c. Integer arithmetic
 * only, so CPU and GPU results compare exactly. */
#ifndef DAG_TEST_GPU_KERNELS_H
#define DAG_TEST_GPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <dag/cuda.h>

#ifdef __cplusplus
extern "C" {
#endif

/* x[i] += v for i < n */
struct add_args {
    uint32_t *x;
    size_t n;
    uint32_t v;
};
int cuda_add(void *args, struct dag_cuda_ctx *ctx);
int cpu_add(void *args);

/* out[k] = out[k] * 3 + in[k % nin] + c for k < nout, except where out[k] lies inside
 * in[0 .. nin): in and out may overlap (the task's dependencies then overlap), and the
 * result stays deterministic because nothing the task reads is written. On a GPU both
 * pointers must then point into one device buffer for the skip to see the alias. */
struct mix_args {
    uint32_t *out;
    const uint32_t *in;
    size_t nout, nin;
    uint32_t c;
};
int cuda_mix(void *args, struct dag_cuda_ctx *ctx);
int cpu_mix(void *args);

/* A body that launches itself (DAG_DEVICE_CUDA without attr.cuda): finds its context
 * with dag_cuda_current(); adds v like cuda_add. */
int body_add_current(void *args);

/* C = C + A * B, n x n column-major doubles, through cuBLAS on the task's stream. */
struct gemm_args {
    const double *a, *b;
    double *c;
    int n;
};
int cuda_gemm(void *args, struct dag_cuda_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif
