/* progress.c: who sees GPU work complete. The progress thread polls the oldest `done`
 * event of every stream, launches jobs that waited for room and resumes CPU tasks whose
 * copies back are done; it sleeps when nothing is in flight. Idle worker threads help
 * (rt.poll): a taskwait sees its GPU tasks complete without waiting for the progress
 * thread to wake up. One poller at a time. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "internal.h"

/* ---- the progress thread, and idle threads that help it ------------------------------ */

/* job_complete_ready, by one thread at a time: the progress thread, or an idle worker
 * (cu_poll). Returns its bits, or 1 (something may be in flight) when another thread is
 * polling. */
static int complete_some(void)
{
    if (atomic_load_explicit(&cu.polling, RELAXED) ||
        atomic_exchange_explicit(&cu.polling, 1, ACQUIRE))
        return 1;
    int seen = job_complete_ready();
    atomic_store_explicit(&cu.polling, 0, RELEASE);
    return seen;
}

/* rt.poll (sched.c idle_poll): a thread with nothing to run, a taskwait above all, sees
 * its GPU tasks complete itself, without waiting for the progress thread to wake up
 * (an empty GPU task's submit + wait: bench_gpu_patterns). Chains the distributed layer's poll
 * when it had one. -1: nothing in flight, 0: in flight, > 0: some completed. */
static int (*prev_poll)(struct task **imm);
static long prev_poll_ns;

static int cu_poll(struct task **imm)
{
    int r = prev_poll ? prev_poll(imm) : -1;
    if (imm == NULL || imm == RT_POLL_GIVE_UP || *imm)
        return r;
    if (!atomic_load_explicit(&cu.njobs, ACQUIRE))
        return r;
    int seen = complete_some();
    if (seen & 2)
        return 1;
    return r > 0 ? r : 0;
}

static void poll_install(void)
{
    prev_poll = atomic_load_explicit(&rt.poll, ACQUIRE);
    prev_poll_ns = rt.poll_ns;
    if (!prev_poll) /* as long as an idle worker spins before it sleeps */
        rt.poll_ns = rt.spin_ns > 0 ? rt.spin_ns : 20000;
    atomic_store_explicit(&rt.poll, cu_poll, RELEASE);
}

static void poll_remove(void)
{
    int (*mine)(struct task **) = cu_poll;
    if (atomic_compare_exchange_strong(&rt.poll, &mine, prev_poll))
        rt.poll_ns = prev_poll_ns;
    prev_poll = NULL;
}

/* Polls the oldest launched job of every stream (a stream completes in order), launches
 * jobs that waited for room, and sleeps on cu.cv when nothing has been in flight for a
 * while. Polling takes no lock: the thread may share a core with worker 0, and a lock
 * held by a preempted poller would stall that worker's launches for a time slice. */
static void *progress_main(void *arg)
{
    (void)arg;
    unsigned idle = 0;
    for (;;) {
        int seen = complete_some();
        if (atomic_load_explicit(&cu.nhostwait, ACQUIRE))
            seen |= job_hostwait_poll();
        if (atomic_load_explicit(&cu.npending, ACQUIRE)) {
            struct tctx *c = ctx_get(); /* outside cu.lock: chaining releases successors */
            pthread_mutex_lock(&cu.lock);
            for (int d = 0; d < cu.ndev; d++)
                if (cu.dev[d].pend_head)
                    job_launch_pending(d, c);
            pthread_mutex_unlock(&cu.lock);
        }
        if (!atomic_load_explicit(&cu.njobs, ACQUIRE)) {
            /* Sleep at once: spinning on, even yielding, slows the thread we share a core
             * with (measured: +50 us per empty task). njobs is raised before the lock is
             * taken to signal, so checking it under the lock loses no wake-up. */
            pthread_mutex_lock(&cu.lock);
            int stop = cu.stop;
            if (!stop && !atomic_load_explicit(&cu.njobs, ACQUIRE)) {
                cu.sleeping = 1;
                pthread_cond_wait(&cu.cv, &cu.lock);
                cu.sleeping = 0;
                stop = cu.stop && !atomic_load_explicit(&cu.njobs, ACQUIRE);
            }
            pthread_mutex_unlock(&cu.lock);
            if (stop)
                break;
        }
        if (seen & 2) {
            idle = 0;
        } else if (++idle > 32) {
            sched_yield(); /* let the thread that shares our core run */
        } else {
            cpu_relax();
        }
    }
    return NULL;
}

int progress_start(void)
{
    if (env_long("DAG_CUDA_IDLE_POLL", 1, 0, 1))
        poll_install();
    /* The progress thread inherits the binding of the thread that starts the layer
     * (worker 0, usually the one that submits and waits): measured on the H100 machine,
     * sharing that core beats letting it roam among bound workers, where every wake-up
     * crosses cores. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int err = pthread_create(&cu.progress, &attr, progress_main, NULL);
    pthread_attr_destroy(&attr);
    if (err)
        poll_remove();
    return err ? -1 : 0;
}

void progress_stop(void)
{
    pthread_mutex_lock(&cu.lock);
    cu.stop = 1;
    pthread_cond_signal(&cu.cv);
    pthread_mutex_unlock(&cu.lock);
    pthread_join(cu.progress, NULL);
    poll_remove();
}
