/* hostpin.c: page-locked host memory for the CUDA layer's transfers. A region's host
 * bytes are page-locked (cudaHostRegister) at their first transfer when they are large
 * enough (DAG_CUDA_PIN_MIN), so copies run asynchronously at full speed, and unlocked
 * when the region is forgotten at a top-level wait: the program may free that memory
 * afterwards. Memory the runtime owns itself is different (the tiles of distributed
 * matrices, announced with rt.host->host_keep): its registrations outlive the waits, up to
 * DAG_CUDA_PIN_KEEP_MB in all, until the runtime releases the memory (host_release) or
 * the layer stops, so a tile that goes between the GPU and the network every iteration
 * is page-locked once.
 *
 * Regions overlap, registrations may not: a region that shares a page with a
 * registration stays unregistered, and a copy of host bytes (host_copy) is cut at the
 * edges of the registrations it meets (their first and last byte, and the page
 * boundaries around them), since CUDA rejects a page-locked copy that runs past the end
 * of its registration ("invalid argument"). Each registration remembers the last copy
 * that used it, and is unregistered only once that copy is done. Everything here runs
 * under cu.lock. [co]
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct range {
    uintptr_t a;
    size_t n;
};
struct ranges {
    struct range *v;
    size_t n, cap;
};

/* A registration this layer made, in `regs`, sorted by address, never overlapping. */
struct reg {
    uintptr_t a;
    size_t n;
    int kept;          /* kept across waits (runtime-owned memory, host_keep) */
    struct cev *last;  /* the last copy that used it */
};

static struct ranges owned; /* host_keep: memory whose registrations may be kept */
static struct reg *regs;
static size_t nregs, cap_regs;
static size_t kept_bytes;

static int ranges_add(struct ranges *s, const void *addr, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct range *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (struct range){(uintptr_t)addr, len};
    return 0;
}

static int inside(const struct ranges *s, const void *addr, size_t len)
{
    uintptr_t a = (uintptr_t)addr;
    for (size_t i = 0; i < s->n; i++)
        if (a >= s->v[i].a && a - s->v[i].a <= s->v[i].n && len <= s->v[i].n - (a - s->v[i].a))
            return 1;
    return 0;
}

/* The driver may place a registration's edges at byte or at page granularity: pages are
 * the unit for keeping registrations apart, and copies are cut at both. */
static uintptr_t page_size(void)
{
    static uintptr_t pg;
    if (!pg) {
        long v = sysconf(_SC_PAGESIZE);
        pg = v > 0 ? (uintptr_t)v : 4096;
    }
    return pg;
}
static uintptr_t pg_lo(uintptr_t a)
{
    return a & ~(page_size() - 1);
}
static uintptr_t pg_hi(uintptr_t a)
{
    return (a + page_size() - 1) & ~(page_size() - 1);
}

/* Index of the first registration whose pages end after a (nregs if none). */
static size_t reg_find(uintptr_t a)
{
    size_t lo = 0, hi = nregs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pg_hi(regs[mid].a + regs[mid].n) <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Does [a, a+n) share a page with a registration? */
static int reg_overlaps(uintptr_t a, size_t n)
{
    size_t i = reg_find(pg_lo(a));
    return i < nregs && pg_lo(regs[i].a) < pg_hi(a + n);
}

static int reg_add(uintptr_t a, size_t n, int kept)
{
    if (nregs == cap_regs) {
        size_t cap = cap_regs ? 2 * cap_regs : 16;
        struct reg *v = realloc(regs, cap * sizeof *v);
        if (!v)
            return -1;
        regs = v;
        cap_regs = cap;
    }
    size_t i = reg_find(a);
    memmove(regs + i + 1, regs + i, (nregs - i) * sizeof *regs);
    regs[i] = (struct reg){a, n, kept, NULL};
    nregs++;
    return 0;
}

/* Unregister regs[i] once the last copy through it is done (it usually is: the region
 * that owns it is forgotten only when its own copies are), and drop it. */
static void reg_remove(size_t i)
{
    struct reg *g = &regs[i];
    if (g->last && cev_state(g->last, "a copy through page-locked memory") == 0)
        cudaEventSynchronize(g->last->e);
    cev_put(g->last);
    cudaHostUnregister((void *)g->a);
    cudaGetLastError();
    if (g->kept)
        kept_bytes -= g->n;
    memmove(regs + i, regs + i + 1, (nregs - i - 1) * sizeof *regs);
    nregs--;
}

/* The first edge of g after h: its first page, its first byte, its end, its last page's
 * end (0: none). */
static uintptr_t next_edge(const struct reg *g, uintptr_t h)
{
    uintptr_t e[4] = {pg_lo(g->a), g->a, g->a + g->n, pg_hi(g->a + g->n)};
    for (int k = 0; k < 4; k++)
        if (e[k] > h)
            return e[k];
    return 0;
}

cudaError_t host_copy(void *dev, void *host, size_t len, int to_dev, cudaStream_t s)
{
    uintptr_t h = (uintptr_t)host;
    size_t i = reg_find(h);
    cudaError_t first = cudaSuccess;
    while (len) {
        size_t n = len;
        uintptr_t edge = i < nregs ? next_edge(&regs[i], h) : 0;
        if (edge && edge - h < n)
            n = edge - h;
        cudaError_t err = to_dev ? cudaMemcpyAsync(dev, (void *)h, n, cudaMemcpyHostToDevice, s)
                                 : cudaMemcpyAsync((void *)h, dev, n, cudaMemcpyDeviceToHost, s);
        if (err != cudaSuccess && first == cudaSuccess)
            first = err;
        h += n;
        dev = (char *)dev + n;
        len -= n;
        if (i < nregs && h >= pg_hi(regs[i].a + regs[i].n))
            i++;
    }
    return first;
}

void host_copy_done(const void *host, size_t len, struct cev *e)
{
    uintptr_t h = (uintptr_t)host;
    for (size_t i = reg_find(h); i < nregs && pg_lo(regs[i].a) < h + len; i++) {
        cev_put(regs[i].last);
        regs[i].last = cev_ref(e);
    }
}

void co_host_pin(struct region *r)
{
    if (r->host_pin)
        return;
    uintptr_t a = (uintptr_t)r->addr;
    if (reg_overlaps(a, r->len)) {
        /* inside or across registrations made for other regions: its copies are cut at
         * their edges (host_copy) */
        r->host_pin = 1;
        return;
    }
    struct cudaPointerAttributes pa;
    if (cudaPointerGetAttributes(&pa, r->addr) == cudaSuccess && pa.type == cudaMemoryTypeHost) {
        r->host_pin = 1; /* the program's own page-locked memory */
        return;
    }
    cudaGetLastError();
    r->host_pin = -1;
    if (r->len >= cu.pin_min && r->len >= 4096 &&
        cudaHostRegister(r->addr, r->len, cudaHostRegisterPortable) == cudaSuccess) {
        int keep = kept_bytes + r->len <= cu.pin_keep && inside(&owned, r->addr, r->len);
        if (reg_add(a, r->len, keep)) {
            cudaHostUnregister(r->addr); /* cannot remember it: do without */
        } else {
            r->host_pin = keep ? 3 : 2;
            kept_bytes += keep ? r->len : 0;
            cu.stats.host_registers++;
        }
    }
    cudaGetLastError(); /* overlapping the program's own registration: stay pageable */
}

void co_host_unpin(struct region *r)
{
    if (r->host_pin == 2) {
        size_t i = reg_find((uintptr_t)r->addr);
        if (i < nregs && regs[i].a == (uintptr_t)r->addr)
            reg_remove(i);
    }
    r->host_pin = 0;
}

/* Unregister the kept registrations that start inside [a, a+n) (everything: n =
 * SIZE_MAX). */
static void unregister_kept(uintptr_t a, size_t n)
{
    for (size_t i = nregs; i-- > 0;)
        if (regs[i].kept && regs[i].a >= a && regs[i].a - a < n)
            reg_remove(i);
}

void co_host_keep(void *base, size_t len)
{
    pthread_mutex_lock(&cu.lock);
    if (cu.pin_keep && ranges_add(&owned, base, len))
        cu.pin_keep = 0; /* no room to remember it: keep nothing rather than forget it */
    pthread_mutex_unlock(&cu.lock);
}

/* The pages go away: their kept registrations first (a registration outliving them
 * would pin the old pages while the addresses get new ones), then those of regions
 * still inside; those regions look again at their next copy. `gone`: the memory is
 * unmapped, and no longer the runtime's. */
void co_host_release(void *base, size_t len, int gone)
{
    uintptr_t a = (uintptr_t)base;
    pthread_mutex_lock(&cu.lock);
    unregister_kept(a, len);
    for (size_t i = 0; i < cu.nsorted; i++) {
        struct region *r = cu.sorted[i];
        if ((uintptr_t)r->addr < a || (uintptr_t)r->addr - a >= len)
            continue;
        if (r->host_pin > 0) /* 3, and 1 from a kept one: unregistered above already */
            co_host_unpin(r);
    }
    size_t k = 0;
    for (size_t i = 0; i < owned.n; i++)
        if (!gone || owned.v[i].a != a || owned.v[i].n != len)
            owned.v[k++] = owned.v[i];
    owned.n = k;
    pthread_mutex_unlock(&cu.lock);
}

/* At stop, once every region is forgotten: what is left are the kept registrations. */
void co_host_pins_fini(void)
{
    while (nregs)
        reg_remove(nregs - 1);
    free(regs);
    free(owned.v);
    regs = NULL;
    nregs = cap_regs = 0;
    memset(&owned, 0, sizeof owned);
    kept_bytes = 0;
}
