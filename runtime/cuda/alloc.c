/* alloc.c: device memory: a caching allocator (blocks are kept after use and handed to
 * the next request of the same size class, so cudaMalloc/cudaFree stay off the hot path)
 * and LRU eviction when a device reaches its cap (DAG_CUDA_MEM_MB, default: the memory
 * free at start minus a reserve): invalid copies go first, then clean ones, then dirty
 * ones after a write-back. Runs under cu.lock; pinned copies (in use) are never taken.
 */
#include <stdlib.h>

#include "internal.h"

#define MiB ((size_t)1 << 20)

/* Small sizes round to powers of two, large ones to whole MiB: tiles of one size reuse
 * each other's blocks exactly. */
static size_t size_class(size_t n)
{
    if (n <= 256)
        return 256;
    if (n < MiB) {
        size_t c = 512;
        while (c < n)
            c <<= 1;
        return c;
    }
    return (n + MiB - 1) & ~(MiB - 1);
}

static struct block *cache_take(struct device *dv, size_t size)
{
    for (struct block **pp = &dv->cache; *pp; pp = &(*pp)->next) {
        if ((*pp)->size == size) {
            struct block *b = *pp;
            *pp = b->next;
            b->next = NULL;
            return b;
        }
    }
    return NULL;
}

/* ---- LRU ---------------------------------------------------------------------------- */

static int in_lru(struct device *dv, struct region *r)
{
    return r->c[dv->id].lru_prev || dv->lru_head == r;
}

void lru_remove(int dev, struct region *r)
{
    struct device *dv = &cu.dev[dev];
    struct copy *c = &r->c[dev];
    if (!in_lru(dv, r))
        return;
    if (c->lru_prev)
        c->lru_prev->c[dev].lru_next = c->lru_next;
    else
        dv->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->c[dev].lru_prev = c->lru_prev;
    else
        dv->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

void lru_touch(int dev, struct region *r)
{
    struct device *dv = &cu.dev[dev];
    struct copy *c = &r->c[dev];
    c->tick = ++cu.tick;
    if (dv->lru_tail == r)
        return;
    lru_remove(dev, r);
    c->lru_prev = dv->lru_tail;
    if (dv->lru_tail)
        dv->lru_tail->c[dev].lru_next = r;
    else
        dv->lru_head = r;
    dv->lru_tail = r;
}

/* The least recently used unpinned copy, cheapest kind first. */
static struct region *victim(int dev)
{
    struct device *dv = &cu.dev[dev];
    for (int pass = 0; pass < 3; pass++) {
        for (struct region *r = dv->lru_head; r; r = r->c[dev].lru_next) {
            const struct copy *c = &r->c[dev];
            if (c->pins)
                continue;
            int clean = r->host_valid || r->nvalid_dev > 1;
            if (pass == 0 ? !c->valid : pass == 1 ? clean : 1)
                return r;
        }
    }
    return NULL;
}

/* ---- blocks ------------------------------------------------------------------------- */

struct block *blk_alloc(int dev, size_t size)
{
    struct device *dv = &cu.dev[dev];
    size_t sz = size_class(size);
    for (;;) {
        struct block *b = cache_take(dv, sz);
        if (b)
            return b;
        if (dv->used + sz <= dv->limit) {
            void *p = NULL;
            cudaSetDevice(dev);
            if (cudaMalloc(&p, sz) == cudaSuccess) {
                b = calloc(1, sizeof *b);
                if (!b) {
                    cudaFree(p);
                    return NULL;
                }
                b->ptr = p;
                b->size = sz;
                dv->used += sz;
                cu.stats.device_allocs++;
                return b;
            }
            cudaGetLastError();
            dv->limit = dv->used; /* the device holds less than we were told */
        }
        struct region *v = victim(dev);
        if (v) {
            struct copy *c = &v->c[dev];
            if (c->valid && !v->host_valid && v->nvalid_dev == 1) {
                cev_put(co_writeback(v));
                cu.stats.writebacks++;
            }
            co_drop_copy(v, dev);
            cu.stats.evictions++;
            continue;
        }
        if (dv->cache) {
            blk_trim(dev); /* blocks of other sizes: give them back to the driver */
            continue;
        }
        return NULL;
    }
}

void blk_release(int dev, struct block *b, struct cev *e1, struct cev *e2)
{
    struct device *dv = &cu.dev[dev];
    b->ev[0] = e1;
    b->ev[1] = e2;
    b->next = dv->cache;
    dv->cache = b;
}

/* Slow path and shutdown only: waits for the blocks' last operations. */
void blk_trim(int dev)
{
    struct device *dv = &cu.dev[dev];
    cudaSetDevice(dev);
    for (struct block *b = dv->cache, *next; b; b = next) {
        next = b->next;
        for (int k = 0; k < 2; k++) {
            if (b->ev[k]) {
                cudaEventSynchronize(b->ev[k]->e);
                cev_put(b->ev[k]);
            }
        }
        cudaFree(b->ptr);
        dv->used -= b->size;
        free(b);
    }
    dv->cache = NULL;
}
