/* xfer.c: transfers. Send/receive tasks hand their transfer over (comm_post); it is
 * posted, tested until done and its task's completion event fulfilled, by whichever thread
 * holds the transport lock: the posting task's own thread first (an eager send completes
 * inside its task, a receive is in flight without waking anyone; a thread handoff costs
 * tens of microseconds on an oversubscribed node), then an idle worker (comm_poll, through
 * rt.poll) or the engine's thread (engine.c). The lock serialises every transport call and
 * the lists, so MPI_THREAD_SERIALIZED suffices; without it tasks queue transfers for the
 * engine's thread. Each receive checks what the arriving message is for (its envelope,
 * xfer_env_check) before the data is delivered. Tags come from the tag windows (seqwin.c). */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "../core/hooks.h"
#include "../core/runtime.h"
#include "../obs/obs.h"

static struct {
    const struct transport *tp;
    pthread_mutex_t prog;           /* transport calls, active, deferred, wins (see top) */
    int direct;                     /* tasks may call the transport (under prog) */
    pthread_mutex_t qlock;          /* the queue */
    struct comm_op *qhead, *qtail;  /* posted by tasks, not yet started */
    struct comm_op *active, *deferred;
    atomic_int npending;            /* ops in active + deferred (read without prog) */
    _Atomic uint64_t worker_poll;   /* ns when an idle worker last polled */
    void *_Atomic poller;           /* the worker that polls (its token), stale after
                                       WORKER_POLL_NS without a poll */
    double post_spin_s;
    void (*wake)(int kick);
    /* the flow's (dist.lock) */
    uint64_t *send_seq, *recv_seq;
    struct seqwin *wins;            /* 2 per peer (prog) */
    long tag_space;
    int nranks;
} xfers;

static RT_TLS struct task **tls_imm; /* comm_poll: where a released successor goes */
static RT_TLS char poll_token;       /* its address tells the polling worker (xfers.poller) */

/* An idle worker polled the transport within the last WORKER_POLL_NS: the engine's thread
 * leaves the polling to it (and is not woken for new transfers). */
#define WORKER_POLL_NS 200000u
int xfer_workers_polling(void)
{
    return clock_now_ns() - atomic_load_explicit(&xfers.worker_poll, memory_order_relaxed) <
           WORKER_POLL_NS;
}

uint64_t comm_seq(int peer, int send)
{
    uint64_t *s = send ? xfers.send_seq : xfers.recv_seq;
    return s[peer]++;
}

int comm_tag_of(uint64_t seq)
{
    return (int)(seq % (uint64_t)xfers.tag_space);
}

void xfer_lock(void)
{
    pthread_mutex_lock(&xfers.prog);
}

void xfer_unlock(void)
{
    pthread_mutex_unlock(&xfers.prog);
}

int xfer_trylock(void)
{
    return pthread_mutex_trylock(&xfers.prog);
}

int xfer_pending(void)
{
    return xfers.active || xfers.deferred;
}

void xfer_set_wake(void (*wake)(int kick))
{
    xfers.wake = wake;
}

static struct seqwin *win_of(const struct comm_op *op)
{
    return &xfers.wins[2 * op->peer + (op->kind == OP_SEND)];
}

/* ---- completion and failure ---------------------------------------------------------- */

static void op_done(struct comm_op *op, int code)
{
    dag_event_t ev = op->ev;
    if (op->stage)
        stage_end(op->stage);
    if (!code && rt.hooks) /* the message as a slice with its bytes, in the peer's lane */
        hooks_transfer(NULL, op->kind == OP_RECV ? HOOK_XFER_RECV : HOOK_XFER_SEND, op->len,
                       op->t_post, clock_now_ns(), OBS_LANE_COMM + op->peer);
    if (op->done)
        *op->done = 1;
    comm_treq_free(op);
    free(op);
    if (tls_imm && !*tls_imm) /* an idle worker polls: it runs the successor itself */
        task_fulfill(ev, code, tls_imm);
    else
        dag_event_fulfill(ev, code);
}

void comm_where(const char *file, int line, char *buf, size_t n)
{
    if (file && *file)
        snprintf(buf, n, " (%s:%d)", file, line);
    else
        snprintf(buf, n, "%s", "");
}

static void describe(const struct comm_op *op, char *buf, size_t n)
{
    char w[300];
    comm_where(op->file, op->line, w, sizeof w);
    snprintf(buf, n, "task '%s'%s %s tile %ld of data #%d %s rank %d", op->label, w,
             op->kind == OP_RECV ? "waits for" : "cannot send", op->tile, op->coll,
             op->kind == OP_RECV ? "from" : "to", op->peer);
}

/* Did the message that arrived (theirs) come for what this side expects (op->env)? On a
 * mismatch, say which two tasks met, and stop: the data is never delivered. */
int xfer_env_check(const struct comm_op *op, const struct comm_env *theirs)
{
    const struct comm_env *mine = &op->env;
    if (theirs->magic == COMM_ENV_MAGIC && theirs->coll == mine->coll &&
        theirs->tile == mine->tile && theirs->len == mine->len && theirs->task == mine->task)
        return 0;
    if (theirs->magic != COMM_ENV_MAGIC) {
        fprintf(stderr, "dagrt[rank %d]: error: task flow mismatch: a message from rank %d "
                "is not a transfer of this runtime (tag %d)\n", dist.rank, op->peer, op->tag);
        return -1;
    }
    int recv = op->kind == OP_RECV;
    const struct comm_env *s = recv ? theirs : mine, *r = recv ? mine : theirs;
    int sr = recv ? op->peer : dist.rank, rr = recv ? dist.rank : op->peer;
    char ws[128], wr[128];
    comm_where(s->file, s->line, ws, sizeof ws);
    comm_where(r->file, r->line, wr, sizeof wr);
    const char *why = s->len != r->len ? "the tile sizes differ" : "the flows diverged";
    fprintf(stderr,
            "dagrt[rank %d]: error: task flow mismatch (%s): rank %d sends tile %lld of data "
            "#%d (%llu bytes) for task '%.40s'%s, task %llu of its flow, but rank %d expects "
            "tile %lld of data #%d (%llu bytes) for task '%.40s'%s, task %llu of its flow. "
            COMM_FLOW_ADVICE ", on data registered with the same sizes; no data was "
            "delivered.\n",
            dist.rank, why, sr, (long long)s->tile, s->coll, (unsigned long long)s->len,
            s->label, ws, (unsigned long long)s->task, rr, (long long)r->tile, r->coll,
            (unsigned long long)r->len, r->label, wr, (unsigned long long)r->task);
    return -1;
}

/* Pack buffers come back in completion order: a small stack of free ones saves a malloc
 * and a free per small transfer. */
#define PACK_KEEP 64
static char *pack_free[PACK_KEEP];
static int npack_free;

char *comm_pack_get(void)
{
    if (npack_free)
        return pack_free[--npack_free];
    return malloc(sizeof(struct comm_env) + COMM_PACK_MAX);
}

void comm_pack_put(char *p)
{
    if (npack_free < PACK_KEEP)
        pack_free[npack_free++] = p;
    else
        free(p);
}

static void pack_drain(void)
{
    while (npack_free)
        free(pack_free[--npack_free]);
}

char *comm_pack(struct comm_op *op, size_t *bytes)
{
    if (op->len > COMM_PACK_MAX || op->ready < op->len)
        return NULL; /* large, or staged from a device: unpacked */
    char *p = comm_pack_get();
    if (!p)
        return NULL;
    memcpy(p, &op->env, sizeof op->env);
    memcpy(p + sizeof op->env, op->buf, op->len);
    *bytes = sizeof op->env + op->len;
    return p;
}

int comm_unpack(struct comm_op *op, size_t bytes)
{
    if (bytes < sizeof op->got) {
        op->got.magic = 0; /* not a transfer of this runtime */
        xfer_env_check(op, &op->got);
        return XFER_MISMATCH;
    }
    memcpy(&op->got, op->pack, sizeof op->got);
    if (xfer_env_check(op, &op->got))
        return XFER_MISMATCH;
    if (bytes == sizeof op->got) /* the data follows (large, or staged from a device) */
        return 0;
    if (bytes != sizeof op->got + op->len) /* cannot be: the lengths matched */
        return XFER_MISMATCH;
    memcpy(op->buf, op->pack + sizeof op->got, op->len);
    return 1;
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
 * them, since the flow cannot finish consistently once a rank is gone). Lock held. */
void xfer_fail_all(int code, int peer)
{
    struct comm_op *lists[3] = {xfers.active, xfers.deferred, NULL};
    xfers.active = xfers.deferred = NULL;
    atomic_store(&xfers.npending, 0);
    COMM_FIFO_TAKE(&xfers.qlock, xfers.qhead, xfers.qtail, lists[2]);
    if (peer >= 0)
        name_oldest(lists, 3, peer);
    for (int l = 0; l < 3; l++) {
        struct comm_op *op = lists[l];
        while (op) {
            struct comm_op *next = op->next;
            if (l < 2 && op->treq)
                xfers.tp->cancel(op);
            op_done(op, code);
            op = next;
        }
    }
}

static void fail_now(int code, int peer)
{
    comm_fail(code, peer, 1);
    xfer_fail_all(comm_broken(), peer);
}

/* ---- progress ----------------------------------------------------------------------- */

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
    if (comm_broken()) {
        op_done(op, comm_broken());
        return;
    }
    if (!seqwin_may_start(win_of(op), op->seq, xfers.tag_space)) {
        op->next = NULL;
        struct comm_op **p = &xfers.deferred;
        while (*p)
            p = &(*p)->next;
        *p = op;
        atomic_fetch_add(&xfers.npending, 1);
        return;
    }
    if (stage_update(op) || xfers.tp->start(op)) {
        char d[512];
        describe(op, d, sizeof d);
        fprintf(stderr, "dagrt[rank %d]: error: the transport refused a transfer: %s\n",
                dist.rank, d);
        op_done(op, DAG_ERR_COMM);
        fail_now(DAG_ERR_COMM, -1);
        return;
    }
    op->next = xfers.active;
    xfers.active = op;
    atomic_fetch_add(&xfers.npending, 1);
}

int xfer_progress(void)
{
    int n = 0;
    struct comm_op **p = &xfers.active;
    while (*p) {
        struct comm_op *op = *p;
        int r = stage_update(op) ? XFER_FAILED : xfers.tp->test(op);
        if (r == 0) {
            p = &op->next;
            continue;
        }
        *p = op->next;
        atomic_fetch_sub(&xfers.npending, 1);
        n++;
        if (r < 0) {
            int peer = op->peer, code = r == XFER_MISMATCH ? DAG_ERR_MISMATCH : DAG_ERR_COMM;
            if (code == DAG_ERR_COMM) {
                char d[512];
                describe(op, d, sizeof d);
                fprintf(stderr, "dagrt[rank %d]: error: a message could not be delivered: "
                        "%s\n", dist.rank, d);
            }
            op_done(op, code);
            fail_now(code, code == DAG_ERR_COMM ? peer : -1);
            return n;
        }
        seqwin_done(win_of(op), op->seq);
        op_done(op, 0);
    }
    if (n && xfers.deferred) {
        struct comm_op *d = xfers.deferred;
        xfers.deferred = NULL;
        while (d) {
            struct comm_op *next = d->next;
            atomic_fetch_sub(&xfers.npending, 1); /* start_op counts it again */
            start_op(d);
            d = next;
        }
    }
    return n;
}

int xfer_queue_run(void)
{
    struct comm_op *q;
    COMM_FIFO_TAKE(&xfers.qlock, xfers.qhead, xfers.qtail, q);
    int n = 0;
    for (; q; n++) {
        struct comm_op *next = q->next;
        start_op(q);
        q = next;
    }
    return n;
}

void comm_post(struct comm_op *op)
{
    op->next = NULL;
    /* post it from this thread when the engine is not busy in the transport: an eager
     * send completes here, a receive is in flight at once */
    if (xfers.direct && pthread_mutex_trylock(&xfers.prog) == 0) {
        int done = 0;
        op->done = &done;
        start_op(op);
        xfer_progress();
        /* a receive that the flow needs next usually arrives within microseconds: poll it
         * here briefly (yielding the core to the peer rank) rather than wake a thread */
        if (!done && xfers.post_spin_s > 0) {
            double t0 = comm_now();
            while (!done && comm_now() - t0 < xfers.post_spin_s) {
                pthread_mutex_unlock(&xfers.prog);
                sched_yield();
                pthread_mutex_lock(&xfers.prog);
                if (!done)
                    xfer_progress();
            }
        }
        if (!done)
            op->done = NULL;
        int pending = xfer_pending();
        pthread_mutex_unlock(&xfers.prog);
        /* the engine polls it: make sure it is not in a long sleep, unless an idle
         * worker polls (it will see the transfer) */
        if (pending && !xfer_workers_polling())
            xfers.wake(1);
        return;
    }
    COMM_FIFO_PUSH(&xfers.qlock, xfers.qhead, xfers.qtail, op);
    xfers.wake(0);
}

/* This thread stops polling: another idle worker may take over. */
static void poller_release(void)
{
    if (atomic_load_explicit(&xfers.poller, memory_order_relaxed) == &poll_token)
        atomic_store_explicit(&xfers.poller, NULL, memory_order_relaxed);
}

/* rt.poll: an idle worker drives progress (sched.c idle_poll). -1: nothing in flight. */
static int comm_poll(struct task **imm)
{
    if (!imm) {
        poller_release();
        return 0;
    }
    if (imm == RT_POLL_GIVE_UP) { /* it sleeps: the engine's thread takes over */
        atomic_store_explicit(&xfers.worker_poll, 0, memory_order_relaxed);
        poller_release();
        xfers.wake(0);
        return 0;
    }
    if (atomic_load_explicit(&xfers.npending, memory_order_relaxed) == 0) {
        poller_release();
        return -1;
    }
    static RT_TLS unsigned polls;
    void *owner = atomic_load_explicit(&xfers.poller, memory_order_relaxed);
    if (owner != &poll_token) { /* one idle poller is enough: the others sleep */
        if (owner && xfer_workers_polling())
            return -1;
        atomic_store_explicit(&xfers.poller, (void *)&poll_token, memory_order_relaxed);
        polls = 0;
    }
    if ((polls++ & 31) == 0) /* a clock read per poll would slow every poll down */
        atomic_store_explicit(&xfers.worker_poll, clock_now_ns(), memory_order_relaxed);
    if (pthread_mutex_trylock(&xfers.prog))
        return 0; /* the engine's thread or a task is in the transport: poll again */
    tls_imm = imm;
    int n = xfer_progress();
    tls_imm = NULL;
    pthread_mutex_unlock(&xfers.prog);
    return n;
}

/* ---- start and stop ------------------------------------------------------------------ */

dag_status_t xfer_start(const struct transport *tp, int nranks)
{
    xfers.tp = tp;
    xfers.nranks = nranks;
    pthread_mutex_init(&xfers.prog, NULL);
    pthread_mutex_init(&xfers.qlock, NULL);
    xfers.send_seq = calloc((size_t)nranks, sizeof *xfers.send_seq);
    xfers.recv_seq = calloc((size_t)nranks, sizeof *xfers.recv_seq);
    xfers.wins = calloc((size_t)nranks * 2, sizeof *xfers.wins);
    if (!xfers.send_seq || !xfers.recv_seq || !xfers.wins)
        return DAG_ERR_NOMEM;
    xfers.tag_space = env_long("DAG_COMM_TAG_SPACE", tp->tag_space, 1, tp->tag_space);
    xfers.direct = tp->serialized && env_long("DAG_COMM_DIRECT", 1, 0, 1);
    xfers.post_spin_s = (double)env_long("DAG_COMM_POST_SPIN_US", 0, 0, 1000000) / 1e6;
    atomic_store(&xfers.npending, 0);
    /* idle workers poll transfers for DAG_COMM_POLL_US after the last progress, then sleep
     * and leave them to the engine's thread; 0: only the engine's thread polls */
    rt.poll_ns = env_long("DAG_COMM_POLL_US", 1000, 0, 1L << 30) * 1000;
    return DAG_OK;
}

void xfer_enable_polling(void)
{
    if (rt.poll_ns > 0 && xfers.tp->serialized)
        atomic_store(&rt.poll, comm_poll);
}

void xfer_stop(void)
{
    atomic_store(&rt.poll, NULL);
    pack_drain();
    free(xfers.send_seq);
    free(xfers.recv_seq);
    for (int k = 0; xfers.wins && k < 2 * xfers.nranks; k++)
        free(xfers.wins[k].done);
    free(xfers.wins);
    xfers.send_seq = xfers.recv_seq = NULL;
    xfers.wins = NULL;
}
