/* to_omp.c: the task_overhead patterns written with `#pragma omp task depend(...)`. This
 * one file is built twice: by gcc -fopenmp (anchor "libgomp") and by clang-14 -fopenmp
 * (anchor "libomp", LLVM's runtime). Usage: task_overhead_libgomp PATTERN THREADS REPS. */
#include "to_common.h"

#include <omp.h>
#include <stdio.h>

#ifndef TO_IMPL
#if defined(__clang__)
#define TO_IMPL "libomp"
#else
#define TO_IMPL "libgomp"
#endif
#endif

/* Each function runs inside `parallel` + `single`: it creates the pattern's tasks from
 * the single thread and waits for them. */

static void run_independent(unsigned char value)
{
    unsigned char *a = to_indep;
    for (long i = 0; i < TO_INDEP_N; i++) {
#pragma omp task firstprivate(i, a, value)
        a[i] = value;
    }
#pragma omp taskwait
}

static void run_chain(void)
{
    for (long i = 0; i < TO_CHAIN_N; i++) {
#pragma omp task depend(inout : to_chain_x)
        to_chain_x += 1;
    }
#pragma omp taskwait
}

static void run_fanout(void)
{
    uint32_t *seen = to_fan_seen;
    for (long r = 0; r < TO_FAN_ROUNDS; r++) {
        for (long k = 0; k < TO_FAN_READERS; k++) {
#pragma omp task depend(in : to_fan_x) firstprivate(seen, r, k)
            seen[r * TO_FAN_READERS + k] = (uint32_t)to_fan_x;
        }
#pragma omp task depend(inout : to_fan_x)
        to_fan_x += 1;
    }
#pragma omp taskwait
}

static void run_wavefront(void)
{
    uint64_t(*g)[TO_WAVE_N] = (uint64_t(*)[TO_WAVE_N])to_wave;
    (void)g; /* gcc counts uses in depend clauses as no use */
    for (int i = 0; i < TO_WAVE_N; i++) {
        for (int j = 0; j < TO_WAVE_N; j++) {
            if (i > 0 && j > 0) {
#pragma omp task depend(in : g[i - 1][j], g[i][j - 1]) depend(inout : g[i][j]) firstprivate(i, j)
                to_wave_body(i, j);
            } else if (i > 0) {
#pragma omp task depend(in : g[i - 1][j]) depend(inout : g[i][j]) firstprivate(i, j)
                to_wave_body(i, j);
            } else if (j > 0) {
#pragma omp task depend(in : g[i][j - 1]) depend(inout : g[i][j]) firstprivate(i, j)
                to_wave_body(i, j);
            } else {
#pragma omp task depend(inout : g[i][j]) firstprivate(i, j)
                to_wave_body(i, j);
            }
        }
    }
#pragma omp taskwait
}

/* Called inside `single`: the tasks are the region's. */
static int run_pattern(int pattern, int rep)
{
    switch (pattern) {
    case TO_INDEPENDENT: run_independent(to_indep_value(rep)); return 1;
    case TO_CHAIN: run_chain(); return 1;
    case TO_FANOUT: run_fanout(); return 1;
    case TO_WAVEFRONT: run_wavefront(); return 1;
    default: return 0;
    }
}

int main(int argc, char **argv)
{
    int pattern, threads, reps, ok = 1, got_threads = 0;
    uint64_t ns[TO_MAX_REPS];
    to_parse_args(argc, argv, &pattern, &threads, &reps);
    to_data_init();

    /* One parallel region for the warm-up (rep -1) and every timed repetition, so that
     * thread start-up is not measured. */
#pragma omp parallel num_threads(threads) shared(ok, got_threads, ns)
#pragma omp single
    {
        got_threads = omp_get_num_threads();
        ok = to_time_reps(pattern, reps, run_pattern, ns);
    }
    if (got_threads != threads) {
        fprintf(stderr, "%s: asked for %d threads, got %d\n", TO_IMPL, threads, got_threads);
        return 1;
    }
    if (!ok) {
        fprintf(stderr, "%s: %s on %d threads: wrong result\n", TO_IMPL,
                to_pattern_name(pattern), threads);
        return 1;
    }
    to_report(TO_IMPL, pattern, threads, reps, ns);
    return 0;
}
