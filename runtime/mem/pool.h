/* pool.h: per-thread caches of fixed-size objects (task descriptors, dependency
 * records, successor chunks) backed by one shared depot per object kind.
 * Memory is type-stable: nothing is returned to the OS before pool_destroy(), so a stale
 * pointer to a freed task still points at a task (see core/task.h on `state`).
 * A free object's first two words hold the free-list links; nothing else is touched. */
#ifndef DAG_POOL_H
#define DAG_POOL_H

#include <stddef.h>
#include "../core/sync.h"

struct pool_slab;

struct pool {
    size_t size;              /* object size, a multiple of CACHE_LINE */
    spinlock_t lock;          /* protects depot and slabs */
    void *depot;              /* batches of free objects, linked through word 1 */
    struct pool_slab *slabs;  /* every slab ever allocated, for pool_destroy() */
};

struct pool_cache {
    void *free;               /* objects linked through word 0 */
    unsigned n;
};

void pool_init(struct pool *p, size_t size);
void *pool_refill(struct pool *p, struct pool_cache *c);
void pool_spill(struct pool *p, struct pool_cache *c);
void pool_flush(struct pool *p, struct pool_cache *c);
void pool_destroy(struct pool *p);

#define POOL_BATCH 64u

/* Returns an object or NULL when out of memory. Contents are unspecified except that a
 * recycled object keeps whatever it held beyond its first two words. */
static inline void *pool_get(struct pool *p, struct pool_cache *c)
{
    void *o = c->free;
    if (likely(o != NULL)) {
        c->free = *(void **)o;
        c->n--;
        return o;
    }
    return pool_refill(p, c);
}

static inline void pool_put(struct pool *p, struct pool_cache *c, void *o)
{
    *(void **)o = c->free;
    c->free = o;
    if (unlikely(++c->n >= 2 * POOL_BATCH))
        pool_spill(p, c);
}

#endif
