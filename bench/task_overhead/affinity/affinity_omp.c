/* affinity_omp.c: does the affinity clause keep a block's tasks on one core? ROUNDS
 * rounds; in each, one task per block sweeps its block (a 3-point smoothing, read and
 * written in place), naming the block in affinity(...), then a taskwait. Blocks are
 * sized so that each core's share fits its L2 while the whole set does not fit one
 * core's. Without the hint, who runs a block's task changes from round to round (the
 * creator's deque, stolen in any order); with it, the worker that swept the block last.
 * Built by dagcc -fopenmp (DAG_AFFINITY=0|1), gcc -fopenmp (libgomp) and clang -fopenmp
 * (LLVM libomp): the same source. Prints ns per round and a checksum.
 * Usage: affinity_omp BLOCKS BLOCK_KIB ROUNDS SWEEPS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sweep(double *b, size_t n, int sweeps)
{
    for (int s = 0; s < sweeps; s++)
        for (size_t i = 1; i + 1 < n; i++)
            b[i] = 0.25 * b[i - 1] + 0.5 * b[i] + 0.25 * b[i + 1];
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s BLOCKS BLOCK_KIB ROUNDS SWEEPS\n", argv[0]);
        return 2;
    }
    int nb = atoi(argv[1]), rounds = atoi(argv[3]), sweeps = atoi(argv[4]);
    size_t n = (size_t)atoi(argv[2]) * 1024 / sizeof(double);
    if (nb <= 0 || n < 3 || rounds <= 0 || sweeps <= 0)
        return 2;
    double *data = malloc(sizeof(double) * n * (size_t)nb);
    if (!data)
        return 1;
    for (size_t i = 0; i < n * (size_t)nb; i++)
        data[i] = (double)(i % 97);
    double t0 = 0;
#pragma omp parallel
#pragma omp single
    {
        for (int r = 0; r < rounds + 1; r++) {
            if (r == 1)
                t0 = now(); /* round 0 places every block once */
            for (int b = 0; b < nb; b++) {
                double *blk = data + (size_t)b * n;
#pragma omp task affinity(blk[0:n]) firstprivate(blk)
                sweep(blk, n, sweeps);
            }
#pragma omp taskwait
        }
    }
    double t = now() - t0, sum = 0;
    for (size_t i = 0; i < n * (size_t)nb; i += 101)
        sum += data[i];
    printf("ns_per_round=%.0f checksum=%.6e\n", t / rounds * 1e9, sum);
    free(data);
    return 0;
}
