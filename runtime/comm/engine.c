/* engine.c: the communication engine. One thread drives the transport: it posts the
 * transfers that send/receive tasks hand over (comm_post), tests them and fulfils the
 * tasks' completion events, and runs the safety nets: heartbeats (a silent rank is
 * declared dead), flow checkpoints compared along the ring (rank r checks rank r-1),
 * abort notices, and a watchdog that ends the job if the program does not stop after a
 * failure. It polls while transfers are pending and backs off to sleeping otherwise,
 * so an idle rank does not burn a core.
 * Latency: the thread that runs a send/receive task posts the transfer itself and tests
 * it once (comm_post), so an eager send completes inside its task and a receive is in
 * flight without waking this thread first; a thread handoff costs tens of microseconds
 * on an oversubscribed node. `prog` serialises every transport call and the transfer
 * lists, so MPI_THREAD_SERIALIZED suffices; without it tasks hand transfers over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "../core/hooks.h"
#include "../core/runtime.h"

struct check {
    uint64_t count, hash;
    int final, have;
    const char *label, *file;
    int line;
};

struct ckpt_item {
    struct ckpt_item *next;
    struct check c;
};

static struct {
    const struct transport *tp;
    pthread_t thread;
    int started;
    pthread_mutex_t prog;           /* transport calls, active, deferred, wins (see top) */
    int direct;                     /* tasks may call the transport (under prog) */
    pthread_mutex_t lock;           /* queue, ckq, sleeping */
    pthread_cond_t cond;
    struct comm_op *qhead, *qtail;  /* posted by tasks, not yet seen by the thread */
    struct ckpt_item *ckq, *ckq_tail;
    int sleeping;
    int kick;                       /* a task left a pending transfer in `active` */
    atomic_int npending;            /* ops in active + deferred (read without prog) */
    _Atomic uint64_t worker_poll;   /* ns (mono_ns) when an idle worker last polled */
    void *_Atomic poller;           /* the worker that polls (its token), stale after
                                       WORKER_POLL_NS without a poll */
    atomic_int stop;
    atomic_int broken;              /* dag_status_t of the first failure, negated; 0: fine */
    double broken_at;
    /* the thread's own state */
    struct comm_op *active, *deferred;
    double *last_seen;
    char *bye;
    double last_hb, hb_interval, timeout, grace;
    double spin_s, idle_since, post_spin_s;
    long max_sleep_us;
    struct check *own, *pred;       /* checkpoints by index: ours and rank-1's */
    size_t nown, npred, capown, cappred;
    /* flow thread (dist.lock) */
    uint64_t *send_seq, *recv_seq;
    struct seqwin *wins;            /* the thread's: 2 per peer */
    long tag_space;
    int mpi_ok;
    int stage;                      /* DAG_COMM_STAGE and the transport supports it */
    int fake_stage;                 /* DAG_COMM_TEST_STAGE: every send staged (tests) */
} E;

double comm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t comm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An idle worker polled the transport within the last WORKER_POLL_NS: the engine's thread
 * leaves the polling to it (and is not woken for new transfers). */
#define WORKER_POLL_NS 200000u
static int workers_polling(void)
{
    return comm_now_ns() - atomic_load_explicit(&E.worker_poll, memory_order_relaxed) <
           WORKER_POLL_NS;
}

int comm_broken(void)
{
    return atomic_load(&E.broken);
}

uint64_t comm_seq(int peer, int send)
{
    uint64_t *s = send ? E.send_seq : E.recv_seq;
    return s[peer]++;
}

int comm_tag_of(uint64_t seq)
{
    return (int)(seq % (uint64_t)E.tag_space);
}

size_t comm_stage_chunk(void)
{
    return E.stage ? E.tp->chunk : 0;
}

/* Staged sends: the device layer brings the data home piece by piece (rt.dev->home_*).
 * DAG_COMM_TEST_STAGE=1 (tests) stages every send with a stand-in whose pieces land one
 * per poll, so the transports' partial posting runs on machines without a GPU. */
struct fake_stage {
    size_t len, chunk, done;
};

void *comm_stage_begin(void *buf, size_t len)
{
    size_t chunk = comm_stage_chunk();
    if (!chunk)
        return NULL;
    if (E.fake_stage) {
        struct fake_stage *f = calloc(1, sizeof *f);
        if (f) {
            f->len = len;
            f->chunk = chunk;
        }
        return f;
    }
    return rt.dev && rt.dev->home_begin ? rt.dev->home_begin(buf, len, chunk) : NULL;
}

static long long stage_poll(void *h)
{
    if (!E.fake_stage)
        return rt.dev->home_poll(h);
    struct fake_stage *f = h;
    f->done = f->len - f->done > f->chunk ? f->done + f->chunk : f->len;
    return (long long)f->done;
}

static void stage_end(void *h)
{
    if (E.fake_stage)
        free(h);
    else if (rt.dev && rt.dev->home_end)
        rt.dev->home_end(h);
}

static struct seqwin *win_of(const struct comm_op *op)
{
    return &E.wins[2 * op->peer + (op->kind == OP_SEND)];
}

static int seq_may_start(const struct comm_op *op)
{
    return seqwin_may_start(win_of(op), op->seq, E.tag_space);
}

static void seq_done(const struct comm_op *op)
{
    seqwin_done(win_of(op), op->seq);
}

/* ---- failures ----------------------------------------------------------------------- */

static RT_TLS struct task **tls_imm; /* comm_poll: where a released successor goes */

static void op_done(struct comm_op *op, int code)
{
    dag_event_t ev = op->ev;
    if (op->stage)
        stage_end(op->stage);
    if (!code && rt.hooks) /* the message as a slice with its bytes, in the peer's lane */
        hooks_transfer(NULL, op->kind == OP_RECV ? HOOK_XFER_RECV : HOOK_XFER_SEND, op->len,
                       op->t_post, comm_now_ns(), 2000 + op->peer);
    if (op->done)
        *op->done = 1;
    comm_treq_free(op);
    free(op);
    if (tls_imm && !*tls_imm) /* an idle worker polls: it runs the successor itself */
        task_fulfill(ev, code, tls_imm);
    else
        dag_event_fulfill(ev, code);
}

static void describe(const struct comm_op *op, char *buf, size_t n)
{
    char where[300] = "";
    if (op->file)
        snprintf(where, sizeof where, " (%s:%d)", op->file, op->line);
    snprintf(buf, n, "task '%s'%s %s tile %ld of data #%d %s rank %d", op->label, where,
             op->kind == OP_RECV ? "waits for" : "cannot send", op->tile, op->coll,
             op->kind == OP_RECV ? "from" : "to", op->peer);
}

/* Report the oldest transfers with `peer` (in flow order: the tasks that wait first). */
static void name_oldest(struct comm_op *const *lists, int nl, int peer)
{
    uint64_t after = 0;
    for (int named = 0; named < 3; named++) {
        const struct comm_op *best = NULL;
        for (int l = 0; l < nl; l++)
            for (const struct comm_op *op = lists[l]; op; op = op->next)
                if (op->peer == peer && op->seq + 1 > after &&
                    (!best || op->seq < best->seq))
                    best = op;
        if (!best)
            return;
        char d[512];
        describe(best, d, sizeof d);
        fprintf(stderr, "dagrt[rank %d]: error: %s\n", dist.rank, d);
        after = best->seq + 1;
    }
}

/* Fail every pending transfer (those with `peer` first, named in the report; all of
 * them, since the flow cannot finish consistently once a rank is gone). */
static void fail_all(int code, int peer)
{
    struct comm_op *lists[3] = {E.active, E.deferred, NULL};
    E.active = E.deferred = NULL;
    atomic_store(&E.npending, 0);
    pthread_mutex_lock(&E.lock);
    lists[2] = E.qhead;
    E.qhead = E.qtail = NULL;
    pthread_mutex_unlock(&E.lock);
    if (peer >= 0)
        name_oldest(lists, 3, peer);
    for (int l = 0; l < 3; l++) {
        struct comm_op *op = lists[l];
        while (op) {
            struct comm_op *next = op->next;
            if (l < 2 && op->treq)
                E.tp->cancel(op);
            op_done(op, code);
            op = next;
        }
    }
}

static void go_broken(int code, int peer, int tell)
{
    if (atomic_load(&E.broken))
        return;
    atomic_store(&E.broken, code);
    E.broken_at = comm_now();
    if (tell) {
        struct ctrl_msg m = {.type = CTRL_ABORT, .arg = peer, .hash = (uint64_t)(-code)};
        for (int r = 0; r < dist.nranks; r++)
            if (r != dist.rank && r != peer && !E.bye[r])
                E.tp->ctrl_send(r, &m);
    }
    fail_all(code, peer);
}

/* ---- flow checkpoints -------------------------------------------------------------- */

static int grow(struct check **a, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    struct check *p = realloc(*a, n * sizeof *p);
    if (!p)
        return -1;
    memset(p + *cap, 0, (n - *cap) * sizeof *p);
    *a = p;
    *cap = n;
    return 0;
}

static void compare(size_t idx)
{
    if (idx >= E.nown || idx >= E.npred || !E.own[idx].have || !E.pred[idx].have)
        return;
    const struct check *a = &E.own[idx], *b = &E.pred[idx];
    if (a->count == b->count && a->hash == b->hash && a->final == b->final)
        return;
    int pred = (dist.rank + dist.nranks - 1) % dist.nranks;
    fprintf(stderr,
            "dagrt[rank %d]: error: the task flow differs between rank %d and rank %d "
            "(checkpoint %zu: rank %d had submitted %llu tasks%s, rank %d %llu%s; last task "
            "here '%s'%s%s%s%.0d). Every rank must submit the same tasks in the same order.\n",
            dist.rank, pred, dist.rank, idx, pred, (unsigned long long)b->count,
            b->final ? " and finished" : "", dist.rank, (unsigned long long)a->count,
            a->final ? " and finished" : "", a->label ? a->label : "-",
            a->file ? " at " : "", a->file ? a->file : "", a->file ? ":" : "",
            a->file ? a->line : 0);
    go_broken(DAG_ERR_MISMATCH, -1, 1);
}

static void own_checkpoint(const struct check *c)
{
    size_t idx = E.nown;
    if (grow(&E.own, &E.capown, idx + 1))
        return;
    E.own[idx] = *c;
    E.own[idx].have = 1;
    E.nown = idx + 1;
    struct ctrl_msg m = {.type = CTRL_CHECK, .arg = c->final, .idx = idx, .count = c->count,
                         .hash = c->hash};
    E.tp->ctrl_send((dist.rank + 1) % dist.nranks, &m);
    compare(idx);
}

static void pred_checkpoint(const struct ctrl_msg *m)
{
    size_t idx = (size_t)m->idx;
    if (grow(&E.pred, &E.cappred, idx + 1))
        return;
    E.pred[idx] = (struct check){.count = m->count, .hash = m->hash, .final = m->arg,
                                 .have = 1};
    if (idx + 1 > E.npred)
        E.npred = idx + 1;
    compare(idx);
}

void comm_checkpoint(uint64_t count, uint64_t hash, int final, const char *label,
                     const char *file, int line)
{
    struct ckpt_item *it = malloc(sizeof *it);
    if (!it)
        return;
    it->next = NULL;
    it->c = (struct check){count, hash, final, 1, label, file, line};
    pthread_mutex_lock(&E.lock);
    if (E.ckq_tail)
        E.ckq_tail->next = it;
    else
        E.ckq = it;
    E.ckq_tail = it;
    if (E.sleeping)
        pthread_cond_signal(&E.cond);
    pthread_mutex_unlock(&E.lock);
}

/* ---- control messages -------------------------------------------------------------- */

static void on_ctrl(const struct ctrl_msg *m, int peer)
{
    if (peer < 0 || peer >= dist.nranks)
        return;
    E.last_seen[peer] = comm_now();
    switch (m->type) {
    case CTRL_CHECK:
        if (peer == (dist.rank + dist.nranks - 1) % dist.nranks)
            pred_checkpoint(m);
        break;
    case CTRL_BYE:
        E.bye[peer] = 1;
        break;
    case CTRL_ABORT:
        if (!atomic_load(&E.broken)) {
            if (m->arg >= 0)
                fprintf(stderr, "dagrt[rank %d]: error: stopping: rank %d reports that rank %d "
                        "failed\n", dist.rank, peer, m->arg);
            else
                fprintf(stderr, "dagrt[rank %d]: error: stopping: rank %d reports a failure "
                        "(%s)\n", dist.rank, peer, dag_strerror((dag_status_t)-(int)m->hash));
        }
        go_broken(m->hash ? -(int)m->hash : DAG_ERR_COMM, m->arg, 0);
        break;
    default:
        break;
    }
}

static void heartbeats(double now)
{
    if (now - E.last_hb >= E.hb_interval) {
        E.last_hb = now;
        struct ctrl_msg m = {.type = CTRL_HEARTBEAT};
        for (int r = 0; r < dist.nranks; r++)
            if (r != dist.rank && !E.bye[r])
                E.tp->ctrl_send(r, &m);
    }
    if (atomic_load(&E.broken))
        return;
    for (int r = 0; r < dist.nranks; r++) {
        if (r == dist.rank || E.bye[r] || now - E.last_seen[r] < E.timeout)
            continue;
        fprintf(stderr, "dagrt[rank %d]: error: rank %d is unreachable (no message for %.1f s): "
                "it died or hangs\n", dist.rank, r, now - E.last_seen[r]);
        go_broken(DAG_ERR_COMM, r, 1);
        return;
    }
}

/* ---- transfers ---------------------------------------------------------------------- */

/* A staged send: how much of its data is home from the device by now. -1: a copy failed. */
static int stage_update(struct comm_op *op)
{
    if (!op->stage || op->ready >= op->len)
        return 0;
    long long r = stage_poll(op->stage);
    if (r < 0)
        return -1;
    op->ready = (size_t)r;
    return 0;
}

static void start_op(struct comm_op *op)
{
    if (atomic_load(&E.broken)) {
        op_done(op, atomic_load(&E.broken));
        return;
    }
    if (!seq_may_start(op)) {
        op->next = NULL;
        struct comm_op **p = &E.deferred;
        while (*p)
            p = &(*p)->next;
        *p = op;
        atomic_fetch_add(&E.npending, 1);
        return;
    }
    if (stage_update(op) || E.tp->start(op)) {
        char d[512];
        describe(op, d, sizeof d);
        fprintf(stderr, "dagrt[rank %d]: error: the transport refused a transfer: %s\n",
                dist.rank, d);
        op_done(op, DAG_ERR_COMM);
        go_broken(DAG_ERR_COMM, -1, 1);
        return;
    }
    op->next = E.active;
    E.active = op;
    atomic_fetch_add(&E.npending, 1);
}

static int progress(void)
{
    int n = 0;
    struct comm_op **p = &E.active;
    while (*p) {
        struct comm_op *op = *p;
        int r = stage_update(op) ? -1 : E.tp->test(op);
        if (r == 0) {
            p = &op->next;
            continue;
        }
        *p = op->next;
        atomic_fetch_sub(&E.npending, 1);
        n++;
        if (r < 0) {
            char d[512];
            describe(op, d, sizeof d);
            fprintf(stderr, "dagrt[rank %d]: error: a message could not be delivered: %s\n",
                    dist.rank, d);
            int peer = op->peer;
            op_done(op, DAG_ERR_COMM);
            go_broken(DAG_ERR_COMM, peer, 1);
            return n;
        }
        seq_done(op);
        op_done(op, 0);
    }
    if (n && E.deferred) {
        struct comm_op *d = E.deferred;
        E.deferred = NULL;
        while (d) {
            struct comm_op *next = d->next;
            atomic_fetch_sub(&E.npending, 1); /* start_op counts it again */
            start_op(d);
            d = next;
        }
    }
    return n;
}

static void *engine_main(void *arg)
{
    (void)arg;
    long idle = 0, sleep_us = 1;
    double prev = comm_now();
    pthread_mutex_lock(&E.prog);
    while (!atomic_load(&E.stop)) {
        int work = 0;
        double gap = comm_now() - prev;
        if (gap > E.hb_interval) /* this thread was stuck (a long copy, descheduled): */
            for (int r = 0; r < dist.nranks; r++) /* we could not have heard anyone */
                E.last_seen[r] += gap;
        prev += gap;
        pthread_mutex_lock(&E.lock);
        struct comm_op *q = E.qhead;
        struct ckpt_item *ck = E.ckq;
        E.qhead = E.qtail = NULL;
        E.ckq = E.ckq_tail = NULL;
        work += E.kick; /* a task left a transfer pending: poll from now on */
        E.kick = 0;
        pthread_mutex_unlock(&E.lock);
        for (; q; work++) {
            struct comm_op *next = q->next;
            start_op(q);
            q = next;
        }
        for (; ck; work++) {
            struct ckpt_item *next = ck->next;
            own_checkpoint(&ck->c);
            free(ck);
            ck = next;
        }
        work += progress();
        struct ctrl_msg m;
        int peer;
        while (E.tp->ctrl_poll(&m, &peer) == 1) {
            on_ctrl(&m, peer);
            work++;
        }
        double now = comm_now();
        heartbeats(now);
        if (atomic_load(&E.broken) && now - E.broken_at > E.grace) {
            fprintf(stderr, "dagrt[rank %d]: error: the program did not stop %.1f s after the "
                    "failure; ending the job\n", dist.rank, E.grace);
            E.tp->abort(1);
        }
        if (work) {
            idle = 0;
            sleep_us = 1;
            continue;
        }
        /* while transfers are pending, poll for spin_us after the last progress, yielding
         * the core to anyone runnable on it; then back off */
        if (++idle == 1)
            E.idle_since = now;
        int delegated = workers_polling(); /* an idle worker drives the transfers */
        if ((E.active || E.deferred) && !delegated && now - E.idle_since < E.spin_s) {
            pthread_mutex_unlock(&E.prog); /* let a task post or complete transfers */
            sched_yield();
            pthread_mutex_lock(&E.prog);
            continue;
        }
        /* back off: sleep until posted work arrives or the poll interval passes; the
         * interval grows while nothing happens, and stays short while transfers wait,
         * unless a worker polls them: a wake-up here would only preempt it (on a full
         * node the hop then waits for the scheduler), and a poller that gives up wakes us */
        long cap = (E.active || E.deferred) && !delegated ? E.max_sleep_us / 8 + 1
                                                           : E.max_sleep_us;
        sleep_us = sleep_us * 2 > cap ? cap : sleep_us * 2;
        pthread_mutex_unlock(&E.prog);
        for (;;) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += sleep_us * 1000;
            ts.tv_sec += ts.tv_nsec / 1000000000;
            ts.tv_nsec %= 1000000000;
            pthread_mutex_lock(&E.lock);
            if (!E.qhead && !E.ckq && !E.kick && !atomic_load(&E.stop)) {
                E.sleeping = 1;
                pthread_cond_timedwait(&E.cond, &E.lock, &ts);
                E.sleeping = 0;
            }
            int urgent = E.qhead || E.ckq || atomic_load(&E.stop);
            pthread_mutex_unlock(&E.lock);
            if (pthread_mutex_trylock(&E.prog) == 0)
                break;
            /* a polling worker is in the transport: blocking here would cost it a futex
             * wake at its next unlock; come back later unless something waits for us or
             * the heartbeats would soon be late */
            if (urgent || !workers_polling() || comm_now() - prev > E.hb_interval / 4) {
                pthread_mutex_lock(&E.prog);
                break;
            }
            sleep_us = E.max_sleep_us;
        }
    }
    pthread_mutex_unlock(&E.prog);
    return NULL;
}

void comm_post(struct comm_op *op)
{
    op->next = NULL;
    /* post it from this thread when the engine is not busy in the transport: an eager
     * send completes here, a receive is in flight at once */
    if (E.direct && pthread_mutex_trylock(&E.prog) == 0) {
        int done = 0;
        op->done = &done;
        start_op(op);
        progress();
        /* a receive that the flow needs next usually arrives within microseconds: poll it
         * here briefly (yielding the core to the peer rank) rather than wake a thread */
        if (!done && E.post_spin_s > 0) {
            double t0 = comm_now();
            while (!done && comm_now() - t0 < E.post_spin_s) {
                pthread_mutex_unlock(&E.prog);
                sched_yield();
                pthread_mutex_lock(&E.prog);
                if (!done)
                    progress();
            }
        }
        if (!done)
            op->done = NULL;
        int pending = E.active || E.deferred;
        pthread_mutex_unlock(&E.prog);
        /* the engine polls it: make sure it is not in a long sleep, unless an idle
         * worker polls (it will see the transfer) */
        if (pending && !workers_polling()) {
            pthread_mutex_lock(&E.lock);
            E.kick = 1;
            if (E.sleeping)
                pthread_cond_signal(&E.cond);
            pthread_mutex_unlock(&E.lock);
        }
        return;
    }
    pthread_mutex_lock(&E.lock);
    if (E.qtail)
        E.qtail->next = op;
    else
        E.qhead = op;
    E.qtail = op;
    if (E.sleeping)
        pthread_cond_signal(&E.cond);
    pthread_mutex_unlock(&E.lock);
}

static RT_TLS char poll_token; /* its address tells the polling worker (E.poller) */

/* This thread stops polling: another idle worker may take over. */
static void poller_release(void)
{
    if (atomic_load_explicit(&E.poller, memory_order_relaxed) == &poll_token)
        atomic_store_explicit(&E.poller, NULL, memory_order_relaxed);
}

/* rt.poll: an idle worker drives progress (sched.c idle_poll). -1: nothing in flight. */
static int comm_poll(struct task **imm)
{
    if (!imm) {
        poller_release();
        return 0;
    }
    if (imm == RT_POLL_GIVE_UP) { /* it sleeps: the engine's thread takes over */
        atomic_store_explicit(&E.worker_poll, 0, memory_order_relaxed);
        poller_release();
        pthread_mutex_lock(&E.lock);
        if (E.sleeping)
            pthread_cond_signal(&E.cond);
        pthread_mutex_unlock(&E.lock);
        return 0;
    }
    if (atomic_load_explicit(&E.npending, memory_order_relaxed) == 0) {
        poller_release();
        return -1;
    }
    static RT_TLS unsigned polls;
    void *owner = atomic_load_explicit(&E.poller, memory_order_relaxed);
    if (owner != &poll_token) { /* one idle poller is enough: the others sleep */
        if (owner && workers_polling())
            return -1;
        atomic_store_explicit(&E.poller, (void *)&poll_token, memory_order_relaxed);
        polls = 0;
    }
    if ((polls++ & 31) == 0) /* a clock read per poll would slow every poll down */
        atomic_store_explicit(&E.worker_poll, comm_now_ns(), memory_order_relaxed);
    if (pthread_mutex_trylock(&E.prog))
        return 0; /* the engine's thread or a task is in the transport: poll again */
    tls_imm = imm;
    int n = progress();
    tls_imm = NULL;
    pthread_mutex_unlock(&E.prog);
    return n;
}

/* ---- start and stop ----------------------------------------------------------------- */

/* DAG_COMM: mpi (two-sided, default), rma (MPI one-sided: windows and MPI_Put, rma.c),
 * ucx (UCP tag matching, ucx.c; when built with UCX). */
static const struct transport *pick_transport(void)
{
    const char *s = getenv("DAG_COMM");
    if (!s || !*s || !strcmp(s, "mpi"))
        return &transport_mpi;
    if (!strcmp(s, "rma") || !strcmp(s, "mpi-rma"))
        return &transport_rma;
    if (!strcmp(s, "ucx")) {
#ifdef DAG_HAVE_UCX
        return &transport_ucx;
#else
        fprintf(stderr, "dagrt: warning: this build has no UCX transport (DAG_WITH_UCX); "
                "using mpi\n");
        return &transport_mpi;
#endif
    }
    fprintf(stderr, "dagrt: warning: DAG_COMM=%s is not a transport (mpi, rma, ucx, none); "
            "using mpi\n", s);
    return &transport_mpi;
}

dag_status_t comm_start(void)
{
    pthread_mutex_init(&E.lock, NULL);
    pthread_mutex_init(&E.prog, NULL);
    pthread_cond_init(&E.cond, NULL);
    E.tp = pick_transport();
    dag_status_t st = E.tp->init(&dist.rank, &dist.nranks);
    if (st)
        return st;
    E.mpi_ok = 1;
    if (dist.nranks < 2)
        return DAG_OK;
    int n = dist.nranks;
    E.last_seen = calloc((size_t)n, sizeof *E.last_seen);
    E.bye = calloc((size_t)n, 1);
    E.send_seq = calloc((size_t)n, sizeof *E.send_seq);
    E.recv_seq = calloc((size_t)n, sizeof *E.recv_seq);
    E.wins = calloc((size_t)n * 2, sizeof *E.wins);
    if (!E.last_seen || !E.bye || !E.send_seq || !E.recv_seq || !E.wins)
        return DAG_ERR_NOMEM;
    E.timeout = (double)env_long("DAG_COMM_TIMEOUT_MS", 10000, 100, 1L << 30) / 1e3;
    E.hb_interval = E.timeout / 8;
    E.grace = (double)env_long("DAG_COMM_GRACE_MS", 3000, 0, 1L << 30) / 1e3;
    E.spin_s = (double)env_long("DAG_COMM_SPIN_US", 500, 0, 1L << 30) / 1e6;
    E.max_sleep_us = env_long("DAG_COMM_SLEEP_US", 1000, 1, 1000000);
    E.tag_space = env_long("DAG_COMM_TAG_SPACE", E.tp->tag_space, 1, E.tp->tag_space);
    E.direct = E.tp->serialized && env_long("DAG_COMM_DIRECT", 1, 0, 1);
    E.post_spin_s = (double)env_long("DAG_COMM_POST_SPIN_US", 0, 0, 1000000) / 1e6;
    /* sends of data dirty on a GPU: home in pieces of the transport's message size, each
     * sent as it lands (0: the send waits until the whole tile is home) */
    E.stage = E.tp->staged_ok && E.tp->chunk && env_long("DAG_COMM_STAGE", 1, 0, 1);
    E.fake_stage = E.stage && env_long("DAG_COMM_TEST_STAGE", 0, 0, 1);
    /* Ranks sharing a node with more threads (workers + this one) than cores: an idle
     * worker that spins (DAG_SPIN_US) keeps the core from this thread and from the peer
     * rank, which is what it waits for (a 50 us spin made a remote hop 70 us instead of
     * 20 on 2 cores with 2 ranks). Sleep at once there unless the user asked to spin. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!getenv("DAG_SPIN_US") && ncpu > 0 &&
        (long)dist.local_size * (rt.nthreads + 1) > ncpu)
        rt.spin_ns = 0;
    double now = comm_now();
    for (int r = 0; r < n; r++)
        E.last_seen[r] = now;
    E.last_hb = 0;
    atomic_store(&E.stop, 0);
    atomic_store(&E.broken, 0);
    flow_reset();
    if (pthread_create(&E.thread, NULL, engine_main, NULL))
        return DAG_ERR_SYSTEM;
    E.started = 1;
    dist.active = 1;
    rt.interpose = flow_interpose;
    /* idle workers poll transfers for DAG_COMM_POLL_US after the last progress, then sleep
     * and leave them to the engine's thread; 0: only the engine's thread polls */
    rt.poll_ns = env_long("DAG_COMM_POLL_US", 1000, 0, 1L << 30) * 1000;
    rt.poll_yield = ncpu > 0 && dist.local_size > ncpu;
    if (rt.poll_ns > 0 && E.tp->serialized)
        atomic_store(&rt.poll, comm_poll);
    return DAG_OK;
}

void comm_before_drain(void)
{
    if (dist.active && !comm_broken())
        flow_sync_point(1);
}

void comm_on_wait(struct tctx *c)
{
    (void)c;
    if (dist.active && !comm_broken())
        flow_sync_point(0);
}

/* After the drain: every local transfer has completed. Say goodbye, wait for everyone
 * else's (so nobody finalizes while a peer still sends), then stop the thread. */
void comm_stop(void)
{
    if (!E.started)
        return;
    rt.interpose = NULL;
    atomic_store(&rt.poll, NULL);
    dist.active = 0;
    struct ctrl_msg bye = {.type = CTRL_BYE};
    int broken = comm_broken();
    if (!broken) {
        atomic_store(&E.stop, 1);
        pthread_join(E.thread, NULL);
        /* the thread is gone: this one finishes the protocol with the same helpers */
        for (int r = 0; r < dist.nranks; r++)
            if (r != dist.rank)
                E.tp->ctrl_send(r, &bye);
        double t0 = comm_now();
        for (;;) {
            struct ctrl_msg m;
            int peer, all = 1;
            while (E.tp->ctrl_poll(&m, &peer) == 1)
                on_ctrl(&m, peer);
            for (int r = 0; r < dist.nranks; r++)
                all &= r == dist.rank || E.bye[r];
            double now = comm_now();
            heartbeats(now);
            if ((all && E.tp->ctrl_idle()) || comm_broken())
                break;
            if (now - t0 > 1e3) /* cannot happen without a heartbeat failure first */
                break;
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        broken = comm_broken();
    } else {
        atomic_store(&E.stop, 1);
        pthread_join(E.thread, NULL);
    }
    E.started = 0;
    if (broken) {
        fprintf(stderr, "dagrt[rank %d]: error: ending the job after a failure (%s)\n",
                dist.rank, dag_strerror((dag_status_t)broken));
        E.tp->abort(1);
    }
    E.tp->fini(0);
    free(E.last_seen);
    free(E.bye);
    free(E.send_seq);
    free(E.recv_seq);
    for (int k = 0; k < 2 * dist.nranks; k++)
        free(E.wins[k].done);
    free(E.wins);
    free(E.own);
    free(E.pred);
    E.own = E.pred = NULL;
    E.nown = E.npred = E.capown = E.cappred = 0;
}
