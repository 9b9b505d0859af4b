/* exec.c: the device seam (rt.dev, cu_ops): a task's path through the CUDA layer.
 * on_submit keeps its dependencies (jobs.c); prepare places it and defers CPU tasks
 * whose inputs are still coming home (cpu.c); exec runs it on the CPU (cpu.c) or
 * launches it on a device and detaches (launch.c); the poller sees it complete
 * (complete.c, progress.c). on_wait makes results visible on the host.
 */
#include <stdlib.h>

#include "internal.h"

/* ---- exec --------------------------------------------------------------------------- */

static int cu_exec(struct tctx *c, struct task *t)
{
    (void)c;
    struct job *j = t->ext;
    if (!j)
        return t->fn(t->args); /* inline and stack tasks, tasks before any CUDA task */
    int d = j->place;
    if (!t->prepared) { /* run without prepare (undeferred tasks) */
        pthread_mutex_lock(&cu.lock);
        d = pm_place(j);
        pthread_mutex_unlock(&cu.lock);
    }
    if (d < 0 || task_detach(t, &j->ev) != DAG_OK) {
        if (!j->cpu_ok) {
            atomic_store_explicit(&j->finished, 1, RELEASE);
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
    return 0;
}

/* ---- on_wait ------------------------------------------------------------------------ */

/* After dag_taskwait: every result goes back to the host. At the top level (a thread's
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
        if (region_pinned(r))
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

const struct rt_device_ops cu_ops = {
    .on_submit = cu_on_submit,
    .prepare = cu_prepare,
    .exec = cu_exec,
    .on_wait = cu_on_wait,
};
