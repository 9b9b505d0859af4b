/* entry.c: libdagrt_cuda.so's entry table, read by the core at dag_init (core/plugin.c). */
#include "device.h"
#include "internal.h"
#include "../core/plugin.h"

static dag_status_t stats(void *out)
{
    return dag_cuda_stats(out);
}

DAG_INTERNAL const struct dag_cuda_plugin dagrt_cuda_plugin = {
    .abi = DAG_PLUGIN_ABI,
    .core = &rt,
    .start = cuda_start,
    .stop = cuda_stop,
    .device_count = dag_cuda_device_count,
    .stream = dag_cuda_stream,
    .device = dag_cuda_device,
    .ptr = dag_cuda_ptr,
    .cublas = dag_cuda_cublas,
    .cusolver = dag_cuda_cusolver,
    .workspace = dag_cuda_workspace,
    .current = dag_cuda_current,
    .reg = dag_cuda_register,
    .unreg = dag_cuda_unregister,
    .host_modified = dag_cuda_host_modified,
    .malloc_host = dag_cuda_malloc_host,
    .free_host = dag_cuda_free_host,
    .stats = stats,
    .stats_reset = dag_cuda_stats_reset,
};
