/* cpu.c: tasks of the CUDA layer that run on the CPU. Their inputs must be current on
 * the host: prepare (before the body, core/task.c) starts the copies back and defers
 * the task while they run, so no worker waits for PCIe; the progress thread resumes it.
 * The CPU body itself runs here, timed for the performance model. */
#include <stdlib.h>

#include "internal.h"

/* ---- CPU execution ------------------------------------------------------------------ */

/* j runs on the CPU: its inputs come home (the copies' events join w), the device copies
 * of what it writes are dropped. [co] */
static void acquire_host(struct job *j, struct evlist *w)
{
    for (size_t i = 0; i < j->ndeps; i++)
        co_acquire_host(j->deps[i].addr, j->deps[i].len, j->deps[i].mode, w);
    j->host_acquired = 1;
}

int job_run_cpu(struct job *j)
{
    struct task *t = j->t;
    if (j->ndeps && atomic_load_explicit(&cu.nregions, RELAXED) &&
        (!j->host_acquired || atomic_load_explicit(&cu.ndead, RELAXED))) {
        struct evlist w = {0};
        pthread_mutex_lock(&cu.lock);
        int lost = job_check_lost(j);
        if (!lost && !j->host_acquired)
            acquire_host(j, &w);
        pthread_mutex_unlock(&cu.lock);
        if (lost) {
            if (!j->retryable)
                atomic_store_explicit(&j->finished, 1, RELEASE);
            return lost;
        }
        co_sync_events(w.v, w.n);
        free(w.v);
    }
    uint64_t t0 = clock_now_ns();
    int rc = t->fn(t->args);
    job_writers_done(j); /* no device copy was acquired (deps' r unset): no cu.lock needed */
    if (t->cuda) {
        double ns = (double)(clock_now_ns() - t0);
        pthread_mutex_lock(&cu.lock);
        if (!rc && j->key)
            pm_record(j->key, 0, ns);
        cu.stats.cpu_tasks++;
        pthread_mutex_unlock(&cu.lock);
    }
    if (!j->retryable)
        atomic_store_explicit(&j->finished, 1, RELEASE);
    return rc;
}

/* ---- prepare: CPU tasks never wait for the GPU on a worker ---------------------------- */

/* Keep the copies back that are still running; put the others (a failed one warns). [co] */
static int keep_pending(struct cev **v, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (cev_state(v[i], "a copy back to the host") == 0)
            v[k++] = v[i];
        else
            cev_put(v[i]);
    }
    return k;
}

/* rt.dev->prepare: place the task; if it runs on the CPU and its inputs are dirty on a
 * device, start their copies back and defer it: the progress thread resumes it when the
 * copies are done (job_hostwait_poll), so no worker blocks on PCIe meanwhile. A task
 * with retry(n) gets its data current on the host wherever it runs (device copies are
 * kept when it runs on one): core/retry.c copies what it writes before the first attempt,
 * and a retry on the CPU after its device was lost finds its inputs there. */
int cu_prepare(struct tctx *c, struct task *t)
{
    (void)c;
    struct job *j = t->ext;
    if (!j)
        return 0;
    pthread_mutex_lock(&cu.lock);
    j->place = pm_place(j);
    if (t->flags & TF_STAGES)
        j->host_acquired = 1; /* its body brings its inputs home itself (home_begin) */
    int keep_dev = j->retryable && j->place >= 0;
    if (!j->ndeps || !cu.nsorted ||
        (!keep_dev && (j->place >= 0 || !j->cpu_ok || j->host_acquired))) {
        pthread_mutex_unlock(&cu.lock);
        return 0;
    }
    struct evlist w = {0};
    if (keep_dev) { /* copies back only: a read keeps the device copies valid */
        for (size_t i = 0; i < j->ndeps; i++)
            co_acquire_host(j->deps[i].addr, j->deps[i].len, DAG_IN, &w);
    } else {
        acquire_host(j, &w);
    }
    w.n = keep_pending(w.v, w.n);
    if (!w.n) {
        pthread_mutex_unlock(&cu.lock);
        free(w.v);
        return 0;
    }
    j->hw = w.v;
    j->nhw = w.n;
    j->hwnext = cu.hw_head;
    cu.hw_head = j;
    atomic_fetch_add_explicit(&cu.nhostwait, 1, RELEASE);
    atomic_fetch_add_explicit(&cu.njobs, 1, RELEASE); /* keeps the progress thread polling */
    cu.stats.deferred_cpu++;
    if (cu.sleeping)
        pthread_cond_signal(&cu.cv);
    pthread_mutex_unlock(&cu.lock);
    return 1;
}

/* Progress thread: resume the deferred CPU tasks whose copies back are done. Returns the
 * bits of job_complete_ready. */
int job_hostwait_poll(void)
{
    struct job *ready = NULL;
    pthread_mutex_lock(&cu.lock);
    for (struct job **pp = &cu.hw_head; *pp;) {
        struct job *j = *pp;
        j->nhw = keep_pending(j->hw, j->nhw);
        if (j->nhw) {
            pp = &j->hwnext;
            continue;
        }
        free(j->hw);
        j->hw = NULL;
        *pp = j->hwnext;
        j->hwnext = ready;
        ready = j;
    }
    pthread_mutex_unlock(&cu.lock);
    int seen = 1;
    while (ready) {
        struct job *j = ready;
        ready = j->hwnext;
        atomic_fetch_sub_explicit(&cu.nhostwait, 1, RELEASE);
        atomic_fetch_sub_explicit(&cu.njobs, 1, RELEASE);
        task_resume(j->t);
        seen |= 2;
    }
    return seen;
}
