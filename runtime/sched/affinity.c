/* affinity.c: the affinity(list) placement hint. A table of homes, indexed by a hash of
 * the data's address (64-byte lines), says which worker last ran a task naming that
 * data; a ready task with a hint is queued in its home worker's box (a locked FIFO
 * beside the worker's deque) instead of the pushing thread's deque. The home takes from
 * its box after its own deque; an idle worker that found nothing to steal takes from any
 * box, so a busy or sleeping home delays nothing (OpenMP: affinity is a hint). */
#include <stdint.h>
#include <stdlib.h>

#include "affinity.h"
#include "sleep.h"
#include "../core/runtime.h"

#define AFF_BITS 12
#define AFF_SLOTS (1u << AFF_BITS)

static atomic_int home[AFF_SLOTS];  /* worker id + 1, or 0 */
atomic_long aff_nqueued;            /* tasks in all boxes */
static int enabled = 1;             /* DAG_AFFINITY=0 turns the hint off (read at init) */

int aff_slot(const void *addr)
{
    if (!addr || !enabled)
        return 0;
    uint64_t x = ((uint64_t)(uintptr_t)addr >> 6) * 0x9e3779b97f4a7c15ull;
    return (int)(x >> (64 - AFF_BITS)) + 1;
}

void aff_note(struct tctx *c, const struct task *t)
{
    if (c->w && atomic_load_explicit(&home[t->aff - 1], RELAXED) != c->w->id + 1)
        atomic_store_explicit(&home[t->aff - 1], c->w->id + 1, RELAXED);
}

int aff_push(struct tctx *c, struct task *t)
{
    int h = atomic_load_explicit(&home[t->aff - 1], RELAXED) - 1;
    if (h < 0 || h >= rt.nthreads || (c && c->w && c->w->id == h))
        return 0;
    /* counted before it is queued: a reader that sees the count and finds nothing yet
     * looks again (work_available), none sleeps past it */
    atomic_fetch_add_explicit(&aff_nqueued, 1, RELEASE);
    tfifo_push(&rt.workers[h].box, t);
    ec_notify(&rt.ec, 0);
    return 1;
}

static struct task *box_take(struct worker *w)
{
    if (tfifo_len(&w->box) == 0)
        return NULL;
    struct task *t = tfifo_pop(&w->box);
    if (t)
        atomic_fetch_sub_explicit(&aff_nqueued, 1, RELAXED);
    return t;
}

struct task *aff_pop(struct tctx *c, int steal_others)
{
    struct task *t;
    if (c->w && (t = box_take(c->w)))
        return t;
    if (!steal_others)
        return NULL;
    int n = rt.nthreads, self = c->w ? c->w->id : -1;
    for (int i = 0; i < n; i++)
        if (i != self && (t = box_take(&rt.workers[i])))
            return t;
    return NULL;
}

void aff_reset(void)
{
    const char *e = getenv("DAG_AFFINITY");
    enabled = !(e && e[0] == '0' && !e[1]);
    for (unsigned i = 0; i < AFF_SLOTS; i++)
        atomic_store_explicit(&home[i], 0, RELAXED);
    atomic_store_explicit(&aff_nqueued, 0, RELAXED);
}
