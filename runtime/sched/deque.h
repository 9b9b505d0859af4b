/* deque.h: the per-worker work-stealing deque (Chase-Lev, with the C11 orderings of
 * Le, Pop, Cohen and Zappa Nardelli, PPoPP 2013). The owner pushes and takes at the
 * bottom; thieves steal from the top. Grows without bound; retired arrays are kept until
 * deque_destroy() because a thief may still be reading one. */
#ifndef DAG_DEQUE_H
#define DAG_DEQUE_H

#include <stddef.h>
#include <stdint.h>
#include "../core/sync.h"

struct task;

struct deque_array {
    int64_t size; /* power of two */
    struct deque_array *retired;
    _Atomic(struct task *) slot[];
};

struct deque {
    _Alignas(CACHE_LINE) atomic_int_fast64_t top;
    _Alignas(CACHE_LINE) atomic_int_fast64_t bottom;
    _Atomic(struct deque_array *) array;
};

#define DEQUE_ABORT ((struct task *)1)

int deque_init(struct deque *q);
void deque_destroy(struct deque *q);
int deque_grow(struct deque *q);

/* Owner only. Returns 0, or -1 when the deque could not grow (out of memory). */
static inline int deque_push(struct deque *q, struct task *t)
{
    int64_t b = atomic_load_explicit(&q->bottom, RELAXED);
    int64_t top = atomic_load_explicit(&q->top, ACQUIRE);
    struct deque_array *a = atomic_load_explicit(&q->array, RELAXED);
    if (unlikely(b - top > a->size - 1)) {
        if (deque_grow(q))
            return -1;
        a = atomic_load_explicit(&q->array, RELAXED);
    }
    atomic_store_explicit(&a->slot[b & (a->size - 1)], t, RELAXED);
    /* release: a thief that reads the new bottom sees the slot and the task's fields */
    atomic_store_explicit(&q->bottom, b + 1, RELEASE);
    return 0;
}

/* Owner only. Returns NULL when empty. */
static inline struct task *deque_take(struct deque *q)
{
    int64_t b = atomic_load_explicit(&q->bottom, RELAXED) - 1;
    struct deque_array *a = atomic_load_explicit(&q->array, RELAXED);
    atomic_store_explicit(&q->bottom, b, SC_TSAN(RELAXED));
    FENCE_SC();
    int64_t t = atomic_load_explicit(&q->top, SC_TSAN(RELAXED));
    struct task *x = NULL;
    if (t <= b) {
        x = atomic_load_explicit(&a->slot[b & (a->size - 1)], RELAXED);
        if (t == b) {
            /* last element: race against thieves for it */
            if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1, SEQ_CST, RELAXED))
                x = NULL;
            atomic_store_explicit(&q->bottom, b + 1, RELAXED);
        }
    } else {
        atomic_store_explicit(&q->bottom, b + 1, RELAXED);
    }
    return x;
}

/* Any thread. Returns NULL when empty, DEQUE_ABORT when it lost a race (retry). */
static inline struct task *deque_steal(struct deque *q)
{
    int64_t t = atomic_load_explicit(&q->top, SC_TSAN(ACQUIRE));
    FENCE_SC();
    int64_t b = atomic_load_explicit(&q->bottom, SC_TSAN(ACQUIRE));
    if (t >= b)
        return NULL;
    struct deque_array *a = atomic_load_explicit(&q->array, ACQUIRE);
    struct task *x = atomic_load_explicit(&a->slot[t & (a->size - 1)], RELAXED);
    if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1, SEQ_CST, RELAXED))
        return DEQUE_ABORT;
    return x;
}

/* A hint, exact only for the owner. */
static inline int64_t deque_size(struct deque *q)
{
    int64_t n = atomic_load_explicit(&q->bottom, RELAXED) - atomic_load_explicit(&q->top, RELAXED);
    return n > 0 ? n : 0;
}

#endif
