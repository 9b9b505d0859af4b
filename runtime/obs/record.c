/* record.c: the hooks obs installs in rt.hooks, and the per-thread buffers they write.
 *
 * Each thread appends to its own buffer (chunks of fixed-size records): no locks and no
 * shared cache lines on the task paths. A thread's buffer is created on its first event
 * (one mutex, once per thread) and only its thread writes it; obs_fini reads all of them
 * after the drain, when no task can run. The counters read by the progress line are
 * single-writer atomics read racily. Must not allocate per event: chunks hold 4096.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "obs.h"
#include "../core/hooks.h"

/* Chunks are 2 MiB, aligned, and ask for transparent huge pages: page faults are what
 * recording costs most (a 4 KiB fault per 85 tasks otherwise, and faults are slow in VMs). */
#define CHUNK_BYTES (2u << 20)
#define RCHUNK ((CHUNK_BYTES - 64) / sizeof(struct orec))
#define ECHUNK ((CHUNK_BYTES - 64) / sizeof(struct oedge))

struct rchunk {
    struct rchunk *next;
    uint32_t n;
    struct orec r[RCHUNK];
};

struct echunk {
    struct echunk *next;
    uint32_t n;
    struct oedge e[ECHUNK];
};

/* 2 MiB-aligned anonymous memory of `size` bytes (a multiple of 2 MiB), or NULL. */
static void *big_alloc(size_t size)
{
    size_t align = CHUNK_BYTES;
    char *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    if (a > (uintptr_t)p)
        munmap(p, a - (uintptr_t)p);
    munmap((char *)a + size, (uintptr_t)p + align - a);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, size, MADV_HUGEPAGE);
#endif
    return (void *)a;
}

static void big_free(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

_Static_assert(sizeof(struct rchunk) <= CHUNK_BYTES, "record chunk exceeds its mapping");
_Static_assert(sizeof(struct echunk) <= CHUNK_BYTES, "edge chunk exceeds its mapping");

/* Large malloc'ed arrays of the collection step: ask for huge pages there too. */
static void hint_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    if (n > (4u << 20) && a < (uintptr_t)p + n)
        madvise((void *)a, ((uintptr_t)p + n - a) & ~(uintptr_t)4095, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

struct frame {
    const struct task *t;
    uint64_t t0;
};

/* Aligned to cache lines: buffers of different threads never share one. */
struct obuf {
    _Alignas(CACHE_LINE) struct obuf *next;   /* list of every buffer, under buf_lock */
    int lane;
    struct rchunk *rhead; /* newest chunk first */
    struct echunk *ehead;
    struct frame *stk;   /* tasks started and not ended on this thread, innermost last */
    uint32_t depth, cap;
    _Atomic uint64_t nsub, ndone;
    _Atomic uint64_t busy_ns, sleep_ns;
    uint64_t sleep_t0, born;
    size_t dropped;
    char pad[CACHE_LINE];
};

static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obuf *buffers;
static __thread struct obuf *tls_buf __attribute__((tls_model("initial-exec")));
static __thread unsigned tls_gen __attribute__((tls_model("initial-exec")));

static struct obuf *buf_slow(struct tctx *c)
{
    struct obuf *b = aligned_alloc(CACHE_LINE, (sizeof *b + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1));
    if (!b)
        return NULL;
    memset(b, 0, sizeof *b);
    b->lane = c ? (int)c->index : -1;
    b->born = clock_now_ns();
    pthread_mutex_lock(&buf_lock);
    b->next = buffers;
    buffers = b;
    pthread_mutex_unlock(&buf_lock);
    tls_buf = b;
    tls_gen = obs.gen;
    return b;
}

static inline struct obuf *buf(struct tctx *c)
{
    if (likely(tls_gen == obs.gen && tls_buf))
        return tls_buf;
    if (!c)
        c = tls_ctx;
    return buf_slow(c);
}

static inline void bump(_Atomic uint64_t *x, uint64_t d)
{
    /* single writer: a relaxed load and store, no locked instruction */
    atomic_store_explicit(x, atomic_load_explicit(x, RELAXED) + d, RELAXED);
}

static struct orec *rec_slow(struct obuf *b)
{
    struct rchunk *k = big_alloc(CHUNK_BYTES);
    if (!k) {
        b->dropped++;
        return NULL;
    }
    k->n = 1;
    k->next = b->rhead;
    b->rhead = k;
    return &k->r[0];
}

static inline struct orec *rec_new(struct obuf *b)
{
    struct rchunk *k = b->rhead;
    if (likely(k && k->n < RCHUNK))
        return &k->r[k->n++];
    return rec_slow(b);
}

static inline uint8_t task_flags(const struct task *t)
{
    uint8_t f = 0;
    if (t->flags & TF_UNDEFERRED)
        f |= RF_UNDEFERRED;
    if (t->flags & TF_FINAL)
        f |= RF_FINAL;
    if (t->flags & TF_DETACHABLE)
        f |= RF_DETACHABLE;
    if (t->flags & TF_STACK)
        f |= RF_INLINE;
    if (t->nmtx)
        f |= RF_MUTEX;
    if (t->device == DAG_DEVICE_CUDA || t->cuda)
        f |= RF_DEV_CUDA;
    return f;
}

static inline uint16_t lane_of(struct tctx *c, struct obuf *b)
{
    int l = c ? (int)c->index : b->lane;
    return (uint16_t)(l < 0 || l > OBS_LANE_MAX ? OBS_LANE_MAX : l);
}

/* ---- hooks --------------------------------------------------------------------------- */

static void on_submit(struct tctx *c, struct task *t)
{
    struct obuf *b = buf(c);
    if (unlikely(!b))
        return;
    bump(&b->nsub, 1);
    if (unlikely(obs.registry))
        obs.registry->submit(t, lane_of(c, b));
}

static void on_edge(struct task *p, struct task *s)
{
    if (unlikely(obs.registry))
        obs.registry->edge(p, s);
    if (!obs.record)
        return;
    struct obuf *b = buf(NULL);
    if (unlikely(!b))
        return;
    struct echunk *k = b->ehead;
    if (unlikely(!k || k->n == ECHUNK)) {
        k = big_alloc(CHUNK_BYTES);
        if (!k) {
            b->dropped++;
            return;
        }
        k->n = 0;
        k->next = b->ehead;
        b->ehead = k;
    }
    k->e[k->n].pred = p->id;
    k->e[k->n].succ = s->id;
    k->n++;
}

static void on_start(struct tctx *c, struct task *t)
{
    struct obuf *b = buf(c);
    if (unlikely(!b))
        return;
    if (unlikely(obs.registry))
        obs.registry->start(t, lane_of(c, b));
    if (!obs.record)
        return; /* the progress line only counts */
    if (unlikely(b->depth == b->cap)) {
        uint32_t cap = b->cap ? b->cap * 2 : 64;
        struct frame *s = realloc(b->stk, sizeof *s * cap);
        if (!s)
            return; /* the end hook sees no frame and records the task as instantaneous */
        b->stk = s;
        b->cap = cap;
    }
    struct frame *f = &b->stk[b->depth++];
    f->t = t;
    f->t0 = clock_now_ns();
}

static void on_end(struct tctx *c, struct task *t, int rc)
{
    struct obuf *b = buf(c);
    if (unlikely(!b))
        return;
    if (!obs.record) {
        if (unlikely(obs.registry))
            obs.registry->end(t);
        bump(&b->ndone, 1);
        return;
    }
    uint64_t now = clock_now_ns();
    uint64_t t0 = now;
    int ran = 0;
    if (likely(b->depth && b->stk[b->depth - 1].t == t)) {
        t0 = b->stk[--b->depth].t0;
        ran = 1;
        if (b->depth == 0)
            bump(&b->busy_ns, now - t0);
    }
    if (unlikely(obs.registry))
        obs.registry->end(t);
    bump(&b->ndone, 1);
    struct orec *r = rec_new(b);
    if (unlikely(!r))
        return;
    r->id = t->id;
    r->t0 = t0;
    r->t1 = now;
    r->label = t->label;
    r->file = t->file;
    r->line = t->line;
    r->lane = lane_of(c, b);
    r->kind = ran ? REC_TASK : REC_CANCEL;
    r->flags = task_flags(t) | (rc ? RF_FAILED : 0);
}

static void on_sleep(struct tctx *c, int asleep)
{
    struct obuf *b = buf(c);
    if (unlikely(!b))
        return;
    uint64_t now = clock_now_ns();
    if (asleep)
        b->sleep_t0 = now;
    else if (b->sleep_t0)
        bump(&b->sleep_ns, now - b->sleep_t0);
}

static void on_transfer(struct tctx *c, int kind, size_t bytes, uint64_t t0, uint64_t t1,
                        int lane)
{
    if (!obs.record)
        return;
    struct obuf *b = buf(c);
    struct orec *r = b ? rec_new(b) : NULL;
    if (!r)
        return;
    memset(r, 0, sizeof *r);
    r->id = bytes;
    r->t0 = t0;
    r->t1 = t1 < t0 ? t0 : t1;
    r->line = kind;
    r->lane = (uint16_t)(lane < 0 || lane > OBS_LANE_MAX ? OBS_LANE_MAX : lane);
    r->kind = REC_XFER;
}

static void on_span(struct tctx *c, struct task *t, uint64_t t0, uint64_t t1, int lane)
{
    if (!obs.record)
        return;
    struct obuf *b = buf(c);
    struct orec *r = b ? rec_new(b) : NULL;
    if (!r)
        return;
    r->id = t->id;
    r->t0 = t0;
    r->t1 = t1 < t0 ? t0 : t1;
    r->label = t->label;
    r->file = t->file;
    r->line = t->line;
    r->lane = (uint16_t)(lane < 0 || lane > OBS_LANE_MAX ? OBS_LANE_MAX : lane);
    r->kind = REC_SPAN;
    r->flags = task_flags(t);
}

static void on_deps(struct tctx *c, struct task *t, const dag_dep_t *deps, size_t ndeps)
{
    (void)c;
    if (obs.registry)
        obs.registry->deps(t, deps, ndeps);
}

const struct rt_hooks obs_hooks = {
    .task_submit = on_submit,
    .task_edge = on_edge,
    .task_start = on_start,
    .task_end = on_end,
    .thread_sleep = on_sleep,
    .transfer = on_transfer,
    .task_span = on_span,
    .task_deps = on_deps,
};

/* ---- reading the buffers ------------------------------------------------------------- */

void record_begin(void)
{
    pthread_mutex_lock(&buf_lock);
    buffers = NULL;
    pthread_mutex_unlock(&buf_lock);
}

void obs_counts(uint64_t *submitted, uint64_t *done)
{
    uint64_t s = 0, d = 0;
    pthread_mutex_lock(&buf_lock);
    for (struct obuf *b = buffers; b; b = b->next) {
        s += atomic_load_explicit(&b->nsub, RELAXED);
        d += atomic_load_explicit(&b->ndone, RELAXED);
    }
    pthread_mutex_unlock(&buf_lock);
    *submitted = s;
    *done = d;
}

size_t obs_thread_stats(struct obs_thread_stats *out, size_t cap)
{
    size_t n = 0;
    uint64_t now = clock_now_ns();
    pthread_mutex_lock(&buf_lock);
    for (struct obuf *b = buffers; b && n < cap; b = b->next) {
        if (b->lane < 0)
            continue;
        out[n].lane = b->lane;
        out[n].busy_ns = atomic_load_explicit(&b->busy_ns, RELAXED);
        out[n].sleep_ns = atomic_load_explicit(&b->sleep_ns, RELAXED);
        out[n].alive_ns = now - (b->lane < obs.nthreads ? obs.t_begin : b->born);
        n++;
    }
    pthread_mutex_unlock(&buf_lock);
    return n;
}

int graph_index(struct graph *g)
{
    size_t cap = 16;
    while (cap < g->nrec * 2)
        cap *= 2;
    free(g->hash);
    g->hash = calloc(cap, sizeof *g->hash);
    if (g->hash)
        hint_huge(g->hash, cap * sizeof *g->hash);
    if (!g->hash || g->nrec >= UINT32_MAX) {
        free(g->hash);
        g->hash = NULL;
        return -1;
    }
    g->hmask = cap - 1;
    for (size_t i = 0; i < g->nrec; i++) {
        const struct orec *r = &g->rec[i];
        if (r->kind != REC_TASK && r->kind != REC_CANCEL)
            continue;
        size_t h = (size_t)((r->id * 0x9e3779b97f4a7c15ull) >> 20) & g->hmask;
        while (g->hash[h])
            h = (h + 1) & g->hmask;
        g->hash[h] = (uint32_t)(i + 1);
    }
    return 0;
}

long graph_find(const struct graph *g, uint64_t id)
{
    if (!g->hash)
        return -1;
    size_t h = (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) & g->hmask;
    while (g->hash[h]) {
        const struct orec *r = &g->rec[g->hash[h] - 1];
        if (r->id == id && (r->kind == REC_TASK || r->kind == REC_CANCEL))
            return (long)g->hash[h] - 1;
        h = (h + 1) & g->hmask;
    }
    return -1;
}

int record_collect(struct graph *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_lock(&buf_lock);
    struct obuf *list = buffers;
    buffers = NULL;
    pthread_mutex_unlock(&buf_lock);
    for (struct obuf *b = list; b; b = b->next) {
        for (struct rchunk *k = b->rhead; k; k = k->next)
            g->nrec += k->n;
        for (struct echunk *k = b->ehead; k; k = k->next)
            g->nedge += k->n;
        g->dropped += b->dropped;
    }
    int rc = 0;
    g->rec = malloc(sizeof *g->rec * (g->nrec ? g->nrec : 1));
    g->edge = malloc(sizeof *g->edge * (g->nedge ? g->nedge : 1));
    if (!g->rec || !g->edge)
        rc = -1;
    else {
        hint_huge(g->rec, sizeof *g->rec * g->nrec);
        hint_huge(g->edge, sizeof *g->edge * g->nedge);
    }
    size_t nr = 0, ne = 0;
    for (struct obuf *b = list, *bn; b; b = bn) {
        bn = b->next;
        /* chunks are newest first: copy them in reverse to keep each thread's order */
        struct rchunk *rev = NULL;
        for (struct rchunk *k = b->rhead, *kn; k; k = kn) {
            kn = k->next;
            k->next = rev;
            rev = k;
        }
        for (struct rchunk *k = rev, *kn; k; k = kn) {
            kn = k->next;
            if (!rc)
                memcpy(g->rec + nr, k->r, sizeof *k->r * k->n);
            nr += k->n;
            big_free(k, CHUNK_BYTES);
        }
        for (struct echunk *k = b->ehead, *kn; k; k = kn) {
            kn = k->next;
            if (!rc)
                memcpy(g->edge + ne, k->e, sizeof *k->e * k->n);
            ne += k->n;
            big_free(k, CHUNK_BYTES);
        }
        free(b->stk);
        free(b);
    }
    if (rc) {
        free(g->rec);
        free(g->edge);
        memset(g, 0, sizeof *g);
        return -1;
    }
    graph_index(g);
    return 0;
}

void graph_free(struct graph *g)
{
    free(g->rec);
    free(g->edge);
    free(g->hash);
    memset(g, 0, sizeof *g);
}
