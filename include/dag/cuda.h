/* dag/cuda.h: the public API for CUDA task variants (runtime/cuda/, docs/cuda.md).
 *
 * A task gets a CUDA implementation through dag_task_attr_t.cuda (same argument block as
 * its CPU body) or runs its body as a launcher with attr.device = DAG_DEVICE_CUDA. Either
 * way the implementation only enqueues work on dag_cuda_stream(ctx) and returns: the
 * runtime copies the task's dependencies to the device before that work, observes its
 * completion without blocking a CPU worker, and keeps every copy coherent. Data is
 * visible on the host to tasks that depend on it and after dag_taskwait().
 * Only programs built with CUDA include this header; it needs the CUDA include path.
 */
#ifndef DAG_CUDA_H
#define DAG_CUDA_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#include "../dag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a CUDA implementation receives. Valid only during the call. */
struct dag_cuda_ctx {
    int device;          /* CUDA device ordinal the task runs on (already current) */
    cudaStream_t stream; /* enqueue everything here; never synchronise the device */
    void *impl_;         /* runtime-private */
};

/* Number of CUDA devices the runtime uses (0 without a device, or with DAG_CUDA=0).
 * Starts the runtime if needed. */
DAG_API int dag_cuda_device_count(void);

/* The stream and device of ctx. */
DAG_API cudaStream_t dag_cuda_stream(const struct dag_cuda_ctx *ctx);
DAG_API int dag_cuda_device(const struct dag_cuda_ctx *ctx);

/* Device address of host_ptr, which must lie inside one of the task's dependencies
 * (dag_dep_t ranges); NULL otherwise. Interior pointers translate by their offset. */
DAG_API void *dag_cuda_ptr(const struct dag_cuda_ctx *ctx, const void *host_ptr);

/* Library handles bound to ctx's stream, created on first use and reused by every task
 * that runs on that stream: a cublasHandle_t and a cusolverDnHandle_t (cast the result). */
DAG_API void *dag_cuda_cublas(const struct dag_cuda_ctx *ctx);
DAG_API void *dag_cuda_cusolver(const struct dag_cuda_ctx *ctx);

/* Scratch device memory of at least `bytes`, private to ctx's stream (work enqueued on
 * the stream is ordered, so a later task may reuse it). NULL when out of memory. */
DAG_API void *dag_cuda_workspace(const struct dag_cuda_ctx *ctx, size_t bytes);

/* The context of the CUDA task whose body the calling thread runs, or NULL. This is how
 * a DAG_DEVICE_CUDA body without attr.cuda (a `device(cuda)` statement task) finds its
 * stream and device pointers. */
DAG_API struct dag_cuda_ctx *dag_cuda_current(void);

/* Host memory (dag_cuda_register, DAG_CUDA_RESIDENT, dag_cuda_host_sync, ...) is declared
 * in dag.h: programs without the CUDA headers use it too. */

/* Counters since the runtime started (or the last reset), for tests and tuning. */
#define DAG_CUDA_MAX_STAT_DEVICES 8
typedef struct dag_cuda_stats {
    unsigned long long h2d_bytes, d2h_bytes, p2p_bytes;
    unsigned long long h2d_copies, d2h_copies, p2p_copies;
    unsigned long long evictions;   /* device copies dropped to make room */
    unsigned long long writebacks;  /* of them, dirty copies written back first */
    unsigned long long device_allocs; /* cudaMalloc calls (the cache missed) */
    unsigned long long gpu_tasks, cpu_tasks; /* tasks with a CUDA variant, by where they ran */
    unsigned long long tasks_on[DAG_CUDA_MAX_STAT_DEVICES];
    unsigned long long deferred_cpu; /* CPU tasks that waited (off their worker) for copies back */
    unsigned long long host_registers; /* host ranges page-locked (cudaHostRegister) for copies */
    unsigned long long early_writebacks; /* results sent home once their last known writer ended */
    unsigned long long chained; /* dependences released when the predecessor was launched, before
                                   it completed (DAG_CUDA_CHAIN); a task submitted after its
                                   predecessor's launch gets no such edge and is not counted */
} dag_cuda_stats_t;

DAG_API dag_status_t dag_cuda_stats(dag_cuda_stats_t *out);
DAG_API void dag_cuda_stats_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* DAG_CUDA_H */
