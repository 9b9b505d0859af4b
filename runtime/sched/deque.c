/* deque.c: allocation and growth of the Chase-Lev deque's circular array. */
#include "deque.h"

#include <stdlib.h>

static struct deque_array *array_new(int64_t size)
{
    struct deque_array *a = malloc(sizeof *a + (size_t)size * sizeof(a->slot[0]));
    if (!a)
        return NULL;
    a->size = size;
    a->retired = NULL;
    for (int64_t i = 0; i < size; i++)
        atomic_init(&a->slot[i], NULL);
    return a;
}

int deque_init(struct deque *q)
{
    struct deque_array *a = array_new(256);
    if (!a)
        return -1;
    atomic_init(&q->top, 0);
    atomic_init(&q->bottom, 0);
    atomic_init(&q->array, a);
    return 0;
}

int deque_grow(struct deque *q)
{
    struct deque_array *old = atomic_load_explicit(&q->array, RELAXED);
    struct deque_array *a = array_new(old->size * 2);
    if (!a)
        return -1;
    int64_t t = atomic_load_explicit(&q->top, RELAXED);
    int64_t b = atomic_load_explicit(&q->bottom, RELAXED);
    for (int64_t i = t; i < b; i++)
        atomic_store_explicit(&a->slot[i & (a->size - 1)],
                              atomic_load_explicit(&old->slot[i & (old->size - 1)], RELAXED),
                              RELAXED);
    a->retired = old; /* thieves may still read old; freed in deque_destroy() */
    atomic_store_explicit(&q->array, a, RELEASE);
    return 0;
}

void deque_destroy(struct deque *q)
{
    struct deque_array *a = atomic_load_explicit(&q->array, RELAXED);
    while (a) {
        struct deque_array *r = a->retired;
        free(a);
        a = r;
    }
    atomic_store_explicit(&q->array, NULL, RELAXED);
}
