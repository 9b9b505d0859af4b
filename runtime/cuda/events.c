/* events.c: the CUDA layer's events: a pool per device (cudaEvent_t is costly to
 * create), shared references to them, and waiting for them (a stream waits on the GPU;
 * a thread, outside cu.lock, only in waits). Also the one place that reports CUDA errors. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

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
    e->stream = -1;
    atomic_store_explicit(&e->seen_done, 0, RELAXED);
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
    atomic_store_explicit(&e->seen_done, 1, RELAXED);
    return 1;
}

/* s waits for e on the GPU. Skipped, saving the host a CUDA call (a chained training
 * step's launch made some thirty of them), when e was seen complete or was recorded on s
 * itself: a job's `done` on its compute stream, which stream order already keeps
 * (DAG_CUDA_WAIT_ALL=1 waits anyway, for comparison). */
void stream_wait(cudaStream_t s, struct cev *e)
{
    if (!e || (atomic_load_explicit(&e->seen_done, RELAXED) && !cu.wait_all))
        return;
    if (e->stream >= 0 && !cu.wait_all) {
        const struct device *dv = &cu.dev[e->dev];
        if (e->stream < dv->nall && dv->st[e->stream].s == s)
            return;
    }
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
        else
            atomic_store_explicit(&ev[i]->seen_done, 1, RELAXED);
    }
    if (n) {
        pthread_mutex_lock(&cu.lock);
        for (int i = 0; i < n; i++)
            cev_put(ev[i]);
        pthread_mutex_unlock(&cu.lock);
    }
}
