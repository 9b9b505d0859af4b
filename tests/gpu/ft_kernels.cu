/* ft_kernels.cu: a CUDA implementation that faults for real (test_gpu_ft.c): its kernel
 * writes through an address that is not device memory, so the stream reports
 * cudaErrorIllegalAddress and the context is lost (a sticky error). */
#include <cuda_runtime.h>

#include "kernels.h"

__global__ void k_bad(uint32_t *p)
{
    p[threadIdx.x] = 1u; /* p is not a device address */
}

extern "C" int cuda_bad_address(void *args, struct dag_cuda_ctx *ctx)
{
    (void)args;
    k_bad<<<1, 32, 0, dag_cuda_stream(ctx)>>>((uint32_t *)(uintptr_t)0x8);
    return cudaGetLastError() == cudaSuccess ? 0 : 102;
}
