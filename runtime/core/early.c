/* early.c: early release of a device task's successors (StarPU/PaRSEC-style pipelining).
 * When a task's CUDA implementation has been launched (its kernels and completion event
 * queued on a stream, its launch returned 0), the device layer (runtime/cuda/launch.c)
 * calls task_release_early: the successors that run on a device (task_chains) become
 * ready at once and are launched behind it, ordered on the GPU by events instead of by
 * the host seeing it complete. Its completion (parent and taskgroup counts, failure
 * reports, mutexes, the descriptor's release) still happens in task_finish when its event
 * is fulfilled; the successors that do not chain (CPU, communication, staged tasks) stay
 * attached and are released there, as before.
 *
 * The task is marked (last_succ = TASK_EARLY, task.h) under its lock, so a task that
 * chains and is submitted later gets no edge from it (core/deps.c add_edge) and the lists
 * task_finish walks hold only what was kept: nothing is released twice. A failure found
 * at completion is reported to the parent and taskgroup as usual; successors released
 * early are not cancelled by it (they were launched already: on a real kernel fault the
 * device layer marks the device lost and fails them, docs/cuda.md).
 */
#include "runtime.h"
#include "../sched/sched.h"

int task_release_early(struct tctx *c, struct task *t)
{
    struct task *ready = NULL;
    int n = 0;
    spin_lock(&t->lock);
    if (t->last_succ == TASK_EARLY ||
        (atomic_load_explicit(&t->state, RELAXED) & TS_DONE)) {
        spin_unlock(&t->lock);
        return 0;
    }
    /* Keep the successors that do not chain, compacted in place in the same walk order
     * (inline array, then the chunks): the write cursor never passes the read one. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < t->nsucc; i++) {
        struct task *s = t->succ[i];
        if (!task_chains(s)) {
            t->succ[keep++] = s;
            continue;
        }
        n++;
        /* npreds reaching 0 hands s to us: its queue link is free until it is pushed */
        if (atomic_fetch_sub_explicit(&s->npreds, 1, ACQ_REL) == 1) {
            s->next = ready;
            ready = s;
        }
    }
    struct succ_chunk *wk = t->more; /* write chunk, and its fill */
    uint32_t wn = 0;
    for (struct succ_chunk *k = t->more; k; k = k->next) {
        for (uint32_t i = 0; i < k->n; i++) {
            struct task *s = k->t[i];
            if (!task_chains(s)) {
                if (keep < SUCC_INLINE) { /* room in the inline array first */
                    t->succ[keep++] = s;
                } else {
                    if (wn == sizeof wk->t / sizeof wk->t[0]) {
                        wk->n = wn; /* full: at or behind the chunk being read */
                        wk = wk->next;
                        wn = 0;
                    }
                    wk->t[wn++] = s;
                }
                continue;
            }
            n++;
            if (atomic_fetch_sub_explicit(&s->npreds, 1, ACQ_REL) == 1) {
                s->next = ready;
                ready = s;
            }
        }
    }
    /* chunks past the write cursor are empty now */
    struct succ_chunk *spare = NULL;
    if (t->more) {
        if (wn == 0 && wk == t->more) {
            spare = t->more;
            t->more = NULL;
        } else {
            spare = wk->next;
            wk->next = NULL;
            wk->n = wn;
        }
    }
    t->nsucc = keep;
    t->last_succ = TASK_EARLY;
    spin_unlock(&t->lock);
    for (struct succ_chunk *k = spare, *next; k; k = next) {
        next = k->next;
        pool_put(&rt.succ_pool, &c->succ_cache, k);
    }
    while (ready) {
        struct task *s = ready;
        ready = s->next;
        s->next = NULL;
        task_make_ready(c, s, NULL);
    }
    return n;
}
