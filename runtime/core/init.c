/* init.c: starting and stopping the runtime: configuration (dag_config_t, then DAG_*
 * environment variables, then defaults), the implicit start on first use, the drain at
 * process exit, and the per-thread contexts of threads that are not workers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "ft.h"
#include "runtime.h"
#include "../sched/sched.h"
#include "../obs/obs.h"
#include "plugin.h" /* libdagrt_mpi.so under mpirun with > 1 rank; libdagrt_cuda.so with a device */

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
static int atexit_done;
static atomic_int implicit_failed; /* ctx_slow's dag_init failed: see there */

/* Contexts of threads that are not worker threads (the thread that started the runtime
 * included) persist for the life of the process, because their threads' tls_ctx keeps
 * pointing at them; they are re-initialised when they see a new runtime generation. */
static pthread_mutex_t ctx_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tctx *persistent_ctxs;

static int env_bind(void)
{
    const char *s = getenv("DAG_BIND");
    if (!s || !*s || !strcmp(s, "auto"))
        return DAG_BIND_DEFAULT; /* sched/bind.c: pinned unless other work holds the cores */
    if (!strcmp(s, "core"))
        return DAG_BIND_CORE;
    if (!strcmp(s, "none") || !strcmp(s, "false") || !strcmp(s, "0"))
        return DAG_BIND_NONE;
    if (!strcmp(s, "pu") || !strcmp(s, "thread"))
        return DAG_BIND_PU;
    fprintf(stderr, "dagrt: warning: ignoring DAG_BIND=%s (expected auto, none, core or pu)\n", s);
    return DAG_BIND_DEFAULT;
}

static void ctx_reset(struct tctx *c, struct worker *w, unsigned index)
{
    memset(&c->task_cache, 0, sizeof c->task_cache);
    memset(&c->succ_cache, 0, sizeof c->succ_cache);
    memset(&c->rec_cache, 0, sizeof c->rec_cache);
    c->w = w;
    c->gen = rt.gen;
    c->index = index;
    c->rng = index * 2654435761u + 0x9e3779b9u;
    task_init_implicit(c, index);
}

/* The calling thread's persistent context, created on first use. */
static struct tctx *persistent_ctx(struct worker *w)
{
    struct tctx *c = tls_ctx; /* on a thread that is not a worker thread: persistent */
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        pthread_mutex_lock(&ctx_list_lock);
        c->next_ext = persistent_ctxs;
        persistent_ctxs = c;
        pthread_mutex_unlock(&ctx_list_lock);
        tls_ctx = c;
    }
    unsigned index = w ? 0 : (unsigned)rt.nthreads + atomic_fetch_add(&rt.next_ctx_index, 1);
    ctx_reset(c, w, index);
    return c;
}

static dag_status_t rt_start(const dag_config_t *cfg)
{
    int dflt = bind_default_nthreads();
    int distributed = 0, local_ranks = 1;
    dag_status_t err = DAG_ERR_NOMEM; /* what a failed start returns */
    if (plugin_comm_load()) {
        distributed = plugin_comm->detect(&local_ranks);
        dflt = dflt / local_ranks > 0 ? dflt / local_ranks : 1; /* ranks share the node's cores */
    }
    rt.nthreads = cfg && cfg->nthreads > 0 ? cfg->nthreads
                                           : (int)env_long("DAG_NUM_THREADS", dflt, 1, 4096);
    rt.bind = cfg && cfg->bind ? cfg->bind : env_bind();
    if (local_ranks > 1 && !(cfg && cfg->bind) && !getenv("DAG_BIND"))
        rt.bind = DAG_BIND_NONE; /* every rank would pin its workers to the same cores */
    long spin_us = cfg && cfg->spin_us > 0 ? cfg->spin_us : env_long("DAG_SPIN_US", 50, 0, 10000000);
    if (rt.nthreads > dflt)
        spin_us = 0; /* oversubscribed: a spinning worker only steals time from a busy one */
    rt.spin_ns = spin_us * 1000;
    rt.throttle = env_long("DAG_THROTTLE", 256, 1, 1L << 30);
    rt.steal_tiny_ns = env_long("DAG_STEAL_TINY_NS", 500, 0, 1000000000L);
    atomic_store(&rt.stop, 0);
    atomic_store(&rt.next_ctx_index, 0);
    atomic_store(&rt.lost_wakeups, 0);
    atomic_store(&rt.ec.seq, 0);
    atomic_store(&rt.ec.nwait, 0);
    pool_init(&rt.task_pool, sizeof(struct task));
    pool_init(&rt.succ_pool, sizeof(struct succ_chunk));
    pool_init(&rt.rec_pool, 128);

    rt.workers = calloc((size_t)rt.nthreads, sizeof *rt.workers);
    if (!rt.workers)
        return DAG_ERR_NOMEM;
    if (sched_init(task_execute))
        goto fail;
    for (int i = 1; i < rt.nthreads; i++) {
        struct tctx *c = calloc(1, sizeof *c);
        if (!c)
            goto fail;
        rt.workers[i].ctx = c;
        ctx_reset(c, &rt.workers[i], (unsigned)i);
    }
    struct tctx *c0 = persistent_ctx(&rt.workers[0]);
    if (!c0)
        goto fail;
    if (distributed) {
        dag_status_t cst = plugin_comm->start();
        if (cst) {
            fprintf(stderr, "dagrt: error: cannot start the distributed layer: %s\n",
                    dag_strerror(cst));
            err = cst;
            goto fail;
        }
    }
    rt.workers[0].ctx = c0;
    if ((err = ft_start()) || (err = ck_start())) { /* fault tolerance: core/retry.c, ckpt/ */
        ft_stop();
        if (distributed)
            plugin_comm->stop();
        goto fail;
    }
    err = DAG_ERR_NOMEM;
    bind_thread(&rt.workers[0]);
    if (plugin_cuda_load())
        plugin_cuda->start(); /* installs rt.dev when a device is usable */
    atomic_store_explicit(&rt.state, RT_RUNNING, RELEASE);
    if (sched_start_workers())
        fprintf(stderr, "dagrt: warning: could only start %d worker threads\n", rt.nthreads);
    obs_init(); /* DAG_TRACE, DAG_STATS, ...: installs rt.hooks if asked */
    return DAG_OK;

fail:
    for (int i = 1; i < rt.nthreads; i++)
        free(rt.workers[i].ctx);
    sched_fini();
    free(rt.workers);
    rt.workers = NULL;
    return err;
}

static void drain_at_exit(void);

dag_status_t dag_init(const dag_config_t *config)
{
    pthread_mutex_lock(&life_lock);
    atomic_store(&implicit_failed, 0);
    dag_status_t st = DAG_ERR_STATE;
    if (atomic_load(&rt.state) == RT_OFF) {
        st = rt_start(config);
        if (st == DAG_OK && !atexit_done) {
            atexit(drain_at_exit);
            atexit_done = 1;
        }
    }
    pthread_mutex_unlock(&life_lock);
    return st;
}

struct tctx *ctx_slow(void)
{
    if (atomic_load_explicit(&rt.state, ACQUIRE) != RT_RUNNING) {
        /* an implicit start that failed (its error printed) is not retried by every
         * later call: an explicit dag_init() may try again */
        if (atomic_load_explicit(&implicit_failed, RELAXED))
            return NULL;
        if (dag_init(NULL) != DAG_OK && atomic_load(&rt.state) != RT_RUNNING)
            atomic_store_explicit(&implicit_failed, 1, RELAXED);
        if (atomic_load_explicit(&rt.state, ACQUIRE) != RT_RUNNING)
            return NULL;
    }
    struct tctx *c = tls_ctx;
    if (c && c->gen == rt.gen)
        return c;
    return persistent_ctx(NULL);
}

struct tctx *ctx_get(void)
{
    return ctx_fast();
}

static int drained(void *arg)
{
    struct task *t = arg;
    uint64_t v = atomic_load_explicit(&t->counts, ACQUIRE);
    return C_HIGH(v) == 1 && C_LOW(v) == 0;
}

dag_status_t dag_finalize(void)
{
    pthread_mutex_lock(&life_lock);
    if (atomic_load(&rt.state) != RT_RUNNING) {
        pthread_mutex_unlock(&life_lock);
        return DAG_ERR_STATE;
    }
    struct tctx *c = ctx_fast();
    if (!c || c->cur != &c->implicit || (c->w && c->w->id != 0)) {
        pthread_mutex_unlock(&life_lock);
        return DAG_ERR_STATE; /* from inside a task, or from a worker thread */
    }
    /* drain every thread's task flow */
    if (plugin_comm)
        plugin_comm->before_drain();
    pthread_mutex_lock(&ctx_list_lock);
    struct tctx *list = persistent_ctxs;
    pthread_mutex_unlock(&ctx_list_lock);
    for (struct tctx *x = list; x; x = x->next_ext)
        if (x->gen == rt.gen && !drained(&x->implicit))
            sched_wait(c, drained, &x->implicit);
    dag_status_t st = DAG_OK;
    for (struct tctx *x = list; x; x = x->next_ext) {
        if (x->gen != rt.gen)
            continue;
        dag_status_t s = failure_consume(c, &x->implicit.fail);
        if (st == DAG_OK)
            st = s;
        domain_destroy(c, x->implicit.domain);
        x->implicit.domain = NULL;
        zombies_collect(c, &x->implicit, 1);
    }
    ck_stop(); /* the checkpoint writer finishes */
    if (plugin_cuda)
        plugin_cuda->stop(); /* results back on the host, device memory released */
    if (plugin_comm)
        plugin_comm->stop(); /* every local transfer completed in the drain */
    obs_fini(); /* drained, workers still alive: write traces and statistics */
    atomic_store(&rt.state, RT_STOPPING);
    sched_stop_workers();
    ft_stop();
    bind_restore(&rt.workers[0]);
    for (int i = 1; i < rt.nthreads; i++)
        free(rt.workers[i].ctx);
    sched_fini();
    free(rt.workers);
    rt.workers = NULL;
    pool_destroy(&rt.task_pool);
    pool_destroy(&rt.succ_pool);
    pool_destroy(&rt.rec_pool);
    for (struct tctx *x = list; x; x = x->next_ext) {
        memset(&x->task_cache, 0, sizeof x->task_cache);
        memset(&x->succ_cache, 0, sizeof x->succ_cache);
        memset(&x->rec_cache, 0, sizeof x->rec_cache);
        x->w = NULL;
    }
    rt.gen++;
    atomic_store(&rt.state, RT_OFF);
    pthread_mutex_unlock(&life_lock);
    return st;
}

void rt_drain_at_exit_again(void)
{
    static atomic_int again;
    if (!atomic_exchange(&again, 1))
        atexit(drain_at_exit);
}

static void drain_at_exit(void)
{
    if (atomic_load(&rt.state) != RT_RUNNING)
        return;
    struct tctx *c = tls_ctx;
    if (c && c->gen == rt.gen && (c->cur != &c->implicit || (c->w && c->w->id != 0)))
        return; /* exit() called from inside a task: nothing can be drained safely */
    if (dag_finalize() == DAG_ERR_TASK_FAILED) {
        dag_error_t e;
        char buf[1024];
        if (dag_last_error(&e) == DAG_OK)
            fprintf(stderr, "dagrt: error: %s\n", dag_error_format(&e, buf, sizeof buf));
    }
}

int dag_num_threads(void)
{
    struct tctx *c = ctx_fast();
    return c ? rt.nthreads : 0;
}

int dag_worker_id(void)
{
    struct tctx *c = ctx_fast();
    return c && c->w ? c->w->id : -1;
}
