/* jobs.c: a task's state in the CUDA layer (struct job, task.ext): made at submission
 * (on_submit: its dependencies, merged where they overlap), counted as a writer
 * (writers.c), and freed by the thread that made it once the task is done. job_finish
 * is where a task placed on a device ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../core/ft.h" /* struct ft_task: retry(n) */

/* ---- job lists: one per submitting thread ------------------------------------------- */

/* A job is freed by the thread that made it, at a later submission or at cuda_stop, once
 * it is finished or its task is done (a cancelled task never reaches exec). Reading a
 * recycled descriptor's state is safe: descriptors are type-stable until finalize. */
struct jlist {
    struct job *head;
    size_t n, next_sweep;
    struct jlist *all;
};

static RT_TLS struct jlist *tls_jobs;
static pthread_mutex_t jl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jlist *jl_all;

static int job_dead(struct job *j)
{
    if (atomic_load_explicit(&j->finished, ACQUIRE))
        return 1;
    uint64_t st = atomic_load_explicit(&j->t->state, ACQUIRE);
    return (st >> 1) != j->seq || (st & TS_DONE);
}

static void sweep(struct jlist *l, int all)
{
    size_t n = 0;
    for (struct job **pp = &l->head; *pp;) {
        struct job *j = *pp;
        if (all || job_dead(j)) {
            *pp = j->snext;
            free(j);
        } else {
            pp = &j->snext;
            n++;
        }
    }
    l->n = n;
    l->next_sweep = 2 * n + 64;
}

void jobs_sweep_all(void)
{
    pthread_mutex_lock(&jl_lock);
    for (struct jlist *l = jl_all; l; l = l->all)
        sweep(l, 1);
    pthread_mutex_unlock(&jl_lock);
}

static struct jlist *my_jobs(void)
{
    struct jlist *l = tls_jobs;
    if (likely(l))
        return l;
    l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->next_sweep = 64;
    pthread_mutex_lock(&jl_lock);
    l->all = jl_all;
    jl_all = l;
    pthread_mutex_unlock(&jl_lock);
    return tls_jobs = l;
}

/* A job placed on a device ends here. The task may be recycled as soon as the event is
 * fulfilled: nothing touches j after. */
void job_finish(struct job *j, int rc)
{
    dag_event_t ev = j->ev;
    if (!j->retryable) /* else it may run again: the task's state says when it is done */
        atomic_store_explicit(&j->finished, 1, RELEASE);
    atomic_fetch_sub_explicit(&cu.njobs, 1, RELEASE);
    dag_event_fulfill(ev, rc);
}

/* ---- on_submit ---------------------------------------------------------------------- */

static int jdep_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct jdep *)a)->addr;
    uintptr_t y = (uintptr_t)((const struct jdep *)b)->addr;
    return x < y ? -1 : x > y;
}

/* Dependencies of one task that overlap each other become one region covering them all,
 * written if any of them is: a kernel then sees one device buffer for those bytes, so a
 * write through one pointer is seen through the others (two separate copies would
 * diverge). Bytes the task only reads are then treated as written: their device copy is
 * current after the task, and writing them back rewrites the same values. Returns the
 * new count; dag_cuda_ptr() (cuapi_ptr) finds any address inside the merged region. */
static size_t merge_overlaps(struct jdep *d, size_t n)
{
    if (n < 2)
        return n;
    for (size_t i = 1; i < n; i++)
        if ((uintptr_t)d[i].addr < (uintptr_t)d[i - 1].addr) {
            qsort(d, n, sizeof *d, jdep_cmp); /* the order of a job's deps is free */
            break;
        }
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        struct jdep *cur = &d[out];
        uintptr_t end = (uintptr_t)cur->addr + cur->len;
        if ((uintptr_t)d[i].addr < end) {
            uintptr_t e2 = (uintptr_t)d[i].addr + d[i].len;
            if (e2 > end)
                cur->len = e2 - (uintptr_t)cur->addr;
            if (mode_writes(cur->mode) || mode_writes(d[i].mode))
                cur->mode = DAG_INOUT;
        } else {
            d[++out] = d[i];
        }
    }
    return out + 1;
}

dag_status_t cu_on_submit(struct tctx *c, struct task *t, const dag_dep_t *deps,
                                 size_t ndeps)
{
    (void)c;
    int gpu = (t->cuda || t->device == DAG_DEVICE_CUDA) && t->device != DAG_DEVICE_CPU;
    if (gpu) {
        if (!atomic_load_explicit(&cu.seen_gpu, RELAXED))
            atomic_store(&cu.seen_gpu, 1);
    } else if (!ndeps || !atomic_load_explicit(&cu.seen_gpu, RELAXED)) {
        return DAG_OK; /* before any CUDA task, no device copy can exist */
    }
    struct jlist *l = my_jobs();
    struct job *j = l ? malloc(sizeof *j + ndeps * sizeof(struct jdep)) : NULL;
    if (!j)
        return DAG_ERR_NOMEM;
    memset(j, 0, sizeof *j);
    j->t = t;
    j->seq = task_seq(t);
    j->gpu_ok = gpu;
    j->cpu_ok = t->device != DAG_DEVICE_CUDA;
    j->dev = -1;
    j->fault_dev = -1;
    j->retryable = t->ft && t->ft->retries > 0 && (t->flags & TF_DEVICE);
    size_t n = 0;
    for (size_t i = 0; i < ndeps; i++) {
        if (!deps[i].len)
            continue;
        j->deps[n].addr = deps[i].addr;
        j->deps[n].len = deps[i].len;
        j->deps[n].mode = deps[i].mode & DAG_MODE_MASK;
        j->deps[n].r = NULL;
        j->deps[n].dptr = NULL;
        n++;
    }
    j->ndeps = merge_overlaps(j->deps, n);
    if (cu.writeback == WB_AUTO) /* the write-back hint (writers.c) */
        j->counted = wr_add(j->deps, j->ndeps);
    j->snext = l->head;
    l->head = j;
    if (++l->n >= l->next_sweep)
        sweep(l, 0);
    t->ext = j;
    return DAG_OK;
}

int job_check_lost(struct job *j)
{
    if (likely(!atomic_load_explicit(&cu.ndead, ACQUIRE)))
        return 0;
    for (size_t i = 0; i < j->ndeps; i++) {
        struct region *r = co_lost(j->deps[i].addr, j->deps[i].len);
        if (!r)
            continue;
        struct task *t = j->t;
        fprintf(stderr, "dagrt: %s:%d: task '%s' needs %p+%zu, whose only copy was on CUDA "
                        "device %d when its context was lost (%s): the task fails (rewrite "
                        "the data and call dag_cuda_host_modified to use it again)\n",
                t->file ? t->file : "?", t->line, t->label ? t->label : "task", r->addr,
                r->len, r->lost - 1, cu.dev[r->lost - 1].dead);
        return DAG_ERR_DEVICE;
    }
    return 0;
}

/* j's writes are done (or will never be). Under auto, a region whose last known writer
 * j was goes home now if it is dirty on a device: the copy engine is otherwise idle
 * until the final wait (writers.c). cu.lock held when j ran on a device (deps' r set). */
void job_writers_done(struct job *j)
{
    if (!j->counted)
        return;
    j->counted = 0;
    for (size_t i = 0; i < j->ndeps; i++) {
        struct jdep *p = &j->deps[i];
        if (mode_writes(p->mode) && wr_done(p->addr, p->len) && p->r &&
            co_writeback_early(p->r))
            cu.stats.early_writebacks++;
    }
}
