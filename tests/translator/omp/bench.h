/* bench.h: shared by the OpenMP-compat programs, which double as the OpenMP-compat
 * benchmark (bench/translator/run.sh builds them with larger sizes through -D). Each
 * program prints `TIME <seconds>` for its parallel region alone; `--no-check` skips the
 * sequential reference run (the benchmark checks its first run only). */
#ifndef OMP_BENCH_H
#define OMP_BENCH_H
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int bench_check(int argc, char **argv)
{
    return !(argc > 1 && strcmp(argv[1], "--no-check") == 0);
}

static inline void bench_report(double t0, double t1)
{
    printf("TIME %.6f\n", t1 - t0);
}
#endif
