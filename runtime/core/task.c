/* task.c: the life of a task: submission, execution, completion and release.
 *
 * Ownership: the submitting thread owns a descriptor until its submission guard (npreds
 * starts at 1) is dropped; from then on, whoever brings npreds to 0 makes it runnable,
 * and whoever runs it finishes it. A descriptor returns to a pool when its body has
 * finished and all its children have been freed (the high half of `counts` reaches 0);
 * the thread that makes that happen frees it. Parents outlive their children for that
 * reason: each child holds one C_REF on its parent.
 */
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "ft.h"
#include "hooks.h"
#include "plugin.h"
#include "runtime.h"
#include "../sched/affinity.h"
#include "../sched/queues.h"
#include "../sched/sched.h"
#include "children.h"

/* ---- allocation -------------------------------------------------------------------- */

static inline void fill_attr(struct task *t, const dag_task_attr_t *a)
{
    if (likely(!a)) {
        t->label = NULL;
        t->file = NULL;
        t->line = t->col = 0;
        t->priority = 0;
        t->device = DAG_DEVICE_ANY;
        t->node = 0;
        t->cuda = NULL;
        t->aff = 0;
        return;
    }
    t->label = a->label;
    t->file = a->file;
    t->line = a->line;
    t->col = a->col;
    t->priority = a->priority;
    t->device = a->device;
    t->node = a->node;
    t->cuda = a->cuda;
    t->aff = aff_slot(a->affinity);
}

/* memcpy for an argument block that fits the descriptor, without a call for the small
 * blocks generated code passes (a few pointers and scalars). */
static inline void copy_small(char *dst, const void *src, size_t size)
{
    const char *s = src;
    if (size <= 16) {
        if (size >= 8) {
            memcpy(dst, s, 8);
            memcpy(dst + size - 8, s + size - 8, 8);
        } else if (size >= 4) {
            memcpy(dst, s, 4);
            memcpy(dst + size - 4, s + size - 4, 4);
        } else {
            for (size_t i = 0; i < size; i++)
                dst[i] = s[i];
        }
    } else {
        memcpy(dst, s, size);
    }
}

/* Common initialisation of pool and stack descriptors. Never touches `lock` or `state`. */
static inline int init_task(struct tctx *c, struct task *t, dag_task_fn fn, const void *args,
                            size_t size, const dag_task_attr_t *attr, uint32_t flags,
                            struct ft_task *ft)
{
    t->next = NULL;
    t->fn = fn;
    t->flags = flags;
    t->parent = c->cur;
    t->group = c->group;
    atomic_store_explicit(&t->npreds, 1, RELAXED);
    atomic_store_explicit(&t->counts, C_REF, RELAXED);
    t->domain = NULL;
    atomic_store_explicit(&t->fail, NULL, RELAXED);
    atomic_store_explicit(&t->cause, NULL, RELAXED);
    atomic_store_explicit(&t->zombie, NULL, RELAXED);
    atomic_store_explicit(&t->zombies, NULL, RELAXED);
    atomic_store_explicit(&t->ready, 0, RELAXED);
    atomic_store_explicit(&t->detach, 1, RELAXED);
    atomic_store_explicit(&t->fulfilled, 1, RELAXED); /* no event until task_detach() */
    t->ext = NULL;
    t->nsucc = 0;
    t->more = NULL;
    t->last_succ = NULL;
    t->nmtx = 0;
    t->mtx = t->mtx_inline;
    t->id = c->next_id++;
    t->ext = NULL;
    t->prepared = 0;
    t->ft = ft;
    fill_attr(t, attr);
    if (likely(size <= TASK_ARGS_INLINE)) {
        t->args = t->argbuf;
        copy_small(t->argbuf, args, size);
    } else {
        t->args = malloc(size);
        if (!t->args)
            return -1;
        memcpy(t->args, args, size);
        t->flags |= TF_EXT_ARGS;
    }
    return 0;
}

static inline struct task *task_alloc(struct tctx *c)
{
    struct task *t = pool_get(&rt.task_pool, &c->task_cache);
    if (likely(t)) {
        /* a new life: holders of (t, old seq) now see a stale member */
        uint64_t seq = (atomic_load_explicit(&t->state, RELAXED) >> 1) + 1;
        atomic_store_explicit(&t->state, seq << 1, RELAXED);
    }
    return t;
}

static void inline_slot_init(struct tctx *c);

void task_init_implicit(struct tctx *c, unsigned thread_index)
{
    struct task *t = &c->implicit;
    memset(t, 0, sizeof *t);
    t->flags = TF_STACK | TF_IMPLICIT;
    t->mtx = t->mtx_inline;
    t->label = "implicit task";
    t->id = (uint64_t)thread_index << 40;
    atomic_init(&t->counts, C_REF);
    c->cur = t;
    c->group = NULL;
    c->next_id = ((uint64_t)thread_index << 40) + 1;
    inline_slot_init(c);
}

/* ---- release ----------------------------------------------------------------------- */

/* Free t (body finished, no live children) and apply `dec` to its parent; continue up
 * while that frees the parent too. */
static void task_release(struct tctx *c, struct task *t, uint64_t dec)
{
    for (;;) {
        struct task *p = t->parent;
        uint32_t pflags = p->flags; /* read before the decrement: p may vanish after it */
        struct failure *f = atomic_load_explicit(&t->fail, RELAXED);
        if (unlikely(f)) {
            /* a descendant's failure nobody waited for moves up */
            failure_report(&p->fail, f);
            failure_unref(f);
        }
        failure_unref(atomic_load_explicit(&t->cause, RELAXED));
        if (unlikely(t->flags & TF_EXT_ARGS))
            free(t->args);
        if (unlikely(t->ft)) {
            ft_free(t->ft);
            t->ft = NULL;
        }
        if (unlikely(atomic_load_explicit(&t->zombies, RELAXED)))
            zombies_collect(c, t, 1);
        if (unlikely(atomic_load_explicit(&t->zombie, RELAXED)))
            zombie_push(p, t); /* stays in p's records as poison */
        else
            pool_put(&rt.task_pool, &c->task_cache, t);

        uint64_t now = atomic_fetch_sub_explicit(&p->counts, dec, ACQ_REL) - dec;
        if (C_HIGH(now) == 0) {
            if (pflags & TF_STACK) {
                ec_notify(&rt.ec, 1); /* an inline task waits for its children */
                return;
            }
            t = p;
            dec = C_REF;
            continue;
        }
        if ((C_LOW(now) == 0 && (dec & C_CHILD)) || ((pflags & TF_IMPLICIT) && C_HIGH(now) == 1))
            ec_notify(&rt.ec, 1);
        return;
    }
}

static inline void release_succ(struct tctx *c, struct task *s, struct failure *f,
                                struct task **imm)
{
    if (unlikely(f)) {
        struct failure *expected = NULL;
        failure_ref(f);
        if (!atomic_compare_exchange_strong_explicit(&s->cause, &expected, f, ACQ_REL, RELAXED))
            failure_unref(f);
    }
    if (atomic_fetch_sub_explicit(&s->npreds, 1, ACQ_REL) == 1)
        task_make_ready(c, s, imm);
}

/* The body has run (or was skipped): release successors, report, account. Returns one
 * ready successor for the calling worker to run next, or NULL. */
static struct task *task_finish(struct tctx *c, struct task *t, int rc, struct failure *cause)
{
    if (unlikely(t->nmtx))
        mutexes_release(c, t);
    struct failure *f = NULL;
    if (unlikely(rc)) {
        f = failure_new(t, rc);
    } else if (unlikely(cause)) {
        f = cause;
        failure_count_cancelled(f);
    }

    if (unlikely(f)) {
        failure_ref(f);
        atomic_store_explicit(&t->zombie, f, RELEASE); /* before DONE: see poison.c */
    }
    spin_lock(&t->lock);
    atomic_store_explicit(&t->state, atomic_load_explicit(&t->state, RELAXED) | TS_DONE, RELEASE);
    spin_unlock(&t->lock);
    /* no successor can be added any more: the lists are ours */
    struct task *imm = NULL;
    for (uint32_t i = 0; i < t->nsucc; i++)
        release_succ(c, t->succ[i], f, &imm);
    for (struct succ_chunk *k = t->more, *next; k; k = next) {
        for (uint32_t i = 0; i < k->n; i++)
            release_succ(c, k->t[i], f, &imm);
        next = k->next;
        pool_put(&rt.succ_pool, &c->succ_cache, k);
    }

    struct task *p = t->parent;
    struct taskgroup *g = t->group;
    if (unlikely(f)) {
        failure_report(&p->fail, f);
        if (g)
            failure_report(&g->fail, f);
        if (rc)
            failure_unref(f);
    }
    if (g && atomic_fetch_sub_explicit(&g->count, 1, ACQ_REL) == 1)
        ec_notify(&rt.ec, 1);

    if (likely(atomic_load_explicit(&t->counts, ACQUIRE) == C_REF)) {
        /* no children exist and none can appear: free t and update p in one step */
        task_release(c, t, C_CHILD | C_REF);
    } else {
        /* children still hold t: tell p that t's body is done, then drop t's own ref */
        uint64_t now = atomic_fetch_sub_explicit(&p->counts, C_CHILD, ACQ_REL) - C_CHILD;
        if (C_LOW(now) == 0)
            ec_notify(&rt.ec, 1);
        if (atomic_fetch_sub_explicit(&t->counts, C_REF, ACQ_REL) == C_REF)
            task_release(c, t, C_REF);
    }
    return imm;
}

void task_make_ready(struct tctx *c, struct task *t, struct task **imm)
{
    if (unlikely(t->flags & TF_UNDEFERRED)) {
        atomic_store_explicit(&t->ready, 1, RELEASE);
        ec_notify(&rt.ec, 1); /* its submitter is waiting in sched_wait */
        return;
    }
    /* the immediate successor: an ordinary task, or a prioritised one while no other
     * prioritised task is queued (it would be taken first anyway; sched_run re-checks
     * before running it). Transfer tasks of the distributed layer take this path: a
     * send right behind its producer, a receive right behind the previous send. */
    if (imm && !*imm &&
        (t->priority == 0 ||
         (t->priority > 0 && atomic_load_explicit(&sq.n_positive, RELAXED) == 0))) {
        *imm = t;
        return;
    }
    sched_push(c, t);
}

/* ---- execution --------------------------------------------------------------------- */

static int group_done(void *arg)
{
    return atomic_load_explicit(&((struct taskgroup *)arg)->count, ACQUIRE) == 0;
}

/* A body returned with taskgroups it opened still open: close them (their tasks may
 * reference its frame's data no longer, but they reference the groups) and fail. */
int task_close_groups(struct tctx *c, struct task *t, int rc)
{
    while (c->group != t->group && c->group) {
        struct taskgroup *g = c->group;
        sched_wait(c, group_done, g);
        c->group = g->outer;
        failure_unref(atomic_load_explicit(&g->fail, RELAXED));
        free(g);
    }
    return rc ? rc : DAG_ERR_STATE;
}

int task_attempt(struct tctx *c, struct task *t)
{
    int rc = unlikely(rt.dev) ? rt.dev->exec(c, t) : t->fn(t->args);
    if (unlikely(c->group != t->group))
        rc = task_close_groups(c, t, rc);
    return rc;
}

void task_attempt_reset(struct tctx *c, struct task *t, int full)
{
    if (c->group != t->group)
        task_close_groups(c, t, 1);
    if (!full)
        return;
    task_wait_children(c, t);
    failure_unref(atomic_exchange_explicit(&t->fail, NULL, ACQ_REL));
    if (atomic_load_explicit(&t->zombies, RELAXED))
        zombies_collect(c, t, 1);
    if (t->domain) {
        domain_destroy(c, t->domain);
        t->domain = NULL;
    }
}

static inline int run_body(struct tctx *c, struct task *t)
{
    struct task *saved = c->cur;
    struct taskgroup *saved_group = c->group;
    c->cur = t;
    c->group = t->group;
    hooks_start(c, t);
    /* crash protection, retries and fault injection: core/retry.c */
    int rc = unlikely(t->ft) ? ft_run(c, t) : likely(ft_guard_all) ? ft_guard_run(c, t)
                                                                    : task_attempt(c, t);
    hooks_end(c, t, rc);
    c->cur = saved;
    c->group = saved_group;
    if (t->domain) {
        domain_destroy(c, t->domain);
        t->domain = NULL;
    }
    return rc;
}

static struct task *execute_body(struct tctx *c, struct task *t)
{
    struct failure *cause = atomic_load_explicit(&t->cause, ACQUIRE);
    int rc = 0;
    if (unlikely(rt.dev) && !cause && !t->prepared && rt.dev->prepare) {
        t->prepared = 1; /* before the layer may hand it to another thread */
        if (rt.dev->prepare(c, t))
            return NULL; /* the device layer calls task_resume() once it may run */
    }
    if (likely(!cause))
        rc = run_body(c, t);
    else
        hooks_end(c, t, DAG_ERR_CANCELLED);
    if (unlikely(t->ft))
        ft_done(c, t, rc, cause != NULL);
    if (unlikely(t->flags & TF_DETACHABLE)) {
        /* the body's share of `detach`; an unfulfilled event keeps the task incomplete */
        t->detach_rc = rc;
        if (atomic_fetch_sub_explicit(&t->detach, 1, ACQ_REL) != 1)
            return NULL;
        if (!rc && !cause)
            rc = atomic_load_explicit(&t->event_rc, RELAXED);
        if (unlikely(rc && t->ft && !cause) && ft_redo(c, t))
            return NULL; /* a CUDA-layer task runs again (core/retry.c) */
    }
    return task_finish(c, t, rc, cause);
}

/* ---- completion events (detach) ---------------------------------------------------- */

int task_detach(struct task *t, dag_event_t *ev)
{
    int one = 1;
    if (!(t->flags & TF_DETACHABLE) ||
        !atomic_compare_exchange_strong_explicit(&t->detach, &one, 2, RELAXED, RELAXED))
        return DAG_ERR_STATE;
    atomic_store_explicit(&t->event_rc, 0, RELAXED);
    atomic_store_explicit(&t->fulfilled, 0, RELEASE);
    ev->task = t;
    ev->seq = task_seq(t);
    return DAG_OK;
}

dag_status_t dag_task_detach(dag_event_t *ev)
{
    struct tctx *c = ctx_fast();
    if (!c || !ev)
        return c ? DAG_ERR_INVALID : DAG_ERR_STATE;
    return task_detach(c->cur, ev);
}

dag_status_t task_fulfill(dag_event_t ev, int code, struct task **imm)
{
    struct task *t = ev.task;
    *imm = NULL;
    if (!t || task_seq(t) != ev.seq || (atomic_load_explicit(&t->state, ACQUIRE) & TS_DONE) ||
        atomic_load_explicit(&t->detach, ACQUIRE) < 1 ||
        atomic_exchange_explicit(&t->fulfilled, 1, ACQ_REL)) /* once per event */
        return DAG_ERR_INVALID;
    if (code)
        atomic_store_explicit(&t->event_rc, code, RELAXED);
    if (atomic_fetch_sub_explicit(&t->detach, 1, ACQ_REL) != 1)
        return DAG_OK; /* the body is still running: it completes the task */
    struct tctx *c = ctx_get();
    if (!c)
        return DAG_ERR_STATE;
    int rc = t->detach_rc ? t->detach_rc : atomic_load_explicit(&t->event_rc, RELAXED);
    if (unlikely(rc && t->ft) && ft_redo(c, t))
        return DAG_OK; /* a CUDA-layer task runs again (core/retry.c) */
    *imm = task_finish(c, t, rc, NULL);
    return DAG_OK;
}

dag_status_t dag_event_fulfill(dag_event_t ev, int code)
{
    struct task *imm;
    dag_status_t st = task_fulfill(ev, code, &imm);
    if (imm)
        sched_push(ctx_get(), imm);
    return st;
}

struct task *task_execute(struct tctx *c, struct task *t)
{
    /* a resumed task (t->prepared) holds its mutexes since its first execution */
    if (unlikely(t->nmtx) && !t->prepared && !mutexes_acquire(c, t, 1))
        return NULL; /* parked on a busy mutex: its owner will push it again */
    return execute_body(c, t);
}

void task_resume(struct task *t)
{
    sched_push(tls_ctx && tls_ctx->gen == rt.gen ? tls_ctx : NULL, t);
}

/* ---- waiting helpers --------------------------------------------------------------- */

static int stack_task_released(void *arg)
{
    return C_HIGH(atomic_load_explicit(&((struct task *)arg)->counts, ACQUIRE)) == 0;
}

static int undeferred_ready(void *arg)
{
    return atomic_load_explicit(&((struct task *)arg)->ready, ACQUIRE);
}

struct mutex_try {
    struct tctx *c;
    struct task *t;
    int held;
};

/* sched_wait may evaluate its predicate more than once after it first holds: remember */
static int mutexes_taken(void *arg)
{
    struct mutex_try *m = arg;
    if (!m->held)
        m->held = mutexes_acquire(m->c, m->t, 0);
    return m->held;
}

/* ---- inline and undeferred execution ------------------------------------------------ */

/* What an inline run leaves to do after its body: wait for the task's children (they
 * point at it), then report its failure and theirs to the parent. */
static void inline_complete(struct tctx *c, struct task *t, int rc, const dag_dep_t *deps,
                            size_t ndeps)
{
    /* no child was ever created (the common case): nobody else can touch t->counts */
    if (atomic_load_explicit(&t->counts, ACQUIRE) != C_REF &&
        atomic_fetch_sub_explicit(&t->counts, C_REF, ACQ_REL) != C_REF)
        sched_wait(c, stack_task_released, t);
    if (unlikely(atomic_load_explicit(&t->zombies, RELAXED)))
        zombies_collect(c, t, 1);
    struct task *p = t->parent;
    if (unlikely(rc)) {
        struct failure *f = failure_new(t, rc);
        failure_report(&p->fail, f);
        if (t->group)
            failure_report(&t->group->fail, f);
        if (ndeps)
            zombie_for_inline(c, p, f, deps, ndeps);
        failure_unref(f);
    }
    struct failure *f = atomic_load_explicit(&t->fail, RELAXED);
    if (unlikely(f)) {
        failure_report(&p->fail, f);
        failure_unref(f);
    }
}

/* Run a task now, on this thread, with a descriptor on the stack: final tasks'
 * descendants, undeferred tasks without dependencies, tasks beyond the throttle, and
 * work-first tasks on one worker (their dependencies, all satisfied, matter only if the
 * task fails). Waits for the task's own children before returning (they point at it). */
static dag_status_t run_inline(struct tctx *c, dag_task_fn fn, const void *args, size_t size,
                               const dag_task_attr_t *attr, uint32_t flags,
                               const dag_dep_t *deps, size_t ndeps, struct ft_task *ft)
{
    struct task t;
    atomic_init(&t.state, 0);
    if (init_task(c, &t, fn, args, size, attr, flags | TF_STACK, ft)) {
        ft_free(ft);
        return DAG_ERR_NOMEM;
    }
    int rc = run_body(c, &t);
    inline_complete(c, &t, rc, deps, ndeps);
    if (t.flags & TF_EXT_ARGS)
        free(t.args);
    if (unlikely(t.ft)) {
        ft_done(c, &t, rc, 0);
        ft_free(t.ft);
    }
    return DAG_OK;
}

/* After a body run in the context's clean descriptor: clean it again when the body left
 * something behind (children, a failure, a crash record) or attributes were set. */
static inline void inline_slot_done(struct tctx *c, struct task *t, int rc,
                                    const dag_dep_t *deps, size_t ndeps)
{
    if (unlikely(rc || atomic_load_explicit(&t->counts, ACQUIRE) != C_REF ||
                 atomic_load_explicit(&t->fail, RELAXED) ||
                 atomic_load_explicit(&t->zombies, RELAXED))) {
        inline_complete(c, t, rc, deps, ndeps);
        atomic_store_explicit(&t->counts, C_REF, RELAXED);
        atomic_store_explicit(&t->fail, NULL, RELAXED);
        if (unlikely(t->ft)) { /* a crash attached its record (core/retry.c): not reused */
            ft_free(t->ft);
            t->ft = NULL;
        }
    }
    c->inline_slot = t;
}

/* run_inline with the context's clean descriptor (tctx.inline_slot): only the fields
 * that differ between tasks are written (the attribute fields stay as fill_attr(NULL)
 * leaves them between runs), and the descriptor is cleaned again only when the body left
 * something behind. Nested inline tasks and large argument blocks take run_inline's
 * stack descriptor. */
static inline dag_status_t run_inline_fast(struct tctx *c, dag_task_fn fn, const void *args,
                                           size_t size, const dag_task_attr_t *attr,
                                           uint32_t flags, const dag_dep_t *deps, size_t ndeps,
                                           struct ft_task *ft)
{
    struct task *t = c->inline_slot;
    if (unlikely(!t || size > TASK_ARGS_INLINE || ft)) /* retry state: core/retry.c */
        return run_inline(c, fn, args, size, attr, flags, deps, ndeps, ft);
    c->inline_slot = NULL;
    t->fn = fn;
    t->flags = flags | TF_STACK;
    t->parent = c->cur;
    t->group = c->group;
    t->id = c->next_id++;
    if (attr)
        fill_attr(t, attr);
    copy_small(t->argbuf, args, size);
    int rc = run_body(c, t);
    inline_slot_done(c, t, rc, deps, ndeps);
    if (attr)
        fill_attr(t, NULL);
    return DAG_OK;
}

/* The clean state run_inline_fast expects of tctx.inline_task. */
static void inline_slot_init(struct tctx *c)
{
    struct task *t = &c->inline_task;
    memset(t, 0, sizeof *t);
    t->mtx = t->mtx_inline;
    t->args = t->argbuf;
    t->flags = TF_STACK;
    atomic_init(&t->npreds, 1);
    atomic_init(&t->counts, C_REF);
    atomic_init(&t->detach, 1);
    atomic_init(&t->fulfilled, 1);
    fill_attr(t, NULL);
    c->inline_slot = t;
}

static dag_status_t run_undeferred(struct tctx *c, struct task *t)
{
    if (atomic_fetch_sub_explicit(&t->npreds, 1, ACQ_REL) != 1)
        sched_wait(c, undeferred_ready, t);
    if (t->nmtx) {
        struct mutex_try m = {c, t, 0};
        sched_wait(c, mutexes_taken, &m);
    }
    struct task *imm = execute_body(c, t);
    if (imm)
        sched_push(c, imm);
    return DAG_OK;
}

/* ---- submission -------------------------------------------------------------------- */

/* Work-first on a single worker: when every earlier sibling has completed, the new task
 * is ready and nothing could run in parallel with it, so running it now, before
 * dag_submit returns, is the sequential order itself. It needs no descriptor and no
 * dependency record (it is complete before any later sibling is submitted). Not taken
 * when a prioritised task is queued (it must run first), when a failed sibling's data
 * must cancel it (poison.c), when tracing wants the real graph, or from threads that
 * are not the worker. */
static inline int eager_ok(struct tctx *c, const dag_task_attr_t *attr)
{
    return c->w && !rt.hooks && (!attr || attr->priority == 0) &&
           C_LOW(atomic_load_explicit(&c->cur->counts, RELAXED)) == 0 &&
           !atomic_load_explicit(&c->cur->zombies, RELAXED) &&
           atomic_load_explicit(&sq.n_positive, RELAXED) == 0;
}

/* A task whose submission failed half-way, before anything points at it: its
 * descriptor goes back to the pool, marked done for holders of a stale (pointer, seq). */
static dag_status_t abandon(struct tctx *c, struct task *t, dag_status_t st)
{
    atomic_store_explicit(&t->state, atomic_load_explicit(&t->state, RELAXED) | TS_DONE, RELEASE);
    if (t->flags & TF_EXT_ARGS)
        free(t->args);
    ft_free(t->ft);
    t->ft = NULL;
    pool_put(&rt.task_pool, &c->task_cache, t);
    return st;
}

/* Submission with a descriptor of its own: the path of every task that does not run
 * inline (kept out of line so that the inline path stays short). */
static __attribute__((noinline)) dag_status_t
submit_deferred(struct tctx *c, dag_task_fn fn, const void *args, size_t args_size,
                const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr, uint32_t flags,
                struct ft_task *ft)
{
    struct task *t = task_alloc(c);
    if (unlikely(!t)) {
        ft_free(ft);
        return DAG_ERR_NOMEM;
    }
    struct task *parent = c->cur;
    if (unlikely(init_task(c, t, fn, args, args_size, attr, flags, ft))) {
        ft_free(ft);
        pool_put(&rt.task_pool, &c->task_cache, t);
        return DAG_ERR_NOMEM;
    }
    if (unlikely(rt.dev) && rt.dev->on_submit) {
        dag_status_t st = rt.dev->on_submit(c, t, deps, ndeps);
        if (unlikely(st))
            return abandon(c, t, st);
    }
    if (unlikely(flags & TF_DETACHABLE) && attr && attr->event)
        task_detach(t, attr->event); /* the event exists from submission on */
    if (ndeps) {
        hooks_deps(c, t, deps, ndeps);
        dag_status_t st = deps_register(c, parent, t, deps, ndeps);
        if (unlikely(st))
            return abandon(c, t, st); /* registration fails before adding edges */
    }
    atomic_fetch_add_explicit(&parent->counts, C_CHILD | C_REF, RELAXED);
    if (t->group)
        atomic_fetch_add_explicit(&t->group->count, 1, RELAXED);
    hooks_submit(c, t);
    if (unlikely(flags & TF_UNDEFERRED))
        return run_undeferred(c, t);
    if (atomic_fetch_sub_explicit(&t->npreds, 1, ACQ_REL) == 1)
        sched_push(c, t);
    return DAG_OK;
}

/* The task has a CUDA implementation or asks for the GPU. */
static inline int may_use_gpu(const dag_task_attr_t *attr)
{
    return attr && (attr->cuda || attr->device == DAG_DEVICE_CUDA);
}

static inline __attribute__((always_inline)) dag_status_t
submit_local(dag_task_fn fn, const void *args, size_t args_size, const dag_dep_t *deps,
             size_t ndeps, const dag_task_attr_t *attr)
{
    struct tctx *c = ctx_fast();
    if (unlikely(!c))
        return DAG_ERR_STATE;
    if (unlikely(!fn || (args_size && !args)))
        return DAG_ERR_INVALID;
    if (ndeps) {
        dag_status_t st = deps_validate(deps, ndeps);
        if (st)
            return st;
    }
    uint32_t aflags = attr ? attr->flags : 0;
    uint32_t flags = 0;
    struct ft_task *ft = NULL; /* retry(n), snapshot tasks, fault injection: core/retry.c */
    if (unlikely(attr && (attr->retries > 0 || (aflags & DAG_TASK_SNAPSHOT))) ||
        unlikely(ft_wanted_all))
        ft = ft_new(attr, deps, ndeps);
    if (aflags & DAG_TASK_UNDEFERRED)
        flags |= TF_UNDEFERRED;
    if ((aflags & DAG_TASK_FINAL) || (c->cur->flags & TF_FINAL))
        flags |= TF_FINAL;
    if (unlikely(aflags & DAG_TASK_STAGES))
        flags |= TF_STAGES;
    if (unlikely(aflags & DAG_TASK_DETACHABLE) ||
        (unlikely(rt.dev) && may_use_gpu(attr))) {
        /* completes on an event: never inline (also under a final parent) */
        if (aflags & DAG_TASK_UNDEFERRED) {
            ft_free(ft);
            return DAG_ERR_INVALID;
        }
        flags |= TF_DETACHABLE;
        if (!(aflags & DAG_TASK_DETACHABLE))
            flags |= TF_DEVICE;
        return submit_deferred(c, fn, args, args_size, deps, ndeps, attr, flags, ft);
    }

    if (unlikely(c->cur->flags & TF_FINAL))
        return run_inline_fast(c, fn, args, args_size, attr, TF_FINAL, NULL, 0, ft); /* included */
    if (rt.nthreads == 1 && !rt.dev && eager_ok(c, attr))
        return run_inline_fast(c, fn, args, args_size, attr, flags & TF_FINAL, deps, ndeps, ft);
    if (ndeps == 0) {
        if (flags & TF_UNDEFERRED)
            return run_inline_fast(c, fn, args, args_size, attr, flags & TF_FINAL, NULL, 0, ft);
        if (c->w && deque_size(&c->w->dq) > rt.throttle && (!attr || attr->priority == 0)) {
            /* seen by thieves (sched.c: steal pacing); only this thread writes it */
            atomic_store_explicit(&c->w->inlined,
                                  atomic_load_explicit(&c->w->inlined, RELAXED) + 1, RELAXED);
            return run_inline_fast(c, fn, args, args_size, attr, flags, NULL, 0, ft);
        }
    }

    return submit_deferred(c, fn, args, args_size, deps, ndeps, attr, flags, ft);
}

/* dag_submit's shortest path, for the work-first case of eager_ok with nothing layered on
 * the core: one worker, no device, distribution, checkpoint, tracing or fault injection,
 * a parent that is not final, arguments that fit the descriptor, and no attributes or
 * naming ones only (label and source location, as generated code passes: attr_plain).
 * The task runs at once in the context's clean descriptor, exactly as run_inline_fast
 * would run it, without the tests those layers need. */
static inline int attr_plain(const dag_task_attr_t *a)
{
    return a->priority == 0 && a->flags == 0 && a->device == DAG_DEVICE_ANY && !a->cuda &&
           a->retries <= 0;
}

static inline int eager_plain(struct tctx *c, dag_task_fn fn, const void *args, size_t size)
{
    struct task *cur;
    return c->gen == rt.gen && atomic_load_explicit(&rt.state, RELAXED) == RT_RUNNING &&
           c->w && c->inline_slot && fn && (args || !size) && size <= TASK_ARGS_INLINE &&
           !rt.dev && !rt.hooks && !rt.interpose && !ck_flow && !ft_wanted_all &&
           !((cur = c->cur)->flags & TF_FINAL) &&
           C_LOW(atomic_load_explicit(&cur->counts, RELAXED)) == 0 &&
           !atomic_load_explicit(&cur->zombies, RELAXED) &&
           atomic_load_explicit(&sq.n_positive, RELAXED) == 0;
}

/* The crash guard's own frame for the eager path (ft_guard_run of core/retry.c without its
 * device test: no device layer on this path). Only c and t live across its jump point, so
 * the caller keeps its locals in registers: a jump point in the caller's frame would make
 * each of them a stack slot, reloaded after the body. */
static __attribute__((noinline)) int eager_call(struct tctx *c, struct task *t)
{
    int rc;
    FT_GUARDED(c, t, rc, t->fn(t->args));
    return rc;
}

/* After an eager body that failed or created tasks: its records go as run_inline_fast's
 * would (out of line: the common case leaves nothing behind). */
static __attribute__((noinline)) void eager_left(struct tctx *c, struct task *t, int rc,
                                                 const dag_dep_t *deps, size_t ndeps)
{
    if (t->domain) {
        domain_destroy(c, t->domain);
        t->domain = NULL;
    }
    inline_slot_done(c, t, rc, deps, ndeps);
}

static inline __attribute__((always_inline)) dag_status_t
run_eager(struct tctx *c, dag_task_fn fn, const void *args, size_t size, const dag_dep_t *deps,
          size_t ndeps, const dag_task_attr_t *attr)
{
    struct task *t = c->inline_slot;
    t->fn = fn;
    t->flags = TF_STACK;
    t->parent = c->cur;
    t->group = c->group;
    copy_small(t->argbuf, args, size);
    if (ndeps) {
        /* as submit_local would; after the copy, so that fn, args and size need not be
         * kept across the call (the slot is still c's clean one: nothing to undo) */
        dag_status_t st = deps_validate(deps, ndeps);
        if (st)
            return st;
    }
    c->inline_slot = NULL;
    t->id = c->next_id++;
    if (attr)
        fill_attr(t, attr);
    c->cur = t;
    int rc = likely(ft_guard_all) ? eager_call(c, t) : task_attempt(c, t);
    c->cur = t->parent;
    c->group = t->group;
    /* every task created in the body (a child, a nested inline task) took an id from
     * c->next_id, and dependency records, poison and failures come only with such tasks:
     * when none did, the body left nothing behind and the descriptor is clean */
    if (unlikely(rc || c->next_id != t->id + 1))
        eager_left(c, t, rc, deps, ndeps);
    else
        c->inline_slot = t;
    if (attr)
        fill_attr(t, NULL);
    return DAG_OK;
}

/* run_eager's instances: the bare one (no attributes, no dependencies: the commonest task)
 * is expanded in dag_submit; these are frames of their own that dag_submit jumps to (a
 * frame holds only what its case keeps across the body): dependencies, naming attributes. */
static __attribute__((noinline)) dag_status_t eager_deps(struct tctx *c, dag_task_fn fn,
                                                         const void *args, size_t size,
                                                         const dag_dep_t *deps, size_t ndeps)
{
    return run_eager(c, fn, args, size, deps, ndeps, NULL);
}

static __attribute__((noinline)) dag_status_t run_eager_full(struct tctx *c, dag_task_fn fn,
                                                             const void *args, size_t size,
                                                             const dag_dep_t *deps, size_t ndeps,
                                                             const dag_task_attr_t *attr)
{
    return run_eager(c, fn, args, size, deps, ndeps, attr);
}

/* The distributed layer (rt.interpose) sees the top-level task flow first and calls
 * task_submit_local() for the tasks this process runs. The runtime's own layers enter
 * here (task_submit) with their private flag bits (DAG_TASK_INTERNAL_MASK, task.h);
 * dag_submit is the same entry for users, who may set only the public bits. */
dag_status_t task_submit(dag_task_fn fn, const void *args, size_t args_size,
                         const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr)
{
    /* The CUDA layer starts with the first task that may use it, here, before the layers
     * below take their locks: its start announces the distributed matrices under the
     * distributed layer's lock (plugin.h), which rt.interpose holds while it submits. */
    if (unlikely(may_use_gpu(attr)) && !rt.dev)
        plugin_cuda_want();
    if (unlikely(ck_flow)) { /* checkpoint/restart sees the top-level flow: ckpt/ckpt.c */
        struct tctx *c = ctx_fast();
        dag_status_t st;
        if (c && (c->cur->flags & TF_IMPLICIT) &&
            ck_submit(c, fn, args, args_size, deps, ndeps, attr, &st))
            return st;
    }
    if (unlikely(rt.interpose)) {
        struct tctx *c = ctx_fast();
        if (c && (c->cur->flags & TF_IMPLICIT))
            return rt.interpose(c, fn, args, args_size, deps, ndeps, attr);
    }
    return submit_local(fn, args, args_size, deps, ndeps, attr);
}

/* dag_submit past its bare eager case (out of line: the bare case keeps a short frame). */
static __attribute__((noinline)) dag_status_t
submit_other(dag_task_fn fn, const void *args, size_t args_size, const dag_dep_t *deps,
             size_t ndeps, const dag_task_attr_t *attr)
{
    struct tctx *c = tls_ctx;
    if (rt.nthreads == 1 && c && attr_plain(attr) && eager_plain(c, fn, args, args_size))
        return run_eager_full(c, fn, args, args_size, deps, ndeps, attr);
    if (unlikely(attr->flags & ~DAG_TASK_PUBLIC_MASK))
        return DAG_ERR_INVALID; /* unknown bits, or the runtime's private ones */
    return task_submit(fn, args, args_size, deps, ndeps, attr);
}

dag_status_t dag_submit(dag_task_fn fn, const void *args, size_t args_size,
                        const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr)
{
    if (likely(!attr)) {
        struct tctx *c;
        if (rt.nthreads == 1 && likely((c = tls_ctx) != NULL) && eager_plain(c, fn, args, args_size))
            return ndeps ? eager_deps(c, fn, args, args_size, deps, ndeps)
                         : run_eager(c, fn, args, args_size, NULL, 0, NULL);
        return task_submit(fn, args, args_size, deps, ndeps, NULL);
    }
    return submit_other(fn, args, args_size, deps, ndeps, attr);
}

dag_status_t task_submit_local(dag_task_fn fn, const void *args, size_t args_size,
                               const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr)
{
    return submit_local(fn, args, args_size, deps, ndeps, attr);
}

int dag_in_final(void)
{
    struct tctx *c = ctx_fast();
    return c && (c->cur->flags & TF_FINAL) != 0;
}
