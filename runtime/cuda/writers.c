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
 * wr_done is called with cu.lock held (lock order: cu.lock, then writers.lock).
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
} writers = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int wr_grow(void)
{
    size_t mask = writers.b ? writers.mask * 2 + 1 : 255;
    struct wr **b = calloc(mask + 1, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; writers.b && i <= writers.mask; i++)
        for (struct wr *e = writers.b[i], *next; e; e = next) {
            next = e->next;
            size_t k = range_hash(e->addr, e->len, mask);
            e->next = b[k];
            b[k] = e;
        }
    free(writers.b);
    writers.b = b;
    writers.mask = mask;
    return 0;
}

static int add_locked(void *addr, size_t len)
{
    if ((!writers.b || writers.n > writers.mask) && wr_grow())
        return 0; /* no memory: no hint for this range */
    size_t k = range_hash(addr, len, writers.mask);
    for (struct wr *e = writers.b[k]; e; e = e->next)
        if (e->addr == addr && e->len == len) {
            e->n++;
            return 1;
        }
    struct wr *e = writers.free;
    if (e)
        writers.free = e->next;
    else if (!(e = malloc(sizeof *e)))
        return 0;
    *e = (struct wr){addr, len, 1, writers.b[k]};
    writers.b[k] = e;
    writers.n++;
    return 1;
}

int wr_add(const struct jdep *d, size_t n)
{
    int added = 0;
    pthread_mutex_lock(&writers.lock);
    for (size_t i = 0; i < n; i++)
        if (mode_writes(d[i].mode))
            added |= add_locked(d[i].addr, d[i].len);
    pthread_mutex_unlock(&writers.lock);
    return added;
}

static int done_locked(void *addr, size_t len)
{
    if (!writers.b)
        return 0;
    for (struct wr **pp = &writers.b[range_hash(addr, len, writers.mask)]; *pp; pp = &(*pp)->next) {
        struct wr *e = *pp;
        if (e->addr != addr || e->len != len)
            continue;
        if (--e->n > 0)
            return 0;
        *pp = e->next;
        e->next = writers.free;
        writers.free = e;
        writers.n--;
        return 1;
    }
    return 0; /* counted before the table had room, or never */
}

int wr_done(void *addr, size_t len)
{
    pthread_mutex_lock(&writers.lock);
    int last = done_locked(addr, len);
    pthread_mutex_unlock(&writers.lock);
    return last;
}

void wr_fini(void)
{
    pthread_mutex_lock(&writers.lock);
    for (size_t i = 0; writers.b && i <= writers.mask; i++)
        for (struct wr *e = writers.b[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    for (struct wr *e = writers.free, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    free(writers.b);
    writers.b = NULL;
    writers.free = NULL;
    writers.mask = writers.n = 0;
    pthread_mutex_unlock(&writers.lock);
}
