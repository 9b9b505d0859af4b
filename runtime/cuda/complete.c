/* complete.c: a launched job completes: the poller (progress.c) sees its stream pass
 * its `done` event, unpins its data, feeds the performance model and the trace, and
 * fulfils the task's event, which releases its successors.
 *
 * Device faults (docs/fault-tolerance.md, CUDA): a job whose stream reports an error, or
 * whose body returned one, fails with its label and source location. A retryable one
 * (retry(n)) has its writes voided here, before anything could copy them home: the host
 * holds the pre-task bytes (cpu.c prepare made them current; the kernel wrote only the
 * device copy), so every device copy of what it wrote is dropped; the core then re-runs
 * it (exec.c cu_redo). A sticky error (an illegal address poisons the context) loses the
 * device: it takes no more work, its copies are void, data whose only copy it held is
 * marked lost (tasks using it fail with a message), the jobs waiting for it fail (and
 * are retried elsewhere if they may). DAG_FAULT_INJECT=cuda:N[:sticky] makes the Nth
 * completion fail (as if the context were lost), above every CUDA call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../core/hooks.h"

void cu_inject_parse(void)
{
    cu.inject_at = 0;
    cu.inject_sticky = 0;
    cu.ncompleted = 0;
    const char *s = getenv("DAG_FAULT_INJECT");
    if (!s || strncmp(s, "cuda:", 5))
        return;
    char *end;
    long n = strtol(s + 5, &end, 10);
    if (end == s + 5 || n < 1 || (*end && strcmp(end, ":sticky"))) {
        fprintf(stderr, "dagrt: warning: ignoring DAG_FAULT_INJECT=%s (expected cuda:N or "
                        "cuda:N:sticky, N >= 1)\n", s);
        return;
    }
    cu.inject_at = n;
    cu.inject_sticky = *end != 0;
}

/* Errors that leave the context unusable: every later call fails with them. */
static int sticky_error(cudaError_t err)
{
    switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
        return 1;
    default:
        return 0;
    }
}

/* Device d's context is lost [co]: no more work goes there, its copies are void; data
 * whose only current copy it held is lost. Returns the jobs that waited in its pending
 * list (the caller fails them), and the number of regions lost in *nlost. */
static struct job *dev_lost(int d, const char *why, size_t *nlost)
{
    struct device *dv = &cu.dev[d];
    dv->dead = why;
    atomic_fetch_add_explicit(&cu.ndead, 1, RELEASE);
    size_t n = 0;
    for (size_t i = 0; i < cu.nsorted; i++) {
        struct region *r = cu.sorted[i];
        if (r->c[d].valid) {
            r->c[d].valid = 0;
            r->nvalid_dev--;
        }
        if (r->host_rd && r->host_rd->dev == d) { /* no copy in runs there any more */
            cev_put(r->host_rd);
            r->host_rd = NULL;
        }
        /* a copy home from d that nobody saw complete may not have landed (after a
         * sticky error every query fails: it is then taken as lost) */
        int host_ok = r->host_valid &&
                      (!r->host_ready || r->host_ready->dev != d ||
                       atomic_load_explicit(&r->host_ready->seen_done, RELAXED) ||
                       cudaEventQuery(r->host_ready->e) == cudaSuccess);
        if (!host_ok && !r->nvalid_dev && !r->lost) {
            r->lost = d + 1;
            n++;
        }
        if (host_ok && r->host_ready && r->host_ready->dev == d) {
            cev_put(r->host_ready); /* complete: no stream may wait on the lost context */
            r->host_ready = NULL;
        }
    }
    *nlost = n;
    struct job *p = dv->pend_head;
    dv->pend_head = dv->pend_tail = NULL;
    for (struct job *q = p; q; q = q->qnext) {
        atomic_fetch_sub_explicit(&cu.npending, 1, RELAXED);
        job_writers_done(q);
        q->fault_dev = d;
    }
    return p;
}

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
                const char *why = NULL;
                int lose = 0;
                if (err != cudaSuccess) {
                    why = cudaGetErrorString(err);
                    cudaGetLastError(); /* a sticky error stays: the next call sees it */
                    lose = sticky_error(err) || cudaPeekAtLastError() != cudaSuccess;
                }
                cudaGetLastError();
                pthread_mutex_lock(&cu.lock);
                long nth = ++cu.ncompleted;
                if (!why && dv->dead) { /* lost since launch (an injected loss): void */
                    why = dv->dead;
                } else if (!why && nth == cu.inject_at) {
                    why = cu.inject_sticky ? "injected fault, as if the context were lost "
                                             "(DAG_FAULT_INJECT=cuda:N:sticky)"
                                           : "injected fault (DAG_FAULT_INJECT=cuda:N)";
                    lose = cu.inject_sticky;
                }
                if (why || j->rc) {
                    j->fault_dev = d;
                    if (j->retryable) /* still pinned: nothing has copied them home */
                        for (size_t i = 0; i < j->ndeps; i++)
                            if (mode_writes(j->deps[i].mode))
                                co_rollback(j->deps[i].r);
                } else if (j->retryable) {
                    /* its outputs go home now that they are good (launch.c held them
                     * back): a later loss of the device spares them once they landed */
                    for (size_t i = 0; i < j->ndeps; i++)
                        if (mode_writes(j->deps[i].mode) && !j->deps[i].r->host_valid)
                            cev_put(co_writeback(j->deps[i].r));
                }
                size_t nlost = 0;
                struct job *pend = NULL;
                int newly_lost = lose && !dv->dead;
                if (newly_lost)
                    pend = dev_lost(d, why, &nlost);
                atomic_store_explicit(&st->head, j->qnext, RELAXED);
                if (!j->qnext)
                    st->tail = NULL;
                st->inflight--;
                dv->inflight--;
                for (size_t i = 0; i < j->ndeps; i++) {
                    j->deps[i].r->c[d].pins--;
                    if (!mode_writes(j->deps[i].mode)) /* a writer needs not wait for it */
                        co_read_done(j->deps[i].r, d, s, j->done);
                }
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
                if (why) {
                    struct task *t = j->t;
                    fprintf(stderr, "dagrt: %s:%d: task '%s' faulted on CUDA device %d "
                                    "(stream %d): %s\n", t->file ? t->file : "?", t->line,
                            t->label ? t->label : "task", d, s, why);
                }
                if (newly_lost)
                    fprintf(stderr, "dagrt: CUDA device %d: its context is unusable after "
                                    "this error: no more tasks run there; %zu data regions "
                                    "whose only copy it held are lost (tasks that use them "
                                    "fail); its other tasks fail or, with retry(n), run on "
                                    "their CPU implementation or another device\n", d, nlost);
                job_finish(j, why ? DAG_ERR_DEVICE : j->rc);
                while (pend) {
                    struct job *q = pend;
                    pend = q->qnext;
                    job_finish(q, DAG_ERR_DEVICE);
                }
                seen |= 2;
            }
        }
    }
    return seen;
}
