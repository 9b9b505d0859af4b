/* stmt_cuda.c: device(cuda) statement tasks written in C alone: the body is the launcher
 * (dag_cuda_current) and calls the CUDA runtime (cudaMemsetAsync) on the task's stream;
 * CPU tasks then read the tiles (the runtime brings them home first). Built by dagcc
 * with no .cu file: the CUDA headers and -lcudart come from the driver. Exit 77 without
 * a device. */
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>
#include <dag/cuda.h>

enum { N = 1 << 21, T = 1 << 17 };

int main(void)
{
    if (dag_cuda_device_count() == 0) {
        puts("SKIPPED: no CUDA device");
        return 77;
    }
    double *x = malloc(N * sizeof *x);
    if (!x)
        return 1;
    for (int i = 0; i < N; i++)
        x[i] = 1;
    int failed = 0;
    for (int t = 0; t < N; t += T) {
        #pragma dag task depend(inout: x[t:T]) device(cuda) shared(failed)
        {
            struct dag_cuda_ctx *ctx = dag_cuda_current();
            double *d = ctx ? dag_cuda_ptr(ctx, x + t) : NULL;
            if (!d || cudaMemsetAsync(d, 0, T * sizeof *x, dag_cuda_stream(ctx)) != cudaSuccess)
                __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
        }
        #pragma dag task depend(inout: x[t:T]) device(cpu)
        for (int i = t; i < t + T; i++)
            x[i] += t / T;
    }
    #pragma dag taskwait
    for (int i = 0; i < N && !failed; i++)
        if (x[i] != i / T) {
            printf("FAIL: x[%d] = %g, expected %d\n", i, x[i], i / T);
            return 1;
        }
    dag_cuda_stats_t s;
    if (failed || dag_cuda_stats(&s) != DAG_OK || s.gpu_tasks != N / T) {
        puts("FAIL: a launcher failed, or not every device(cuda) task ran on the GPU");
        return 1;
    }
    printf("OK: %llu GPU tasks, %llu CPU tasks deferred while copies came home\n",
           s.gpu_tasks, s.deferred_cpu);
    free(x);
    return 0;
}
