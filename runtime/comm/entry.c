/* entry.c: libdagrt_mpi.so's entry table, read by the core at dag_init (core/plugin.c). */
#include "comm.h"
#include "../core/plugin.h"
#include "../core/runtime.h"

DAG_INTERNAL const struct dag_comm_plugin dagrt_comm_plugin = {
    .abi = DAG_PLUGIN_ABI,
    .core = &rt,
    .detect = comm_detect,
    .start = comm_start,
    .before_drain = comm_before_drain,
    .on_wait = comm_on_wait,
    .stop = comm_stop,
    .dist_fetch = dag_dist_fetch,
    .dist_flush = dag_dist_flush,
};
