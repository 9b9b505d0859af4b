/* exec.c: the device seam (rt.dev, cu_ops): a task's path through the CUDA layer.
 * on_submit keeps its dependencies (jobs.c); prepare places it and defers CPU tasks
 * whose inputs are still coming home (cpu.c); exec runs it on the CPU (cpu.c) or
 * launches it on a device and detaches (launch.c); the poller sees it complete
 * (complete.c, progress.c). on_wait makes results visible on the host.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "../core/ft.h" /* struct ft_task: attempts, for the retry message */

/* ---- exec --------------------------------------------------------------------------- */

static int cu_exec(struct tctx *c, struct task *t)
{
    struct job *j = t->ext;
    if (!j)
        return t->fn(t->args); /* inline and stack tasks, tasks before any CUDA task */
    int d = j->place;
    if (!t->prepared || (d >= 0 && cu.dev[d].dead)) { /* undeferred, or its device lost */
        pthread_mutex_lock(&cu.lock);
        d = j->place = pm_place(j);
        pthread_mutex_unlock(&cu.lock);
    }
    if (d < 0 || task_detach(t, &j->ev) != DAG_OK) {
        if (!j->cpu_ok) {
            if (!j->retryable)
                atomic_store_explicit(&j->finished, 1, RELEASE);
            if (d == -2) { /* every device lost (complete.c) */
                fprintf(stderr, "dagrt: %s:%d: task '%s' has no CPU implementation and no "
                                "usable CUDA device is left: it fails\n",
                        t->file ? t->file : "?", t->line, t->label ? t->label : "task");
                return DAG_ERR_DEVICE;
            }
            return DAG_ERR_UNSUPPORTED;
        }
        return job_run_cpu(j);
    }
    j->dev = d;
    atomic_fetch_add_explicit(&cu.njobs, 1, RELEASE); /* before the lock: see progress_main */
    pthread_mutex_lock(&cu.lock);
    int rc = job_launch_or_pend(j);
    if (rc < 0)
        job_writers_done(j);
    pthread_mutex_unlock(&cu.lock);
    if (rc < 0)
        job_finish(j, rc);
    else if (rc == 1) /* launched: its successors go right behind it (j may be gone: the
                         task is not, until this body returns) */
        job_chain(c, t);
    return 0;
}

/* ---- on_wait ------------------------------------------------------------------------ */

/* After dag_taskwait: every result goes back to the host, except those of resident
 * regions (DAG_CUDA_RESIDENT), which go when a CPU task or dag_taskwait_deps reads them,
 * at dag_cuda_unregister or at dag_finalize. At the top level (a thread's
 * implicit task) the device also forgets unregistered regions: the program may now
 * write, free or reuse that memory without telling us. Regions still used by running
 * tasks (of other threads) are left alone. */
static void cu_on_wait(struct tctx *c)
{
    if (!atomic_load_explicit(&cu.seen_gpu, RELAXED) ||
        !atomic_load_explicit(&cu.nregions, RELAXED))
        return;
    struct evlist w = {0};
    pthread_mutex_lock(&cu.lock);
    for (size_t i = 0; i < cu.nsorted; i++) {
        struct region *r = cu.sorted[i];
        if (region_pinned(r) || r->resident) /* resident: home on demand only */
            continue;
        evlist_add(&w, r->host_valid ? cev_ref(r->host_ready) : co_writeback(r));
    }
    pthread_mutex_unlock(&cu.lock);
    co_sync_events(w.v, w.n);
    free(w.v);
    if (!(c->cur->flags & TF_IMPLICIT))
        return;
    pthread_mutex_lock(&cu.lock);
    for (size_t i = cu.nsorted; i-- > 0;) {
        struct region *r = cu.sorted[i];
        if (!r->registered && r->host_valid && !region_pinned(r) &&
            (!r->host_ready || cudaEventQuery(r->host_ready->e) == cudaSuccess))
            region_forget(r);
    }
    pthread_mutex_unlock(&cu.lock);
}

/* ---- redo: a failed attempt of a retryable task ------------------------------------ */

/* rt.dev->redo (core/retry.c ft_redo): void what the attempt wrote and place the next
 * one. A fault on a device (the stream's error, or the body's code) is more often the
 * CUDA variant's or the device's than a passing one: the retry runs the CPU variant when
 * the task has one, else the CUDA variant again on a device that is still usable (the
 * model picks it); a task with neither fails. A fault of the CPU variant is retried
 * where the model places it. */
int cu_redo(struct tctx *c, struct task *t)
{
    (void)c;
    struct job *j = t->ext;
    if (!j || !j->retryable)
        return -1;
    pthread_mutex_lock(&cu.lock);
    for (size_t i = 0; i < j->ndeps; i++)
        if (co_lost(j->deps[i].addr, j->deps[i].len)) {
            /* its data went with a device before the first attempt: the copies retry.c
             * took are not the data either; the task fails */
            pthread_mutex_unlock(&cu.lock);
            return -1;
        }
    for (size_t i = 0; i < j->ndeps; i++) /* after a CPU attempt; a device one: complete.c */
        if (mode_writes(j->deps[i].mode))
            co_host_written(j->deps[i].addr, j->deps[i].len);
    int was = j->fault_dev;
    j->fault_dev = -1;
    int d = was >= 0 && j->cpu_ok ? -1 : pm_place(j);
    pthread_mutex_unlock(&cu.lock);
    if (d == -2)
        return -1; /* nowhere to run: it fails now */
    j->place = d;
    j->rc = 0;
    j->dev = -1;
    j->start = j->done = NULL;
    j->host_acquired = 0;
    if (was >= 0) {
        int rc = t->detach_rc ? t->detach_rc : atomic_load_explicit(&t->event_rc, RELAXED);
        fprintf(stderr, "dagrt: %s:%d: task '%s' failed on CUDA device %d (code %d); "
                        "retried %s (attempt %d of at most %d)\n",
                t->file ? t->file : "?", t->line, t->label ? t->label : "task", was, rc,
                d < 0 ? "on its CPU implementation" : "on a CUDA device",
                t->ft->attempts + 1, t->ft->retries + 1);
    }
    return 0;
}

const struct rt_device_ops cu_ops = {
    .on_submit = cu_on_submit,
    .prepare = cu_prepare,
    .exec = cu_exec,
    .on_wait = cu_on_wait,
    .redo = cu_redo,
};
