/* poison.c: keeping failures in the data. A task that failed, or was cancelled, leaves
 * its outputs invalid; a sibling submitted later that uses them must be cancelled too,
 * even if it arrives after the failed task finished (edges only exist between live
 * tasks). So a failed or cancelled task is not recycled when it finishes: it becomes a
 * "zombie" that stays in its parent's dependency records, in state DONE with its failure
 * attached, and registration turns any edge from it into a cancellation. Zombies are
 * recycled once their failure has been reported to a wait (the data may then be used
 * again) or when their parent goes away. Only the parent's body thread recycles them,
 * and only that thread reads records, so a zombie seen in a record cannot vanish.
 * Records tell zombies from live and finished tasks with member_state (task.h). */
#include <stdlib.h>

#include "deps.h"
#include "runtime.h"

/* Called by the thread that releases t, before its parent's counters drop. */
void zombie_push(struct task *parent, struct task *t)
{
    struct task *head = atomic_load_explicit(&parent->zombies, RELAXED);
    do {
        t->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&parent->zombies, &head, t, RELEASE, RELAXED));
}

static void zombie_free(struct tctx *c, struct task *z)
{
    struct failure *f = atomic_load_explicit(&z->zombie, RELAXED);
    atomic_store_explicit(&z->zombie, NULL, RELEASE);
    failure_unref(f);
    pool_put(&rt.task_pool, &c->task_cache, z);
}

/* Recycle the parent's zombies whose failure has been reported (all of them if `all`).
 * Runs on the parent's body thread, or when the parent is being freed. */
void zombies_collect(struct tctx *c, struct task *parent, int all)
{
    struct task *z = atomic_exchange_explicit(&parent->zombies, NULL, ACQUIRE);
    while (z) {
        struct task *next = z->next;
        if (all || failure_reported(atomic_load_explicit(&z->zombie, RELAXED)))
            zombie_free(c, z);
        else
            zombie_push(parent, z);
        z = next;
    }
}

/* A task run inline (work-first) failed: it never entered the records, so enter a
 * zombie with its dependencies in its place. Every earlier sibling has finished (that
 * is why it ran inline), so this adds no edges. */
void zombie_for_inline(struct tctx *c, struct task *parent, struct failure *f,
                       const dag_dep_t *deps, size_t ndeps)
{
    struct task *z = pool_get(&rt.task_pool, &c->task_cache);
    if (!z)
        return; /* no memory: later siblings will not be cancelled, the failure is still reported */
    uint64_t seq = (atomic_load_explicit(&z->state, RELAXED) >> 1) + 1;
    atomic_store_explicit(&z->state, seq << 1, RELAXED);
    z->parent = parent;
    z->nsucc = 0;
    z->more = NULL;
    z->last_succ = NULL;
    z->nmtx = 0;
    z->mtx = z->mtx_inline;
    z->flags = 0;
    atomic_store_explicit(&z->npreds, 1, RELAXED);
    atomic_store_explicit(&z->cause, NULL, RELAXED);
    atomic_store_explicit(&z->zombies, NULL, RELAXED);
    if (deps_register(c, parent, z, deps, ndeps) != DAG_OK) {
        atomic_store_explicit(&z->state, (seq << 1) | TS_DONE, RELEASE);
        pool_put(&rt.task_pool, &c->task_cache, z);
        return;
    }
    /* registration may have linked z to mutexes or chunks it will never use */
    while (z->nmtx)
        mutexobj_unref_tagged(z->mtx[--z->nmtx]);
    if (z->flags & TF_EXT_MTX)
        free(z->mtx);
    failure_unref(atomic_exchange_explicit(&z->cause, NULL, RELAXED));
    failure_ref(f);
    atomic_store_explicit(&z->zombie, f, RELAXED);
    spin_lock(&z->lock);
    atomic_store_explicit(&z->state, (seq << 1) | TS_DONE, RELEASE);
    spin_unlock(&z->lock);
    zombie_push(parent, z);
}
