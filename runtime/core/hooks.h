/* hooks.h: the observability seam. Tracing, statistics and hang diagnosis install a
 * table of callbacks in rt.hooks before tasks run; the hot paths test one pointer and
 * call nothing when it is NULL. Callbacks run on the thread where the event happens and
 * must not block. */
#ifndef DAG_HOOKS_H
#define DAG_HOOKS_H

#include "runtime.h"

struct rt_hooks {
    void (*task_submit)(struct tctx *c, struct task *t);   /* after its edges exist */
    void (*task_edge)(struct task *pred, struct task *succ);
    void (*task_start)(struct tctx *c, struct task *t);    /* body about to run */
    void (*task_end)(struct tctx *c, struct task *t, int rc); /* body returned / skipped */
    void (*thread_sleep)(struct tctx *c, int asleep);      /* idle worker sleeps / wakes */
    /* For the device and communication layers (runtime/cuda, runtime/comm). Times are
     * CLOCK_MONOTONIC nanoseconds; `lane` numbers a CUDA stream, copy engine or peer rank
     * (OBS_LANE_* in obs/obs.h); `c` may be NULL on threads that are not the runtime's. */
    void (*transfer)(struct tctx *c, int kind, size_t bytes, uint64_t t0, uint64_t t1,
                     int lane);                            /* kind: HOOK_XFER_* */
    void (*task_span)(struct tctx *c, struct task *t, uint64_t t0, uint64_t t1,
                      int lane);                           /* t ran on a device lane */
    /* t's dependency list, before its edges are added (hang diagnosis shows it) */
    void (*task_deps)(struct tctx *c, struct task *t, const dag_dep_t *deps, size_t ndeps);
};

enum { HOOK_XFER_H2D = 0, HOOK_XFER_D2H, HOOK_XFER_D2D, HOOK_XFER_SEND, HOOK_XFER_RECV };

static inline void hooks_transfer(struct tctx *c, int kind, size_t bytes, uint64_t t0,
                                  uint64_t t1, int lane)
{
    if (unlikely(rt.hooks) && rt.hooks->transfer)
        rt.hooks->transfer(c, kind, bytes, t0, t1, lane);
}

static inline void hooks_span(struct tctx *c, struct task *t, uint64_t t0, uint64_t t1, int lane)
{
    if (unlikely(rt.hooks) && rt.hooks->task_span)
        rt.hooks->task_span(c, t, t0, t1, lane);
}

static inline void hooks_deps(struct tctx *c, struct task *t, const dag_dep_t *deps, size_t n)
{
    if (unlikely(rt.hooks) && rt.hooks->task_deps)
        rt.hooks->task_deps(c, t, deps, n);
}

static inline void hooks_edge(struct task *p, struct task *s)
{
    if (rt.hooks->task_edge)
        rt.hooks->task_edge(p, s);
}

static inline void hooks_submit(struct tctx *c, struct task *t)
{
    if (unlikely(rt.hooks) && rt.hooks->task_submit)
        rt.hooks->task_submit(c, t);
}

static inline void hooks_start(struct tctx *c, struct task *t)
{
    if (unlikely(rt.hooks) && rt.hooks->task_start)
        rt.hooks->task_start(c, t);
}

static inline void hooks_end(struct tctx *c, struct task *t, int rc)
{
    if (unlikely(rt.hooks) && rt.hooks->task_end)
        rt.hooks->task_end(c, t, rc);
}

#endif
