/* exec.c: the device seam (rt.dev): a task's path through the CUDA layer. on_submit
 * keeps its dependencies (task.ext = struct job); exec places it (perfmodel.c), then
 * either makes its data current on the host and runs the CPU body, or launches it on a
 * stream of a device and detaches: the progress thread (device.c) sees the stream pass
 * the job's `done` event and fulfils the task's event. A worker never waits for a
 * kernel, nor for a copy: a CPU task whose inputs are dirty on a device is deferred by
 * prepare until their copies back complete. on_wait makes results visible on the host.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/hooks.h"
#include "internal.h"

static RT_TLS struct dag_cuda_ctx *tls_cur;

/* ---- job lists: one per submitting thread ------------------------------------------- */

/* A job is freed by the thread that made it, at a later submission or at cuda_stop, once
 * it is finished or its task is done (a cancelled task never reaches exec). Reading a
 * recycled descriptor's state is safe: descriptors are type-stable until finalize. */
struct jlist {
    struct job *head;
    size_t n, next_sweep;
    struct jlist *all;
};

static RT_TLS struct jlist *tls_jobs;
static pthread_mutex_t jl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jlist *jl_all;

static int job_dead(struct job *j)
{
    if (atomic_load_explicit(&j->finished, ACQUIRE))
        return 1;
    uint64_t st = atomic_load_explicit(&j->t->state, ACQUIRE);
    return (st >> 1) != j->seq || (st & TS_DONE);
}

static void sweep(struct jlist *l, int all)
{
    size_t n = 0;
    for (struct job **pp = &l->head; *pp;) {
        struct job *j = *pp;
        if (all || job_dead(j)) {
            *pp = j->snext;
            free(j);
        } else {
            pp = &j->snext;
            n++;
        }
    }
    l->n = n;
    l->next_sweep = 2 * n + 64;
}

void jobs_sweep_all(void)
{
    pthread_mutex_lock(&jl_lock);
    for (struct jlist *l = jl_all; l; l = l->all)
        sweep(l, 1);
    pthread_mutex_unlock(&jl_lock);
}

static struct jlist *my_jobs(void)
{
    struct jlist *l = tls_jobs;
    if (likely(l))
        return l;
    l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->next_sweep = 64;
    pthread_mutex_lock(&jl_lock);
    l->all = jl_all;
    jl_all = l;
    pthread_mutex_unlock(&jl_lock);
    return tls_jobs = l;
}

/* A job placed on a device ends here. The task may be recycled as soon as the event is
 * fulfilled: nothing touches j after. */
static void job_finish(struct job *j, int rc)
{
    dag_event_t ev = j->ev;
    atomic_store_explicit(&j->finished, 1, RELEASE);
    atomic_fetch_sub_explicit(&cu.njobs, 1, RELEASE);
    dag_event_fulfill(ev, rc);
}

/* ---- on_submit ---------------------------------------------------------------------- */

static int jdep_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct jdep *)a)->addr;
    uintptr_t y = (uintptr_t)((const struct jdep *)b)->addr;
    return x < y ? -1 : x > y;
}

/* Dependencies of one task that overlap each other become one region covering them all,
 * written if any of them is: a kernel then sees one device buffer for those bytes, so a
 * write through one pointer is seen through the others (two separate copies would
 * diverge). Bytes the task only reads are then treated as written: their device copy is
 * current after the task, and writing them back rewrites the same values. Returns the
 * new count; dag_cuda_ptr() (cuapi_ptr) finds any address inside the merged region. */
static size_t merge_overlaps(struct jdep *d, size_t n)
{
    if (n < 2)
        return n;
    for (size_t i = 1; i < n; i++)
        if ((uintptr_t)d[i].addr < (uintptr_t)d[i - 1].addr) {
            qsort(d, n, sizeof *d, jdep_cmp); /* the order of a job's deps is free */
            break;
        }
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        struct jdep *cur = &d[out];
        uintptr_t end = (uintptr_t)cur->addr + cur->len;
        if ((uintptr_t)d[i].addr < end) {
            uintptr_t e2 = (uintptr_t)d[i].addr + d[i].len;
            if (e2 > end)
                cur->len = e2 - (uintptr_t)cur->addr;
            if (mode_writes(cur->mode) || mode_writes(d[i].mode))
                cur->mode = DAG_INOUT;
        } else {
            d[++out] = d[i];
        }
    }
    return out + 1;
}

static dag_status_t cu_on_submit(struct tctx *c, struct task *t, const dag_dep_t *deps,
                                 size_t ndeps)
{
    (void)c;
    int gpu = (t->cuda || t->device == DAG_DEVICE_CUDA) && t->device != DAG_DEVICE_CPU;
    if (gpu) {
        if (!atomic_load_explicit(&cu.seen_gpu, RELAXED))
            atomic_store(&cu.seen_gpu, 1);
    } else if (!ndeps || !atomic_load_explicit(&cu.seen_gpu, RELAXED)) {
        return DAG_OK; /* before any CUDA task, no device copy can exist */
    }
    struct jlist *l = my_jobs();
    struct job *j = l ? malloc(sizeof *j + ndeps * sizeof(struct jdep)) : NULL;
    if (!j)
        return DAG_ERR_NOMEM;
    memset(j, 0, sizeof *j);
    j->t = t;
    j->seq = task_seq(t);
    j->gpu_ok = gpu;
    j->cpu_ok = t->device != DAG_DEVICE_CUDA;
    j->dev = -1;
    size_t n = 0;
    for (size_t i = 0; i < ndeps; i++) {
        if (!deps[i].len)
            continue;
        j->deps[n].addr = deps[i].addr;
        j->deps[n].len = deps[i].len;
        j->deps[n].mode = deps[i].mode & DAG_MODE_MASK;
        j->deps[n].r = NULL;
        j->deps[n].dptr = NULL;
        n++;
    }
    j->ndeps = merge_overlaps(j->deps, n);
    if (cu.writeback == WB_AUTO) /* the write-back hint (writers.c) */
        j->counted = wr_add(j->deps, j->ndeps);
    j->snext = l->head;
    l->head = j;
    if (++l->n >= l->next_sweep)
        sweep(l, 0);
    t->ext = j;
    return DAG_OK;
}

/* j's writes are done (or will never be). Under auto, a region whose last known writer
 * j was goes home now if it is dirty on a device: the copy engine is otherwise idle
 * until the final wait (writers.c). cu.lock held when j ran on a device (deps' r set). */
static void writers_done(struct job *j)
{
    if (!j->counted)
        return;
    j->counted = 0;
    for (size_t i = 0; i < j->ndeps; i++) {
        struct jdep *p = &j->deps[i];
        if (mode_writes(p->mode) && wr_done(p->addr, p->len) && p->r && !p->r->host_valid) {
            cev_put(co_writeback(p->r));
            cu.stats.early_writebacks++;
        }
    }
}

/* ---- CPU execution ------------------------------------------------------------------ */

/* j runs on the CPU: its inputs come home (the copies' events join w), the device copies
 * of what it writes are dropped. [co] */
static void acquire_host(struct job *j, struct evlist *w)
{
    for (size_t i = 0; i < j->ndeps; i++)
        co_acquire_host(j->deps[i].addr, j->deps[i].len, j->deps[i].mode, w);
    j->host_acquired = 1;
}

static int exec_cpu(struct job *j)
{
    struct task *t = j->t;
    if (!j->host_acquired && j->ndeps && atomic_load_explicit(&cu.nregions, RELAXED)) {
        struct evlist w = {0};
        pthread_mutex_lock(&cu.lock);
        acquire_host(j, &w);
        pthread_mutex_unlock(&cu.lock);
        co_sync_events(w.v, w.n);
        free(w.v);
    }
    uint64_t t0 = cu_now();
    int rc = t->fn(t->args);
    writers_done(j); /* no device copy was acquired (deps' r unset): no cu.lock needed */
    if (t->cuda) {
        double ns = (double)(cu_now() - t0);
        pthread_mutex_lock(&cu.lock);
        if (!rc && j->key)
            pm_record(j->key, 0, ns);
        cu.stats.cpu_tasks++;
        pthread_mutex_unlock(&cu.lock);
    }
    atomic_store_explicit(&j->finished, 1, RELEASE);
    return rc;
}

/* ---- launching ---------------------------------------------------------------------- */

static int stream_cap(void)
{
    return cu.inflight_per_stream;
}

/* A stream of dv whose launch lock we hold. Kernels the model knows to be long (they
 * fill the GPU) go to stream 0, in launch order: run side by side they would only finish
 * together, late, and their copies back would queue at the end; long ones with a
 * priority take the urgent stream instead, so as not to wait behind them. Short or
 * unknown ones take the least busy of the other streams, where they can overlap. Called
 * and returns with
 * cu.lock held (dropped meanwhile only if the stream it needs is being launched on). */
static struct stream *grab_stream(struct device *dv, int serial, int urgent)
{
    struct stream *best = NULL;
    if (serial || dv->nstreams == 1) {
        best = &dv->st[urgent ? dv->nstreams : 0];
        if (pthread_mutex_trylock(&best->launch) == 0)
            return best;
        pthread_mutex_unlock(&cu.lock);
        pthread_mutex_lock(&best->launch);
        pthread_mutex_lock(&cu.lock);
        return best;
    }
    for (int k = 1; k < dv->nstreams; k++) {
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
    best = &dv->st[1];
    for (int k = 2; k < dv->nstreams; k++)
        if (dv->st[k].inflight < best->inflight)
            best = &dv->st[k];
    pthread_mutex_unlock(&cu.lock);
    pthread_mutex_lock(&best->launch);
    pthread_mutex_lock(&cu.lock);
    return best;
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
    struct stream *st = grab_stream(dv, j->serial, cu.urgent && t->priority > 0);
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
    dv->inflight++;
    st->inflight++;
    pthread_mutex_unlock(&cu.lock);

    j->ctx.device = d;
    j->ctx.stream = st->s;
    j->ctx.impl_ = j;
    cudaSetDevice(d); /* a transfer from another device may have switched it */
    if (j->start)
        cudaEventRecord(j->start->e, st->s);
    struct dag_cuda_ctx *saved = tls_cur;
    tls_cur = &j->ctx;
    j->rc = t->cuda ? t->cuda(t->args, &j->ctx) : t->fn(t->args);
    tls_cur = saved;
    cudaSetDevice(d);
    cudaError_t err = cudaEventRecord(j->done->e, st->s);
    if (err != cudaSuccess) {
        cu_warn("launching a task", err);
        if (!j->rc)
            j->rc = DAG_ERR_DEVICE;
    }
    pthread_mutex_unlock(&st->launch);

    pthread_mutex_lock(&cu.lock);
    int wb = writeback_eagerly(t);
    for (size_t i = 0; i < j->ndeps; i++) {
        struct jdep *p = &j->deps[i];
        if (mode_writes(p->mode)) {
            co_written_dev(p->r, d, j->done);
            if (wb && !p->r->host_valid)
                cev_put(co_writeback(p->r));
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

/* Progress thread, cu.lock held: launch what waited for room on dev, in order. */
void job_launch_pending(int dev)
{
    struct device *dv = &cu.dev[dev];
    int cap = stream_cap() * dv->nstreams;
    while (dv->pend_head && dv->inflight < cap) {
        struct job *j = dv->pend_head;
        dv->pend_head = j->qnext;
        if (!dv->pend_head)
            dv->pend_tail = NULL;
        atomic_fetch_sub_explicit(&cu.npending, 1, RELAXED);
        int rc = launch(j);
        if (rc == 0)
            continue;
        if (rc == 1 && dv->inflight > 0) {
            /* memory comes back when a running task completes */
            atomic_fetch_add_explicit(&cu.npending, 1, RELAXED);
            j->qnext = dv->pend_head;
            dv->pend_head = j;
            if (!dv->pend_tail)
                dv->pend_tail = j;
            return;
        }
        writers_done(j);
        pthread_mutex_unlock(&cu.lock);
        job_finish(j, rc == 1 ? DAG_ERR_NOMEM : rc); /* needs more than the whole device */
        pthread_mutex_lock(&cu.lock);
    }
}

/* Progress thread: complete every job whose stream has passed its `done` event.
 * Returns bit 0: something is in flight; bit 1: something completed. */
int job_complete_ready(void)
{
    int seen = xtrace_poll(0); /* copies traced while tracing is on */
    for (int d = 0; d < cu.ndev; d++) {
        struct device *dv = &cu.dev[d];
        for (int s = 0; s < dv->nall; s++) {
            struct stream *st = &dv->st[s];
            for (;;) {
                struct job *j = atomic_load_explicit(&st->head, ACQUIRE);
                if (!j)
                    break;
                seen |= 1;
                cudaError_t err = cudaEventQuery(j->done->e);
                if (err == cudaErrorNotReady)
                    break;
                uint64_t now = cu_now();
                float ms = 0;
                int timed = j->start &&
                            cudaEventElapsedTime(&ms, j->start->e, j->done->e) == cudaSuccess;
                if (err != cudaSuccess)
                    cu_warn("a task's device work", err);
                cudaGetLastError();
                pthread_mutex_lock(&cu.lock);
                atomic_store_explicit(&st->head, j->qnext, RELAXED);
                if (!j->qnext)
                    st->tail = NULL;
                st->inflight--;
                dv->inflight--;
                for (size_t i = 0; i < j->ndeps; i++)
                    j->deps[i].r->c[d].pins--;
                writers_done(j);
                if (timed && !j->rc && err == cudaSuccess)
                    pm_record(j->key, 1, ms * 1e6);
                if (!dv->inflight && !dv->pend_head)
                    dv->exp_end = (double)now;
                cev_put(j->start);
                cev_put(j->done);
                cu.stats.gpu_tasks++;
                if (d < DAG_CUDA_MAX_STAT_DEVICES)
                    cu.stats.tasks_on[d]++;
                pthread_mutex_unlock(&cu.lock);
                if (timed)
                    hooks_span(NULL, j->t, now - (uint64_t)(ms * 1e6), now,
                               CU_LANE(d, s));
                job_finish(j, err == cudaSuccess ? j->rc : DAG_ERR_DEVICE);
                seen |= 2;
            }
        }
    }
    return seen;
}

/* ---- prepare: CPU tasks never wait for the GPU on a worker ---------------------------- */

/* Keep the copies back that are still running; put the others (a failed one warns). [co] */
static int keep_pending(struct cev **v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (cev_state(v[i], "a copy back to the host") == 0)
            v[k++] = v[i];
        else
            cev_put(v[i]);
    }
    return k;
}

/* rt.dev->prepare: place the task; if it runs on the CPU and its inputs are dirty on a
 * device, start their copies back and defer it: the progress thread resumes it when the
 * copies are done (job_hostwait_poll), so no worker blocks on PCIe meanwhile. */
static int cu_prepare(struct tctx *c, struct task *t)
{
    (void)c;
    struct job *j = t->ext;
    if (!j)
        return 0;
    pthread_mutex_lock(&cu.lock);
    j->place = pm_place(j);
    if (t->flags & TF_STAGES)
        j->host_acquired = 1; /* its body brings its inputs home itself (home_begin) */
    if (j->place >= 0 || !j->cpu_ok || !j->ndeps || !cu.nsorted || j->host_acquired) {
        pthread_mutex_unlock(&cu.lock);
        return 0;
    }
    struct evlist w = {0};
    acquire_host(j, &w);
    w.n = keep_pending(w.v, w.n);
    if (!w.n) {
        pthread_mutex_unlock(&cu.lock);
        free(w.v);
        return 0;
    }
    j->hw = w.v;
    j->nhw = w.n;
    j->hwnext = cu.hw_head;
    cu.hw_head = j;
    atomic_fetch_add_explicit(&cu.nhostwait, 1, RELEASE);
    atomic_fetch_add_explicit(&cu.njobs, 1, RELEASE); /* keeps the progress thread polling */
    cu.stats.deferred_cpu++;
    if (cu.sleeping)
        pthread_cond_signal(&cu.cv);
    pthread_mutex_unlock(&cu.lock);
    return 1;
}

/* Progress thread: resume the deferred CPU tasks whose copies back are done. Returns the
 * bits of job_complete_ready. */
int job_hostwait_poll(void)
{
    struct job *ready = NULL;
    pthread_mutex_lock(&cu.lock);
    for (struct job **pp = &cu.hw_head; *pp;) {
        struct job *j = *pp;
        j->nhw = keep_pending(j->hw, j->nhw);
        if (j->nhw) {
            pp = &j->hwnext;
            continue;
        }
        free(j->hw);
        j->hw = NULL;
        *pp = j->hwnext;
        j->hwnext = ready;
        ready = j;
    }
    pthread_mutex_unlock(&cu.lock);
    int seen = 1;
    while (ready) {
        struct job *j = ready;
        ready = j->hwnext;
        atomic_fetch_sub_explicit(&cu.nhostwait, 1, RELEASE);
        atomic_fetch_sub_explicit(&cu.njobs, 1, RELEASE);
        task_resume(j->t);
        seen |= 2;
    }
    return seen;
}

/* ---- exec --------------------------------------------------------------------------- */

static int cu_exec(struct tctx *c, struct task *t)
{
    (void)c;
    struct job *j = t->ext;
    if (!j)
        return t->fn(t->args); /* inline and stack tasks, tasks before any CUDA task */
    int d = j->place;
    if (!t->prepared) { /* run without prepare (undeferred tasks) */
        pthread_mutex_lock(&cu.lock);
        d = pm_place(j);
        pthread_mutex_unlock(&cu.lock);
    }
    if (d < 0 || task_detach(t, &j->ev) != DAG_OK) {
        if (!j->cpu_ok) {
            atomic_store_explicit(&j->finished, 1, RELEASE);
            return DAG_ERR_UNSUPPORTED;
        }
        return exec_cpu(j);
    }
    j->dev = d;
    struct device *dv = &cu.dev[d];
    atomic_fetch_add_explicit(&cu.njobs, 1, RELEASE); /* before the lock: see progress_main */
    pthread_mutex_lock(&cu.lock);
    int rc = 1;
    if (!dv->pend_head && dv->inflight < stream_cap() * dv->nstreams)
        rc = launch(j);
    if (rc == 1)
        pend(dv, j);
    if (rc < 0)
        writers_done(j);
    pthread_mutex_unlock(&cu.lock);
    if (rc < 0)
        job_finish(j, rc);
    return 0;
}

/* ---- on_wait ------------------------------------------------------------------------ */

/* After dag_taskwait: every result goes back to the host. At the top level (a thread's
 * implicit task) the device also forgets unregistered regions: the program may now
 * write, free or reuse that memory without telling us. Regions still used by running
 * tasks (of other threads) are left alone. */
static void cu_on_wait(struct tctx *c)
{
    if (!atomic_load_explicit(&cu.seen_gpu, RELAXED) ||
        !atomic_load_explicit(&cu.nregions, RELAXED))
        return;
    struct evlist w = {0};
    pthread_mutex_lock(&cu.lock);
    for (size_t i = 0; i < cu.nsorted; i++) {
        struct region *r = cu.sorted[i];
        if (region_pinned(r))
            continue;
        evlist_add(&w, r->host_valid ? cev_ref(r->host_ready) : co_writeback(r));
    }
    pthread_mutex_unlock(&cu.lock);
    co_sync_events(w.v, w.n);
    free(w.v);
    if (!(c->cur->flags & TF_IMPLICIT))
        return;
    pthread_mutex_lock(&cu.lock);
    for (size_t i = cu.nsorted; i-- > 0;) {
        struct region *r = cu.sorted[i];
        if (!r->registered && r->host_valid && !region_pinned(r) &&
            (!r->host_ready || cudaEventQuery(r->host_ready->e) == cudaSuccess))
            region_forget(r);
    }
    pthread_mutex_unlock(&cu.lock);
}

const struct rt_device_ops cu_ops = {
    .on_submit = cu_on_submit,
    .prepare = cu_prepare,
    .home_begin = co_home_begin,
    .home_poll = co_home_poll,
    .home_end = co_home_end,
    .host_keep = co_host_keep,
    .host_release = co_host_release,
    .exec = cu_exec,
    .on_wait = cu_on_wait,
};

/* ---- the task's view (dag/cuda.h) --------------------------------------------------- */

cudaStream_t cuapi_stream(const struct dag_cuda_ctx *ctx)
{
    return ctx ? ctx->stream : NULL;
}

int cuapi_device(const struct dag_cuda_ctx *ctx)
{
    return ctx ? ctx->device : -1;
}

void *cuapi_ptr(const struct dag_cuda_ctx *ctx, const void *host_ptr)
{
    if (!ctx || !ctx->impl_)
        return NULL;
    const struct job *j = ctx->impl_;
    uintptr_t p = (uintptr_t)host_ptr;
    for (size_t i = 0; i < j->ndeps; i++) {
        const struct jdep *d = &j->deps[i];
        if (p >= (uintptr_t)d->addr && p - (uintptr_t)d->addr < d->len && d->dptr)
            return (char *)d->dptr + (p - (uintptr_t)d->addr);
    }
    return NULL;
}

struct dag_cuda_ctx *cuapi_current(void)
{
    return tls_cur;
}

struct stream *ctx_stream(const struct dag_cuda_ctx *ctx)
{
    const struct job *j = ctx ? ctx->impl_ : NULL;
    return j ? &cu.dev[j->dev].st[j->stream] : NULL;
}
