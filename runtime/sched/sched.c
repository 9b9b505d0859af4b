/* sched.c: workers, the order in which a thread looks for work, and sleeping.
 *
 * Policy (documented in docs/architecture.md):
 *  - A task made ready by a worker goes to that worker's deque (LIFO for the owner, FIFO
 *    for thieves); one ready successor of a finishing task is run next by the same worker
 *    without queueing (immediate successor). Tasks with a non-zero priority go to a
 *    shared heap instead; threads that are not workers use a shared FIFO.
 *  - A thread looking for work takes, in order: a positive-priority task from the heap,
 *    its own deque, its affinity box, the shared FIFO, a task stolen from another worker
 *    (victims tried from a random start), a task from another worker's affinity box, a
 *    negative-priority task from the heap.
 *  - A ready task with an affinity hint (affinity.c) goes to the box of the worker that
 *    last ran a task naming the same data, when that is another worker.
 *  - Steal pacing: handing a task to another core costs its submitter and its thief a
 *    few cache-line transfers, more than running a tiny task where it was created. A
 *    thief whose stolen tasks keep finishing in under DAG_STEAL_TINY_NS stops stealing
 *    for a while (2 us, doubling up to 128 us), so their creator runs them inline past
 *    the throttle instead; one longer stolen task ends the pause. Only while idle
 *    workers may spin (DAG_SPIN_US > 0, not oversubscribed): a paused thief spins,
 *    yielding its core between checks.
 *  - Idle threads spin for DAG_SPIN_US, then sleep on the event count; every push
 *    notifies it (one fence and one load when nobody sleeps).
 *  - A thread waiting for a condition (taskwait, taskgroup, an undeferred task's inputs)
 *    runs tasks meanwhile, exactly like an idle worker.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"
#include "affinity.h"
#include "queues.h"
#include "../core/clock.h"
#include "../core/hooks.h"
#include "../core/runtime.h"

#define SLEEP_SAFETY_NS 1000000000L /* a sleeper re-checks after this even unwoken */

static sched_runner_fn run_task; /* core/task.c: task_execute */

void sched_push(struct tctx *c, struct task *t)
{
    if (unlikely(t->aff) && t->priority == 0 && aff_push(c, t))
        return; /* queued for the worker that last touched its data */
    if (unlikely(t->priority != 0)) {
        if (heap_push(t))
            tfifo_push(&sq.fifo, t); /* no memory for the heap: lose the priority, not the task */
    } else if (likely(c && c->w)) {
        if (unlikely(deque_push(&c->w->dq, t)))
            tfifo_push(&sq.fifo, t);
    } else {
        tfifo_push(&sq.fifo, t);
    }
    ec_notify(&rt.ec, 0);
}

#define STEAL_PAUSE_MIN_NS 2000u
#define STEAL_PAUSE_MAX_SHIFT 6 /* 2 us << 6 = 128 us */

static inline int steal_paused(struct worker *w)
{
    return unlikely(w->no_steal_until) && clock_now_ns() < w->no_steal_until;
}

/* A stolen task (with its immediate successors) ran for `ns`: pace the thief. */
static void steal_account(struct worker *w, uint64_t ns)
{
    if (ns >= (uint64_t)rt.steal_tiny_ns) {
        w->tiny_streak = 0;
        w->no_steal_until = 0;
        return;
    }
    /* the victim ran no task inline meanwhile: it is not busy creating tiny tasks (it
     * may be running a long one with more queued): keep stealing */
    unsigned long inl = atomic_load_explicit(&rt.workers[w->victim].inlined, RELAXED);
    if (inl == w->victim_inlined) {
        w->tiny_streak = 0;
        w->no_steal_until = 0;
        return;
    }
    if (++w->tiny_streak < 2)
        return;
    unsigned shift = w->tiny_streak - 2;
    if (shift > STEAL_PAUSE_MAX_SHIFT)
        shift = STEAL_PAUSE_MAX_SHIFT;
    w->no_steal_until = clock_now_ns() + ((uint64_t)STEAL_PAUSE_MIN_NS << shift);
}

static struct task *steal(struct tctx *c)
{
    int n = rt.nthreads;
    int self = c->w ? c->w->id : -1;
    uint32_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x;
    int start = (int)(x % (uint32_t)n);
    for (int i = 0; i < n; i++) {
        int v = start + i < n ? start + i : start + i - n;
        if (v == self)
            continue;
        for (;;) {
            struct task *t = deque_steal(&rt.workers[v].dq);
            if (t != DEQUE_ABORT) {
                if (t && c->w) {
                    c->w->victim = v;
                    c->w->victim_inlined =
                        atomic_load_explicit(&rt.workers[v].inlined, RELAXED);
                }
                if (t)
                    return t;
                break;
            }
            cpu_relax(); /* lost a race: the victim still has work, try it again */
        }
    }
    return NULL;
}

struct task *sched_pop(struct tctx *c)
{
    struct task *t;
    if (unlikely(atomic_load_explicit(&sq.n_positive, RELAXED) > 0) && (t = heap_pop(1)))
        return t;
    if (likely(c->w != NULL) && (t = deque_take(&c->w->dq)))
        return t;
    if (unlikely(aff_queued() > 0) && (t = aff_pop(c, 0))) /* this worker's data */
        return t;
    if (atomic_load_explicit(&sq.fifo.n, RELAXED) > 0 && (t = tfifo_pop(&sq.fifo)))
        return t;
    if (rt.nthreads > 1 && !(c->w && steal_paused(c->w)) && (t = steal(c))) {
        if (c->w)
            c->w->stolen = 1;
        return t;
    }
    if (unlikely(aff_queued() > 0) && (t = aff_pop(c, 1))) /* a hint, not a wait */
        return t;
    if (atomic_load_explicit(&sq.n_heap, RELAXED) > 0 && (t = heap_pop(0)))
        return t;
    return NULL;
}

/* Run t and then its chain of immediate successors, yielding to prioritised work. */
void sched_run(struct tctx *c, struct task *t)
{
    while (t) {
        if (unlikely(t->aff))
            aff_note(c, t);
        t = run_task(c, t);
        if (t && unlikely(atomic_load_explicit(&sq.n_positive, RELAXED) > 0)) {
            sched_push(c, t);
            return;
        }
    }
}

/* sched_run for a task sched_pop found; a stolen one is timed for steal pacing. */
static void run_found(struct tctx *c, struct task *t)
{
    struct worker *w = c->w;
    int stolen = w && w->stolen;
    if (stolen)
        w->stolen = 0;
    /* pacing needs a core per worker: a paused thief spins (rt.spin_ns is 0 when the
     * workers outnumber the cores, or when the user turned spinning off) */
    if (!stolen || rt.steal_tiny_ns <= 0 || rt.spin_ns <= 0) {
        sched_run(c, t);
        return;
    }
    uint64_t t0 = clock_now_ns();
    sched_run(c, t);
    steal_account(w, clock_now_ns() - t0);
}

static int work_available(void)
{
    if (atomic_load_explicit(&sq.n_heap, RELAXED) > 0 ||
        atomic_load_explicit(&sq.fifo.n, RELAXED) > 0 || aff_queued() > 0)
        return 1;
    for (int i = 0; i < rt.nthreads; i++)
        if (deque_size(&rt.workers[i].dq) > 0)
            return 1;
    return 0;
}

static inline int should_stop(int (*done)(void *), void *arg)
{
    return done ? done(arg) : atomic_load_explicit(&rt.stop, ACQUIRE);
}

/* Transfers in flight (distributed runs): drive their progress from this idle thread
 * rather than sleep and leave it to the engine's thread, so a message that arrives
 * releases its successor on this core at once (no thread handoff, no futex wake). Polls
 * until work appears, or for rt.poll_ns after the last progress. Returns 1 when the
 * caller should look for work again. */
static int idle_poll(struct tctx *c, int (*done)(void *), void *arg)
{
    int (*poll)(struct task **) = atomic_load_explicit(&rt.poll, ACQUIRE);
    if (!poll)
        return 0;
    uint64_t t0 = clock_now_ns();
    for (unsigned i = 1;; i++) {
        struct task *imm = NULL;
        int r = poll(&imm);
        if (imm) { /* ours to run next: queue it without waking a sleeper */
            if (imm->priority != 0 || !c->w || deque_push(&c->w->dq, imm))
                sched_push(c, imm);
            poll(NULL);
            return 1;
        }
        if (r < 0)
            return 0;
        if (r > 0 || work_available() || should_stop(done, arg)) {
            poll(NULL);
            return 1;
        }
        if ((i & 15) == 0 && clock_now_ns() - t0 > (uint64_t)rt.poll_ns) {
            poll(RT_POLL_GIVE_UP);
            return 0;
        }
        if (rt.poll_yield)
            sched_yield(); /* more ranks than cores: the peer we wait for needs this one */
        else
            cpu_relax();   /* as MPI's own blocking calls do: a yield costs a microsecond */
    }
}

/* Nothing to run: drive transfers, spin a little, then sleep until a push or a
 * notification. */
static void idle(struct tctx *c, int (*done)(void *), void *arg)
{
    if (unlikely(atomic_load_explicit(&rt.poll, RELAXED) != NULL) && idle_poll(c, done, arg))
        return;
    if (c->w && steal_paused(c->w)) {
        /* other deques may hold work, but not worth stealing yet: wait here, watching
         * only what this thread may take (the shared queues, its own deque) */
        while (!should_stop(done, arg) && deque_size(&c->w->dq) == 0 &&
               aff_queued_for(c->w) == 0 && atomic_load_explicit(&sq.fifo.n, RELAXED) == 0 &&
               atomic_load_explicit(&sq.n_heap, RELAXED) == 0 && steal_paused(c->w)) {
            for (int i = 0; i < 32; i++)
                cpu_relax();
            /* the pause is long next to a yield (2-128 us against well under 1 us): on
             * a shared machine the core goes to whoever else is runnable there (this
             * program's own submitter, often); on an idle one it returns at once */
            sched_yield();
        }
        return;
    }
    if (rt.spin_ns > 0) {
        uint64_t t0 = clock_now_ns();
        for (unsigned i = 1;; i++) {
            if (work_available() || should_stop(done, arg))
                return;
            cpu_relax();
            if ((i & 63) == 0 && clock_now_ns() - t0 > (uint64_t)rt.spin_ns)
                break;
        }
    }
    unsigned key = ec_prepare(&rt.ec);
    FENCE_SC();
    if (work_available() || should_stop(done, arg)) {
        ec_cancel(&rt.ec);
        return;
    }
    if (unlikely(rt.hooks) && rt.hooks->thread_sleep)
        rt.hooks->thread_sleep(c, 1);
    uint64_t t0 = clock_now_ns();
    ec_wait(&rt.ec, key, SLEEP_SAFETY_NS);
    if (clock_now_ns() - t0 >= (uint64_t)SLEEP_SAFETY_NS && (work_available() || should_stop(done, arg)))
        atomic_fetch_add_explicit(&rt.lost_wakeups, 1, RELAXED);
    if (unlikely(rt.hooks) && rt.hooks->thread_sleep)
        rt.hooks->thread_sleep(c, 0);
}

void sched_wait(struct tctx *c, int (*done)(void *), void *arg)
{
    while (!done(arg)) {
        struct task *t = sched_pop(c);
        if (t)
            run_found(c, t);
        else
            idle(c, done, arg);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct tctx *c = w->ctx;
    tls_ctx = c;
    bind_thread(w);
    for (;;) {
        struct task *t = sched_pop(c);
        if (t) {
            run_found(c, t);
            continue;
        }
        if (atomic_load_explicit(&rt.stop, ACQUIRE))
            break;
        idle(c, NULL, NULL);
    }
    tls_ctx = NULL;
    return NULL;
}

int sched_init(sched_runner_fn run)
{
    run_task = run;
    queues_init();
    aff_reset();
    for (int i = 0; i < rt.nthreads; i++) {
        struct worker *w = &rt.workers[i];
        w->id = i;
        w->cpu_index = -1;
        if (deque_init(&w->dq))
            return -1;
    }
    return 0;
}

int sched_start_workers(void)
{
    for (int i = 1; i < rt.nthreads; i++) {
        struct worker *w = &rt.workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w)) {
            rt.nthreads = i; /* run with the workers that did start */
            return -1;
        }
    }
    return 0;
}

void sched_stop_workers(void)
{
    atomic_store_explicit(&rt.stop, 1, RELEASE);
    ec_notify(&rt.ec, 1);
    for (int i = 1; i < rt.nthreads; i++)
        pthread_join(rt.workers[i].thread, NULL);
}

void sched_fini(void)
{
    for (int i = 0; i < rt.nthreads; i++)
        deque_destroy(&rt.workers[i].dq);
    queues_fini();
}
