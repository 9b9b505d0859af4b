/* complete.c: a launched job completes: the poller (progress.c) sees its stream pass
 * its `done` event, unpins its data, feeds the performance model and the trace, and
 * fulfils the task's event, which releases its successors. */
#include "internal.h"
#include "../core/hooks.h"

/* Progress thread: complete every job whose stream has passed its `done` event.
 * Returns bit 0: something is in flight; bit 1: something completed. */
int job_complete_ready(void)
{
    int seen = xtrace_poll(0); /* copies traced while tracing is on */
    for (int d = 0; d < cu.ndev; d++) {
        struct device *dv = &cu.dev[d];
        for (int s = 0; s < dv->nall; s++) {
            struct stream *st = &dv->st[s];
            for (;;) {
                struct job *j = atomic_load_explicit(&st->head, ACQUIRE);
                if (!j)
                    break;
                seen |= 1;
                cudaError_t err = cudaEventQuery(j->done->e);
                if (err == cudaErrorNotReady)
                    break;
                uint64_t now = clock_now_ns();
                float ms = 0;
                int timed = j->start &&
                            cudaEventElapsedTime(&ms, j->start->e, j->done->e) == cudaSuccess;
                if (err != cudaSuccess)
                    cu_warn("a task's device work", err);
                cudaGetLastError();
                pthread_mutex_lock(&cu.lock);
                atomic_store_explicit(&st->head, j->qnext, RELAXED);
                if (!j->qnext)
                    st->tail = NULL;
                st->inflight--;
                dv->inflight--;
                for (size_t i = 0; i < j->ndeps; i++)
                    j->deps[i].r->c[d].pins--;
                job_writers_done(j);
                if (timed && !j->rc && err == cudaSuccess)
                    pm_record(j->key, 1, ms * 1e6);
                if (!dv->inflight && !dv->pend_head)
                    dv->exp_end = (double)now;
                cev_put(j->start);
                cev_put(j->done);
                cu.stats.gpu_tasks++;
                if (d < DAG_CUDA_MAX_STAT_DEVICES)
                    cu.stats.tasks_on[d]++;
                pthread_mutex_unlock(&cu.lock);
                if (timed)
                    hooks_span(NULL, j->t, now - (uint64_t)(ms * 1e6), now,
                               CU_LANE(d, s));
                job_finish(j, err == cudaSuccess ? j->rc : DAG_ERR_DEVICE);
                seen |= 2;
            }
        }
    }
    return seen;
}
