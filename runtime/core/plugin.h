/* plugin.h: the boundary between the runtime core (libdagrt) and its optional layers,
 * built as plugins so that a plain program never loads MPI or CUDA:
 *   libdagrt_mpi.so  (runtime/comm: engine, flow, MPI transport)
 *   libdagrt_cuda.so (runtime/cuda)
 * The core dlopen()s a plugin at dag_init only when it is needed (plugin.c) and reads its
 * entry table; the plugin links against libdagrt.so and uses the core's internal symbols
 * marked DAG_INTERNAL (exported from libdagrt.so, never declared in include/). Public
 * API functions implemented by a plugin are defined once, in the core (forward.c), and
 * forward through the plugin's entry table; the plugin's own functions have other names.
 * Never installed. */
#ifndef DAG_CORE_PLUGIN_H
#define DAG_CORE_PLUGIN_H

#include <stddef.h>

#include "dag.h"
#include "dag/dist.h"

#include "visibility.h" /* DAG_INTERNAL: symbols the plugins link against */

#define DAG_PLUGIN_ABI 2

struct tctx;
struct runtime;

/* Exported by libdagrt_mpi.so as `dagrt_comm_plugin`. */
struct dag_comm_plugin {
    int abi;                                  /* DAG_PLUGIN_ABI */
    const struct runtime *core;               /* &rt as the plugin links it: must be ours */
    int (*detect)(int *local_size);           /* launched with > 1 rank? */
    dag_status_t (*start)(void);
    void (*before_drain)(void);
    void (*on_wait)(struct tctx *c);
    void (*stop)(void);
    dag_status_t (*dist_fetch)(const void *addr, size_t len, int rank);
    dag_status_t (*dist_flush)(const dag_matrix_t *m);
};

/* Exported by libdagrt_cuda.so as `dagrt_cuda_plugin`. Stream is cudaStream_t. */
struct dag_cuda_ctx;
struct CUstream_st;
struct dag_cuda_stats;
struct dag_cuda_plugin {
    int abi;
    const struct runtime *core;
    void (*start)(void);
    void (*stop)(void);
    int (*device_count)(void);
    struct CUstream_st *(*stream)(const struct dag_cuda_ctx *ctx);
    int (*device)(const struct dag_cuda_ctx *ctx);
    void *(*ptr)(const struct dag_cuda_ctx *ctx, const void *host_ptr);
    void *(*cublas)(const struct dag_cuda_ctx *ctx);
    void *(*cusolver)(const struct dag_cuda_ctx *ctx);
    void *(*workspace)(const struct dag_cuda_ctx *ctx, size_t bytes);
    struct dag_cuda_ctx *(*current)(void);
    dag_status_t (*reg)(void *ptr, size_t len, unsigned flags);
    dag_status_t (*unreg)(void *ptr, size_t len);
    dag_status_t (*host_modified)(void *ptr, size_t len);
    dag_status_t (*host_sync)(void *ptr, size_t len);
    void *(*malloc_host)(size_t size);
    void (*free_host)(void *ptr);
    dag_status_t (*stats)(struct dag_cuda_stats *out);
    void (*stats_reset)(void);
};

/* ---- core side (plugin.c) ---- */
/* Loaded plugins (NULL: not loaded); set by the plugin_*_load calls under the life lock. */
extern const struct dag_comm_plugin *plugin_comm;
extern const struct dag_cuda_plugin *plugin_cuda;

/* Loads the communication plugin if this process runs under a launcher with > 1 rank
 * (or the program started MPI itself) and DAG_COMM is not "none". 0: not needed or not
 * loadable (a warning says which). */
int plugin_comm_load(void);
/* At dag_init: loads the CUDA plugin (the caller starts it) only with DAG_CUDA=init and
 * a device that libcuda.so.1 reports. Otherwise the layer starts on demand: */
int plugin_cuda_load(void);
/* Starts the CUDA layer, at most once per dag_init, unless DAG_CUDA=0 or there is no
 * device: called when the first task that can use a GPU (a CUDA variant or
 * DAG_DEVICE_CUDA) is submitted, and by the dag_cuda_* calls that want one. Any thread. */
void plugin_cuda_want(void);
/* 1 once plugin_cuda_want has decided, in this dag_init, whether the layer runs. Starting
 * it announces the distributed matrices (dist_host_announce, under the flow's lock), so
 * a task that may use the GPU asks before the distributed layer takes that lock
 * (task.c, task_submit): asked with the lock held, the start would wait for itself. */
int plugin_cuda_decided(void);
/* init.c: register the drain at exit once more, after the CUDA runtime has registered its
 * own teardown (handlers run in reverse order), so that an exit without dag_finalize()
 * still finds the CUDA runtime loaded when it writes device results back */
void rt_drain_at_exit_again(void);

#endif
