/* axpy_main.c: a pragma program whose function task has a CUDA implementation in a .cu
 * file (axpy_kernels.cu, extern "C"), built by dagcc from both files in one command.
 * Tiles of y = a x + y over 32 MiB vectors, rounds placed by the runtime
 * (device(any)), forced to the GPU (device(cuda)) and to the CPU (device(cpu)), then
 * compared with a sequential loop (values exact in doubles). Exit 77 without a device. */
#include <stdio.h>
#include <stdlib.h>

#include <dag/cuda.h>

int axpy_cuda(int n, double a, const double *x, double *y, struct dag_cuda_ctx *ctx);

#pragma dag task depend(in: x[0:n]) depend(inout: y[0:n]) variant(cuda: axpy_cuda)
void axpy(int n, double a, const double *x, double *y);

#pragma dag task depend(in: x[0:n]) depend(inout: y[0:n]) variant(cuda: axpy_cuda) device(cuda)
void axpy_gpu(int n, double a, const double *x, double *y);

#pragma dag task depend(in: x[0:n]) depend(inout: y[0:n]) variant(cuda: axpy_cuda) device(cpu)
void axpy_cpu(int n, double a, const double *x, double *y);

static void loop(int n, double a, const double *x, double *y)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

void axpy(int n, double a, const double *x, double *y)
{
    loop(n, a, x, y);
}

void axpy_gpu(int n, double a, const double *x, double *y)
{
    loop(n, a, x, y);
}

void axpy_cpu(int n, double a, const double *x, double *y)
{
    loop(n, a, x, y);
}

int main(void)
{
    if (dag_cuda_device_count() == 0) {
        puts("SKIPPED: no CUDA device");
        return 77;
    }
    enum { N = 1 << 22, T = 1 << 18, ROUNDS = 6 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *ref = malloc(N * sizeof *ref);
    if (!x || !y || !ref)
        return 1;
    for (int i = 0; i < N; i++) {
        x[i] = i % 1000;
        y[i] = ref[i] = i % 7;
    }
    for (int r = 0; r < ROUNDS; r++) {
        double a = r % 2 ? 0.5 : 2;
        for (int t = 0; t < N; t += T) {
            if (r % 3 == 0)
                axpy(T, a, x + t, y + t);
            else if (r % 3 == 1)
                axpy_gpu(T, a, x + t, y + t);
            else
                axpy_cpu(T, a, x + t, y + t);
            loop(T, a, x + t, ref + t);
        }
    }
    #pragma dag taskwait
    for (int i = 0; i < N; i++)
        if (y[i] != ref[i]) {
            printf("FAIL: y[%d] = %g, expected %g\n", i, y[i], ref[i]);
            return 1;
        }
    dag_cuda_stats_t s;
    if (dag_cuda_stats(&s) != DAG_OK || s.gpu_tasks < 2 * (N / T)) {
        printf("FAIL: %llu GPU tasks, expected at least %d\n", s.gpu_tasks, 2 * (N / T));
        return 1;
    }
    printf("OK: %llu GPU and %llu CPU tasks\n", s.gpu_tasks, s.cpu_tasks);
    free(x);
    free(y);
    free(ref);
    return 0;
}
