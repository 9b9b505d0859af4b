/* api.c: the public API of dag/cuda.h as the plugin implements it (cuapi_*; libdagrt's
 * dag_cuda_* forward here through entry.c's table): counters, pinned host memory,
 * registered regions, and a task's view of its context (stream, device, device
 * addresses of its dependencies). Library handles and workspaces are in lib.c. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
    out->chained = atomic_load_explicit(&cu.nchained, RELAXED); /* counted off the lock */
    pthread_mutex_unlock(&cu.lock);
    return DAG_OK;
}

void cuapi_stats_reset(void)
{
    if (!active())
        return;
    pthread_mutex_lock(&cu.lock);
    memset(&cu.stats, 0, sizeof cu.stats);
    atomic_store_explicit(&cu.nchained, 0, RELAXED);
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

dag_status_t cuapi_register(void *ptr, size_t len, unsigned flags)
{
    if (!ptr || !len || (flags & ~(unsigned)DAG_CUDA_RESIDENT))
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
        r->resident = !!(flags & DAG_CUDA_RESIDENT);
        co_host_pin(r);
    }
    pthread_mutex_unlock(&cu.lock);
    return st;
}

/* The region's device results home, waited for (the region itself is kept). */
static void bring_home(void *ptr, size_t len)
{
    pthread_mutex_lock(&cu.lock);
    struct region *r = region_get(ptr, len, 0);
    struct cev *e = NULL;
    if (r)
        e = r->host_valid ? cev_ref(r->host_ready) : co_writeback(r);
    pthread_mutex_unlock(&cu.lock);
    if (e)
        co_sync_events(&e, 1);
}

dag_status_t cuapi_host_sync(void *ptr, size_t len)
{
    if (!ptr)
        return DAG_ERR_INVALID;
    if (active() && len)
        bring_home(ptr, len);
    return DAG_OK;
}

dag_status_t cuapi_unregister(void *ptr, size_t len)
{
    if (!ptr || !len)
        return DAG_ERR_INVALID;
    if (!active())
        return DAG_OK;
    bring_home(ptr, len);
    pthread_mutex_lock(&cu.lock);
    struct region *r = region_get(ptr, len, 0);
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
    return cu_tls_ctx;
}

struct stream *ctx_stream(const struct dag_cuda_ctx *ctx)
{
    const struct job *j = ctx ? ctx->impl_ : NULL;
    return j ? &cu.dev[j->dev].st[j->stream] : NULL;
}
