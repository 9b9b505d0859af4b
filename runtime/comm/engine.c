/* engine.c: the communication engine's thread. It starts the transfers that tasks queued
 * (xfer.c), tests those in flight unless an idle worker does, sends the flow checkpoints
 * (check.c), reads control messages, runs the liveness checks (live.c), and acts on a
 * failure (fail.c): fails every pending transfer, tells the other ranks, and ends the job
 * if the program does not stop within DAG_COMM_GRACE_MS. It polls while transfers are
 * pending and backs off to sleeping otherwise, so an idle rank does not burn a core. */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "comm.h"
#include "../core/runtime.h"

static struct {
    const struct transport *tp;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;           /* sleeping, wakeups */
    pthread_cond_t cond;
    int sleeping;
    int kick;                       /* a task left a pending transfer: poll from now on */
    int woken;                      /* work was handed over while we ran or slept */
    atomic_int stop;
    double grace, spin_s, idle_since;
    long max_sleep_us;
} engine = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void wake(int kick)
{
    pthread_mutex_lock(&engine.lock);
    engine.kick |= kick;
    engine.woken = 1;
    if (engine.sleeping)
        pthread_cond_signal(&engine.cond);
    pthread_mutex_unlock(&engine.lock);
}

static void wake_check(void)
{
    wake(0);
}

void engine_on_ctrl(const struct ctrl_msg *m, int peer)
{
    if (peer < 0 || peer >= dist.nranks)
        return;
    live_heard(peer, m);
    switch (m->type) {
    case CTRL_CHECK:
        if (peer == (dist.rank + dist.nranks - 1) % dist.nranks)
            check_from_pred(m);
        break;
    case CTRL_BYE:
        live_bye(peer);
        break;
    case CTRL_ABORT:
        if (!comm_broken()) {
            if (m->arg >= 0)
                fprintf(stderr, "dagrt[rank %d]: error: stopping: rank %d reports that rank %d "
                        "failed\n", dist.rank, peer, m->arg);
            else
                fprintf(stderr, "dagrt[rank %d]: error: stopping: rank %d reports a failure "
                        "(%s)\n", dist.rank, peer, dag_strerror((dag_status_t)-(int)m->hash));
        }
        comm_fail(m->hash ? -(int)m->hash : DAG_ERR_COMM, m->arg, 0);
        break;
    default:
        break;
    }
}

/* A failure was recorded (here or by a task's thread): fail what is pending, tell the
 * other ranks once. Transfer lock held. */
static int on_failure(void)
{
    int peer, n = comm_fail_take_notice(&peer);
    if (!n)
        return 0;
    int code = comm_broken();
    if (n == 1) {
        struct ctrl_msg m = {.type = CTRL_ABORT, .arg = peer, .hash = (uint64_t)(-code)};
        for (int r = 0; r < dist.nranks; r++)
            if (r != dist.rank && r != peer && !live_said_bye(r))
                engine.tp->ctrl_send(r, &m);
    }
    xfer_fail_all(code, peer);
    return 1;
}

static int poll_ctrl(void)
{
    int n = 0, peer;
    struct ctrl_msg m;
    while (engine.tp->ctrl_poll(&m, &peer) == 1) {
        engine_on_ctrl(&m, peer);
        n++;
    }
    return n;
}

static void *engine_main(void *arg)
{
    (void)arg;
    long idle = 0, sleep_us = 1;
    double prev = comm_now(), hb = live_hb_interval();
    xfer_lock();
    while (!atomic_load(&engine.stop)) {
        int work = 0;
        double gap = comm_now() - prev;
        if (gap > hb) /* this thread was stuck (a long copy, descheduled) */
            live_shift(gap);
        prev += gap;
        pthread_mutex_lock(&engine.lock);
        work += engine.kick; /* a task left a transfer pending: poll from now on */
        engine.kick = engine.woken = 0;
        pthread_mutex_unlock(&engine.lock);
        work += xfer_queue_run();
        work += check_run_queued();
        work += xfer_progress();
        work += poll_ctrl();
        double now = comm_now();
        live_tick(now);
        check_tick(now);
        work += on_failure();
        if (comm_broken()) {
            double limit = comm_fail_hurried() ? 0.2 : engine.grace;
            if (now - comm_fail_since() > limit) {
                if (!comm_fail_hurried())
                    fprintf(stderr, "dagrt[rank %d]: error: the program did not stop %.1f s "
                            "after the failure\n", dist.rank, engine.grace);
                comm_end_job(dag_strerror((dag_status_t)comm_broken()));
            }
        }
        if (work) {
            idle = 0;
            sleep_us = 1;
            continue;
        }
        /* while transfers are pending, poll for spin_us after the last progress, yielding
         * the core to anyone runnable on it; then back off */
        if (++idle == 1)
            engine.idle_since = now;
        int delegated = xfer_workers_polling(); /* an idle worker drives the transfers */
        int pending = xfer_pending();
        if (pending && !delegated && now - engine.idle_since < engine.spin_s) {
            xfer_unlock(); /* let a task post or complete transfers */
            sched_yield();
            xfer_lock();
            continue;
        }
        /* back off: sleep until work arrives or the poll interval passes; the interval
         * grows while nothing happens, and stays short while transfers wait, unless a
         * worker polls them: a wake-up here would only preempt it (on a full node the hop
         * then waits for the scheduler), and a poller that gives up wakes us */
        long cap = pending && !delegated ? engine.max_sleep_us / 8 + 1 : engine.max_sleep_us;
        sleep_us = sleep_us * 2 > cap ? cap : sleep_us * 2;
        xfer_unlock();
        for (;;) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += sleep_us * 1000;
            ts.tv_sec += ts.tv_nsec / 1000000000;
            ts.tv_nsec %= 1000000000;
            pthread_mutex_lock(&engine.lock);
            if (!engine.woken && !engine.kick && !atomic_load(&engine.stop)) {
                engine.sleeping = 1;
                pthread_cond_timedwait(&engine.cond, &engine.lock, &ts);
                engine.sleeping = 0;
            }
            int urgent = engine.woken || atomic_load(&engine.stop);
            pthread_mutex_unlock(&engine.lock);
            if (xfer_trylock() == 0)
                break;
            /* a polling worker is in the transport: blocking here would cost it a futex
             * wake at its next unlock; come back later unless something waits for us or
             * the heartbeats would soon be late */
            if (urgent || !xfer_workers_polling() || comm_now() - prev > hb / 4) {
                xfer_lock();
                break;
            }
            sleep_us = engine.max_sleep_us;
        }
    }
    xfer_unlock();
    return NULL;
}

dag_status_t engine_start(const struct transport *tp)
{
    engine.tp = tp;
    engine.grace = (double)env_long("DAG_COMM_GRACE_MS", 3000, 0, 1L << 30) / 1e3;
    engine.spin_s = (double)env_long("DAG_COMM_SPIN_US", 500, 0, 1L << 30) / 1e6;
    engine.max_sleep_us = env_long("DAG_COMM_SLEEP_US", 1000, 1, 1000000);
    engine.sleeping = engine.kick = engine.woken = 0;
    atomic_store(&engine.stop, 0);
    xfer_set_wake(wake);
    check_start(tp, wake_check);
    if (pthread_create(&engine.thread, NULL, engine_main, NULL))
        return DAG_ERR_SYSTEM;
    engine.started = 1;
    return DAG_OK;
}

/* Stop the thread; the caller (entry.c) finishes the goodbye exchange itself. */
void engine_stop(void)
{
    if (!engine.started)
        return;
    atomic_store(&engine.stop, 1);
    wake(0);
    pthread_join(engine.thread, NULL);
    engine.started = 0;
}
