/* writers.c: how many submitted, unfinished tasks write each byte range (as their merged
 * dependencies name it). A hint for DAG_CUDA_WRITEBACK=auto: a region dirty on a device
 * goes home as soon as its last known writer completes, so the device-to-host engine
 * works while the computation goes on instead of all at the final wait (a tiled
 * factorisation's finished panels, a GEMM's finished C tiles). Only a hint: a write-back
 * is always correct, since it is ordered after the last writer's kernel, and a count
 * that is off (a writer submitted later, a cancelled task never counted down) only costs
 * a copy that was not needed or one that comes late. The table has its own lock, so
 * that submitting threads never wait for cu.lock (a slower submission lets tasks start
 * before their successors exist, and then the launch-time rule writes back too early);
 * wr_done is called with cu.lock held (lock order: cu.lock, then W.lock).
 */
#include <stdlib.h>

#include "internal.h"

struct wr {
    void *addr;
    size_t len;
    long n;
    struct wr *next;
};

static struct {
    pthread_mutex_t lock;
    struct wr **b;
    size_t mask, n;
    struct wr *free;
} W = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int wr_grow(void)
{
    size_t mask = W.b ? W.mask * 2 + 1 : 255;
    struct wr **b = calloc(mask + 1, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; W.b && i <= W.mask; i++)
        for (struct wr *e = W.b[i], *next; e; e = next) {
            next = e->next;
            size_t k = range_hash(e->addr, e->len, mask);
            e->next = b[k];
            b[k] = e;
        }
    free(W.b);
    W.b = b;
    W.mask = mask;
    return 0;
}

static int add_locked(void *addr, size_t len)
{
    if ((!W.b || W.n > W.mask) && wr_grow())
        return 0; /* no memory: no hint for this range */
    size_t k = range_hash(addr, len, W.mask);
    for (struct wr *e = W.b[k]; e; e = e->next)
        if (e->addr == addr && e->len == len) {
            e->n++;
            return 1;
        }
    struct wr *e = W.free;
    if (e)
        W.free = e->next;
    else if (!(e = malloc(sizeof *e)))
        return 0;
    *e = (struct wr){addr, len, 1, W.b[k]};
    W.b[k] = e;
    W.n++;
    return 1;
}

int wr_add(const struct jdep *d, size_t n)
{
    int added = 0;
    pthread_mutex_lock(&W.lock);
    for (size_t i = 0; i < n; i++)
        if (mode_writes(d[i].mode))
            added |= add_locked(d[i].addr, d[i].len);
    pthread_mutex_unlock(&W.lock);
    return added;
}

static int done_locked(void *addr, size_t len)
{
    if (!W.b)
        return 0;
    for (struct wr **pp = &W.b[range_hash(addr, len, W.mask)]; *pp; pp = &(*pp)->next) {
        struct wr *e = *pp;
        if (e->addr != addr || e->len != len)
            continue;
        if (--e->n > 0)
            return 0;
        *pp = e->next;
        e->next = W.free;
        W.free = e;
        W.n--;
        return 1;
    }
    return 0; /* counted before the table had room, or never */
}

int wr_done(void *addr, size_t len)
{
    pthread_mutex_lock(&W.lock);
    int last = done_locked(addr, len);
    pthread_mutex_unlock(&W.lock);
    return last;
}

void wr_fini(void)
{
    pthread_mutex_lock(&W.lock);
    for (size_t i = 0; W.b && i <= W.mask; i++)
        for (struct wr *e = W.b[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    for (struct wr *e = W.free, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    free(W.b);
    W.b = NULL;
    W.free = NULL;
    W.mask = W.n = 0;
    pthread_mutex_unlock(&W.lock);
}
