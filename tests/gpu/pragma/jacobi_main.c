/* jacobi_main.c: a program written from docs/cuda.md alone, as a new user would: a 2D
 * Jacobi sweep over a 4096 x 8192 grid of doubles (256 MiB per buffer) cut into row
 * blocks of 32 MiB; each block's task reads its rows plus one halo row above and below,
 * a range that starts in one block and ends in another (page-locked, registered tiles of
 * tens of MiB: the straddling case of issue 13). The CUDA implementation is in
 * jacobi_kernels.cu (built with -fmad=false so the GPU's arithmetic equals the CPU's);
 * the runtime places each task. The result must equal a sequential sweep bit for bit.
 * Exit 77 without a GPU. Usage: jacobi [rows cols block_rows sweeps] */
#include <dag/cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one point of a sweep: boundary points are kept, the others averaged (the kernel in
 * jacobi_kernels.cu does the same operations in the same order) */
static inline double point(const double *src, long rows, long cols, long i, long j)
{
    if (i == 0 || j == 0 || i == rows - 1 || j == cols - 1)
        return src[i * cols + j];
    double s = src[(i - 1) * cols + j] + src[(i + 1) * cols + j];
    s += src[i * cols + j - 1] + src[i * cols + j + 1];
    return 0.25 * s;
}

int sweep_cuda(const double *src, double *dst, long rows, long cols, long first,
               long nrows, struct dag_cuda_ctx *ctx);

/* rows [first, first + nrows) of dst from src; src's range holds the halo rows too */
#pragma dag task depend(in: src[(first > 0 ? first - 1 : 0) * cols : \
    ((first + nrows < rows ? first + nrows + 1 : rows) - (first > 0 ? first - 1 : 0)) * cols]) \
    depend(out: dst[first * cols : nrows * cols]) variant(cuda: sweep_cuda)
void sweep(const double *src, double *dst, long rows, long cols, long first, long nrows);

void sweep(const double *src, double *dst, long rows, long cols, long first, long nrows)
{
    for (long i = first; i < first + nrows; i++)
        for (long j = 0; j < cols; j++)
            dst[i * cols + j] = point(src, rows, cols, i, j);
}

static void reference(double *a, double *b, long rows, long cols, int sweeps)
{
    for (int s = 0; s < sweeps; s++) {
        double *src = s % 2 ? b : a, *dst = s % 2 ? a : b;
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++)
                dst[i * cols + j] = point(src, rows, cols, i, j);
    }
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 4096, cols = argc > 2 ? atol(argv[2]) : 8192;
    long br = argc > 3 ? atol(argv[3]) : 512;
    int sweeps = argc > 4 ? atoi(argv[4]) : 10;
    if (dag_cuda_device_count() == 0) {
        printf("jacobi: no GPU\n");
        return 77;
    }
    size_t n = (size_t)rows * cols;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *ra = malloc(n * sizeof *a), *rb = malloc(n * sizeof *b);
    if (!a || !b || !ra || !rb)
        return 2;
    for (size_t i = 0; i < n; i++)
        a[i] = ra[i] = (double)((i * 2654435761u) % 1000) / 7.0;
    memcpy(b, a, n * sizeof *a);
    memcpy(rb, a, n * sizeof *a);
    for (int s = 0; s < sweeps; s++) {
        double *src = s % 2 ? b : a, *dst = s % 2 ? a : b;
        for (long f = 0; f < rows; f += br)
            sweep(src, dst, rows, cols, f, f + br <= rows ? br : rows - f);
    }
    #pragma dag taskwait
    reference(ra, rb, rows, cols, sweeps);
    const double *got = sweeps % 2 ? b : a, *want = sweeps % 2 ? rb : ra;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += got[i] != want[i];
    dag_cuda_stats_t st;
    dag_cuda_stats(&st);
    printf("jacobi %ldx%ld, blocks of %ld rows (%.0f MiB), %d sweeps: %zu differences, "
           "%llu GPU / %llu CPU tasks, %llu host registrations\n", rows, cols, br,
           br * cols * 8.0 / 1048576, sweeps, bad, (unsigned long long)st.gpu_tasks,
           (unsigned long long)st.cpu_tasks,
           (unsigned long long)st.host_registers);
    free(a); free(b); free(ra); free(rb);
    return bad != 0;
}
