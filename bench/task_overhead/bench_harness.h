/* bench_harness.h: the timing loop shared by every benchmark binary of this folder
 * (task_overhead_*, metg_*, tiled_*; dagcc, libgomp, LLVM libomp and StarPU alike), so
 * that the implementations differ only in how they express the graph: one warm-up
 * repetition, then REPS timed ones, each prepared and verified outside the timing. */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stdint.h>

/* What one repetition does; `rep` is -1 for the warm-up. `prepare` and `verify` are not
 * timed (either may be NULL); `run` is, and must return only when its tasks are done (its
 * own taskwait / wait_for_all). run and verify return 1 on success, 0 on failure. */
struct bench_ops {
    void (*prepare)(int rep, void *ctx);
    int (*run)(int rep, void *ctx);
    int (*verify)(int rep, void *ctx);
};

/* Run the warm-up and `reps` timed repetitions; ns[rep] gets repetition rep's wall time
 * (CLOCK_MONOTONIC). Stops at the first failure. Returns 1 when every repetition ran and
 * verified, 0 otherwise. Safe to call inside an OpenMP `single` region: the tasks `run`
 * creates are then the region's. */
int bench_time_reps(int reps, const struct bench_ops *ops, void *ctx, uint64_t *ns);

#endif /* BENCH_HARNESS_H */
