/* queues.h: the two shared ready queues beside the per-worker deques: a priority heap
 * for tasks with a non-zero priority, and a FIFO for tasks made ready by threads that
 * are not workers. Both are lock-protected; their counters let idle workers look without
 * taking the lock. */
#ifndef DAG_QUEUES_H
#define DAG_QUEUES_H

#include "../core/task.h"

struct shared_queues {
    spinlock_t heap_lock;
    struct task **heap;          /* max-heap on (priority, -arrival) */
    uint64_t *heap_key_seq;      /* arrival order, parallel to heap */
    size_t heap_n, heap_cap;
    uint64_t heap_seq;
    atomic_long n_positive;      /* tasks in the heap with priority > 0 */
    atomic_long n_heap;

    spinlock_t fifo_lock;
    struct task *fifo_head, *fifo_tail;
    atomic_long n_fifo;
};

extern struct shared_queues sq;

void queues_init(void);
void queues_fini(void);
int heap_push(struct task *t);
struct task *heap_pop(int positive_only);
void fifo_push(struct task *t);
struct task *fifo_pop(void);

#endif
