/* device.c: the CUDA layer's life: device discovery and configuration (DAG_CUDA_*),
 * streams, the event pool, the progress thread that observes completions, and the small
 * public API of dag/cuda.h that is not about one task. Must not block a worker: only the
 * progress thread and the waits (taskwait, finalize) ever wait for the GPU. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "internal.h"

struct cu_state cu;

void cu_warn(const char *what, cudaError_t err)
{
    fprintf(stderr, "dagrt: cuda: %s: %s\n", what, cudaGetErrorString(err));
}

/* ---- events ------------------------------------------------------------------------ */

struct cev *cev_get(int dev, int timing)
{
    struct device *dv = &cu.dev[dev];
    struct cev *e = dv->free_ev[timing];
    if (e) {
        dv->free_ev[timing] = e->next;
    } else {
        e = calloc(1, sizeof *e);
        if (!e)
            abort(); /* a few dozen bytes: the process is lost anyway */
        cudaSetDevice(dev);
        cudaError_t err = cudaEventCreateWithFlags(
            &e->e, timing ? cudaEventDefault : cudaEventDisableTiming);
        if (err != cudaSuccess) {
            cu_warn("cudaEventCreate", err);
            abort();
        }
        e->dev = dev;
        e->timing = timing;
    }
    e->refs = 1;
    e->next = NULL;
    return e;
}

struct cev *cev_ref(struct cev *e)
{
    if (e)
        e->refs++;
    return e;
}

void cev_put(struct cev *e)
{
    if (!e || --e->refs > 0)
        return;
    struct device *dv = &cu.dev[e->dev];
    e->next = dv->free_ev[e->timing];
    dv->free_ev[e->timing] = e;
}

struct cev *cev_record(int dev, cudaStream_t s)
{
    struct cev *e = cev_get(dev, 0);
    cudaError_t err = cudaEventRecord(e->e, s);
    if (err != cudaSuccess)
        cu_warn("cudaEventRecord", err);
    return e;
}

int cev_state(struct cev *e, const char *what)
{
    if (!e)
        return 1;
    cudaError_t err = cudaEventQuery(e->e);
    if (err == cudaErrorNotReady)
        return 0;
    if (err != cudaSuccess) {
        cu_warn(what, err);
        cudaGetLastError();
        return -1;
    }
    return 1;
}

void stream_wait(cudaStream_t s, struct cev *e)
{
    if (e)
        cudaStreamWaitEvent(s, e->e, 0);
}

/* Wait (outside cu.lock) for events collected under it, then drop their references.
 * An event may be recorded again by someone else meanwhile: then this waits longer than
 * needed, never less. */
void co_sync_events(struct cev **ev, int n)
{
    for (int i = 0; i < n; i++) {
        cudaError_t err = cudaEventSynchronize(ev[i]->e);
        if (err != cudaSuccess)
            cu_warn("cudaEventSynchronize", err);
    }
    if (n) {
        pthread_mutex_lock(&cu.lock);
        for (int i = 0; i < n; i++)
            cev_put(ev[i]);
        pthread_mutex_unlock(&cu.lock);
    }
}

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
 * (measured: an empty GPU task's submit + wait). Chains the distributed layer's poll
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
            pthread_mutex_lock(&cu.lock);
            for (int d = 0; d < cu.ndev; d++)
                if (cu.dev[d].pend_head)
                    job_launch_pending(d);
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

/* ---- configuration ------------------------------------------------------------------ */

static int env_choice(const char *name, const char *const *names, int n, int dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    fprintf(stderr, "dagrt: warning: ignoring %s=%s\n", name, s);
    return dflt;
}

static int device_setup(struct device *dv, int d, int nstreams)
{
    dv->id = d;
    if (cudaSetDevice(d) != cudaSuccess)
        return -1;
    struct cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d) == cudaSuccess)
        snprintf(dv->name, sizeof dv->name, "%s", p.name);
    dv->nstreams = nstreams;
    dv->nall = nstreams + 1;
    int least = 0, greatest = 0;
    cudaDeviceGetStreamPriorityRange(&least, &greatest);
    for (int i = 0; i < dv->nall; i++) {
        struct stream *st = &dv->st[i];
        /* the last one is urgent: prioritised tasks (the critical path) overtake the
         * blocks of queued kernels */
        int prio = i == nstreams ? greatest : least;
        if (cudaStreamCreateWithPriority(&st->s, cudaStreamNonBlocking, prio) != cudaSuccess)
            return -1;
        st->dev = d;
        st->idx = i;
        pthread_mutex_init(&st->launch, NULL);
    }
    if (cudaStreamCreateWithFlags(&dv->h2d, cudaStreamNonBlocking) != cudaSuccess ||
        cudaStreamCreateWithFlags(&dv->d2h, cudaStreamNonBlocking) != cudaSuccess)
        return -1;
    size_t freeb = 0, total = 0;
    cudaMemGetInfo(&freeb, &total);
    long mb = env_long("DAG_CUDA_MEM_MB", 0, 0, 1L << 30);
    size_t reserve = total / 20 > (512u << 20) ? total / 20 : (512u << 20);
    dv->limit = mb ? (size_t)mb << 20 : (freeb > reserve ? freeb - reserve : freeb / 2);
    return 0;
}

void cuda_start(void)
{
    const char *e = getenv("DAG_CUDA");
    if (e && !strcmp(e, "0"))
        return;
    int n = 0, current = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
        cudaGetLastError();
        return;
    }
    cudaGetDevice(&current); /* set up every device, then leave the program's current */
    int want = (int)env_long("DAG_CUDA_DEVICES", n, 1, CU_MAXDEV);
    if (n > want)
        n = want;
    if (n > CU_MAXDEV)
        n = CU_MAXDEV;
    memset(&cu, 0, sizeof cu);
    pthread_mutex_init(&cu.lock, NULL);
    pthread_cond_init(&cu.cv, NULL);
    static const char *const pols[] = {"dmda", "eager", "cpu", "random"};
    static const char *const wbs[] = {"auto", "lazy", "eager"};
    cu.policy = env_choice("DAG_SCHED", pols, 4, SCHED_DMDA);
    cu.writeback = env_choice("DAG_CUDA_WRITEBACK", wbs, 3, WB_AUTO);
    cu.inflight_per_stream = (int)env_long("DAG_CUDA_INFLIGHT", 8, 1, 1 << 20);
    cu.pin_min = (size_t)env_long("DAG_CUDA_PIN_MIN", 1 << 20, 0, 1L << 62);
    long phys_mb = sysconf(_SC_PHYS_PAGES) / 1024 * (sysconf(_SC_PAGESIZE) / 1024);
    cu.pin_keep = (size_t)env_long("DAG_CUDA_PIN_KEEP_MB", phys_mb > 0 ? phys_mb / 4 : 0, 0,
                                   1L << 40) << 20;
    cu.serial_ns = 1e3 * (double)env_long("DAG_CUDA_SERIAL_US", 500, 0, 1L << 40);
    cu.urgent = (int)env_long("DAG_CUDA_URGENT", 1, 0, 1);
    cu.rng = (uint64_t)env_long("DAG_SCHED_SEED", 12345, 0, 1L << 62) * 2654435761u + 1;
    int nstreams = (int)env_long("DAG_CUDA_STREAMS", 8, 1, CU_MAXSTREAMS);
    for (int d = 0; d < n; d++) {
        if (device_setup(&cu.dev[d], d, nstreams)) {
            fprintf(stderr, "dagrt: cuda: cannot set up device %d; CUDA tasks run on the CPU\n", d);
            n = d;
            break;
        }
    }
    if (n == 0)
        return;
    cu.ndev = n;
    for (int d = 0; d < n; d++) {
        cudaSetDevice(d);
        for (int p = 0; p < n; p++) {
            int ok = 0;
            if (p != d && cudaDeviceCanAccessPeer(&ok, d, p) == cudaSuccess && ok) {
                cudaError_t err = cudaDeviceEnablePeerAccess(p, 0);
                cu.dev[d].peer[p] = err == cudaSuccess || err == cudaErrorPeerAccessAlreadyEnabled;
                cudaGetLastError();
            }
        }
    }
    cu.hmask = 1023;
    cu.hash = calloc(cu.hmask + 1, sizeof *cu.hash);
    if (!cu.hash)
        return;
    pm_init();
    /* The progress thread inherits the binding of the thread that starts the runtime
     * (worker 0, usually the one that submits and waits): measured on the H100 machine,
     * sharing that core beats letting it roam among bound workers, where every wake-up
     * crosses cores. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int err = pthread_create(&cu.progress, &attr, progress_main, NULL);
    pthread_attr_destroy(&attr);
    if (err) {
        free(cu.hash);
        return;
    }
    cudaSetDevice(current);
    if (env_long("DAG_CUDA_IDLE_POLL", 1, 0, 1))
        poll_install();
    /* last: a worker that sees rt.dev sees the layer ready (it may start while tasks run) */
    __atomic_store_n(&rt.dev, &cu_ops, __ATOMIC_RELEASE);
}

void cuda_stop(void)
{
    if (rt.dev != &cu_ops)
        return;
    /* every task is done: bring results home */
    int n = 0, cap = 64;
    struct cev **ev = malloc(sizeof *ev * (size_t)cap);
    pthread_mutex_lock(&cu.lock);
    for (size_t i = 0; i < cu.nsorted; i++) {
        struct region *r = cu.sorted[i];
        struct cev *e = r->host_valid ? cev_ref(r->host_ready) : co_writeback(r);
        if (!e)
            continue;
        if (n == cap) {
            struct cev **bigger = realloc(ev, sizeof *ev * (size_t)(cap *= 2));
            if (!bigger)
                abort();
            ev = bigger;
        }
        ev[n++] = e;
    }
    pthread_mutex_unlock(&cu.lock);
    co_sync_events(ev, n);
    free(ev);

    pthread_mutex_lock(&cu.lock);
    cu.stop = 1;
    pthread_cond_signal(&cu.cv);
    pthread_mutex_unlock(&cu.lock);
    pthread_join(cu.progress, NULL);
    poll_remove();
    xtrace_poll(1); /* the copies not reported yet, before the trace is written */
    rt.dev = NULL;

    pthread_mutex_lock(&cu.lock);
    while (cu.nsorted)
        region_forget(cu.sorted[cu.nsorted - 1]);
    co_host_pins_fini();
    wr_fini();
    for (int d = 0; d < cu.ndev; d++) {
        struct device *dv = &cu.dev[d];
        cudaSetDevice(d);
        cudaDeviceSynchronize();
        blk_trim(d);
        lib_release(d);
        for (int i = 0; i < dv->nall; i++) {
            cudaStreamDestroy(dv->st[i].s);
            pthread_mutex_destroy(&dv->st[i].launch);
        }
        cudaStreamDestroy(dv->h2d);
        cudaStreamDestroy(dv->d2h);
        for (int k = 0; k < 2; k++) {
            for (struct cev *e = dv->free_ev[k], *next; e; e = next) {
                next = e->next;
                cudaEventDestroy(e->e);
                free(e);
            }
        }
    }
    pthread_mutex_unlock(&cu.lock);
    jobs_sweep_all();
    free(cu.hash);
    free(cu.sorted);
    pm_fini();
    cu.hash = NULL;
    cu.sorted = NULL;
    cu.ndev = 0;
}

/* ---- public API --------------------------------------------------------------------- */

static int active(void)
{
    return ctx_get() && rt.dev == &cu_ops;
}

int cuapi_device_count(void)
{
    return active() ? cu.ndev : 0;
}

dag_status_t cuapi_stats(dag_cuda_stats_t *out)
{
    if (!out)
        return DAG_ERR_INVALID;
    if (!active()) {
        memset(out, 0, sizeof *out);
        return DAG_ERR_UNSUPPORTED;
    }
    pthread_mutex_lock(&cu.lock);
    *out = cu.stats;
    pthread_mutex_unlock(&cu.lock);
    return DAG_OK;
}

void cuapi_stats_reset(void)
{
    if (!active())
        return;
    pthread_mutex_lock(&cu.lock);
    memset(&cu.stats, 0, sizeof cu.stats);
    pthread_mutex_unlock(&cu.lock);
}

void *cuapi_malloc_host(size_t size)
{
    void *p = NULL;
    if (cudaMallocHost(&p, size ? size : 1) == cudaSuccess)
        return p;
    cudaGetLastError();
    return malloc(size ? size : 1); /* no driver: ordinary memory does the same job */
}

void cuapi_free_host(void *ptr)
{
    if (!ptr)
        return;
    if (cudaFreeHost(ptr) != cudaSuccess) {
        cudaGetLastError();
        free(ptr);
    }
}

dag_status_t cuapi_register(void *ptr, size_t len)
{
    if (!ptr || !len)
        return DAG_ERR_INVALID;
    if (!active())
        return DAG_OK;
    dag_status_t st = DAG_OK;
    pthread_mutex_lock(&cu.lock);
    struct region *r = region_get(ptr, len, 1);
    if (!r) {
        st = DAG_ERR_NOMEM;
    } else {
        r->registered = 1;
        co_host_pin(r);
    }
    pthread_mutex_unlock(&cu.lock);
    return st;
}

dag_status_t cuapi_unregister(void *ptr, size_t len)
{
    if (!ptr || !len)
        return DAG_ERR_INVALID;
    if (!active())
        return DAG_OK;
    pthread_mutex_lock(&cu.lock);
    struct region *r = region_get(ptr, len, 0);
    struct cev *e = NULL;
    if (r)
        e = r->host_valid ? cev_ref(r->host_ready) : co_writeback(r);
    pthread_mutex_unlock(&cu.lock);
    if (e)
        co_sync_events(&e, 1);
    pthread_mutex_lock(&cu.lock);
    r = region_get(ptr, len, 0);
    dag_status_t st = DAG_OK;
    if (r) {
        int pinned = 0;
        for (int d = 0; d < cu.ndev; d++)
            pinned |= r->c[d].pins;
        if (pinned)
            st = DAG_ERR_STATE; /* a task still uses it */
        else
            region_forget(r);
    }
    pthread_mutex_unlock(&cu.lock);
    return st;
}

dag_status_t cuapi_host_modified(void *ptr, size_t len)
{
    if (!ptr)
        return DAG_ERR_INVALID;
    if (!active() || !len)
        return DAG_OK;
    pthread_mutex_lock(&cu.lock);
    co_host_written(ptr, len);
    pthread_mutex_unlock(&cu.lock);
    return DAG_OK;
}
