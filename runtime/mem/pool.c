/* pool.c: the shared depot behind the per-thread object caches of pool.h.
 * Objects move between caches and the depot in batches of POOL_BATCH so the depot lock
 * is taken once per 64 allocations at most. Slabs are freed only by pool_destroy(). */
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pool_slab {
    struct pool_slab *next;
    void *mem;
};

/* A batch is a chain of objects through word 0; its first object carries the link to
 * the next batch in word 1, its second object the number of objects after the first in
 * word 1 (so a refill need not walk the chain: its objects were last touched by other
 * cores and every step would be a cache miss). */
#define BATCH_NEXT(o) (((void **)(o))[1])
#define BATCH_REST(o) (((void **)(o))[1])

static void batch_set_rest(void *head, unsigned total)
{
    void *second = *(void **)head;
    if (second)
        BATCH_REST(second) = (void *)(uintptr_t)(total - 1);
}

void pool_init(struct pool *p, size_t size)
{
    memset(p, 0, sizeof *p);
    p->size = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

/* Called without the depot lock: allocation and first touch are slow. */
static struct pool_slab *new_slab(struct pool *p)
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
    batch_set_rest(base, POOL_BATCH);
    return s;
}

void *pool_refill(struct pool *p, struct pool_cache *c)
{
    spin_lock(&p->lock);
    void *batch = p->depot;
    if (batch)
        p->depot = BATCH_NEXT(batch);
    spin_unlock(&p->lock);
    if (!batch) {
        struct pool_slab *s = new_slab(p);
        if (!s)
            return NULL;
        spin_lock(&p->lock);
        s->next = p->slabs;
        p->slabs = s;
        spin_unlock(&p->lock);
        batch = s->mem;
    }
    /* hand out the first object, keep the rest (batches from pool_flush may be short) */
    void *rest = *(void **)batch;
    c->free = rest;
    c->n = rest ? (unsigned)(uintptr_t)BATCH_REST(rest) : 0;
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
    batch_set_rest(head, POOL_BATCH);
    spin_lock(&p->lock);
    BATCH_NEXT(head) = p->depot;
    p->depot = head;
    spin_unlock(&p->lock);
}

void pool_flush(struct pool *p, struct pool_cache *c)
{
    while (c->n >= POOL_BATCH)
        pool_spill(p, c);
    /* the remainder becomes a short batch */
    if (c->n) {
        void *head = c->free;
        batch_set_rest(head, c->n);
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
