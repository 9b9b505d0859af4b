/* task.h: the task descriptor and the per-thread context, shared by every part of the
 * runtime. Descriptors come from per-thread pools (mem/pool.h) and are type-stable, so
 * a dependency record may keep a pointer to a finished task and detect that it is stale
 * by comparing `state` with the sequence number it saw (see `task_live`). */
#ifndef DAG_TASK_H
#define DAG_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "dag.h"
#include "../mem/pool.h"
#include "sync.h"
#include "visibility.h"

struct domain;
struct taskgroup;
struct mutexobj;
struct failure;
struct worker;
struct ft_task;

#define TASK_ARGS_INLINE 96
#define SUCC_INLINE 4
#define MTX_INLINE 2

/* dag_task_attr_t.flags: the public bits (include/dag.h) and, in DAG_TASK_INTERNAL_MASK,
 * the runtime's own. dag_submit rejects every bit outside DAG_TASK_PUBLIC_MASK with
 * DAG_ERR_INVALID; the private bits reach the core only through task_submit (ckpt) and
 * task_submit_local (comm), which users cannot call. */
#define DAG_TASK_PUBLIC_MASK \
    (DAG_TASK_UNDEFERRED | DAG_TASK_FINAL | DAG_TASK_ON_NODE | DAG_TASK_DETACHABLE)
#define DAG_TASK_INTERNAL_MASK 0xff000000u
/* the task's body makes its inputs current on the host itself, through rt.host->home_*,
 * so the device layer neither defers it nor waits for copies before its body runs
 * (comm/flow.c: staged sends) */
#define DAG_TASK_STAGES 0x40000000u
/* a checkpoint snapshot task (ckpt/ckpt.c) */
#define DAG_TASK_SNAPSHOT 0x20000000u
_Static_assert(!(DAG_TASK_PUBLIC_MASK & DAG_TASK_INTERNAL_MASK) &&
                   ((DAG_TASK_STAGES | DAG_TASK_SNAPSHOT) & ~DAG_TASK_INTERNAL_MASK) == 0,
               "private task flags overlap the public ones");

/* task.flags (immutable after submission) */
enum {
    TF_UNDEFERRED = 1u << 0, /* if(false): run by the submitting thread */
    TF_FINAL = 1u << 1,      /* final: descendants run inline */
    TF_STACK = 1u << 2,      /* descriptor on a thread's stack: inline task or implicit task */
    TF_IMPLICIT = 1u << 3,   /* a thread's implicit task: never completes */
    TF_EXT_ARGS = 1u << 4,   /* args were malloc'ed (too large for argbuf) */
    TF_EXT_MTX = 1u << 5,    /* mtx was malloc'ed (more than MTX_INLINE mutexes) */
    TF_DETACHABLE = 1u << 6, /* completion may wait for an event: see `detach` */
    TF_STAGES = 1u << 7,     /* DAG_TASK_STAGES: the body brings its inputs home itself */
    TF_DEVICE = 1u << 8      /* TF_DETACHABLE because of its CUDA variant, not `detach`: a
                                failed attempt may be re-run (core/retry.c ft_redo) */
};

/* task.counts packs two counters so that a child that finishes with no live children
 * updates its parent with one atomic operation:
 *   low 32 bits:  children whose body has not finished (dag_taskwait waits for 0)
 *   high 32 bits: 1 for the task's own body + children not yet freed (free at 0) */
#define C_CHILD ((uint64_t)1)
#define C_REF ((uint64_t)1 << 32)
#define C_LOW(x) ((uint32_t)(x))
#define C_HIGH(x) ((uint32_t)((x) >> 32))

/* task.state: (seq << 1) | TS_DONE. seq grows by one each time the descriptor is reused,
 * so a (pointer, seq) pair names one task forever. Written under `lock` when DONE is set;
 * the pool never overwrites it (it lies beyond the pool's two link words). */
#define TS_DONE ((uint64_t)1)

struct succ_chunk {
    struct succ_chunk *next; /* word 0 */
    void *pool_word;         /* word 1: pool link while free */
    uint32_t n;
    struct task *t[13];
};

struct task {
    struct task *next; /* word 0: scheduler queues, mutex wait lists; pool link when free */
    dag_task_fn fn;    /* word 1: pool link when free */
    _Atomic uint64_t state;
    spinlock_t lock;            /* protects succ, nsucc, more, last_succ and the DONE bit */
    atomic_int npreds;          /* unfinished predecessors (+1 while being submitted) */
    uint32_t flags;
    int32_t priority;
    void *args;
    struct task *parent;
    struct taskgroup *group;    /* innermost taskgroup the task was created in, or NULL */
    _Atomic uint64_t counts;    /* C_CHILD / C_REF, above */
    struct domain *domain;      /* children's dependency records; used by the body's thread only */
    struct failure *_Atomic fail;  /* first unreported failure among the children */
    struct failure *_Atomic cause; /* set when a predecessor failed: the task is cancelled */
    struct failure *_Atomic zombie; /* failed or cancelled and finished: see core/poison.c */
    struct task *_Atomic zombies;  /* this task's failed children kept as poison */
    atomic_int ready;           /* TF_UNDEFERRED: predecessors are done */
    uint32_t nsucc;
    struct task *succ[SUCC_INLINE];
    struct succ_chunk *more;
    struct task *last_succ;     /* the successor added last, to skip duplicate edges */
    uint32_t nmtx;
    struct mutexobj **mtx;      /* sorted by address; points at mtx_inline or the heap */
    struct mutexobj *mtx_inline[MTX_INLINE];
    uint64_t id;                /* unique per runtime instance: (thread index << 40) | count */
    const char *label;
    const char *file;
    int line, col;
    int device, node;
    int prepared;               /* rt.dev->prepare has seen it (and may have deferred it
                                   once): it runs without a second prepare */
    int aff;                    /* affinity hint's slot (sched/affinity.c), 0: none */
    dag_cuda_fn cuda;
    void *ext;                  /* reserved for the device and communication layers */
    struct ft_task *ft;         /* retry, crash and snapshot state (core/ft.h), or NULL */
    atomic_int detach;          /* TF_DETACHABLE: 1 for the body + 1 for an unfulfilled event */
    int detach_rc;              /* the body's return code, kept until the event completes it */
    atomic_int event_rc;        /* code given to dag_event_fulfill */
    atomic_int fulfilled;       /* the event was fulfilled (a second fulfilment is refused) */
    _Alignas(16) char argbuf[TASK_ARGS_INLINE];
};

/* Has a successor been attached to t yet? Read without t->lock: a hint for layers that
 * guess whether anything will read t's results soon (runtime/cuda: eager write-back). */
static inline int task_has_successors(const struct task *t)
{
    return __atomic_load_n(&t->nsucc, __ATOMIC_RELAXED) != 0 ||
           __atomic_load_n(&t->more, __ATOMIC_RELAXED) != NULL;
}

/* Early release (core/early.c): t->last_succ holds TASK_EARLY once the successors that
 * chain (task_chains) were released when t was launched on a device, before it completed.
 * A task submitted later that chains then gets no edge from t (the device layer orders
 * it by events); one that does not chain still waits for t's completion. Read and
 * written under t->lock; init_task clears it with last_succ. */
#define TASK_EARLY ((struct task *)(uintptr_t)1)

/* s runs on a device, launched from a worker: it may start as soon as its predecessor
 * was launched (the device layer orders their data with events). Not undeferred, staged
 * (comm) or user-detachable tasks, nor tasks forced onto the CPU. Stable after s was
 * initialised. */
static inline int task_chains(const struct task *s)
{
    return (s->flags & (TF_DEVICE | TF_STAGES | TF_UNDEFERRED)) == TF_DEVICE &&
           s->device != DAG_DEVICE_CPU;
}

/* A pair that stays meaningful after the task is recycled. */
static inline uint64_t task_seq(const struct task *t)
{
    return atomic_load_explicit(&((struct task *)t)->state, RELAXED) >> 1;
}

/* Per-thread context: one per worker thread and one per other thread that calls the API.
 * Only its own thread touches it, except `implicit.counts` and `implicit.fail`. */
struct tctx {
    struct worker *w;            /* NULL for threads that are not workers */
    struct task *cur;            /* the task whose body this thread is running */
    struct taskgroup *group;     /* innermost open taskgroup of `cur` */
    struct pool_cache task_cache, succ_cache, rec_cache;
    uint64_t next_id;
    uint32_t rng;
    unsigned gen;                /* runtime instance this context belongs to */
    unsigned index;              /* thread index: worker id, or nthreads + n for others */
    struct tctx *next_ext;       /* list of persistent (non-worker-thread) contexts */
    /* The descriptor of the next task run inline (work-first, throttle, undeferred), kept
     * clean between runs so that starting one writes only what differs from task to task;
     * NULL while it is in use (a nested inline task takes one on the stack). */
    struct task *inline_slot;
    struct task implicit;        /* the thread's implicit task (the sequential flow) */
    struct task inline_task;     /* what inline_slot points at */
};

struct taskgroup {
    atomic_long count;           /* tasks created in the group and not yet finished */
    struct taskgroup *outer;
    struct task *owner;          /* the task whose body opened it */
    struct failure *_Atomic fail;
};

/* core/task.c */
struct task *task_execute(struct tctx *c, struct task *t);
void task_make_ready(struct tctx *c, struct task *t, struct task **imm);
void task_init_implicit(struct tctx *c, unsigned thread_index);
/* Make t (TF_DETACHABLE, its body running) complete on an event instead of on return. */
int task_detach(struct task *t, dag_event_t *ev);
/* dag_submit without the check of attr->flags: the entry of the runtime's own layers
 * (ckpt/ckpt.c), whose tasks may carry DAG_TASK_INTERNAL_MASK bits. */
dag_status_t task_submit(dag_task_fn fn, const void *args, size_t args_size,
                         const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr);
/* Past the distributed layer (rt.interpose): a task this process runs (comm/flow.c). */
dag_status_t task_submit_local(dag_task_fn fn, const void *args, size_t args_size,
                               const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr);

/* core/early.c: t (a TF_DEVICE task, launched, not complete) releases the successors
 * that chain now and marks itself TASK_EARLY; returns how many it released. */
DAG_INTERNAL int task_release_early(struct tctx *c, struct task *t);

/* core/failure.c: failure records */
struct failure *failure_new(const struct task *t, int code);
void failure_ref(struct failure *f);
void failure_unref(struct failure *f);
void failure_report(struct failure *_Atomic *slot, struct failure *f);
dag_status_t failure_consume(struct tctx *c, struct failure *_Atomic *slot);
void failure_count_cancelled(struct failure *f);
int failure_reported(const struct failure *f);

/* Classify the task named (t, seq) (a dependency record's member, core/deps.c; zombies
 * are core/poison.c's): 1 live, 0 finished (or reused), -1 a zombie, whose
 * failure is stored in *zombie (valid while the calling thread owns t's parent). */
static inline int member_state(struct task *t, uint64_t seq, struct failure **zombie)
{
    uint64_t st = atomic_load_explicit(&t->state, ACQUIRE);
    if (st == seq << 1)
        return 1;
    if (st != ((seq << 1) | TS_DONE))
        return 0;
    struct failure *f = atomic_load_explicit(&t->zombie, ACQUIRE);
    /* re-read: a finished task that is not a zombie may be reused under our feet */
    if (!f || atomic_load_explicit(&t->state, ACQUIRE) != st)
        return 0;
    if (zombie)
        *zombie = f;
    return -1;
}

/* core/poison.c */
void zombie_push(struct task *parent, struct task *t);
void zombies_collect(struct tctx *c, struct task *parent, int all);
void zombie_for_inline(struct tctx *c, struct task *parent, struct failure *f,
                       const dag_dep_t *deps, size_t ndeps);

/* core/mutexset.c */
struct mutexobj *mutexobj_new(void);
void mutexobj_unref(struct mutexobj *m);
void mutexobj_unref_tagged(struct mutexobj *entry);
int task_add_mutex(struct task *t, struct mutexobj *m, int shared);
int mutexes_acquire(struct tctx *c, struct task *t, int park);
void mutexes_release(struct tctx *c, struct task *t);

#endif
