/* failure.c: status strings and task failures. A failure is created when a task body
 * returns non-zero; it is shared (refcounted) by the parent's and the taskgroup's
 * report slots and by every successor it cancels, and is reported to exactly one
 * waiter (the first to consume it). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft.h"
#include "runtime.h"

struct failure {
    dag_error_t e;
    char name[64];          /* the label, or the body's symbol name when unlabelled */
    atomic_ulong ncancelled;
    atomic_int refs;
    atomic_int reported;
};

/* The last failure reported to this thread. Thread-local rather than in the thread's
 * context so that it survives dag_finalize(). */
static __thread dag_error_t last_error;
static __thread int has_error;
static __thread char last_label[64];

/* Returned when even the failure record cannot be allocated: shared, never freed. */
static struct failure oom_failure = {
    .e = {.status = DAG_ERR_NOMEM, .label = "task"},
    .name = "task",
    .refs = 1 << 30,
};

const char *dag_strerror(dag_status_t s)
{
    switch (s) {
    case DAG_OK: return "success";
    case DAG_ERR_INVALID: return "invalid argument";
    case DAG_ERR_NOMEM: return "out of memory";
    case DAG_ERR_TASK_FAILED: return "a task failed";
    case DAG_ERR_CANCELLED: return "a task was cancelled because a predecessor failed";
    case DAG_ERR_STATE: return "call not valid in the current state";
    case DAG_ERR_UNSUPPORTED: return "not supported by this build or machine";
    case DAG_ERR_SYSTEM: return "operating system error";
    case DAG_ERR_DEVICE: return "device error";
    case DAG_ERR_COMM: return "communication error";
    case DAG_ERR_MISMATCH: return "ranks submitted different task flows";
    case DAG_ERR_TIMEOUT: return "timed out";
    case DAG_ERR_IO: return "input/output error";
    }
    return "unknown status";
}

struct failure *failure_new(const struct task *t, int code)
{
    struct failure *f = calloc(1, sizeof *f);
    if (!f) {
        failure_ref(&oom_failure);
        return &oom_failure;
    }
    f->e.status = DAG_ERR_TASK_FAILED;
    f->e.code = code;
    /* a detached task whose event failed with the runtime's own status (a distributed
     * transfer: a dead rank, a flow mismatch, a watchdog) reports that cause */
    if ((t->flags & TF_DETACHABLE) &&
        (code == DAG_ERR_COMM || code == DAG_ERR_MISMATCH || code == DAG_ERR_TIMEOUT))
        f->e.status = (dag_status_t)code;
    if (t->label) {
        snprintf(f->name, sizeof f->name, "%s", t->label);
    } else {
        Dl_info info;
        if (t->fn && dladdr((void *)(uintptr_t)t->fn, &info) && info.dli_sname)
            snprintf(f->name, sizeof f->name, "%s", info.dli_sname);
        else
            snprintf(f->name, sizeof f->name, "task");
    }
    f->e.label = f->name;
    f->e.file = t->file;
    f->e.line = t->line;
    f->e.col = t->col;
    f->e.attempts = 1;
    if (t->ft) { /* core/retry.c: a crash, or retries */
        f->e.signal = t->ft->signo;
        if (t->ft->attempts > 1)
            f->e.attempts = t->ft->attempts;
    }
    atomic_init(&f->refs, 1);
    return f;
}

void failure_ref(struct failure *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, RELAXED);
}

void failure_unref(struct failure *f)
{
    if (f && atomic_fetch_sub_explicit(&f->refs, 1, ACQ_REL) == 1)
        free(f);
}

int failure_reported(const struct failure *f)
{
    return f && atomic_load_explicit(&((struct failure *)f)->reported, ACQUIRE);
}

void failure_count_cancelled(struct failure *f)
{
    atomic_fetch_add_explicit(&f->ncancelled, 1, RELAXED);
}

/* Keep the first failure in the slot; later ones are dropped (they are usually the
 * consequence of the first). */
void failure_report(struct failure *_Atomic *slot, struct failure *f)
{
    struct failure *expected = NULL;
    failure_ref(f);
    if (!atomic_compare_exchange_strong_explicit(slot, &expected, f, ACQ_REL, RELAXED))
        failure_unref(f);
}

dag_status_t failure_consume(struct tctx *c, struct failure *_Atomic *slot)
{
    struct failure *f = atomic_exchange_explicit(slot, NULL, ACQ_REL);
    if (!f)
        return DAG_OK;
    int first = !atomic_exchange_explicit(&f->reported, 1, ACQ_REL);
    (void)c;
    if (first) {
        last_error = f->e;
        last_error.ncancelled = atomic_load_explicit(&f->ncancelled, RELAXED);
        snprintf(last_label, sizeof last_label, "%s", f->name);
        last_error.label = last_label;
        has_error = 1;
    }
    failure_unref(f);
    return first ? DAG_ERR_TASK_FAILED : DAG_OK;
}

dag_status_t dag_last_error(dag_error_t *err)
{
    if (!err)
        return DAG_ERR_INVALID;
    if (!has_error)
        return DAG_ERR_STATE;
    *err = last_error;
    return DAG_OK;
}

char *dag_error_format(const dag_error_t *err, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    if (!err) {
        snprintf(buf, size, "no error");
        return buf;
    }
    char where[512] = "";
    if (err->file && err->line > 0 && err->col > 0)
        snprintf(where, sizeof where, "%s:%d:%d: ", err->file, err->line, err->col);
    else if (err->file && err->line > 0)
        snprintf(where, sizeof where, "%s:%d: ", err->file, err->line);
    else if (err->file)
        snprintf(where, sizeof where, "%s: ", err->file);
    char tries[96] = "";
    size_t tl = 0;
    if (err->code < 0 && err->code >= DAG_ERR_IO) /* a runtime status: a device fault, ... */
        tl = (size_t)snprintf(tries, sizeof tries, " (%s)", dag_strerror(err->code));
    if (err->attempts > 1)
        snprintf(tries + tl, sizeof tries - tl, " after %d attempts", err->attempts);
    if (err->status == DAG_ERR_TASK_FAILED && err->signal)
        snprintf(buf, size, "%stask '%s' crashed with %s%s (%lu dependent task%s cancelled)",
                 where, err->label ? err->label : "task", ft_signame(err->signal), tries,
                 err->ncancelled, err->ncancelled == 1 ? "" : "s");
    else if (err->status == DAG_ERR_TASK_FAILED)
        snprintf(buf, size, "%stask '%s' failed with code %d%s (%lu dependent task%s cancelled)",
                 where, err->label ? err->label : "task", err->code, tries, err->ncancelled,
                 err->ncancelled == 1 ? "" : "s");
    else
        snprintf(buf, size, "%stask '%s': %s", where, err->label ? err->label : "task",
                 dag_strerror(err->status));
    return buf;
}
