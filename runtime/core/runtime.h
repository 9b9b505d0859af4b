/* runtime.h: the process-wide runtime state (one instance between dag_init and
 * dag_finalize) and the accessors every file uses to reach it. Configuration read from
 * DAG_* environment variables lands here; nothing else keeps global state. */
#ifndef DAG_RUNTIME_H
#define DAG_RUNTIME_H

#include <pthread.h>

#include "task.h"
#include "../sched/sleep.h"

enum { RT_OFF = 0, RT_RUNNING = 1, RT_STOPPING = 2 };

struct rt_hooks; /* trace/observability callbacks, see core/hooks.h */

struct runtime {
    atomic_int state;
    unsigned gen;                 /* incremented by every dag_finalize */
    int nthreads;
    int bind;
    long spin_ns;                 /* idle spin before sleeping */
    long throttle;                /* ready tasks queued per worker before running inline */
    struct worker *workers;       /* nthreads entries; workers[0] is the initialising thread */
    struct pool task_pool, succ_pool, rec_pool;
    struct eventcount ec;         /* idle workers and waiting threads sleep here */
    atomic_int stop;
    pthread_mutex_t ext_lock;     /* protects ext_ctxs */
    struct tctx *ext_ctxs;        /* contexts of threads that are not workers */
    atomic_uint next_ctx_index;
    atomic_ulong lost_wakeups;    /* sleeps that timed out and found work: should stay 0 */
    const struct rt_hooks *hooks; /* NULL unless tracing or statistics are on */
};

extern struct runtime rt;

/* The calling thread's context, starting the runtime first if needed. NULL only if the
 * runtime could not start. */
struct tctx *ctx_get(void);
struct tctx *ctx_slow(void);
extern __thread struct tctx *tls_ctx;

static inline struct tctx *ctx_fast(void)
{
    struct tctx *c = tls_ctx;
    if (likely(c && c->gen == rt.gen && atomic_load_explicit(&rt.state, RELAXED) == RT_RUNNING))
        return c;
    return ctx_slow();
}

long env_long(const char *name, long dflt, long lo, long hi);

#endif
