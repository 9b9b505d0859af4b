/* sched.h: the scheduler's interface to the rest of the runtime: making a ready task
 * runnable, finding the next task for a thread, and waiting for a condition while
 * running tasks. The scheduler sits below the task core (runtime/core): it sees the
 * task and context types and the runtime's settings, and runs a task only through the
 * runner the core hands to sched_init. Policies (priorities, stealing, sleeping) are
 * documented in sched.c. */
#ifndef DAG_SCHED_H
#define DAG_SCHED_H

#include <pthread.h>

#include "../core/task.h"
#include "deque.h"
#include "queues.h"

struct worker {
    struct deque dq;
    int id;
    int cpu_index;               /* core or PU the worker is bound to, or -1 */
    pthread_t thread;
    struct tctx *ctx;
    void *saved_binding;         /* worker 0: the thread's binding before dag_init */
    /* Steal pacing (sched.c), owner only: the task in hand was stolen; stolen tasks that
     * ran for less than rt.steal_tiny_ns in a row; no stealing before this time. */
    int stolen;
    unsigned tiny_streak;
    uint64_t no_steal_until;
    int victim;                  /* the worker the last task was stolen from */
    unsigned long victim_inlined;/* its `inlined` when that task was stolen */
    /* Tasks this worker ran inline past the throttle (written by the owner only): a
     * thief pauses only while the worker it steals from keeps producing work. */
    atomic_ulong inlined;
    /* Ready tasks whose affinity hint names data this worker touched last (affinity.c):
     * pushed by any thread, taken by this worker first, by idle ones otherwise. */
    struct task_fifo box;
};

void sched_push(struct tctx *c, struct task *t);
struct task *sched_pop(struct tctx *c);
void sched_run(struct tctx *c, struct task *t);
/* Run tasks until done(arg) holds. done must be cheap and must become true only through
 * stores followed by ec_notify(&rt.ec, 1). */
void sched_wait(struct tctx *c, int (*done)(void *), void *arg);

/* The task core's runner (core/task.c: task_execute): runs t, returns a successor to
 * run next or NULL. The scheduler calls nothing else above it. */
typedef struct task *(*sched_runner_fn)(struct tctx *c, struct task *t);
int sched_init(sched_runner_fn run);
int sched_start_workers(void);
void sched_stop_workers(void);
void sched_fini(void);

/* sched/bind.c */
int bind_default_nthreads(void);
void bind_thread(struct worker *w);
void bind_restore(struct worker *w);

#endif
