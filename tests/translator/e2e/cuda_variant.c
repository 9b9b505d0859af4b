/* e2e: `variant(cuda: g)` on a function task: the submission carries a CUDA
 * implementation (a wrapper that unpacks the argument block and calls g with the task's
 * parameters plus the struct dag_cuda_ctx *). Without an active CUDA layer (no GPU) the
 * runtime runs the CPU function; device(cpu) forces it in any case. */
#include <dag.h>

#include "check.h"

static int gpu_calls;

int scale_cuda(double *x, int n, double f, struct dag_cuda_ctx *ctx);

#pragma dag task depend(inout: x[0:n]) variant(cuda: scale_cuda) label("scale")
void scale(double *x, int n, double f);

#pragma dag task depend(inout: x[0:n]) variant(cuda: scale_cuda) device(cpu)
void scale_on_cpu(double *x, int n, double f);

void scale(double *x, int n, double f)
{
    for (int i = 0; i < n; i++)
        x[i] *= f;
}

void scale_on_cpu(double *x, int n, double f)
{
    for (int i = 0; i < n; i++)
        x[i] *= f;
}

int scale_cuda(double *x, int n, double f, struct dag_cuda_ctx *ctx)
{
    (void)x, (void)n, (void)f, (void)ctx;
    __atomic_fetch_add(&gpu_calls, 1, __ATOMIC_RELAXED);
    return 0;
}

int main(void)
{
    static double v[64];
    for (int i = 0; i < 64; i++)
        v[i] = i;
    scale(v, 64, 2);
    scale(v + 32, 32, 3);
    scale_on_cpu(v, 16, 0.5);
    #pragma dag taskwait
    if (gpu_calls) {
        printf("a CUDA layer is active: %d variant calls\n", gpu_calls);
        puts("OK");
        return 0;
    }
    for (int i = 0; i < 64; i++)
        CHECK(v[i] == i * 2 * (i >= 32 ? 3 : 1) * (i < 16 ? 0.5 : 1));
    puts("OK");
    return 0;
}
