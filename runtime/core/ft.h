/* ft.h: the fault-tolerance layer's internal interface (docs/fault-tolerance.md):
 *   core/retry.c   crash protection of task bodies (SIGSEGV, SIGFPE, SIGBUS), retry(n) with
 *                  pre-task copies of the ranges a task writes, fault injection;
 *   ckpt/ckpt.c    checkpoint/restart of the top-level task flow (snapshot tasks, restart
 *                  skipping); ckpt/file.c the checkpoint files (atomic writes, checksums).
 * A task that needs any of this carries a `struct ft_task` (task.ft); every other task
 * pays one pointer test. */
#ifndef DAG_CORE_FT_H
#define DAG_CORE_FT_H

#include <setjmp.h>

#include "runtime.h"

/* DAG_TASK_SNAPSHOT, the flag of the snapshot tasks: core/task.h */

struct ft_range {
    char *addr;
    size_t len;
    void *save; /* the pre-task copy while the task may still be retried */
};

struct ck_epoch;

struct ft_task {
    int retries;           /* re-runs allowed after the first attempt */
    int attempts;          /* attempts made so far */
    int signo;             /* the signal that ended the last attempt, or 0 */
    int snapshot;          /* a snapshot task of ckpt/ckpt.c */
    uint32_t nw;           /* ranges the task writes (out, inout, sets) */
    struct ft_range *w;
    struct ft_range w_inline[2];
};

/* retry.c */
extern int ft_wanted_all; /* DAG_FAULT_INJECT: every task gets a record */
dag_status_t ft_start(void);            /* at dag_init: signal handlers, injection */
void ft_stop(void);                     /* at dag_finalize */
/* The record of a new task, when attr asks for retries or a snapshot (or faults are
 * injected): NULL otherwise or without memory (the task then runs without retries). */
struct ft_task *ft_new(const dag_task_attr_t *attr, const dag_dep_t *deps, size_t ndeps);
void ft_free(struct ft_task *f);
/* Runs the body of t (t->ft set, or crash protection on) with its attempts; returns the
 * code of the last attempt. */
int ft_run(struct tctx *c, struct task *t);
/* ft_run for a task without a record (t->ft NULL) while ft_guard_all: the crash guard
 * alone, without the layers retries and injection need. */
int ft_guard_run(struct tctx *c, struct task *t);
extern int ft_guard_all; /* DAG_CATCH_SIGNALS (default on): protect every body */
/* A TF_DEVICE task's attempt failed (both its body and its event are done): when it has
 * retries left and the device layer agrees (rt.dev->redo), its outputs are restored and
 * it is queued again: returns 1 (the caller must not finish it), else 0. */
int ft_redo(struct tctx *c, struct task *t);
/* After the body (rc) or the cancellation (cause) of a task with a record. */
void ft_done(struct tctx *c, struct task *t, int rc, int cancelled);

const char *ft_signame(int sig);

/* task.c: one attempt of t's body, closing taskgroups it left open; and undoing what a
 * failed attempt left behind (its children, its dependency records) before a retry. */
int task_attempt(struct tctx *c, struct task *t);
/* The part of task_attempt after the body, when it left taskgroups open (c->group differs
 * from t->group): closes them; returns the attempt's code. */
int task_close_groups(struct tctx *c, struct task *t, int rc);
void task_attempt_reset(struct tctx *c, struct task *t, int full);

/* ckpt/ckpt.c */
extern int ck_flow; /* checkpointing or restart is on: dag_submit calls ck_submit first */
dag_status_t ck_start(void);
void ck_stop(void);
/* The top-level task flow of the checkpointing thread: returns 1 when the task was
 * handled here (skipped on restart: *st is its status), 0 to submit it normally. */
int ck_submit(struct tctx *c, dag_task_fn fn, const void *args, size_t args_size,
              const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr,
              dag_status_t *st);
void ck_snapshot_done(void *args, int ok);

/* ---- the crash guard (retry.c), shared with task.c's inline path ---------------- */

/* ThreadSanitizer owns SIGSEGV/SIGFPE/SIGBUS and defers or reports them itself: in such
 * builds crashes are not caught (DAG_CATCH_SIGNALS defaults to 0) and fault injection
 * uses error returns only. */
#if defined(__SANITIZE_THREAD__)
#define FT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FT_TSAN 1
#endif
#endif
#ifndef FT_TSAN
#define FT_TSAN 0
#endif

/* The jump point. __builtin_setjmp saves three words (the function saves the registers
 * it needs itself): a few ns per body instead of sigsetjmp's ~20. Sanitizers must see the
 * jump (ASan unpoisons the abandoned frames in its siglongjmp interceptor), so their
 * builds use sigsetjmp. The handler is SA_NODEFER: no signal mask to restore. */
#if defined(__SANITIZE_ADDRESS__) || FT_TSAN
#define FT_SJLJ 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT_SJLJ 0
#endif
#endif
#if !defined(FT_SJLJ) && (defined(__GNUC__) || defined(__clang__))
#define FT_SJLJ 1
#endif
#ifndef FT_SJLJ
#define FT_SJLJ 0
#endif

struct ft_guard {
#if FT_SJLJ
    void *env[5];
#else
    sigjmp_buf env;
#endif
    volatile int sig;
    struct ft_guard *prev;
};

#if FT_SJLJ
#define FT_SETJMP(env) __builtin_setjmp(env)
#define FT_LONGJMP(env, sig) __builtin_longjmp(env, 1)
#else
#define FT_SETJMP(env) sigsetjmp(env, 0)
#define FT_LONGJMP(env, sig) siglongjmp(env, sig)
#endif

/* The innermost guard of this thread (a body is running under it), or NULL; the signal
 * handler jumps to it. The guarded frame (the function that calls FT_SETJMP) links it in
 * before the body and out after; ft_alt_setup() must have run on the thread
 * (ft_tls_alt non-NULL) before the first guarded body. After a crash the frame calls
 * ft_crashed_plain() (a task without a record) for the attempt's code. */
extern RT_TLS struct ft_guard *ft_tls_guard;
extern RT_TLS char *ft_tls_alt;
void ft_alt_setup(void);
int ft_crashed_plain(struct tctx *c, struct task *t, int sig);

/* The guarded frame itself, for a task without a record: rc = CALL under a crash guard
 * living in the calling function's frame (FT_SETJMP cannot sit in a called function that
 * returns before the body does, nor be inlined), taskgroups the body left open closed as
 * task_attempt closes them, ft_crashed_plain's code after a crash. ft_guard_run is this
 * in a function of its own; run_eager (core/task.c) expands it in its frame. */
#define FT_GUARDED(c, t, rc, CALL)                                                           \
    do {                                                                                     \
        struct ft_guard g_;                                                                  \
        if (unlikely(!ft_tls_alt))                                                           \
            ft_alt_setup();                                                                  \
        g_.prev = ft_tls_guard;                                                              \
        g_.sig = 0;                                                                          \
        if (FT_SETJMP(g_.env)) {                                                             \
            ft_tls_guard = g_.prev;                                                          \
            (rc) = ft_crashed_plain((c), (t), g_.sig);                                       \
        } else {                                                                             \
            ft_tls_guard = &g_;                                                              \
            (rc) = (CALL);                                                                   \
            if (unlikely((c)->group != (t)->group))                                          \
                (rc) = task_close_groups((c), (t), (rc));                                    \
            ft_tls_guard = g_.prev;                                                          \
        }                                                                                    \
    } while (0)

#endif
