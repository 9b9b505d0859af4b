/* mutexset.c: runtime exclusion for mutexinoutset. Each mutexinoutset group of a record
 * (members on one exact range) has a mutex object. A member holds its own group's mutex
 * exclusively; a member of another group whose range overlaps this record's holds it
 * shared: it must exclude this group's members but not the other such "neighbours",
 * which may not overlap one another (their own records exclude them when they do).
 * A task takes all its mutexes right before its body runs, never holding some while
 * waiting for another: on a busy mutex it releases what it took and parks on that mutex's
 * wait list, to be made runnable again when the holder releases it. */
#include <stdlib.h>

#include "runtime.h"
#include "../sched/sched.h"

struct mutexobj {
    spinlock_t lock;     /* protects owner, nshared and waiters */
    struct task *owner;  /* exclusive holder */
    int nshared;         /* shared holders */
    struct task *waiters; /* parked tasks, linked through task.next */
    atomic_int refs;     /* one per task holding it in its list, one per record group */
};

struct mutexobj *mutexobj_new(void)
{
    struct mutexobj *m = calloc(1, sizeof *m);
    if (m)
        atomic_init(&m->refs, 1);
    return m;
}

void mutexobj_unref(struct mutexobj *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, ACQ_REL) == 1)
        free(m);
}

/* t->mtx holds tagged pointers: the low bit set means "shared". */
#define SHARED_BIT ((uintptr_t)1)
static inline struct mutexobj *mx_obj(struct mutexobj *e)
{
    return (struct mutexobj *)((uintptr_t)e & ~SHARED_BIT);
}
static inline int mx_shared(struct mutexobj *e)
{
    return (uintptr_t)e & SHARED_BIT;
}

/* Add m to t's list (sorted by address, one entry per mutex, exclusive wins over
 * shared). Returns -1 when out of memory. */
int task_add_mutex(struct task *t, struct mutexobj *m, int shared)
{
    for (uint32_t i = 0; i < t->nmtx; i++)
        if (mx_obj(t->mtx[i]) == m) {
            if (!shared)
                t->mtx[i] = m;
            return 0;
        }
    if (t->nmtx == MTX_INLINE && !(t->flags & TF_EXT_MTX)) {
        struct mutexobj **v = malloc(sizeof *v * 8);
        if (!v)
            return -1;
        for (uint32_t i = 0; i < t->nmtx; i++)
            v[i] = t->mtx[i];
        t->mtx = v;
        t->flags |= TF_EXT_MTX;
    } else if ((t->flags & TF_EXT_MTX) && t->nmtx >= 8 && (t->nmtx & (t->nmtx - 1)) == 0) {
        struct mutexobj **v = realloc(t->mtx, sizeof *v * t->nmtx * 2);
        if (!v)
            return -1;
        t->mtx = v;
    }
    uint32_t i = t->nmtx++;
    while (i > 0 && (uintptr_t)mx_obj(t->mtx[i - 1]) > (uintptr_t)m) {
        t->mtx[i] = t->mtx[i - 1];
        i--;
    }
    t->mtx[i] = shared ? (struct mutexobj *)((uintptr_t)m | SHARED_BIT) : m;
    atomic_fetch_add_explicit(&m->refs, 1, RELAXED);
    return 0;
}

void mutexobj_unref_tagged(struct mutexobj *e)
{
    mutexobj_unref(mx_obj(e));
}

static void release_one(struct tctx *c, struct mutexobj *e)
{
    struct mutexobj *m = mx_obj(e);
    spin_lock(&m->lock);
    if (mx_shared(e))
        m->nshared--;
    else
        m->owner = NULL;
    struct task *w = NULL;
    if (!m->owner && m->nshared == 0) {
        w = m->waiters;
        m->waiters = NULL;
    }
    spin_unlock(&m->lock);
    while (w) {
        struct task *n = w->next;
        sched_push(c, w);
        w = n;
    }
    /* an undeferred task polls for its mutexes from sched_wait: let it look again */
    ec_notify(&rt.ec, 1);
}

/* Take every mutex of t. On a busy one: release the ones taken, then, if park, queue t
 * on the busy mutex (its releaser makes t runnable again) and never touch t afterwards:
 * another thread may run it at once. Returns 1 when all are held. */
int mutexes_acquire(struct tctx *c, struct task *t, int park)
{
retry:
    for (uint32_t i = 0; i < t->nmtx; i++) {
        struct mutexobj *m = mx_obj(t->mtx[i]);
        int shared = mx_shared(t->mtx[i]);
        spin_lock(&m->lock);
        if (!m->owner && (shared || m->nshared == 0)) {
            if (shared)
                m->nshared++;
            else
                m->owner = t;
            spin_unlock(&m->lock);
            continue;
        }
        spin_unlock(&m->lock);
        for (uint32_t j = 0; j < i; j++)
            release_one(c, t->mtx[j]);
        if (!park)
            return 0;
        spin_lock(&m->lock);
        if (m->owner || (!shared && m->nshared)) {
            t->next = m->waiters;
            m->waiters = t;
            spin_unlock(&m->lock);
            return 0;
        }
        spin_unlock(&m->lock);
        goto retry;
    }
    return 1;
}

void mutexes_release(struct tctx *c, struct task *t)
{
    for (uint32_t i = 0; i < t->nmtx; i++) {
        release_one(c, t->mtx[i]);
        mutexobj_unref(mx_obj(t->mtx[i]));
    }
    if (t->flags & TF_EXT_MTX)
        free(t->mtx);
    t->nmtx = 0;
    t->mtx = t->mtx_inline;
}
