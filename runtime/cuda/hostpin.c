/* hostpin.c: page-locked host memory for the CUDA layer's transfers. A region's host
 * bytes are page-locked (cudaHostRegister) at their first transfer when they are large
 * enough (DAG_CUDA_PIN_MIN), so copies run asynchronously at full speed, and unlocked
 * when the region is forgotten at a top-level wait: the program may free that memory
 * afterwards. Memory the runtime owns itself is different (the tiles of distributed
 * matrices, announced with rt.dev->host_keep): its registrations outlive the waits, up to
 * DAG_CUDA_PIN_KEEP_MB in all, until the runtime releases the memory (host_release) or
 * the layer stops, so a tile that goes between the GPU and the network every iteration
 * is page-locked once. Everything here runs under cu.lock. [co]
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct range {
    uintptr_t a;
    size_t n;
};
struct ranges {
    struct range *v;
    size_t n, cap;
};

static struct ranges owned; /* host_keep: memory whose registrations may be kept */
static struct ranges kept;  /* registrations kept across waits */
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

void co_host_pin(struct region *r)
{
    if (r->host_pin)
        return;
    struct cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, r->addr) == cudaSuccess && a.type == cudaMemoryTypeHost) {
        r->host_pin = 1; /* the program's, or a registration kept from an earlier region */
        return;
    }
    cudaGetLastError();
    r->host_pin = -1;
    if (r->len >= cu.pin_min && r->len >= 4096 &&
        cudaHostRegister(r->addr, r->len, cudaHostRegisterPortable) == cudaSuccess) {
        r->host_pin = 2;
        cu.stats.host_registers++;
        if (kept_bytes + r->len <= cu.pin_keep && inside(&owned, r->addr, r->len) &&
            !ranges_add(&kept, r->addr, r->len)) {
            kept_bytes += r->len;
            r->host_pin = 3;
        }
    }
    cudaGetLastError(); /* overlapping an earlier registration: stay pageable */
}

void co_host_unpin(struct region *r)
{
    if (r->host_pin == 2)
        cudaHostUnregister(r->addr);
    cudaGetLastError();
    r->host_pin = 0;
}

/* Unregister the kept registrations inside [a, a+n) (everything: n = SIZE_MAX). */
static void unregister_kept(uintptr_t a, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < kept.n; i++) {
        struct range *g = &kept.v[i];
        if (g->a >= a && g->a - a < n) {
            cudaHostUnregister((void *)g->a);
            cudaGetLastError();
            kept_bytes -= g->n;
        } else {
            kept.v[k++] = *g;
        }
    }
    kept.n = k;
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

void co_host_pins_fini(void)
{
    unregister_kept(0, SIZE_MAX);
    free(kept.v);
    free(owned.v);
    memset(&kept, 0, sizeof kept);
    memset(&owned, 0, sizeof owned);
    kept_bytes = 0;
}
