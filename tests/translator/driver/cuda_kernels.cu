/* cuda_kernels.cu: a CUDA source handed to dagcc beside C files (driver test). */
#include <cuda_runtime.h>
__global__ static void scale(double *x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] *= 2; }
extern "C" int gpu_count(void) { int n = 0; return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0; }
extern "C" void launch_scale(double *x, int n, cudaStream_t s) { scale<<<(n + 255) / 256, 256, 0, s>>>(x, n); }
