/* retry.c: task bodies that fail or crash, and retry(n).
 *
 * Crash protection: every body (DAG_CATCH_SIGNALS, default on) runs under a sigsetjmp
 * point kept in a thread-local; SIGSEGV, SIGFPE and SIGBUS handlers run on a per-thread
 * alternate stack (so a stack overflow is caught too) and jump back to it when the
 * faulting thread is inside a body; anywhere else they hand the signal to the handler
 * that was installed before (or the default action: the process dies as it would have).
 * The crashed task then fails like a body that returned an error, with the signal in its
 * error record.
 *
 * retry(n): before the first attempt the ranges the task writes (out, inout, inoutset,
 * mutexinoutset) are copied; a failed attempt (error or crash) is undone (its children
 * waited for, its records dropped, its taskgroups closed, the ranges restored) and the
 * body runs again, at most n more times. The copies are freed when the task is done.
 *
 * Fault injection (DAG_FAULT_INJECT=prob:seed): each attempt of a task body fails with
 * probability prob, by returning an error or by a real SIGSEGV, SIGFPE or SIGBUS, before
 * or after the body ran (the latter leaves modified outputs behind, which a retry must
 * undo). The choice depends on (seed, task id, attempt) only.
 *
 * Tasks with a CUDA variant (TF_DEVICE: detachable while the CUDA layer runs) complete on
 * their stream's event, after the body returned: their retry is decided when both are
 * done (ft_redo, called by task.c instead of finishing the failed task). The CUDA layer
 * voids the attempt's writes and picks where the next attempt runs (rt.dev->redo); the
 * copies taken before the first attempt are written back here; the task is queued again.
 * Injection into such tasks is an error return before the body only (nothing launched);
 * DAG_FAULT_INJECT=cuda:N[:sticky] (runtime/cuda/complete.c) fails the Nth completion of
 * a task on a device instead. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ft.h"
#include "children.h"

#define ALT_STACK_BYTES (256 * 1024)

int ft_guard_all = 1;
int ft_wanted_all;

static double inject_prob;
static uint64_t inject_seed;
static int verbose;
static char *segv_page; /* PROT_NONE: an injected SIGSEGV writes here */
static char *bus_page;  /* a mapping past the end of an empty file: SIGBUS */

RT_TLS struct ft_guard *ft_tls_guard;
RT_TLS char *ft_tls_alt; /* this thread's alternate signal stack (ours), or 1 */

static const int caught[] = {SIGSEGV, SIGFPE, SIGBUS};
static struct sigaction old_act[3];
static int installed;
static pthread_key_t alt_key;
static pthread_once_t alt_once = PTHREAD_ONCE_INIT;

static void chain(int idx, int sig, siginfo_t *si, void *uc)
{
    struct sigaction *o = &old_act[idx];
    if ((o->sa_flags & SA_SIGINFO) && o->sa_sigaction) {
        o->sa_sigaction(sig, si, uc);
        return;
    }
    if (!(o->sa_flags & SA_SIGINFO) && o->sa_handler != SIG_DFL && o->sa_handler != SIG_IGN) {
        o->sa_handler(sig);
        return;
    }
    /* default action: restore it; the fault happens again (or the raised signal is
     * delivered) when the handler returns */
    sigaction(sig, o, NULL);
    if (si->si_code <= 0) /* sent, not a fault: send it again */
        raise(sig);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    struct ft_guard *g = ft_tls_guard;
    if (g) { /* the body is abandoned; see docs/fault-tolerance.md */
        g->sig = sig;
        FT_LONGJMP(g->env, sig);
    }
    for (int i = 0; i < 3; i++)
        if (caught[i] == sig)
            chain(i, sig, si, uc);
}

static void alt_free(void *p)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(p);
}

static void alt_key_init(void)
{
    pthread_key_create(&alt_key, alt_free);
}

/* This thread's alternate signal stack, unless it has one already (the program's, or a
 * sanitizer's). */
void ft_alt_setup(void)
{
    stack_t old;
    ft_tls_alt = (char *)1;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
        return;
    char *p = malloc(ALT_STACK_BYTES);
    if (!p)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = ALT_STACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL)) {
        free(p);
        return;
    }
    ft_tls_alt = p;
    pthread_once(&alt_once, alt_key_init);
    pthread_setspecific(alt_key, p);
}

static int parse_inject(const char *s)
{
    if (!strncmp(s, "cuda:", 5))
        return 0; /* device completions: runtime/cuda/complete.c parses and checks it */
    char *end;
    double p = strtod(s, &end);
    if (end == s || *end != ':' || !(p >= 0 && p <= 1))
        return -1;
    const char *q = end + 1;
    unsigned long long seed = strtoull(q, &end, 10);
    if (end == q || *end)
        return -1;
    inject_prob = p;
    inject_seed = seed;
    return 0;
}

dag_status_t ft_start(void)
{
    ft_guard_all = (int)env_long("DAG_CATCH_SIGNALS", !FT_TSAN, 0, 1);
    verbose = (int)env_long("DAG_FT_VERBOSE", 0, 0, 1);
    inject_prob = 0;
    ft_wanted_all = 0;
    const char *inj = getenv("DAG_FAULT_INJECT");
    if (inj && *inj) {
        if (parse_inject(inj))
            fprintf(stderr, "dagrt: warning: ignoring DAG_FAULT_INJECT=%s (expected prob:seed, "
                            "prob in [0, 1], e.g. 0.05:42)\n", inj);
        else if (inject_prob > 0) {
            ft_wanted_all = 1;
            ft_guard_all = !FT_TSAN; /* injected crashes must be caught */
        }
    }
    if (ft_wanted_all && !segv_page) {
        void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        segv_page = p == MAP_FAILED ? NULL : p;
        int fd = memfd_create("dag-fault-inject", MFD_CLOEXEC);
        if (fd >= 0) {
            p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            bus_page = p == MAP_FAILED ? NULL : p;
            close(fd);
        }
    }
    if (ft_guard_all && !installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < 3; i++)
            if (sigaction(caught[i], &sa, &old_act[i]))
                return DAG_ERR_SYSTEM;
        installed = 1;
    }
    return DAG_OK;
}

void ft_stop(void)
{
    if (installed) {
        for (int i = 0; i < 3; i++)
            sigaction(caught[i], &old_act[i], NULL);
        installed = 0;
    }
}

static int is_write(unsigned mode)
{
    mode &= DAG_MODE_MASK;
    return mode == DAG_OUT || mode == DAG_INOUT || mode == DAG_MUTEXINOUTSET ||
           mode == DAG_INOUTSET;
}

struct ft_task *ft_new(const dag_task_attr_t *attr, const dag_dep_t *deps, size_t ndeps)
{
    int retries = attr && attr->retries > 0 ? attr->retries : 0;
    int snapshot = attr && (attr->flags & DAG_TASK_SNAPSHOT);
    if (!retries && !snapshot) {
        if (!ft_wanted_all)
            return NULL;
        /* the runtime's own tasks (transfers, evictions) are not injected into */
        if (attr && ((attr->flags & DAG_TASK_STAGES) ||
                     (attr->label && !strncmp(attr->label, "dag.", 4))))
            return NULL;
    }
    struct ft_task *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->retries = retries;
    f->snapshot = snapshot;
    f->w = f->w_inline;
    if (!retries)
        return f;
    uint32_t nw = 0;
    for (size_t i = 0; i < ndeps; i++)
        nw += is_write(deps[i].mode) && deps[i].len;
    if (nw > 2 && !(f->w = calloc(nw, sizeof *f->w))) {
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < ndeps; i++)
        if (is_write(deps[i].mode) && deps[i].len)
            f->w[f->nw++] = (struct ft_range){deps[i].addr, deps[i].len, NULL};
    return f;
}

static void drop_copies(struct ft_task *f)
{
    for (uint32_t i = 0; i < f->nw; i++) {
        free(f->w[i].save);
        f->w[i].save = NULL;
    }
}

void ft_free(struct ft_task *f)
{
    if (!f)
        return;
    drop_copies(f);
    if (f->w != f->w_inline)
        free(f->w);
    free(f);
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

enum { INJ_NONE, INJ_ERR_BEFORE, INJ_ERR_AFTER, INJ_SEGV, INJ_FPE, INJ_BUS };
#define INJECTED_CODE 222

static int inject_kind(const struct task *t, int attempt, int *after)
{
    if (!ft_wanted_all || !t->ft || t->ft->snapshot ||
        (t->flags & (TF_DETACHABLE | TF_DEVICE)) == TF_DETACHABLE)
        return INJ_NONE;
    uint64_t h = mix64(inject_seed ^ mix64(t->id * 0x9e3779b97f4a7c15ull + (uint64_t)attempt));
    if ((double)(h >> 11) * 0x1p-53 >= inject_prob)
        return INJ_NONE;
    uint64_t k = mix64(h);
    if (t->flags & TF_DEVICE)
        return INJ_ERR_BEFORE; /* before the body: nothing was launched */
    *after = (int)(k >> 40) & 1;
    return INJ_ERR_BEFORE + (int)(k % (FT_TSAN ? 2 : 5));
}

static int inject(int kind)
{
    switch (kind) {
    case INJ_ERR_BEFORE:
    case INJ_ERR_AFTER:
        return INJECTED_CODE;
    case INJ_SEGV:
        if (segv_page)
            *(volatile char *)segv_page = 1;
        raise(SIGSEGV);
        break;
    case INJ_FPE: {
#if defined(__x86_64__)
        int num = 1, den = 0, q;
        __asm__ volatile("cltd\n\tidivl %2" : "=a"(q) : "a"(num), "r"(den) : "edx");
        (void)q;
#endif
        raise(SIGFPE);
        break;
    }
    case INJ_BUS:
        if (bus_page)
            *(volatile char *)bus_page = 1;
        raise(SIGBUS);
        break;
    }
    return INJECTED_CODE;
}

/* The body under the crash guard: 0 or its code, or 128 + the signal (*sig set). */
static __attribute__((noinline)) int guarded(struct tctx *c, struct task *t, int kind,
                                             int after, int *sig)
{
    struct ft_guard g;
    g.prev = ft_tls_guard;
    g.sig = 0;
    if (FT_SETJMP(g.env)) {
        /* back from the signal handler: the body's frames are gone */
        ft_tls_guard = g.prev;
        *sig = g.sig;
        return 128 + g.sig;
    }
    ft_tls_guard = &g;
    int rc;
    if (kind && !after) {
        rc = inject(kind);
    } else {
        rc = task_attempt(c, t);
        if (kind && !rc)
            rc = inject(kind);
    }
    ft_tls_guard = g.prev;
    return rc;
}

/* A crash ended the guarded attempt of t, which had no record: attempt()'s ending for
 * that case (the record carries the signal into the failure). */
int ft_crashed_plain(struct tctx *c, struct task *t, int sig)
{
    c->cur = t;
    struct ft_task *f = t->ft = calloc(1, sizeof *f);
    if (f) {
        f->attempts = 1;
        f->signo = sig;
    }
    task_attempt_reset(c, t, 0);
    return 128 + sig;
}

/* attempt() for a task without a record (t->ft NULL: no retries, nothing injected, see
 * inject_kind), in one frame: the common case of DAG_CATCH_SIGNALS, on every body. */
int ft_guard_run(struct tctx *c, struct task *t)
{
    int rc;
    FT_GUARDED(c, t, rc, unlikely(rt.dev) ? rt.dev->exec(c, t) : t->fn(t->args));
    return rc;
}

/* One attempt. */
static int attempt(struct tctx *c, struct task *t)
{
    struct ft_task *f = t->ft;
    int after = 0, sig = 0;
    int kind = inject_kind(t, f ? f->attempts : 0, &after);
    if (f) {
        f->attempts++;
        f->signo = 0;
    }
    if (unlikely(!ft_tls_alt))
        ft_alt_setup();
    int rc = guarded(c, t, kind, after, &sig);
    if (likely(!sig))
        return rc;
    c->cur = t;
    if (!f)
        f = t->ft = calloc(1, sizeof *f); /* to carry the signal into the failure record */
    if (f) {
        if (!f->attempts)
            f->attempts = 1;
        f->signo = sig;
    }
    task_attempt_reset(c, t, 0);
    return rc;
}

static int save_inputs(struct ft_task *f)
{
    for (uint32_t i = 0; i < f->nw; i++) {
        f->w[i].save = malloc(f->w[i].len);
        if (!f->w[i].save) {
            drop_copies(f);
            return -1;
        }
        memcpy(f->w[i].save, f->w[i].addr, f->w[i].len);
    }
    return 0;
}

static void restore_inputs(struct ft_task *f)
{
    for (uint32_t i = 0; i < f->nw; i++)
        memcpy(f->w[i].addr, f->w[i].save, f->w[i].len);
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGFPE: return "SIGFPE";
    case SIGBUS: return "SIGBUS";
    }
    return "signal";
}

int ft_run(struct tctx *c, struct task *t)
{
    struct ft_task *f = t->ft;
    /* a detachable task completes on its event: its failure arrives after the body
     * returned, too late to re-run it here. Those with a CUDA variant are re-run by
     * ft_redo (the copies are taken before their first attempt, the host bytes current:
     * the CUDA layer's prepare made sure); `detach` tasks are not retried. */
    if (f && f->retries && (t->flags & TF_DEVICE) && !f->attempts && f->nw &&
        save_inputs(f)) {
        fprintf(stderr, "dagrt: warning: task '%s': no memory for the copy retry(%d) needs; "
                        "it runs once\n", t->label ? t->label : "task", f->retries);
        f->retries = 0;
    }
    if (!f || !f->retries || (t->flags & TF_DETACHABLE))
        return attempt(c, t);
    if (f->nw && save_inputs(f)) {
        fprintf(stderr, "dagrt: warning: task '%s': no memory for the copy retry(%d) needs; "
                        "it runs once\n", t->label ? t->label : "task", f->retries);
        f->retries = 0;
        return attempt(c, t);
    }
    int rc;
    for (;;) {
        rc = attempt(c, t);
        if (!rc || f->attempts > f->retries)
            break;
        if (verbose) {
            char how[64];
            if (f->signo)
                snprintf(how, sizeof how, "crashed (%s)", signame(f->signo));
            else
                snprintf(how, sizeof how, "failed with code %d", rc);
            fprintf(stderr, "dagrt: %s:%d: task '%s' %s on attempt %d; retrying\n",
                    t->file ? t->file : "?", t->line, t->label ? t->label : "task", how,
                    f->attempts);
        }
        task_attempt_reset(c, t, 1);
        if (f->nw)
            restore_inputs(f);
    }
    drop_copies(f);
    return rc;
}

int ft_redo(struct tctx *c, struct task *t)
{
    struct ft_task *f = t->ft;
    if (!(t->flags & TF_DEVICE) || !f->retries)
        return 0;
    /* children of the failed attempt would have to be waited for, possibly on the
     * progress thread: such a task is neither retried nor restored */
    if (!task_children_done(t) || atomic_load_explicit(&t->fail, ACQUIRE))
        return 0;
    int rc = t->detach_rc ? t->detach_rc : atomic_load_explicit(&t->event_rc, RELAXED);
    int again = f->attempts <= f->retries && rt.dev && rt.dev->redo && !rt.dev->redo(c, t);
    /* the attempt's writes are void, whether it runs again or gives up (the device layer
     * has made the host copy the current one: the restored bytes are what successors of
     * a later attempt see, and what the program sees after a failure) */
    if (f->nw && f->w[0].save)
        restore_inputs(f);
    if (!again)
        return 0;
    if (verbose)
        fprintf(stderr, "dagrt: %s:%d: task '%s' failed with code %d on attempt %d; "
                        "retrying\n", t->file ? t->file : "?", t->line,
                t->label ? t->label : "task", rc, f->attempts);
    t->detach_rc = 0;
    atomic_store_explicit(&t->event_rc, 0, RELAXED);
    atomic_store_explicit(&t->fulfilled, 1, RELAXED);
    atomic_store_explicit(&t->detach, 1, RELEASE);
    task_resume(t);
    return 1;
}

void ft_done(struct tctx *c, struct task *t, int rc, int cancelled)
{
    (void)c;
    struct ft_task *f = t->ft;
    if (f->snapshot)
        ck_snapshot_done(t->args, !rc && !cancelled);
}

const char *ft_signame(int sig)
{
    return signame(sig);
}
