/* flow.c: the interposer on the replicated top-level task flow (rt.interpose). For each
 * submitted task it picks the rank that runs it (node clause, else the owner of the first
 * registered data it writes, else every rank), infers the transfers its reads need from
 * the registry's coherence state, submits local send/receive tasks for the transfers
 * this rank takes part in, and submits the task itself only where it runs. Every rank
 * computes the same decisions from the same flow: nothing here communicates, except the
 * flow checkpoints handed to the engine. Must stay deterministic across ranks: never
 * branch on addresses, timing or local state other than the rank. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "comm.h"
#include "../core/runtime.h"

#define NODE_ALL (-1)
#define XFER_PRIORITY (1 << 20) /* transfers go before computation among ready tasks */

static struct {
    uint64_t count, hash;
    uint64_t check_every;
    int tree;          /* broadcast over a binomial tree of holders (else from the writer) */
    const char *label, *file; /* the last task submitted, for mismatch reports */
    int line;
    long page;
} fl;

struct xfer {
    struct coll *c;    /* DAG_CHECK: a receive opens the tile's pages first */
    int kind, peer, tag, coll;
    uint64_t seq, task;
    long tile;
    char *buf;
    size_t len;
    const char *label, *file;
    int line;
};

void flow_reset(void)
{
    fl.count = 0;
    fl.hash = 1469598103934665603ull;
    fl.check_every = (uint64_t)env_long("DAG_COMM_CHECK_EVERY", 256, 1, 1L << 40);
    const char *b = getenv("DAG_COMM_BCAST");
    fl.tree = !(b && !strcmp(b, "p2p"));
    fl.page = sysconf(_SC_PAGESIZE);
    dist.stale_max = (size_t)env_long("DAG_COMM_STALE_MB", 256, 0, 1L << 30) << 20;
}

static inline void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        fl.hash ^= (v >> (8 * i)) & 0xff;
        fl.hash *= 1099511628211ull;
    }
}

static void mix_str(const char *s)
{
    if (!s) {
        mix(0);
        return;
    }
    for (; *s; s++) {
        fl.hash ^= (unsigned char)*s;
        fl.hash *= 1099511628211ull;
    }
}

/* ---- coherence state ---------------------------------------------------------------- */

static int holds(const struct tile_state *ts, int r)
{
    if (!ts->holders)
        return r == ts->writer;
    for (int k = 0; k < ts->nholders; k++)
        if (ts->holders[k] == r)
            return 1;
    return 0;
}

static int ensure_holders(struct tile_state *ts)
{
    if (ts->holders)
        return 0;
    ts->holders = malloc((size_t)dist.nranks * sizeof *ts->holders);
    if (!ts->holders)
        return -1;
    ts->holders[0] = ts->writer;
    ts->nholders = 1;
    return 0;
}

/* The sender for the next holder. Tree: the i-th new holder gets the data from holder
 * (i with its highest bit cleared): a binomial tree over the order of requests, so N
 * readers cost log2(N) rounds and no rank sends more than log2(N) copies. */
static int pick_sender(const struct tile_state *ts)
{
    if (!fl.tree || !ts->holders)
        return ts->writer;
    unsigned i = (unsigned)ts->nholders, hb = 1;
    while (hb * 2 <= i)
        hb *= 2;
    return ts->holders[i - hb];
}

/* ---- communication tasks ------------------------------------------------------------ */

/* A bounded copy of a name into an envelope (no snprintf: it runs on every transfer);
 * tail: keep the end of a long path, where the file name is. */
static void copy_name(char *dst, size_t cap, const char *src, int tail)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        if (tail)
            src += n - (cap - 1);
        n = cap - 1;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = 0;
}

static int xfer_body(void *arg)
{
    const struct xfer *x = arg;
    struct comm_op *op = calloc(1, sizeof *op);
    if (!op)
        return DAG_ERR_NOMEM;
    if (x->c && x->kind == OP_RECV)
        guard_tile(x->c, (size_t)x->tile, GUARD_RW);
    op->kind = x->kind;
    op->peer = x->peer;
    op->tag = x->tag;
    op->seq = x->seq;
    op->buf = x->buf;
    op->len = x->len;
    op->label = x->label;
    op->file = x->file;
    op->line = x->line;
    op->coll = x->coll;
    op->tile = x->tile;
    op->ready = op->len;
    op->env = (struct comm_env){.magic = COMM_ENV_MAGIC, .coll = x->coll, .tile = x->tile,
                                .len = x->len, .task = x->task, .line = x->line};
    copy_name(op->env.label, sizeof op->env.label, x->label, 0);
    copy_name(op->env.file, sizeof op->env.file, x->file, 1);
    /* data dirty on a GPU: copied home in pieces, each sent as soon as it lands */
    if (op->kind == OP_SEND && (op->stage = comm_stage_begin(op->buf, op->len))) {
        op->ready = 0;
        __atomic_fetch_add(&dist.stats.staged_sends, 1, __ATOMIC_RELAXED);
    }
    if (rt.hooks) /* the message's slice in traces starts here */
        op->t_post = clock_now_ns();
    if (dag_task_detach(&op->ev)) {
        free(op);
        return DAG_ERR_STATE;
    }
    comm_post(op);
    return 0;
}

/* Give back the pages of a cached copy that a remote write made stale. */
static int evict_body(void *arg)
{
    const struct xfer *x = arg;
    uintptr_t a = ((uintptr_t)x->buf + (uintptr_t)fl.page - 1) & ~((uintptr_t)fl.page - 1);
    uintptr_t e = ((uintptr_t)x->buf + x->len) & ~((uintptr_t)fl.page - 1);
    if (e > a) {
        if (rt.host && rt.host->host_release) /* no page-locked registration may survive */
            rt.host->host_release(x->buf, x->len, 0);
        madvise((void *)a, e - a, MADV_DONTNEED);
    }
    return 0;
}

/* DAG_CHECK: set this rank's protection of tile t, in task order. */
struct guard_args {
    struct coll *c;
    size_t t;
    int prot;
};

static int guard_body(void *arg)
{
    const struct guard_args *g = arg;
    guard_tile(g->c, g->t, g->prot);
    return 0;
}

static dag_status_t guard_to(struct coll *c, size_t t, int prot)
{
    struct tile_state *ts = &c->tiles[t];
    if (!guard_coll_on(c) || ts->guard == prot)
        return DAG_OK;
    ts->guard = prot;
    struct guard_args g = {c, t, prot};
    dag_dep_t dep = {c->base + t * c->stride, c->tile_bytes, DAG_INOUT};
    dag_task_attr_t a = {.label = "dag.guard"};
    return task_submit_local(guard_body, &g, sizeof g, &dep, 1, &a);
}

static dag_status_t submit_xfer(int kind, int peer, struct coll *c, size_t t,
                                const dag_task_attr_t *user)
{
    struct xfer x = {.c = guard_coll_on(c) ? c : NULL, .kind = kind, .peer = peer,
                     .coll = c->id, .tile = (long)t,
                     .buf = c->base + t * c->stride, .len = c->tile_bytes,
                     .label = user && user->label ? user->label : "task",
                     .file = user ? user->file : NULL, .line = user ? user->line : 0};
    x.seq = comm_seq(peer, kind == OP_SEND);
    x.tag = comm_tag_of(x.seq);
    x.task = fl.count;
    dag_dep_t dep = {x.buf, x.len, kind == OP_SEND ? DAG_IN : DAG_OUT};
    /* named after the task that needs the data: a failed transfer is reported (and
     * dag_last_error names it) as that task's, with its source line */
    dag_task_attr_t a = {.label = x.label, .file = x.file, .line = x.line,
                         .priority = XFER_PRIORITY,
                         .flags = DAG_TASK_DETACHABLE |
                                  (kind == OP_SEND && comm_stage_chunk() ? DAG_TASK_STAGES : 0)};
    if (kind == OP_SEND) {
        dist.stats.sends++;
        dist.stats.bytes_sent += x.len;
    } else {
        dist.stats.recvs++;
        dist.stats.bytes_recv += x.len;
    }
    dag_status_t st = task_submit_local(xfer_body, &x, sizeof x, &dep, 1, &a);
    if (!st && kind == OP_RECV && x.c) { /* a copy: readable, not writable here */
        c->tiles[t].guard = GUARD_RW;
        st = guard_to(c, t, GUARD_READ);
    }
    return st;
}

/* Make the current version of tile t valid on rank `to`. */
static dag_status_t transfer(struct coll *c, size_t t, int to, const dag_task_attr_t *user)
{
    struct tile_state *ts = &c->tiles[t];
    if (to == dist.rank && ts->stale) { /* the outdated pages get the new version */
        ts->stale = 0;
        dist.stale_bytes -= c->tile_bytes;
    }
    if (holds(ts, to)) {
        if (to == dist.rank && to != ts->writer)
            dist.stats.cache_hits++;
        return DAG_OK;
    }
    if (ensure_holders(ts))
        return DAG_ERR_NOMEM;
    int from = pick_sender(ts);
    ts->holders[ts->nholders++] = to;
    dag_status_t st = DAG_OK;
    if (dist.rank == from)
        st = submit_xfer(OP_SEND, to, c, t, user);
    else if (dist.rank == to)
        st = submit_xfer(OP_RECV, from, c, t, user);
    return st;
}

/* After a write on rank `by`: only it holds the new version. */
static dag_status_t written(struct coll *c, size_t t, int by)
{
    struct tile_state *ts = &c->tiles[t];
    int me = dist.rank;
    int had = holds(ts, me);
    if (me != by) { /* DAG_CHECK: the outdated copy must not be read any more */
        dag_status_t st = guard_to(c, t, GUARD_NONE);
        if (st)
            return st;
    }
    ts->writer = by;
    ts->nholders = 1;
    if (ts->holders)
        ts->holders[0] = by;
    if (me == by && ts->stale) {
        ts->stale = 0;
        dist.stale_bytes -= c->tile_bytes;
    }
    if (had && me != by && me != ts->owner && c->mapped && c->tile_bytes >= (size_t)fl.page) {
        /* Keep the pages of an outdated copy while they fit in the budget: a tile that
         * comes back (a chain alternating between ranks, an iterative update) is then
         * received into memory that is already committed, instead of page-faulting and
         * zeroing every page of it again on every hop. */
        if (!ts->stale && dist.stale_bytes + c->tile_bytes <= dist.stale_max) {
            ts->stale = 1;
            dist.stale_bytes += c->tile_bytes;
            return DAG_OK;
        }
        if (ts->stale) /* already counted: keep it */
            return DAG_OK;
        struct xfer x = {.buf = c->base + t * c->stride, .len = c->tile_bytes};
        dag_dep_t dep = {x.buf, x.len, DAG_INOUT};
        dag_task_attr_t a = {.label = "dag.evict"};
        return task_submit_local(evict_body, &x, sizeof x, &dep, 1, &a);
    }
    return DAG_OK;
}

/* The registered tiles [t0, t1] that a dependency touches, or NULL. */
static struct coll *dep_tiles(const dag_dep_t *d, size_t *t0, size_t *t1)
{
    if (!d->len)
        return NULL;
    const char *a = d->addr, *e = a + d->len - 1;
    struct coll *c = registry_find(a, t0);
    if (c) {
        size_t last = (size_t)(e - c->base) / c->stride;
        *t1 = last < c->ntiles ? last : c->ntiles - 1;
        return c;
    }
    c = registry_find(e, t1);
    if (c)
        *t0 = 0;
    return c;
}

static int dep_reads(const struct coll *c, size_t t, const dag_dep_t *d)
{
    unsigned m = d->mode & DAG_MODE_MASK;
    if (m != DAG_OUT)
        return 1;
    /* a pure write needs the old content unless it covers the whole tile */
    const char *ts = c->base + t * c->stride;
    return !((const char *)d->addr <= ts &&
             (const char *)d->addr + d->len >= ts + c->tile_bytes);
}

static int dep_writes(const dag_dep_t *d)
{
    return (d->mode & DAG_MODE_MASK) != DAG_IN;
}

dag_status_t flow_interpose(struct tctx *c, dag_task_fn fn, const void *args,
                            size_t args_size, const dag_dep_t *deps, size_t ndeps,
                            const dag_task_attr_t *attr)
{
    (void)c;
    if (!fn || (args_size && !args) || (ndeps && !deps))
        return DAG_ERR_INVALID;
    unsigned aflags = attr ? attr->flags : 0;
    if ((aflags & DAG_TASK_ON_NODE) && (attr->node < 0 || attr->node >= dist.nranks))
        return DAG_ERR_INVALID;

    pthread_mutex_lock(&dist.lock);
    int node = (aflags & DAG_TASK_ON_NODE) ? attr->node : NODE_ALL;
    for (size_t k = 0; k < ndeps && node == NODE_ALL && !(aflags & DAG_TASK_ON_NODE); k++) {
        size_t t0, t1;
        struct coll *cl;
        if (dep_writes(&deps[k]) && (cl = dep_tiles(&deps[k], &t0, &t1)))
            node = cl->tiles[t0].owner;
    }

    fl.count++;
    fl.label = attr && attr->label ? attr->label : "task";
    fl.file = attr ? attr->file : NULL;
    fl.line = attr ? attr->line : 0;
    mix_str(attr ? attr->label : NULL);
    mix((uint64_t)(attr ? attr->line : 0) << 32 | (uint32_t)node);
    mix(((uint64_t)ndeps << 32) | (uint32_t)args_size);

    dag_status_t st = DAG_OK;
    for (size_t k = 0; k < ndeps && !st; k++) {
        size_t t0, t1;
        struct coll *cl = dep_tiles(&deps[k], &t0, &t1);
        mix(((uint64_t)deps[k].len << 8) | (deps[k].mode & DAG_MODE_MASK));
        if (!cl)
            continue;
        guard_coll(cl); /* DAG_CHECK: no task used it yet: protect it now */
        mix(((uint64_t)cl->id << 40) ^ t0);
        mix((uint64_t)((const char *)deps[k].addr - (cl->base + t0 * cl->stride)));
        for (size_t t = t0; t <= t1 && !st; t++) {
            if (!dep_reads(cl, t, &deps[k]))
                continue;
            if (node != NODE_ALL) {
                st = transfer(cl, t, node, attr);
            } else {
                for (int r = 0; r < dist.nranks && !st; r++)
                    st = transfer(cl, t, r, attr);
            }
        }
    }
    for (size_t k = 0; k < ndeps && !st && node == dist.rank; k++) {
        size_t t0, t1; /* DAG_CHECK: this task writes here: open the pages */
        struct coll *cl;
        if (dep_writes(&deps[k]) && (cl = dep_tiles(&deps[k], &t0, &t1)))
            for (size_t t = t0; t <= t1 && !st; t++)
                st = guard_to(cl, t, GUARD_RW);
    }
    if (!st && (node == NODE_ALL || node == dist.rank)) {
        dist.stats.tasks_run++;
        st = task_submit_local(fn, args, args_size, deps, ndeps, attr);
    } else if (!st) {
        dist.stats.tasks_skipped++;
    }
    for (size_t k = 0; k < ndeps && !st; k++) {
        size_t t0, t1;
        struct coll *cl;
        if (!dep_writes(&deps[k]) || !(cl = dep_tiles(&deps[k], &t0, &t1)))
            continue;
        for (size_t t = t0; t <= t1 && !st; t++)
            st = written(cl, t, node == NODE_ALL ? dist.rank : node);
    }
    if (fl.count % fl.check_every == 0)
        comm_checkpoint(fl.count, fl.hash, 0, attr ? attr->label : NULL,
                        attr ? attr->file : NULL, attr ? attr->line : 0);
    pthread_mutex_unlock(&dist.lock);
    return st;
}

void flow_sync_point(int final)
{
    pthread_mutex_lock(&dist.lock);
    comm_checkpoint(fl.count, fl.hash, final, fl.label, fl.file, fl.line);
    pthread_mutex_unlock(&dist.lock);
}

/* ---- public helpers ------------------------------------------------------------------ */

static int noop_body(void *arg)
{
    (void)arg;
    return 0;
}

dag_status_t dag_dist_fetch(const void *addr, size_t len, int rank)
{
    if (!addr || rank < -1)
        return DAG_ERR_INVALID;
    if (dag_num_threads() <= 0)
        return DAG_ERR_STATE;
    if (rank >= dist.nranks)
        return DAG_ERR_INVALID;
    if (!dist.active)
        return DAG_OK;
    dag_dep_t dep = {(void *)addr, len, DAG_IN};
    dag_task_attr_t a = {.label = "dag.fetch", .flags = rank >= 0 ? DAG_TASK_ON_NODE : 0,
                         .node = rank};
    return dag_submit(noop_body, NULL, 0, &dep, 1, &a);
}

dag_status_t dag_dist_flush(const dag_matrix_t *m)
{
    const struct coll *c = (const struct coll *)m;
    if (!c)
        return DAG_ERR_INVALID;
    if (!dist.active)
        return DAG_OK;
    for (size_t t = 0; t < c->ntiles; t++) {
        pthread_mutex_lock(&dist.lock);
        int owner = c->tiles[t].owner, need = !holds(&c->tiles[t], owner);
        pthread_mutex_unlock(&dist.lock);
        if (need) {
            dag_status_t st = dag_dist_fetch(c->base + t * c->stride, c->tile_bytes, owner);
            if (st)
                return st;
        }
    }
    return DAG_OK;
}
