/* entry.c: libdagrt_cuda.so's entry table, read by the core at dag_init (core/plugin.c). */
#include "device.h"
#include "internal.h"
#include "../core/plugin.h"

DAG_INTERNAL const struct dag_cuda_plugin dagrt_cuda_plugin = {
    .abi = DAG_PLUGIN_ABI,
    .core = &rt,
    .start = cuda_start,
    .stop = cuda_stop,
    .device_count = cuapi_device_count,
    .stream = cuapi_stream,
    .device = cuapi_device,
    .ptr = cuapi_ptr,
    .cublas = cuapi_cublas,
    .cusolver = cuapi_cusolver,
    .workspace = cuapi_workspace,
    .current = cuapi_current,
    .reg = cuapi_register,
    .unreg = cuapi_unregister,
    .host_modified = cuapi_host_modified,
    .host_sync = cuapi_host_sync,
    .malloc_host = cuapi_malloc_host,
    .free_host = cuapi_free_host,
    .stats = cuapi_stats,
    .stats_reset = cuapi_stats_reset,
};
