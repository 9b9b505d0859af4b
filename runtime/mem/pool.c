/* pool.c: the shared depot behind the per-thread object caches of pool.h.
 * Objects move between caches and the depot in batches of POOL_BATCH so the depot lock
 * is taken once per 64 allocations at most. Slabs are freed only by pool_destroy(). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

struct pool_slab {
    struct pool_slab *next;
    void *mem;
};

/* A batch is a chain of objects through word 0; its first object carries the link to
 * the next batch in word 1. */
#define BATCH_NEXT(o) (((void **)(o))[1])

void pool_init(struct pool *p, size_t size)
{
    memset(p, 0, sizeof *p);
    p->size = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

static void *new_slab(struct pool *p)
{
    struct pool_slab *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->mem = aligned_alloc(CACHE_LINE, p->size * POOL_BATCH);
    if (!s->mem) {
        free(s);
        return NULL;
    }
    memset(s->mem, 0, p->size * POOL_BATCH);
    char *base = s->mem;
    for (unsigned i = 0; i + 1 < POOL_BATCH; i++)
        *(void **)(base + i * p->size) = base + (i + 1) * p->size;
    *(void **)(base + (POOL_BATCH - 1) * p->size) = NULL;
    s->next = p->slabs;
    p->slabs = s;
    return base;
}

void *pool_refill(struct pool *p, struct pool_cache *c)
{
    spin_lock(&p->lock);
    void *batch = p->depot;
    if (batch)
        p->depot = BATCH_NEXT(batch);
    else
        batch = new_slab(p);
    spin_unlock(&p->lock);
    if (!batch)
        return NULL;
    /* hand out the first object, keep the rest (batches from pool_flush may be short) */
    unsigned n = 0;
    for (void *o = *(void **)batch; o; o = *(void **)o)
        n++;
    c->free = *(void **)batch;
    c->n = n;
    return batch;
}

void pool_spill(struct pool *p, struct pool_cache *c)
{
    /* detach POOL_BATCH objects from the cache and publish them as one batch */
    void *head = c->free, *o = head;
    for (unsigned i = 1; i < POOL_BATCH; i++)
        o = *(void **)o;
    c->free = *(void **)o;
    c->n -= POOL_BATCH;
    *(void **)o = NULL;
    spin_lock(&p->lock);
    BATCH_NEXT(head) = p->depot;
    p->depot = head;
    spin_unlock(&p->lock);
}

void pool_flush(struct pool *p, struct pool_cache *c)
{
    while (c->n >= POOL_BATCH)
        pool_spill(p, c);
    /* the remainder becomes a short batch; pool_refill counts what it takes */
    if (c->n) {
        void *head = c->free;
        spin_lock(&p->lock);
        BATCH_NEXT(head) = p->depot;
        p->depot = head;
        spin_unlock(&p->lock);
        c->free = NULL;
        c->n = 0;
    }
}

void pool_destroy(struct pool *p)
{
    struct pool_slab *s = p->slabs;
    while (s) {
        struct pool_slab *n = s->next;
        free(s->mem);
        free(s);
        s = n;
    }
    p->slabs = NULL;
    p->depot = NULL;
}
