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
};

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
