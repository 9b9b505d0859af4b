/* launch.c: a job placed on a device is launched: a stream is chosen, its data made
 * valid on the device (coherence.c, copies issued as needed), its CUDA implementation
 * called with the thread's context set (dag_cuda_current), its `done` event recorded and
 * the job queued on the stream for completion (complete.c). Jobs that find no room wait
 * in the device's pending list; the progress thread launches them later. */
#include <stdlib.h>

#include "internal.h"

RT_TLS struct dag_cuda_ctx *cu_tls_ctx;

/* ---- launching ---------------------------------------------------------------------- */

static int stream_cap(void)
{
    return cu.inflight_per_stream;
}

/* With chaining (DAG_CUDA_CHAIN=1): a stream whose last launched kernel writes one of j's
 * inputs on dev, or -1. Launched there, j waits for it by stream order (a chain runs as
 * one stream, as a hand-written loop would), costs no concurrency (it must wait for that
 * kernel anyway) and holds up no other stream's queue while it waits. Only the last
 * kernel of its stream: the other readers of a result (a panel's updates) spread over
 * the streams as usual. A preference only: events order the data. */
static int chain_stream(const struct job *j, int d)
{
    if (cu.chain != 1)
        return -1;
    struct device *dv = &cu.dev[d];
    for (size_t i = 0; i < j->ndeps; i++) {
        struct region *r = region_get(j->deps[i].addr, j->deps[i].len, 0);
        const struct cev *e = r ? r->c[d].ready : NULL;
        if (e && e->stream >= 0 && e->stream < dv->nall && dv->st[e->stream].tail &&
            dv->st[e->stream].tail->done == e)
            return e->stream;
    }
    return -1;
}

/* Lock st's launch lock; cu.lock held on entry and exit (dropped while waiting). */
static struct stream *lock_stream(struct stream *st)
{
    if (pthread_mutex_trylock(&st->launch) == 0)
        return st;
    pthread_mutex_unlock(&cu.lock);
    pthread_mutex_lock(&st->launch);
    pthread_mutex_lock(&cu.lock);
    return st;
}

/* The least busy of the streams st[lo .. hi-1] whose launch lock is free, locked; if
 * all are being launched on, wait for the least busy one. */
static struct stream *least_busy(struct device *dv, int lo, int hi)
{
    struct stream *best = NULL;
    for (int k = lo; k < hi; k++) {
        struct stream *st = &dv->st[k];
        if (best && st->inflight >= best->inflight)
            continue;
        if (pthread_mutex_trylock(&st->launch) == 0) {
            if (best)
                pthread_mutex_unlock(&best->launch);
            best = st;
        }
    }
    if (best)
        return best;
    best = &dv->st[lo];
    for (int k = lo + 1; k < hi; k++)
        if (dv->st[k].inflight < best->inflight)
            best = &dv->st[k];
    return lock_stream(best);
}

/* A stream of dv whose launch lock we hold. With DAG_CUDA_URGENT >= 2, prioritised tasks
 * (the critical path: a factorisation's panel, the next step's updates) take the least
 * busy urgent stream (at the highest stream priority): on an ordinary stream they
 * would wait behind up to DAG_CUDA_INFLIGHT kernels launched before them, and their
 * blocks would share the SMs with those streams' queued kernels. Long prioritised ones
 * keep to the first urgent stream, in launch order. Other kernels the model knows to be
 * long (they fill the GPU) go to stream 0, in launch order: run side by side they would
 * only finish together, late, and their copies back would queue at the end. Short or
 * unknown ones take the least busy of the other streams, where they can overlap. With
 * chaining, the stream of the kernel writing its input comes first (chain_stream). Called
 * and returns with cu.lock held (dropped meanwhile only if the stream it needs is being
 * launched on). */
static struct stream *grab_stream(struct device *dv, int serial, int urgent, int pref)
{
    if (pref >= 0 && !serial && (pref < dv->nstreams || urgent) &&
        pthread_mutex_trylock(&dv->st[pref].launch) == 0)
        return &dv->st[pref]; /* its predecessor's stream (chain_stream) */
    if (urgent && dv->nurgent && serial)
        return lock_stream(&dv->st[dv->nstreams]);
    if (urgent && dv->nurgent > 1)
        return least_busy(dv, dv->nstreams, dv->nall);
    if (serial || dv->nstreams == 1)
        return lock_stream(&dv->st[0]);
    return least_busy(dv, 1, dv->nstreams);
}

static int writeback_eagerly(struct task *t)
{
    if (cu.writeback == WB_EAGER)
        return 1;
    if (cu.writeback == WB_LAZY)
        return 0;
    /* auto: nothing depends on the result yet, so the host is its likely reader */
    return !task_has_successors(t);
}

/* Launch j on its device. cu.lock held on entry and exit; dropped around the task's own
 * code. Returns 0 when launched, 1 when device memory is short (nothing changed), or a
 * negative status. */
static int launch(struct job *j)
{
    int d = j->dev;
    struct device *dv = &cu.dev[d];
    struct task *t = j->t;
    int lost = job_check_lost(j);
    if (lost)
        return lost;
    struct stream *st = grab_stream(dv, j->serial, cu.urgent && t->priority > 0,
                                    chain_stream(j, d));
    cudaSetDevice(d);
    for (size_t i = 0; i < j->ndeps; i++) {
        struct jdep *p = &j->deps[i];
        p->r = region_get(p->addr, p->len, 1);
        p->dptr = p->r ? co_acquire_dev(p->r, d, p->mode, st->s) : NULL;
        if (!p->dptr) {
            for (size_t k = 0; k < i; k++)
                j->deps[k].r->c[d].pins--;
            pthread_mutex_unlock(&st->launch);
            return p->r ? 1 : DAG_ERR_NOMEM;
        }
    }
    j->stream = st->idx;
    j->start = cev_get(d, 1); /* timed: the model learns from every run */
    j->done = cev_get(d, 1);
    j->done->stream = st->idx; /* for chain_stream */
    dv->inflight++;
    st->inflight++;
    pthread_mutex_unlock(&cu.lock);

    j->ctx.device = d;
    j->ctx.stream = st->s;
    j->ctx.impl_ = j;
    cudaSetDevice(d); /* a transfer from another device may have switched it */
    if (j->start)
        cudaEventRecord(j->start->e, st->s);
    struct dag_cuda_ctx *saved = cu_tls_ctx;
    cu_tls_ctx = &j->ctx;
    j->rc = t->cuda ? t->cuda(t->args, &j->ctx) : t->fn(t->args);
    cu_tls_ctx = saved;
    cudaSetDevice(d);
    cudaError_t err = cudaEventRecord(j->done->e, st->s);
    if (err != cudaSuccess) {
        cu_warn("launching a task", err);
        if (!j->rc)
            j->rc = DAG_ERR_DEVICE;
    }
    pthread_mutex_unlock(&st->launch);

    pthread_mutex_lock(&cu.lock);
    /* a retryable task's outputs stay on the device until it succeeded: a failed
     * attempt's bytes must never reach the host (complete.c voids them) */
    int wb = !j->retryable && writeback_eagerly(t);
    for (size_t i = 0; i < j->ndeps; i++) {
        struct jdep *p = &j->deps[i];
        if (mode_writes(p->mode)) {
            co_written_dev(p->r, d, j->done);
            if (wb)
                co_writeback_early(p->r);
        } else {
            co_read_dev(p->r, d, st->idx, j->done); /* its next writer waits for it */
        }
    }
    /* queued only now: an event not yet recorded reads as complete */
    j->qnext = NULL;
    if (st->tail)
        st->tail->qnext = j;
    else
        atomic_store_explicit(&st->head, j, RELEASE);
    st->tail = j;
    if (cu.sleeping)
        pthread_cond_signal(&cu.cv);
    return 0;
}

static void pend(struct device *dv, struct job *j)
{
    atomic_fetch_add_explicit(&cu.npending, 1, RELAXED);
    j->qnext = NULL;
    if (dv->pend_tail)
        dv->pend_tail->qnext = j;
    else
        dv->pend_head = j;
    dv->pend_tail = j;
    if (cu.sleeping)
        pthread_cond_signal(&cu.cv);
}

/* Bytes of j's dependencies not valid on dev (what launching it there would copy). */
static size_t missing_bytes(const struct job *j, int dev)
{
    size_t m = 0;
    for (size_t i = 0; i < j->ndeps; i++)
        m += co_missing_bytes(j->deps[i].addr, j->deps[i].len, dev);
    return m;
}

/* Unlinks and returns the pending job of dv to launch next. DAG_CUDA_PENDING=fifo: the
 * oldest. prio (default): among the PEND_SCAN oldest, the highest task priority first
 * (a factorisation's critical path overtakes the updates queued before it), then the
 * one with the fewest bytes left to copy to the device (data-aware, as StarPU's dmdas
 * orders a device's queue), then the oldest; the oldest goes first anyway once it has
 * been passed over PEND_MAX_SKIPS times (no job waits forever). Pending jobs are all
 * ready: no order between them is required. [co] */
#define PEND_SCAN 64
#define PEND_MAX_SKIPS 64
static struct job *take_pending(struct device *dv, int dev)
{
    struct job *prev = NULL, *best_prev = NULL, *best = dv->pend_head;
    if (cu.pend_order == PEND_PRIO && best->qnext && best->pend_skips < PEND_MAX_SKIPS) {
        int bp = best->t->priority;
        size_t bm = missing_bytes(best, dev);
        int k = 1;
        for (prev = best; prev->qnext && k < PEND_SCAN; prev = prev->qnext, k++) {
            struct job *j = prev->qnext;
            if (j->t->priority < bp)
                continue;
            size_t m = j->t->priority > bp || bm ? missing_bytes(j, dev) : 0;
            if (j->t->priority > bp || m < bm) {
                best = j;
                best_prev = prev;
                bp = j->t->priority;
                bm = m;
            }
        }
    }
    if (best_prev) {
        dv->pend_head->pend_skips++; /* passed over: after PEND_MAX_SKIPS, it goes first */
        best_prev->qnext = best->qnext;
    } else {
        dv->pend_head = best->qnext;
    }
    if (dv->pend_tail == best)
        dv->pend_tail = best_prev;
    return best;
}

/* Progress thread, cu.lock held: launch what waited for room on dev (take_pending's
 * order); c: the thread's context (taken before the lock), for chaining, or NULL. */
void job_launch_pending(int dev, struct tctx *c)
{
    struct device *dv = &cu.dev[dev];
    int cap = stream_cap() * dv->nstreams;
    while (dv->pend_head && dv->inflight < cap) {
        struct job *j = take_pending(dv, dev);
        atomic_fetch_sub_explicit(&cu.npending, 1, RELAXED);
        int rc = launch(j);
        if (rc == 0) {
            /* under cu.lock: the poller cannot complete j (and free its task) meanwhile */
            if (c && job_may_chain(j))
                job_chain(c, j->t);
            continue;
        }
        if (rc == 1 && dv->inflight > 0) {
            /* memory comes back when a running task completes */
            atomic_fetch_add_explicit(&cu.npending, 1, RELAXED);
            j->qnext = dv->pend_head;
            dv->pend_head = j;
            if (!dv->pend_tail)
                dv->pend_tail = j;
            return;
        }
        job_writers_done(j);
        pthread_mutex_unlock(&cu.lock);
        job_finish(j, rc == 1 ? DAG_ERR_NOMEM : rc); /* needs more than the whole device */
        pthread_mutex_lock(&cu.lock);
    }
}

/* A worker launches j on its device now if there is room, else queues it (the progress
 * thread launches it later). 0, 1 (launched, and job_may_chain: the caller releases its
 * successors once it dropped cu.lock), or a negative status (j failed: the caller
 * finishes it). */
int job_launch_or_pend(struct job *j)
{
    struct device *dv = &cu.dev[j->dev];
    int rc = 1;
    if (dv->dead) /* lost since placement: the job fails (and may be retried elsewhere) */
        return DAG_ERR_DEVICE;
    if (!dv->pend_head && dv->inflight < stream_cap() * dv->nstreams)
        rc = launch(j);
    if (rc == 1)
        pend(dv, j);
    return rc < 0 ? rc : rc == 0 && job_may_chain(j);
}

/* ---- chaining (DAG_CUDA_CHAIN) -------------------------------------------------------- */

/* j was launched and its successors may start behind it on the device (core/early.c),
 * ordered by events (coherence.c) instead of by the host seeing it complete: its launch
 * returned 0, a failure would not be retried (a retried task's data must stay as it was
 * until it succeeded), its device is alive. A kernel fault found at completion is sticky
 * (the device is then lost, and the successors already launched there fail with it);
 * DAG_FAULT_INJECT=cuda:N (a transient fault, which real kernels do not have) turns
 * chaining off at start, so that its failure cancels the successors. [co] */
int job_may_chain(const struct job *j)
{
    const struct task *t = j->t;
    return cu.chain && j->rc == 0 && !j->retryable && !t->ft &&
           (t->flags & (TF_DEVICE | TF_STAGES)) == TF_DEVICE && !cu.dev[j->dev].dead;
}

/* Release the task's successors that chain. The caller made sure its task cannot complete
 * meanwhile: j's body is still running (exec.c), or cu.lock is held (the pending path,
 * where the poller needs it to complete j). */
void job_chain(struct tctx *c, struct task *t)
{
    int n = task_release_early(c, t);
    if (n)
        atomic_fetch_add_explicit(&cu.nchained, (unsigned long long)n, RELAXED);
}
