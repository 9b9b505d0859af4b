/* queues.h: the two shared ready queues beside the per-worker deques: a priority heap
 * for tasks with a non-zero priority, and a FIFO for tasks made ready by threads that
 * are not workers. Both are lock-protected; their counters let idle workers look without
 * taking the lock. The FIFO's type also serves each worker's affinity box (affinity.c). */
#ifndef DAG_QUEUES_H
#define DAG_QUEUES_H

#include "../core/task.h"

/* a locked FIFO of ready tasks (linked through task.next); n can be read without the lock */
struct task_fifo {
    spinlock_t lock;
    struct task *head, *tail;
    atomic_long n;
};
void tfifo_push(struct task_fifo *q, struct task *t);
struct task *tfifo_pop(struct task_fifo *q);
static inline long tfifo_len(struct task_fifo *q)
{
    return atomic_load_explicit(&q->n, ACQUIRE);
}

struct shared_queues {
    spinlock_t heap_lock;
    struct task **heap;          /* max-heap on (priority, -arrival) */
    uint64_t *heap_key_seq;      /* arrival order, parallel to heap */
    size_t heap_n, heap_cap;
    uint64_t heap_seq;
    atomic_long n_positive;      /* tasks in the heap with priority > 0 */
    atomic_long n_heap;

    struct task_fifo fifo;
};

extern struct shared_queues sq;

void queues_init(void);
void queues_fini(void);
int heap_push(struct task *t);
struct task *heap_pop(int positive_only);

#endif
