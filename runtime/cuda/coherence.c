/* coherence.c: regions and their copies (MSI: valid on the host and/or devices; a write
 * invalidates every other copy), and the transfers that keep them coherent: host to
 * device, device to host (write-back), peer to peer. Every function runs under cu.lock
 * and only *enqueues* work; ordering between streams is by events, never by waiting.
 * The task graph orders conflicting tasks, but with chaining (DAG_CUDA_CHAIN, launch.c)
 * a device task is launched as soon as its predecessors were *launched*, so every
 * ordering of data is explicit here, by events: a reader waits for the copy's last
 * writer (ready), a writer for the kernels and transfers still reading it (kr, rd) and
 * for the copies in still reading the host bytes it will later overwrite (host_rd); the
 * host waits for copies back (host_ready) and, before writing, for copies in (host_rd).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../core/hooks.h"

/* ---- the region table --------------------------------------------------------------- */

static int before(const struct region *a, const void *addr, size_t len)
{
    return (uintptr_t)a->addr < (uintptr_t)addr ||
           (a->addr == addr && a->len < len);
}

/* First index in cu.sorted whose region does not sort before (addr, len). */
static size_t lower_bound(const void *addr, size_t len)
{
    size_t lo = 0, hi = cu.nsorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (before(cu.sorted[mid], addr, len))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int grow_hash(void)
{
    size_t mask = cu.hmask * 2 + 1;
    struct region **h = calloc(mask + 1, sizeof *h);
    if (!h)
        return -1;
    for (size_t i = 0; i <= cu.hmask; i++) {
        for (struct region *r = cu.hash[i], *next; r; r = next) {
            next = r->hnext;
            size_t k = range_hash(r->addr, r->len, mask);
            r->hnext = h[k];
            h[k] = r;
        }
    }
    free(cu.hash);
    cu.hash = h;
    cu.hmask = mask;
    return 0;
}

struct region *region_get(void *addr, size_t len, int create)
{
    size_t k = range_hash(addr, len, cu.hmask);
    for (struct region *r = cu.hash[k]; r; r = r->hnext)
        if (r->addr == addr && r->len == len)
            return r;
    if (!create)
        return NULL;
    if (cu.nsorted == cu.cap_sorted) {
        size_t cap = cu.cap_sorted ? cu.cap_sorted * 2 : 256;
        struct region **s = realloc(cu.sorted, cap * sizeof *s);
        if (!s)
            return NULL;
        cu.sorted = s;
        cu.cap_sorted = cap;
    }
    if (cu.nsorted > 2 * (cu.hmask + 1) && grow_hash())
        return NULL;
    struct region *r = calloc(1, sizeof *r + (size_t)cu.ndev * sizeof(struct copy));
    if (!r)
        return NULL;
    r->addr = addr;
    r->len = len;
    r->host_valid = 1;
    k = range_hash(addr, len, cu.hmask);
    r->hnext = cu.hash[k];
    cu.hash[k] = r;
    size_t at = lower_bound(addr, len);
    memmove(cu.sorted + at + 1, cu.sorted + at, (cu.nsorted - at) * sizeof *cu.sorted);
    cu.sorted[at] = r;
    cu.nsorted++;
    atomic_store_explicit(&cu.nregions, cu.nsorted, RELAXED);
    if (len > cu.maxlen)
        cu.maxlen = len;
    return r;
}

static void region_unlink(struct region *r)
{
    struct region **pp = &cu.hash[range_hash(r->addr, r->len, cu.hmask)];
    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    size_t at = lower_bound(r->addr, r->len);
    memmove(cu.sorted + at, cu.sorted + at + 1, (cu.nsorted - at - 1) * sizeof *cu.sorted);
    cu.nsorted--;
    atomic_store_explicit(&cu.nregions, cu.nsorted, RELAXED);
    if (cu.nsorted == 0)
        cu.maxlen = 0;
}

/* Calls fn for every region overlapping [addr, addr+len) (the exact one included). */
#define FOR_OVERLAPS(addr, len, o)                                                         \
    for (size_t i_ = lower_bound((uintptr_t)(addr) > cu.maxlen                            \
                                     ? (void *)((uintptr_t)(addr) - cu.maxlen)             \
                                     : NULL,                                               \
                                 0);                                                       \
         i_ < cu.nsorted && (uintptr_t)cu.sorted[i_]->addr < (uintptr_t)(addr) + (len);   \
         i_++)                                                                             \
        if ((o = cu.sorted[i_]),                                                           \
            (uintptr_t)o->addr + o->len > (uintptr_t)(addr))

int region_pinned(const struct region *r)
{
    for (int d = 0; d < cu.ndev; d++)
        if (r->c[d].pins)
            return 1;
    return 0;
}

void evlist_add(struct evlist *l, struct cev *e)
{
    if (!e)
        return;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        struct cev **v = realloc(l->v, sizeof *v * (size_t)cap);
        if (!v)
            abort();
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

static void set_ev(struct cev **slot, struct cev *e)
{
    cev_put(*slot);
    *slot = e;
}

/* *slot holds the event after which no transfer reads some bytes any more (a copy's
 * rd, a region's host_rd); e, recorded on copy stream `sid` (CU_STREAM_H2D/D2H) of dev,
 * is a new reader's. When the old event is on another stream, the two readers are not
 * ordered: e's stream waits for the old one and a new event after both takes the slot. */
static void set_reader(struct cev **slot, struct cev *e, int dev, cudaStream_t s, int sid)
{
    struct cev *old = *slot;
    if (old && old != e && (old->dev != dev || old->stream != sid)) {
        stream_wait(s, old);
        struct cev *both = cev_record(dev, s);
        both->stream = sid;
        set_ev(slot, both);
        return;
    }
    set_ev(slot, cev_ref(e));
}

/* ---- kernels reading a copy (WAR with chaining) -------------------------------------- */

/* s waits for the kernels still reading c: before anything writes into c's buffer. */
static void wait_readers(cudaStream_t s, const struct copy *c)
{
    for (unsigned m = c->krmask; m; m &= m - 1)
        stream_wait(s, c->kr[__builtin_ctz(m)]);
}

static void clear_readers(struct copy *c)
{
    for (unsigned m = c->krmask; m; m &= m - 1)
        set_ev(&c->kr[__builtin_ctz(m)], NULL);
    c->krmask = 0;
}

void co_read_dev(struct region *r, int dev, int stream, struct cev *done)
{
    struct copy *c = &r->c[dev];
    set_ev(&c->kr[stream], cev_ref(done));
    c->krmask |= 1u << stream;
}

/* The reader of r on dev's stream `stream` whose event is `done` completed. */
void co_read_done(struct region *r, int dev, int stream, struct cev *done)
{
    struct copy *c = &r->c[dev];
    if (c->kr[stream] == done) {
        set_ev(&c->kr[stream], NULL);
        c->krmask &= ~(1u << stream);
    }
}

/* ---- host memory -------------------------------------------------------------------- */

/* ---- transfers ---------------------------------------------------------------------- */

/* Device-to-host copy of r from a valid device copy, in pieces of `chunk` bytes when
 * `ev` is given (ev[k] gets a reference to the event of piece k: a reader can use each
 * piece as it lands); r becomes valid on the host once the returned event (a new
 * reference) completes. */
static struct cev *writeback_in(struct region *r, size_t chunk, struct cev **ev)
{
    if (r->host_valid)
        return cev_ref(r->host_ready);
    int d = -1;
    for (int i = 0; i < cu.ndev && d < 0; i++)
        if (r->c[i].valid)
            d = i;
    if (d < 0)
        return NULL; /* nowhere valid: broken invariant, keep the host bytes */
    struct device *dv = &cu.dev[d];
    struct copy *c = &r->c[d];
    cudaSetDevice(d);
    co_host_pin(r);
    stream_wait(dv->d2h, c->ready);
    stream_wait(dv->d2h, c->rd);
    stream_wait(dv->d2h, r->host_ready);
    stream_wait(dv->d2h, r->host_rd); /* a copy in may still read the host bytes */
    struct cev *ta = xtrace_begin(d, dv->d2h);
    size_t step = ev && chunk ? chunk : r->len;
    size_t pieces = ev && r->len > step ? (r->len + step - 1) / step : 1;
    struct cev *e = NULL;
    for (size_t k = 0; k < pieces; k++) {
        size_t off = k * step, n = r->len - off < step ? r->len - off : step;
        cudaError_t err = host_copy((char *)c->blk->ptr + off, (char *)r->addr + off, n, 0,
                                    dv->d2h);
        if (err != cudaSuccess)
            cu_warn("device-to-host copy", err);
        cev_put(e);
        e = cev_record(d, dv->d2h);
        e->stream = CU_STREAM_D2H;
        host_copy_done((char *)r->addr + off, n, e);
        if (ev)
            ev[k] = cev_ref(e);
    }
    xtrace_end(ta, d, dv->d2h, HOOK_XFER_D2H, r->len);
    set_reader(&c->rd, e, d, dv->d2h, CU_STREAM_D2H); /* a peer copy may read it too */
    set_ev(&r->host_ready, cev_ref(e));
    r->host_valid = 1;
    cu.stats.d2h_bytes += r->len;
    cu.stats.d2h_copies++;
    return e;
}

struct cev *co_writeback(struct region *r)
{
    return writeback_in(r, 0, NULL);
}

/* A write-back nobody waits for yet (the eager and early write-backs): only where the
 * copy is asynchronous, i.e. r's host bytes are page-locked. A copy into pageable memory
 * returns only once it is done, so it would hold the calling thread, and cu.lock, until
 * the writer's kernel and everything queued before it on the copy stream had finished
 * (a Cholesky's small info records did that to every launch). Such regions go home
 * when a host reader or the final wait needs them. Returns whether a copy was issued. */
int co_writeback_early(struct region *r)
{
    if (r->host_valid || r->resident) /* resident: home on demand only */
        return 0;
    co_host_pin(r);
    if (r->host_pin <= 0)
        return 0;
    cev_put(writeback_in(r, 0, NULL));
    return 1;
}

/* ---- staging for the layers' transfer tasks (rt.host->home_*) ------------------------ */

/* What a distributed send of [addr, addr+len) waits for before its bytes may leave:
 * per piece, the copy bringing it home (the exact region dirty on a device is copied
 * back in pieces, so the first ones can be sent while the rest still cross PCIe), and
 * copies of other overlapping regions that every piece waits for. */
struct home {
    size_t len, chunk, npieces, done; /* done: pieces known to be home, a prefix */
    int all_done;
    struct evlist all;
    struct cev *ev[];
};

static struct home *home_new(struct home *h, size_t len, size_t chunk)
{
    if (h)
        return h;
    size_t n = len ? (len + chunk - 1) / chunk : 1;
    h = calloc(1, sizeof *h + n * sizeof h->ev[0]);
    if (!h)
        abort(); /* as evlist_add: no memory for bookkeeping under the lock */
    h->len = len;
    h->chunk = chunk;
    h->npieces = n;
    return h;
}

void *co_home_begin(void *addr, size_t len, size_t chunk)
{
    if (!atomic_load_explicit(&cu.nregions, RELAXED) || !chunk)
        return NULL;
    struct home *h = NULL;
    pthread_mutex_lock(&cu.lock);
    struct region *o;
    FOR_OVERLAPS(addr, len, o)
    {
        struct cev *e = NULL;
        if (!o->host_valid) {
            if (o->addr == addr && o->len == len && len > chunk) {
                h = home_new(h, len, chunk);
                cev_put(writeback_in(o, chunk, h->ev));
                continue;
            }
            e = co_writeback(o);
        } else if (o->host_ready &&
                   cev_state(o->host_ready, "a copy to the host for a transfer") == 0) {
            e = cev_ref(o->host_ready);
        }
        if (e) {
            h = home_new(h, len, chunk);
            evlist_add(&h->all, e);
        }
    }
    pthread_mutex_unlock(&cu.lock);
    return h;
}

/* Any thread, without the lock: the events stay referenced until co_home_end. */
long long co_home_poll(void *hp)
{
    struct home *h = hp;
    if (!h->all_done) {
        for (int i = 0; i < h->all.n; i++) {
            int st = cev_state(h->all.v[i], "a copy to the host for a transfer");
            if (st <= 0)
                return st;
        }
        h->all_done = 1;
    }
    while (h->done < h->npieces) {
        int st = cev_state(h->ev[h->done], "a copy to the host for a transfer");
        if (st < 0)
            return -1;
        if (!st)
            break;
        h->done++;
    }
    size_t bytes = h->done * h->chunk;
    return (long long)(bytes < h->len ? bytes : h->len);
}

void co_home_end(void *hp)
{
    struct home *h = hp;
    if (!h)
        return;
    pthread_mutex_lock(&cu.lock);
    for (int i = 0; i < h->all.n; i++)
        cev_put(h->all.v[i]);
    for (size_t k = 0; k < h->npieces; k++)
        cev_put(h->ev[k]);
    pthread_mutex_unlock(&cu.lock);
    free(h->all.v);
    free(h);
}

/* Fill copy c of r on dev from the host or a peer; c is allocated and invalid. */
static void fetch(struct region *r, int dev, struct evlist *w)
{
    struct device *dv = &cu.dev[dev];
    struct copy *c = &r->c[dev];
    int src = -1; /* a peer copy beats the host one: NVLink is faster than PCIe */
    for (int i = 0; i < cu.ndev && src < 0; i++)
        if (i != dev && r->c[i].valid && dv->peer[i])
            src = i;
    if (src < 0 && !r->host_valid) /* no peer path: stage through the host */
        evlist_add(w, co_writeback(r));
    cudaSetDevice(dev);
    stream_wait(dv->h2d, c->ready);
    stream_wait(dv->h2d, c->rd);
    wait_readers(dv->h2d, c); /* kernels may still read the buffer's old bytes */
    for (int i = 0; i < w->n; i++)
        stream_wait(dv->h2d, w->v[i]);
    cudaError_t err;
    struct cev *ta = NULL;
    if (src >= 0) {
        struct copy *s = &r->c[src];
        stream_wait(dv->h2d, s->ready);
        stream_wait(dv->h2d, s->rd);
        ta = xtrace_begin(dev, dv->h2d);
        err = cudaMemcpyPeerAsync(c->blk->ptr, dev, s->blk->ptr, src, r->len, dv->h2d);
        xtrace_end(ta, dev, dv->h2d, HOOK_XFER_D2D, r->len);
        cu.stats.p2p_bytes += r->len;
        cu.stats.p2p_copies++;
    } else {
        co_host_pin(r);
        stream_wait(dv->h2d, r->host_ready);
        ta = xtrace_begin(dev, dv->h2d);
        err = host_copy(c->blk->ptr, r->addr, r->len, 1, dv->h2d);
        xtrace_end(ta, dev, dv->h2d, HOOK_XFER_H2D, r->len);
        cu.stats.h2d_bytes += r->len;
        cu.stats.h2d_copies++;
    }
    if (err != cudaSuccess)
        cu_warn("copy to device", err);
    struct cev *e = cev_record(dev, dv->h2d);
    e->stream = CU_STREAM_H2D;
    if (src >= 0) {
        set_reader(&r->c[src].rd, e, dev, dv->h2d, CU_STREAM_H2D); /* the source is read */
    } else {
        host_copy_done(r->addr, r->len, e);
        set_reader(&r->host_rd, e, dev, dv->h2d, CU_STREAM_H2D); /* the host bytes are read */
    }
    set_ev(&c->ready, e);
    set_ev(&c->rd, NULL);
    c->valid = 1;
    r->nvalid_dev++;
}

/* Before r is used: overlapping regions dirty on a device go back to the host (their
 * copy events join w); when r is written, overlapping regions lose their device copies. */
static void flush_overlaps(struct region *r, void *addr, size_t len, int writing,
                           struct evlist *w)
{
    if (!cu.maxlen)
        return;
    struct region *o;
    FOR_OVERLAPS(addr, len, o)
    {
        if (o == r)
            continue;
        if (!o->host_valid)
            evlist_add(w, co_writeback(o));
        else if (o->host_ready)
            evlist_add(w, cev_ref(o->host_ready));
        if (writing) {
            /* r's bytes go home later, over o's: after o's copies in read them */
            evlist_add(w, cev_ref(o->host_rd));
            for (int d = 0; d < cu.ndev; d++)
                o->c[d].valid = 0;
            o->nvalid_dev = 0;
        }
    }
}

static void invalidate_others(struct region *r, int keep)
{
    for (int d = 0; d < cu.ndev; d++)
        if (d != keep)
            r->c[d].valid = 0;
    r->nvalid_dev = keep >= 0 && r->c[keep].valid ? 1 : 0;
}

void *co_acquire_dev(struct region *r, int dev, unsigned mode, cudaStream_t s)
{
    struct copy *c = &r->c[dev];
    int wr = mode_writes(mode);
    if (!c->blk) {
        struct block *b = blk_alloc(dev, r->len);
        if (!b)
            return NULL;
        c->blk = b;
        set_ev(&c->ready, b->ev[0]);
        set_ev(&c->rd, b->ev[1]);
        b->ev[0] = b->ev[1] = NULL;
        c->valid = 0;
        lru_touch(dev, r);
    }
    struct evlist w = {0};
    flush_overlaps(r, r->addr, r->len, wr, &w);
    if (mode_reads(mode) && !c->valid)
        fetch(r, dev, &w);
    cudaSetDevice(dev);
    for (int i = 0; i < w.n; i++) {
        stream_wait(s, w.v[i]);
        cev_put(w.v[i]);
    }
    free(w.v);
    stream_wait(s, c->ready);
    if (wr) {
        /* the kernel overwrites the buffer and, later, the host bytes: after every
         * transfer still reading the one or writing the other */
        stream_wait(s, c->rd);
        wait_readers(s, c); /* kernels launched before it may still read the copy */
        stream_wait(s, r->host_ready);
        stream_wait(s, r->host_rd); /* its bytes go home after it: after the copies in */
        set_ev(&r->host_ready, NULL);
        set_ev(&r->host_rd, NULL);
        r->host_valid = 0;
        if (!c->valid)
            r->nvalid_dev++;
        c->valid = 1;
        invalidate_others(r, dev);
    }
    c->pins++;
    lru_touch(dev, r);
    return c->blk->ptr;
}

/* After the kernel writing r on dev was enqueued (done: its event). Between acquire and
 * here cu.lock was dropped, and a task that does not conflict with the writer may have
 * touched r meanwhile: one using bytes of r outside the writer's own write set, which
 * happens when the writer's dependencies were merged into r (exec.c merge_overlaps). A
 * reader may have written r back, a writer of an overlapping region may also have
 * invalidated this copy. Both predate the kernel: the copy here is the one current copy
 * again, and a copy back may still be reading the buffer (c->rd), which the next writer
 * must wait for. */
void co_written_dev(struct region *r, int dev, struct cev *done)
{
    struct copy *c = &r->c[dev];
    set_ev(&c->ready, cev_ref(done));
    clear_readers(c); /* the kernel waited for them (co_acquire_dev) */
    if (r->host_valid || !c->valid) {
        r->host_valid = 0;
        c->valid = 1;
        invalidate_others(r, dev);
        return;
    }
    set_ev(&c->rd, NULL); /* the kernel waited for it */
}

void co_acquire_host(void *addr, size_t len, unsigned mode, struct evlist *w)
{
    if (!cu.maxlen)
        return;
    int wr = mode_writes(mode);
    struct region *o;
    FOR_OVERLAPS(addr, len, o)
    {
        if (!o->host_valid)
            evlist_add(w, co_writeback(o));
        else if (o->host_ready)
            evlist_add(w, cev_ref(o->host_ready));
        if (wr) {
            evlist_add(w, o->host_rd); /* a copy in still reads what it overwrites */
            o->host_rd = NULL;
            invalidate_others(o, -1);
        }
    }
}

void co_host_written(void *addr, size_t len)
{
    if (!cu.maxlen)
        return;
    struct region *o;
    FOR_OVERLAPS(addr, len, o)
    {
        o->host_valid = 1;
        o->lost = 0; /* the program wrote the bytes again */
        invalidate_others(o, -1);
    }
}

/* Bytes of [addr, addr+len) that would have to travel for a read on dev. */
size_t co_missing_bytes(void *addr, size_t len, int dev)
{
    struct region *r = region_get(addr, len, 0);
    if (!r)
        return len;
    if (dev < 0)
        return r->host_valid ? 0 : len;
    return r->c[dev].valid ? 0 : len;
}

void co_drop_copy(struct region *r, int dev)
{
    struct copy *c = &r->c[dev];
    if (c->valid) {
        c->valid = 0;
        r->nvalid_dev--;
    }
    clear_readers(c); /* complete: a copy with readers in flight is pinned */
    if (c->blk) {
        lru_remove(dev, r);
        blk_release(dev, c->blk, c->ready, c->rd);
        c->blk = NULL;
        c->ready = c->rd = NULL;
    } else {
        set_ev(&c->ready, NULL);
        set_ev(&c->rd, NULL);
    }
}

struct region *co_lost(void *addr, size_t len)
{
    struct region *o;
    FOR_OVERLAPS(addr, len, o)
    {
        if (o->lost)
            return o;
    }
    return NULL;
}

void co_rollback(struct region *r)
{
    for (int d = 0; d < cu.ndev; d++)
        r->c[d].valid = 0;
    r->nvalid_dev = 0;
    r->host_valid = 1;
    r->lost = 0;
    set_ev(&r->host_ready, NULL);
}

/* Callers make sure no transfer touches r's host bytes any more (host_ready completed). */
void region_forget(struct region *r)
{
    for (int d = 0; d < cu.ndev; d++)
        co_drop_copy(r, d);
    set_ev(&r->host_ready, NULL);
    set_ev(&r->host_rd, NULL);
    co_host_unpin(r);
    region_unlink(r);
    free(r);
}
