/* affinity.h: the affinity(list) placement hint (dag_task_attr_t.affinity). A task that
 * names data goes to the worker that last ran a task naming the same data, so tasks on
 * one block meet its cache lines on one core; a hint, never a wait: any worker with
 * nothing else to run takes such a task too. */
#ifndef DAG_AFFINITY_H
#define DAG_AFFINITY_H

#include "sched.h"

/* The hint's slot for an address (1-based; 0 means no hint), kept in task.aff. */
int aff_slot(const void *addr);
/* t (with a hint) starts on c's worker: that worker becomes the data's home. */
void aff_note(struct tctx *c, const struct task *t);
/* Queue t for its data's home worker when that is another worker than c's (1), else 0:
 * the caller queues it as usual. */
int aff_push(struct tctx *c, struct task *t);
/* A task queued for c's worker, else one queued for any other worker when steal_others,
 * else NULL. Callers test aff_queued() first. */
struct task *aff_pop(struct tctx *c, int steal_others);
/* Tasks queued for home workers, all workers together (sched_pop's and
 * work_available's test: inline, it sits on the scheduler's hot path). */
extern atomic_long aff_nqueued;
static inline long aff_queued(void) { return atomic_load_explicit(&aff_nqueued, ACQUIRE); }
/* Tasks queued for worker w (w's own idle test). */
static inline long aff_queued_for(struct worker *w)
{
    return tfifo_len(&w->box);
}
/* Forget every home (the runtime starts again); reads DAG_AFFINITY (0: no hints). */
void aff_reset(void);

#endif
