/* runtime.h: the process-wide runtime state (one instance between dag_init and
 * dag_finalize) and the accessors every file uses to reach it. Configuration read from
 * DAG_* environment variables lands here; nothing else keeps global state. */
#ifndef DAG_RUNTIME_H
#define DAG_RUNTIME_H

#include <pthread.h>

#include "task.h"
#include "visibility.h"
#include "../sched/sleep.h"

enum { RT_OFF = 0, RT_RUNNING = 1, RT_STOPPING = 2 };

struct rt_hooks; /* trace/observability callbacks, see core/hooks.h */

/* The device seam (runtime/cuda/): when installed, every task passes through on_submit
 * (after its descriptor exists, before its dependencies are registered: keep what the
 * placement and coherence need in task.ext) and runs through exec instead of calling
 * task.fn directly; exec may run the CPU body, or launch a device implementation, call
 * task_detach() and fulfil the event when the device is done. on_wait runs when a
 * dag_taskwait() returns, to make results visible on the host. Tasks with a CUDA
 * implementation are TF_DETACHABLE while a device layer is installed. */
struct rt_device_ops {
    dag_status_t (*on_submit)(struct tctx *c, struct task *t, const dag_dep_t *deps,
                              size_t ndeps);
    /* Before the body of a ready task (its mutexes held): non-zero when it cannot run
     * yet (its inputs are still being copied back to the host); the layer then calls
     * task_resume() when it may, and the task runs without a second prepare. May be NULL. */
    int (*prepare)(struct tctx *c, struct task *t);
    int (*exec)(struct tctx *c, struct task *t);
    void (*on_wait)(struct tctx *c);
    /* A failed attempt of a task with retries left whose CUDA variant made it detachable
     * (TF_DEVICE, core/retry.c ft_redo): the layer voids what the attempt wrote (device
     * copies invalidated, the host copy current again: retry.c then restores its bytes)
     * and decides where the next attempt runs. Returns 0 when it may run again. May be
     * NULL (no retries for such tasks). */
    int (*redo)(struct tctx *c, struct task *t);
};

/* The comm <-> cuda seam (docs/architecture.md): host-memory services the CUDA layer
 * offers the communication layer, installed in rt.host by the CUDA plugin while it runs
 * (NULL otherwise). The core never calls them; it only holds the pointer, so that neither
 * plugin links against the other. */
struct rt_host_ops {
    /* Staging for the layers' own transfer tasks (DAG_TASK_STAGES, e.g. a distributed send
     * of data that may be dirty on a device): home_begin starts copying [addr, addr+len)
     * to the host in pieces of `chunk` bytes and returns a handle, or NULL when the host
     * bytes are current; home_poll returns how many bytes from addr are home by now (-1:
     * a copy failed); home_end releases the handle. May be NULL. */
    void *(*home_begin)(void *addr, size_t len, size_t chunk);
    long long (*home_poll)(void *h);
    void (*home_end)(void *h);
    /* Host memory the runtime owns (distributed tiles): the layer may keep it page-locked
     * across waits. host_release: the pages of [base, base+len) are about to be dropped
     * (madvise) or, when `gone`, unmapped (base, len as given to host_keep): no
     * registration may outlive them. Both may be NULL. */
    void (*host_keep)(void *base, size_t len);
    void (*host_release)(void *base, size_t len, int gone);
};

#define RT_POLL_GIVE_UP ((struct task **)1)

/* The distribution seam (runtime/comm/): sees every task submitted by a thread's
 * implicit task (the replicated top-level flow) and calls task_submit_local() for those
 * this process runs, adding communication tasks as needed. */
typedef dag_status_t (*rt_interpose_fn)(struct tctx *c, dag_task_fn fn, const void *args,
                                        size_t args_size, const dag_dep_t *deps, size_t ndeps,
                                        const dag_task_attr_t *attr);

struct runtime {
    atomic_int state;
    unsigned gen;                 /* incremented by every dag_finalize */
    int nthreads;
    int bind;
    long spin_ns;                 /* idle spin before sleeping */
    long throttle;                /* ready tasks queued per worker before running inline */
    long steal_tiny_ns;           /* stolen tasks shorter than this pace the thief (0: off) */
    struct worker *workers;       /* nthreads entries; workers[0] is the initialising thread */
    struct pool task_pool, succ_pool, rec_pool;
    struct eventcount ec;         /* idle workers and waiting threads sleep here */
    atomic_int stop;
    pthread_mutex_t ext_lock;     /* protects ext_ctxs */
    struct tctx *ext_ctxs;        /* contexts of threads that are not workers */
    atomic_uint next_ctx_index;
    atomic_ulong lost_wakeups;    /* sleeps that timed out and found work: should stay 0 */
    const struct rt_hooks *hooks; /* NULL unless tracing or statistics are on */
    const struct rt_device_ops *dev; /* NULL unless a device layer is active */
    const struct rt_host_ops *host;  /* the comm <-> cuda seam: NULL unless CUDA runs */
    rt_interpose_fn interpose;    /* NULL unless running distributed */
    /* Progress hook of the distributed layer: an idle thread calls it before sleeping.
     * Returns -1 when nothing is in flight (sleep), 0 when transfers are pending but none
     * completed, > 0 when it completed some (their successors may now be ready; one of
     * them may come back in *imm, for this thread to run without waking another).
     * The thread ends a polling spell with poll(NULL) when it found work, or with
     * poll(RT_POLL_GIVE_UP) when it is going to sleep. */
    int (*_Atomic poll)(struct task **imm); /* *imm: a released task to run next */
    long poll_ns;                 /* how long an idle thread polls without progress */
    int poll_yield;               /* poll with sched_yield (more ranks than cores) */
};

DAG_INTERNAL extern struct runtime rt;
DAG_INTERNAL int task_detach(struct task *t, dag_event_t *ev);
DAG_INTERNAL void task_resume(struct task *t); /* requeue a task deferred by dev->prepare */
/* dag_event_fulfill, handing back the released successor the caller should run next
 * (*imm, or NULL) instead of queueing it. */
DAG_INTERNAL dag_status_t task_fulfill(dag_event_t ev, int code, struct task **imm);
DAG_INTERNAL dag_status_t task_submit_local(dag_task_fn fn, const void *args, size_t args_size,
                                            const dag_dep_t *deps, size_t ndeps,
                                            const dag_task_attr_t *attr);

/* The calling thread's context, starting the runtime first if needed. NULL only if the
 * runtime could not start. */
DAG_INTERNAL struct tctx *ctx_get(void);
struct tctx *ctx_slow(void);
/* Thread-local state of the runtime and its plugins: initial-exec, so an access is one
 * load from the thread pointer instead of a __tls_get_addr call (the library and its
 * plugins are small users of the static TLS block that glibc keeps for this). */
#define RT_TLS __thread __attribute__((tls_model("initial-exec")))
extern RT_TLS struct tctx *tls_ctx;

static inline struct tctx *ctx_fast(void)
{
    struct tctx *c = tls_ctx;
    if (likely(c && c->gen == rt.gen && atomic_load_explicit(&rt.state, RELAXED) == RT_RUNNING))
        return c;
    return ctx_slow();
}

DAG_INTERNAL long env_long(const char *name, long dflt, long lo, long hi);

#endif
