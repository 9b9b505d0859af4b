/* bench_harness.c: the shared timing loop of bench_harness.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench_harness.h"

#include "bench_clock.h"

int bench_time_reps(int reps, const struct bench_ops *ops, void *ctx, uint64_t *ns)
{
    for (int rep = -1; rep < reps; rep++) {
        if (ops->prepare)
            ops->prepare(rep, ctx);
        uint64_t t0 = bench_clock_ns();
        int ok = ops->run(rep, ctx);
        uint64_t t1 = bench_clock_ns();
        if (!ok || (ops->verify && !ops->verify(rep, ctx)))
            return 0;
        if (rep >= 0)
            ns[rep] = t1 - t0;
    }
    return 1;
}
