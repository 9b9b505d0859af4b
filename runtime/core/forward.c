/* forward.c: the public calls implemented by the plugins (dag_dist_fetch/flush, the
 * dag_cuda_* API), defined once here: each forwards through the loaded plugin's entry
 * table (plugin.h) and otherwise answers what the layer answers when it is absent. It
 * sits above init.c (a dag_cuda_* call that wants the GPU starts the runtime) and
 * plugin.c, so that neither of those calls back up. */
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "runtime.h"

dag_status_t dag_dist_fetch(const void *addr, size_t len, int rank)
{
    if (plugin_comm)
        return plugin_comm->dist_fetch(addr, len, rank);
    (void)len; /* one rank, every tile local, nothing to move */
    return addr && rank >= -1 && rank < 1 ? DAG_OK : DAG_ERR_INVALID;
}

dag_status_t dag_dist_flush(const dag_matrix_t *m)
{
    if (plugin_comm)
        return plugin_comm->dist_flush(m);
    return m ? DAG_OK : DAG_ERR_INVALID;
}

/* The calls that mean the program wants the GPU start the layer (plugin_cuda_want);
 * the others answer "nothing on a device" until it runs. In a build without CUDA no
 * plugin exists and want() is always 0. */
static int want(void)
{
    if (!ctx_get())
        return 0;
    plugin_cuda_want();
    return plugin_cuda != NULL;
}

/* Host memory (declared in dag.h, so every build has these): each forwards to the CUDA
 * layer when it runs, and otherwise does nothing, successfully (malloc_host: malloc). */
dag_status_t dag_cuda_register_flags(void *ptr, size_t len, unsigned flags)
{
    if (flags & ~(unsigned)DAG_CUDA_RESIDENT)
        return DAG_ERR_INVALID;
    if (ptr && len && want())
        return plugin_cuda->reg(ptr, len, flags);
    return ptr && len ? DAG_OK : DAG_ERR_INVALID;
}

dag_status_t dag_cuda_register(void *ptr, size_t len)
{
    return dag_cuda_register_flags(ptr, len, 0);
}

dag_status_t dag_cuda_unregister(void *ptr, size_t len)
{
    if (plugin_cuda)
        return plugin_cuda->unreg(ptr, len);
    return ptr && len ? DAG_OK : DAG_ERR_INVALID;
}

dag_status_t dag_cuda_host_sync(void *ptr, size_t len)
{
    if (plugin_cuda)
        return plugin_cuda->host_sync(ptr, len);
    return ptr ? DAG_OK : DAG_ERR_INVALID;
}

dag_status_t dag_cuda_host_modified(void *ptr, size_t len)
{
    if (plugin_cuda)
        return plugin_cuda->host_modified(ptr, len);
    return ptr ? DAG_OK : DAG_ERR_INVALID;
}

void *dag_cuda_malloc_host(size_t size)
{
    if (want())
        return plugin_cuda->malloc_host(size);
    return malloc(size ? size : 1);
}

void dag_cuda_free_host(void *ptr)
{
    if (plugin_cuda)
        plugin_cuda->free_host(ptr);
    else
        free(ptr);
}

#ifdef DAG_HAVE_CUDA
/* The CUDA API, defined here only (dag/cuda.h): each call forwards to the plugin's entry table
 * (runtime/cuda/entry.c: cuapi_*) when it is loaded, and otherwise (no device, DAG_CUDA=0,
 * the layer not started yet, static libdagrt.a) answers what the CUDA layer answers with
 * no device active. */
#include "dag/cuda.h"

int dag_cuda_device_count(void)
{
    return want() ? plugin_cuda->device_count() : 0;
}

cudaStream_t dag_cuda_stream(const struct dag_cuda_ctx *ctx)
{
    return plugin_cuda ? plugin_cuda->stream(ctx) : NULL;
}

int dag_cuda_device(const struct dag_cuda_ctx *ctx)
{
    return plugin_cuda ? plugin_cuda->device(ctx) : -1;
}

void *dag_cuda_ptr(const struct dag_cuda_ctx *ctx, const void *host_ptr)
{
    return plugin_cuda ? plugin_cuda->ptr(ctx, host_ptr) : NULL;
}

void *dag_cuda_cublas(const struct dag_cuda_ctx *ctx)
{
    return plugin_cuda ? plugin_cuda->cublas(ctx) : NULL;
}

void *dag_cuda_cusolver(const struct dag_cuda_ctx *ctx)
{
    return plugin_cuda ? plugin_cuda->cusolver(ctx) : NULL;
}

void *dag_cuda_workspace(const struct dag_cuda_ctx *ctx, size_t bytes)
{
    return plugin_cuda ? plugin_cuda->workspace(ctx, bytes) : NULL;
}

struct dag_cuda_ctx *dag_cuda_current(void)
{
    return plugin_cuda ? plugin_cuda->current() : NULL;
}

dag_status_t dag_cuda_stats(dag_cuda_stats_t *out)
{
    if (plugin_cuda)
        return plugin_cuda->stats(out);
    if (!out)
        return DAG_ERR_INVALID;
    memset(out, 0, sizeof *out);
    return DAG_ERR_UNSUPPORTED;
}

void dag_cuda_stats_reset(void)
{
    if (plugin_cuda)
        plugin_cuda->stats_reset();
}
#endif
