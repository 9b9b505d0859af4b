/* device.c: the CUDA layer's life: device discovery and configuration (DAG_CUDA_*),
 * streams, start and stop (core/plugin.c calls them through entry.c). Must not block a
 * worker: only the progress thread (progress.c) and the waits (taskwait, finalize) ever
 * wait for the GPU. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "internal.h"

struct cu_state cu;

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

static int device_setup(struct device *dv, int d, int nstreams, int nurgent)
{
    dv->id = d;
    if (cudaSetDevice(d) != cudaSuccess)
        return -1;
    struct cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d) == cudaSuccess)
        snprintf(dv->name, sizeof dv->name, "%s", p.name);
    dv->nstreams = nstreams;
    dv->nurgent = nurgent;
    dv->nall = nstreams + nurgent;
    int least = 0, greatest = 0;
    cudaDeviceGetStreamPriorityRange(&least, &greatest);
    for (int i = 0; i < dv->nall; i++) {
        struct stream *st = &dv->st[i];
        /* the last ones are urgent: prioritised tasks (the critical path) overtake the
         * blocks of queued kernels */
        int prio = i >= nstreams ? greatest : least;
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
    static const char *const pends[] = {"prio", "fifo"};
    cu.pend_order = env_choice("DAG_CUDA_PENDING", pends, 2, PEND_PRIO);
    cu.wait_all = (int)env_long("DAG_CUDA_WAIT_ALL", 0, 0, 1);
    cu.inflight_per_stream = (int)env_long("DAG_CUDA_INFLIGHT", 8, 1, 1 << 20);
    cu.pin_min = (size_t)env_long("DAG_CUDA_PIN_MIN", 1 << 20, 0, 1L << 62);
    long phys_mb = sysconf(_SC_PHYS_PAGES) / 1024 * (sysconf(_SC_PAGESIZE) / 1024);
    cu.pin_keep = (size_t)env_long("DAG_CUDA_PIN_KEEP_MB", phys_mb > 0 ? phys_mb / 4 : 0, 0,
                                   1L << 40) << 20;
    cu.serial_ns = 1e3 * (double)env_long("DAG_CUDA_SERIAL_US", 500, 0, 1L << 40);
    int nurgent = (int)env_long("DAG_CUDA_URGENT", 1, 0, CU_MAXURGENT);
    cu.urgent = nurgent > 0;
    cu.rng = (uint64_t)env_long("DAG_SCHED_SEED", 12345, 0, 1L << 62) * 2654435761u + 1;
    cu_inject_parse(); /* DAG_FAULT_INJECT=cuda:N (complete.c) */
    /* successors released at launch (launch.c job_may_chain); not under a transient
     * injected fault, whose failure must cancel them */
    cu.chain = !cu.inject_at || cu.inject_sticky ? (int)env_long("DAG_CUDA_CHAIN", 1, 0, 2) : 0;
    int nstreams = (int)env_long("DAG_CUDA_STREAMS", 8, 1, CU_MAXSTREAMS);
    for (int d = 0; d < n; d++) {
        if (device_setup(&cu.dev[d], d, nstreams, nurgent)) {
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
    if (progress_start()) {
        free(cu.hash);
        return;
    }
    cudaSetDevice(current);
    __atomic_store_n(&rt.host, &cu_host_ops, __ATOMIC_RELEASE); /* for runtime/comm */
    /* last: a worker that sees rt.dev sees the layer ready (it may start while tasks run) */
    __atomic_store_n(&rt.dev, &cu_ops, __ATOMIC_RELEASE);
}

/* The comm <-> cuda seam (rt.host, core/runtime.h): staging from coherence.c, kept
 * page-locked tiles from hostpin.c. Installed by cuda_start, removed by cuda_stop. */
const struct rt_host_ops cu_host_ops = {
    .home_begin = co_home_begin,
    .home_poll = co_home_poll,
    .home_end = co_home_end,
    .host_keep = co_host_keep,
    .host_release = co_host_release,
};

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

    progress_stop();
    xtrace_poll(1); /* the copies not reported yet, before the trace is written */
    rt.dev = NULL;
    rt.host = NULL;

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
