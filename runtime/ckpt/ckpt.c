/* ckpt.c: checkpoint/restart of the top-level task flow (docs/fault-tolerance.md).
 *
 * The flow: tasks submitted by the implicit task of one thread (the first that submits
 * while checkpointing is on), numbered 0, 1, ... in submission order. A task's identity
 * is (index, label, its dependencies' modes and lengths and, inside checkpointed ranges,
 * their range number and offset): the same in every run of the same program, whatever
 * the addresses. Checkpointed ranges (dag_checkpoint_register, checkpoint(list)) are
 * numbered in order of appearance and must not partially overlap.
 *
 * Cuts: every DAG_CHECKPOINT_TASKS submissions (default: twice the number of ranges) a
 * cut is placed at the current index S, provided every task so far writes only
 * checkpointed data. For each range a snapshot task that reads it is submitted there:
 * it runs once the range's last writer before S is done and before its next writer
 * starts, so it sees exactly the version of the cut. The first snapshot task of a cut
 * to run decides whether the cut is written: when DAG_CHECKPOINT_EVERY seconds have
 * passed since the last written one and no other is being written. In distributed runs
 * rank 0 decides for everyone: a decision task on rank 0 (placed with the cut) writes a
 * small registered word, which every snapshot task of the cut reads (the runtime moves it
 * like any tile), so all ranks write the same cuts (deciding each on its own clock, the
 * ranks, which reach a cut at different times, wrote different cuts and a restart often
 * found none in common). Snapshot tasks of a written
 * cut pwrite their range into the cut's temporary file; once all are done, a writer
 * thread commits the file (file.c). The flow goes on meanwhile.
 *
 * Restart (DAG_RESTART=1): the newest checkpoint that verifies (the newest common to
 * every rank in distributed runs) is mapped; tasks [0, cut) are skipped, each after
 * checking its identity, and a range is restored when its last writer is skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "../comm/comm.h"
#include "dag/dist.h"

struct ck_range {
    char *addr;
    size_t len;
    uint64_t id;
    int64_t last_writer;
    int node;           /* owner rank of distributed data, -1 for private memory */
};

struct snap_arg {
    struct ck_epoch *ep;
    size_t k;
};

int ck_flow;

static struct {
    int on, restart;
    char dir[3072];
    double every;
    long per_cut;
    int keep, verbose;
    int rank, nranks;
    struct tctx *owner;           /* the flow's thread */
    struct ck_range **by_addr;    /* sorted by address */
    struct ck_range **by_id;
    size_t n, cap;
    uint64_t index;               /* tasks of the flow so far */
    uint64_t *hash;               /* their identities (grown under lock) */
    size_t hcap;
    int64_t first_uncovered;
    uint64_t next_cut;
    pthread_mutex_t lock;         /* hash growth, decisions, the writer queue */
    pthread_cond_t cond;
    double last_active;
    double last_q;                /* distributed: wall-clock period of the last one */
    int busy;
    struct ck_epoch *queue, **qtail;
    pthread_t writer;
    int writer_up, writer_stop;
    /* restart */
    struct ck_image img;
    int restarting, started;
    uint64_t skip_until, *order;  /* entries by last writer */
    uint64_t resumed_at;          /* the cut this run restarted from (or ~0) */
    size_t next_restore;
    dag_status_t sticky;
    unsigned long long written, skipped;
} ck = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static RT_TLS int in_ck; /* submissions of this file pass through */

/* Distributed: rank 0's decision for the latest cut, (cut << 1) | written, registered
 * (owned by rank 0) at the first cut; snapshot tasks read it. */
static uint64_t ck_dec[8] __attribute__((aligned(64)));
static int dec_state; /* 0 not registered yet, 1 registered, -1 failed: decide locally */

/* ---- ranges ---------------------------------------------------------------------- */

/* Index of the last range starting at or before addr, or -1. */
static long find_le(const char *addr)
{
    long lo = 0, hi = (long)ck.n - 1, r = -1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (ck.by_addr[mid]->addr <= addr) {
            r = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return r;
}

static int range_node(char *addr, size_t len, int *node)
{
    *node = -1;
    if (!dist.active)
        return 0;
    size_t tile;
    struct coll *c = registry_find(addr, &tile);
    if (!c)
        return 0;
    char *start = c->base + tile * c->stride;
    if (addr + len > start + c->tile_bytes) {
        fprintf(stderr, "dagrt: checkpoint: range %p+%zu spans several distributed tiles: "
                        "register each tile on its own\n", (void *)addr, len);
        return -1;
    }
    *node = c->tiles[tile].owner;
    return 0;
}

static dag_status_t range_add(void *addr, size_t len)
{
    if (!len)
        return DAG_OK;
    char *a = addr;
    long i = find_le(a);
    if (i >= 0 && ck.by_addr[i]->addr == a && ck.by_addr[i]->len == len)
        return DAG_OK; /* already known */
    if ((i >= 0 && ck.by_addr[i]->addr + ck.by_addr[i]->len > a) ||
        ((size_t)(i + 1) < ck.n && ck.by_addr[i + 1]->addr < a + len)) {
        fprintf(stderr, "dagrt: checkpoint: range %p+%zu partially overlaps a checkpointed "
                        "range: checkpointed ranges must be disjoint or identical\n", addr, len);
        return DAG_ERR_INVALID;
    }
    int node;
    if (range_node(a, len, &node))
        return DAG_ERR_INVALID;
    if (ck.n == ck.cap) {
        size_t cap = ck.cap ? 2 * ck.cap : 64;
        struct ck_range **p = realloc(ck.by_addr, cap * sizeof *p);
        if (!p)
            return DAG_ERR_NOMEM;
        ck.by_addr = p;
        p = realloc(ck.by_id, cap * sizeof *p);
        if (!p)
            return DAG_ERR_NOMEM;
        ck.by_id = p;
        ck.cap = cap;
    }
    struct ck_range *r = malloc(sizeof *r);
    if (!r)
        return DAG_ERR_NOMEM;
    *r = (struct ck_range){a, len, ck.n, -1, node};
    memmove(&ck.by_addr[i + 2], &ck.by_addr[i + 1], (ck.n - (size_t)(i + 1)) * sizeof *ck.by_addr);
    ck.by_addr[i + 1] = r;
    ck.by_id[ck.n++] = r;
    return DAG_OK;
}

dag_status_t dag_checkpoint_register(void *addr, size_t len)
{
    if (!addr && len)
        return DAG_ERR_INVALID;
    if ((uintptr_t)addr + len < (uintptr_t)addr)
        return DAG_ERR_INVALID;
    struct tctx *c = ctx_fast();
    if (!c)
        return DAG_ERR_STATE;
    if (!ck.on)
        return DAG_OK; /* checkpointing is off (no DAG_CHECKPOINT_DIR) */
    if (!(c->cur->flags & TF_IMPLICIT) || (ck.owner && ck.owner != c))
        return DAG_ERR_STATE; /* only the flow's thread, outside tasks */
    ck.owner = c;
    return range_add(addr, len);
}

/* ---- the writer thread ----------------------------------------------------------- */

static void epoch_free(struct ck_epoch *ep)
{
    free(ep->e);
    free(ep->addr);
    free(ep);
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ck.lock);
    for (;;) {
        while (!ck.queue && !ck.writer_stop)
            pthread_cond_wait(&ck.cond, &ck.lock);
        struct ck_epoch *ep = ck.queue;
        if (!ep)
            break;
        ck.queue = ep->next;
        if (!ck.queue)
            ck.qtail = &ck.queue;
        uint64_t *hash = malloc(ep->cut * sizeof *hash + 1);
        if (hash && ep->cut)
            memcpy(hash, ck.hash, ep->cut * sizeof *hash);
        pthread_mutex_unlock(&ck.lock);
        int ok = hash && !ck_file_commit(ep, ck.dir, ck.rank, ck.nranks, hash);
        free(hash);
        if (ok) {
            ck_file_prune(ck.dir, ck.rank, ck.keep);
            if (ck.verbose)
                fprintf(stderr, "dagrt: checkpoint: rank %d: tasks [0, %" PRIu64 ") in %s "
                        "(%.1f MiB, %.1f ms)\n", ck.rank, ep->cut, ck.dir,
                        (double)ep->size / 1048576.0, 1e3 * (ck_now() - ep->t0));
        } else {
            ck_file_abort(ep, ck.dir, ck.rank);
        }
        pthread_mutex_lock(&ck.lock);
        ck.written += ok;
        ck.busy--;
        epoch_free(ep);
    }
    pthread_mutex_unlock(&ck.lock);
    return NULL;
}

/* ---- snapshot tasks -------------------------------------------------------------- */

static int decide(struct ck_epoch *ep)
{
    pthread_mutex_lock(&ck.lock);
    if (!ep->decided) {
        ep->decided = 1;
        double now = ck_now();
        /* distributed: periods of the wall clock, so that ranks (which share no clock
         * state) mostly pick the same cuts; restart takes the newest they all have */
        double q = ck.every > 0 ? (double)(long long)(ck_wall() / ck.every) : 0;
        int want = dist.active && dec_state == 1
                       ? ck_dec[0] == (ep->cut << 1 | 1) /* rank 0's decision */
                   : dist.active ? ck.every == 0 || q > ck.last_q
                                 : !ck.busy && now - ck.last_active >= ck.every;
        if (want) {
            ep->active = !ck_file_open(ep, ck.dir, ck.rank);
            if (ep->active) {
                ck.busy++;
                ck.last_active = now;
                ck.last_q = q;
                ep->t0 = now;
            }
        }
    }
    int a = ep->active;
    pthread_mutex_unlock(&ck.lock);
    return a;
}

static int snap_body(void *p)
{
    struct snap_arg *a = p;
    struct ck_epoch *ep = a->ep;
    if (!decide(ep))
        return 0;
    struct ck_entry *e = &ep->e[a->k];
    const char *src = ep->addr[a->k];
    e->sum = ck_sum(src, e->len, 0);
    size_t n = e->len;
    uint64_t off = e->offset;
    while (n) {
        ssize_t w = pwrite(ep->fd, src, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "dagrt: checkpoint: cannot write range %" PRIu64 ": %s\n", e->id,
                    strerror(errno));
            ep->failed = 1;
            return 0;
        }
        src += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static void epoch_release(struct ck_epoch *ep)
{
    if (atomic_fetch_sub_explicit(&ep->pending, 1, ACQ_REL) != 1)
        return;
    pthread_mutex_lock(&ck.lock);
    if (ep->active && !ep->failed) {
        ep->next = NULL;
        *ck.qtail = ep;
        ck.qtail = &ep->next;
        pthread_cond_signal(&ck.cond);
        pthread_mutex_unlock(&ck.lock);
        return;
    }
    if (ep->active) {
        ck_file_abort(ep, ck.dir, ck.rank);
        ck.busy--;
    }
    pthread_mutex_unlock(&ck.lock);
    epoch_free(ep);
}

void ck_snapshot_done(void *args, int ok)
{
    struct snap_arg *a = args;
    if (!ok)
        a->ep->failed = 1; /* cancelled: a task before the cut failed */
    epoch_release(a->ep);
}

static dag_status_t submit_internal(dag_task_fn fn, const void *args, size_t size,
                                    const dag_dep_t *deps, size_t ndeps,
                                    const dag_task_attr_t *attr)
{
    in_ck = 1;
    dag_status_t st = task_submit(fn, args, size, deps, ndeps, attr); /* DAG_TASK_SNAPSHOT */
    in_ck = 0;
    return st;
}

/* Rank 0 decides whether a cut is written: DAG_CHECKPOINT_EVERY seconds since the last
 * written one (every cut with 0). */
static int dec_body(void *p)
{
    uint64_t cut;
    memcpy(&cut, p, sizeof cut);
    pthread_mutex_lock(&ck.lock);
    double now = ck_now();
    int w = ck.every == 0 || now - ck.last_active >= ck.every;
    if (w)
        ck.last_active = now;
    pthread_mutex_unlock(&ck.lock);
    ck_dec[0] = cut << 1 | (uint64_t)w;
    return 0;
}

/* Distributed: the decision task of the cut at `cut`; 1 when snapshot tasks can read it. */
static int submit_decision(uint64_t cut)
{
    if (!dec_state) {
        in_ck = 1; /* not part of the checkpointed flow; every rank, at the same point */
        dec_state = dag_dist_register(ck_dec, sizeof ck_dec[0], 0) ? -1 : 1;
        in_ck = 0;
    }
    if (dec_state != 1)
        return 0;
    dag_dep_t d = {ck_dec, sizeof ck_dec[0], DAG_OUT};
    dag_task_attr_t at = {.label = "dag.checkpoint.decide", .priority = 1 << 20,
                          .flags = DAG_TASK_ON_NODE, .node = 0};
    if (submit_internal(dec_body, &cut, sizeof cut, &d, 1, &at)) {
        dec_state = -1;
        return 0;
    }
    return 1;
}

/* A cut at the current index: one snapshot task per range this rank keeps. */
static void place_cut(void)
{
    struct ck_epoch *ep = calloc(1, sizeof *ep);
    if (!ep)
        return;
    size_t n = 0;
    for (size_t k = 0; k < ck.n; k++)
        n += ck.by_id[k]->node < 0 || ck.by_id[k]->node == ck.rank;
    ep->cut = ck.index;
    ep->fd = -1;
    ep->e = calloc(n + 1, sizeof *ep->e);
    ep->addr = calloc(n + 1, sizeof *ep->addr);
    if (!ep->e || !ep->addr) {
        epoch_free(ep);
        return;
    }
    atomic_init(&ep->pending, 1);
    int dec = dist.active && submit_decision(ep->cut);
    for (size_t k = 0; k < ck.n; k++) {
        struct ck_range *r = ck.by_id[k];
        if (r->node >= 0 && r->node != ck.rank)
            continue;
        ep->e[ep->n] = (struct ck_entry){.id = r->id, .len = r->len, .last_writer = r->last_writer};
        ep->addr[ep->n++] = r->addr;
    }
    size_t m = 0;
    for (size_t k = 0; k < ck.n; k++) {
        struct ck_range *r = ck.by_id[k];
        struct snap_arg a = {ep, m};
        dag_dep_t d[2] = {{r->addr, r->len, DAG_IN}, {ck_dec, sizeof ck_dec[0], DAG_IN}};
        dag_task_attr_t at = {.label = "dag.checkpoint", .priority = 1 << 20,
                              .flags = DAG_TASK_SNAPSHOT};
        if (r->node >= 0) {
            at.flags |= DAG_TASK_ON_NODE;
            at.node = r->node;
        }
        int mine = r->node < 0 || r->node == ck.rank;
        if (mine)
            atomic_fetch_add_explicit(&ep->pending, 1, RELAXED);
        dag_status_t st = submit_internal(snap_body, &a, sizeof a, d, dec ? 2 : 1, &at);
        if (mine) {
            if (st) { /* never ran: the cut cannot be written */
                ep->failed = 1;
                atomic_fetch_sub_explicit(&ep->pending, 1, RELAXED);
            }
            m++;
        }
    }
    epoch_release(ep);
}

/* ---- the flow -------------------------------------------------------------------- */

static int is_write(unsigned mode)
{
    mode &= DAG_MODE_MASK;
    return mode != DAG_IN;
}

static uint64_t hmix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

/* Identity of the task, and coverage/last-writer bookkeeping of its writes. */
static uint64_t account(const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr,
                        size_t args_size, int *covered)
{
    uint64_t h = hmix(0x5bd1e995u, ck.index);
    const char *l = attr && attr->label ? attr->label : "";
    h = hmix(h, ck_sum(l, strlen(l), 1));
    h = hmix(h, args_size);
    h = hmix(h, ndeps);
    *covered = 1;
    for (size_t i = 0; i < ndeps; i++) {
        char *a = deps[i].addr;
        size_t len = deps[i].len;
        h = hmix(h, deps[i].mode);
        h = hmix(h, len);
        long j = find_le(a);
        if (j >= 0 && ck.by_addr[j]->addr + ck.by_addr[j]->len > a)
            h = hmix(h, (ck.by_addr[j]->id << 20) ^ (uint64_t)(a - ck.by_addr[j]->addr));
        else
            h = hmix(h, ~0ull);
        if (!is_write(deps[i].mode) || !len)
            continue;
        /* covered when [a, a+len) is a union of adjacent ranges (or inside one) */
        char *pos = a;
        if (j < 0 || ck.by_addr[j]->addr + ck.by_addr[j]->len <= a)
            j++;
        for (size_t k = (size_t)(j < 0 ? 0 : j); k < ck.n && ck.by_addr[k]->addr < a + len; k++) {
            struct ck_range *r = ck.by_addr[k];
            if (r->addr > pos)
                break;
            r->last_writer = (int64_t)ck.index;
            pos = r->addr + r->len;
        }
        if (pos < a + len)
            *covered = 0;
    }
    return h;
}

static void restore_upto(uint64_t index)
{
    const struct ck_header *h = ck.img.h;
    while (ck.next_restore < h->n) {
        const struct ck_entry *e = &ck.img.e[ck.order[ck.next_restore]];
        if (e->last_writer < 0) {
            ck.next_restore++;
            continue;
        }
        if ((uint64_t)e->last_writer > index)
            break;
        if (e->id < ck.n && ck.by_id[e->id]->len == e->len)
            memcpy(ck.by_id[e->id]->addr, (const char *)ck.img.map + e->offset, e->len);
        else
            fprintf(stderr, "dagrt: checkpoint: range %" PRIu64 " of %s is not registered "
                    "with %" PRIu64 " bytes in this run; not restored\n", e->id, ck.img.path,
                    e->len);
        ck.next_restore++;
    }
}

static void restart_end(void)
{
    if (!ck.restarting)
        return;
    ck.restarting = 0;
    fprintf(stderr, "dagrt: checkpoint: restarted from %s: %" PRIu64 " tasks skipped\n",
            ck.img.path, ck.skip_until);
    free(ck.order);
    ck.order = NULL;
    ck_file_unload(&ck.img);
}

static int cmp_writer(const void *a, const void *b)
{
    const struct ck_entry *x = &ck.img.e[*(const uint64_t *)a];
    const struct ck_entry *y = &ck.img.e[*(const uint64_t *)b];
    return x->last_writer < y->last_writer ? -1 : x->last_writer > y->last_writer;
}

/* Distributed restart: every rank must restart from the same cut. Each rank offers the
 * cuts it could verify; the newest one every rank has wins (exchanged through tasks on
 * registered memory, the way a program would). */
#define CK_OFFER 4
#define CK_REFUSE UINT64_MAX /* an offer that says: written by another number of ranks */
static uint64_t agree(const uint64_t *mine, int n, int refuse)
{
    uint64_t *all = calloc((size_t)ck.nranks * CK_OFFER, sizeof *all);
    if (!all)
        return 0;
    for (int i = 0; i < n && i < CK_OFFER; i++)
        all[ck.rank * CK_OFFER + i] = mine[i] + 1; /* 0: no offer */
    if (refuse)
        all[ck.rank * CK_OFFER] = CK_REFUSE;
    dag_status_t st = DAG_OK;
    in_ck = 1; /* these calls are not part of the checkpointed flow */
    for (int r = 0; r < ck.nranks && !st; r++)
        st = dag_dist_register(&all[r * CK_OFFER], CK_OFFER * sizeof *all, r);
    for (int r = 0; r < ck.nranks && !st; r++)
        st = dag_dist_fetch(&all[r * CK_OFFER], CK_OFFER * sizeof *all, -1);
    if (!st)
        st = dag_taskwait();
    uint64_t best = 0;
    for (int i = 0; i < ck.nranks * CK_OFFER && !st; i++)
        if (all[i] == CK_REFUSE)
            best = CK_REFUSE; /* every rank refuses, not only the one that found out */
    for (int i = 0; i < CK_OFFER && !st && best != CK_REFUSE; i++) {
        uint64_t c = all[ck.rank * CK_OFFER + i];
        int everywhere = c != 0;
        for (int r = 0; r < ck.nranks && everywhere; r++) {
            int found = 0;
            for (int j = 0; j < CK_OFFER; j++)
                found |= all[r * CK_OFFER + j] == c;
            everywhere = found;
        }
        if (everywhere && c > best)
            best = c;
    }
    for (int r = 0; r < ck.nranks; r++)
        dag_dist_unregister(&all[r * CK_OFFER]);
    in_ck = 0;
    free(all);
    return best; /* cut + 1, 0 or CK_REFUSE */
}

/* At the flow's first task: find the checkpoint to restart from. */
static void restart_begin(void)
{
    uint64_t cuts[64], ok[CK_OFFER];
    int n = ck_file_list(ck.dir, ck.rank, cuts, 64), nok = 0, refuse = 0;
    for (int i = 0; i < n && nok < CK_OFFER && !refuse; i++) {
        struct ck_image img;
        int rc = ck_file_load(&img, ck.dir, ck.rank, ck.nranks, cuts[i]);
        if (rc == -2) {
            refuse = 1;
            break;
        }
        if (!rc) {
            ok[nok++] = cuts[i];
            ck_file_unload(&img);
            if (!dist.active)
                break;
        }
    }
    uint64_t cut1 = dist.active ? agree(ok, nok, refuse) : refuse ? CK_REFUSE
                                                           : nok ? ok[0] + 1 : 0;
    if (cut1 == CK_REFUSE) {
        if (!refuse)
            fprintf(stderr, "dagrt: checkpoint: rank %d: another rank found checkpoints of a "
                            "run on a different number of ranks: restart refused\n", ck.rank);
        ck.sticky = DAG_ERR_MISMATCH;
        return;
    }
    if (!cut1) {
        fprintf(stderr, "dagrt: checkpoint: rank %d: no usable checkpoint in %s: starting "
                        "from the beginning\n", ck.rank, ck.dir);
        return;
    }
    if (ck_file_load(&ck.img, ck.dir, ck.rank, ck.nranks, cut1 - 1))
        return; /* damaged since it was verified: reported */
    ck.order = malloc((ck.img.h->n + 1) * sizeof *ck.order);
    if (!ck.order) {
        ck_file_unload(&ck.img);
        return;
    }
    for (uint64_t k = 0; k < ck.img.h->n; k++)
        ck.order[k] = k;
    qsort(ck.order, ck.img.h->n, sizeof *ck.order, cmp_writer);
    ck.next_restore = 0;
    ck.skip_until = ck.img.h->cut;
    ck.resumed_at = ck.skip_until;
    ck.restarting = 1;
    if (!ck.skip_until)
        restart_end();
}

int ck_submit(struct tctx *c, dag_task_fn fn, const void *args, size_t args_size,
              const dag_dep_t *deps, size_t ndeps, const dag_task_attr_t *attr,
              dag_status_t *st)
{
    (void)fn;
    (void)args;
    if (in_ck || (ck.owner && ck.owner != c))
        return 0;
    ck.owner = c;
    if (ck.sticky) {
        *st = ck.sticky;
        return 1;
    }
    if (!ck.started) {
        ck.started = 1;
        if (ck.restart)
            restart_begin();
        if (ck.sticky) {
            *st = ck.sticky;
            return 1;
        }
    }
    if (attr && attr->ncheckpoint) {
        if (!attr->checkpoint) {
            *st = DAG_ERR_INVALID;
            return 1;
        }
        for (size_t i = 0; i < attr->ncheckpoint; i++) {
            dag_status_t s = range_add(attr->checkpoint[i].addr, attr->checkpoint[i].len);
            if (s) {
                *st = s;
                return 1;
            }
        }
    }
    /* a potential cut before this task */
    if (ck.index >= ck.next_cut) { /* the same places in a restarted run */
        if (ck.index > 0 && ck.first_uncovered < 0 && ck.n && !ck.restarting &&
            ck.index != ck.resumed_at) /* that cut is the checkpoint we restarted from */
            place_cut();
        long per = ck.per_cut > 0 ? ck.per_cut : (long)(2 * ck.n > 32 ? 2 * ck.n : 32);
        ck.next_cut = ck.index + (uint64_t)per;
    }
    int covered;
    uint64_t h = account(deps, ndeps, attr, args_size, &covered);
    if (ck.index == ck.hcap) {
        size_t cap = ck.hcap ? 2 * ck.hcap : 1024;
        pthread_mutex_lock(&ck.lock);
        uint64_t *p = realloc(ck.hash, cap * sizeof *p);
        if (p) {
            ck.hash = p;
            ck.hcap = cap;
        }
        pthread_mutex_unlock(&ck.lock);
        if (!p) {
            *st = DAG_ERR_NOMEM;
            return 1;
        }
    }
    ck.hash[ck.index] = h;
    uint64_t i = ck.index++;
    if (!covered && ck.first_uncovered < 0 && !ck.restarting) {
        ck.first_uncovered = (int64_t)i;
        fprintf(stderr, "dagrt: checkpoint: %s:%d: task #%" PRIu64 " '%s' writes data that "
                "is neither in its checkpoint(list) nor registered: no later checkpoint is "
                "possible in this run\n", attr && attr->file ? attr->file : "?",
                attr ? attr->line : 0, i, attr && attr->label ? attr->label : "task");
    }
    if (!ck.restarting)
        return 0;
    if (i >= ck.skip_until) {
        restart_end();
        return 0;
    }
    if (ck.img.hash[i] != h) {
        fprintf(stderr, "dagrt: checkpoint: %s:%d: task #%" PRIu64 " '%s' differs from the "
                "task the checkpoint %s recorded there (another program, input or number of "
                "ranks?): cannot restart; remove the checkpoint or run without DAG_RESTART\n",
                attr && attr->file ? attr->file : "?", attr ? attr->line : 0, i,
                attr && attr->label ? attr->label : "task", ck.img.path);
        ck.sticky = DAG_ERR_MISMATCH;
        restart_end();
        *st = ck.sticky;
        return 1;
    }
    restore_upto(i);
    ck.skipped++;
    if (i + 1 == ck.skip_until)
        restart_end();
    *st = DAG_OK;
    return 1;
}

/* ---- start and stop -------------------------------------------------------------- */

static double env_seconds(const char *name, double dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0)) {
        fprintf(stderr, "dagrt: warning: ignoring %s=%s (expected seconds >= 0)\n", name, s);
        return dflt;
    }
    return v;
}

dag_status_t ck_start(void)
{
    const char *dir = getenv("DAG_CHECKPOINT_DIR");
    int restart = (int)env_long("DAG_RESTART", 0, 0, 1);
    ck_flow = 0;
    ck.on = 0;
    if (!dir || !*dir) {
        if (restart)
            fprintf(stderr, "dagrt: warning: DAG_RESTART=1 without DAG_CHECKPOINT_DIR: "
                            "nothing to restart from\n");
        return DAG_OK;
    }
    if (strlen(dir) >= sizeof ck.dir - 64) {
        fprintf(stderr, "dagrt: error: DAG_CHECKPOINT_DIR is too long\n");
        return DAG_ERR_INVALID;
    }
    if (mkdir(dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "dagrt: error: cannot create DAG_CHECKPOINT_DIR=%s: %s\n", dir,
                strerror(errno));
        return DAG_ERR_IO;
    }
    snprintf(ck.dir, sizeof ck.dir, "%s", dir);
    ck.restart = restart;
    ck.every = env_seconds("DAG_CHECKPOINT_EVERY", 60);
    ck.per_cut = env_long("DAG_CHECKPOINT_TASKS", 0, 0, 1L << 40);
    ck.verbose = (int)env_long("DAG_CHECKPOINT_VERBOSE", 0, 0, 1);
    ck.rank = dist.rank;
    ck.nranks = dist.nranks;
    ck.keep = (int)env_long("DAG_CHECKPOINT_KEEP", dist.active ? 3 : 2, 1, 64);
    ck.owner = NULL;
    ck.n = 0;
    ck.index = 0;
    ck.first_uncovered = -1;
    ck.next_cut = 0;
    ck.busy = 0;
    ck.queue = NULL;
    ck.qtail = &ck.queue;
    ck.last_active = ck_now();
    ck.last_q = ck.every > 0 ? (double)(long long)(ck_wall() / ck.every) : 0;
    ck.started = ck.restarting = 0;
    dec_state = 0;
    ck_dec[0] = 0;
    ck.resumed_at = ~0ull;
    ck.sticky = DAG_OK;
    ck.written = ck.skipped = 0;
    ck.writer_stop = 0;
    if (pthread_create(&ck.writer, NULL, writer_main, NULL)) {
        fprintf(stderr, "dagrt: error: cannot start the checkpoint writer thread\n");
        return DAG_ERR_SYSTEM;
    }
    ck.writer_up = 1;
    ck.on = 1;
    ck_flow = 1;
    return DAG_OK;
}

/* After the drain: every snapshot task is done; the writer finishes its queue. */
void ck_stop(void)
{
    if (!ck.on)
        return;
    pthread_mutex_lock(&ck.lock);
    ck.writer_stop = 1;
    pthread_cond_signal(&ck.cond);
    pthread_mutex_unlock(&ck.lock);
    if (ck.writer_up)
        pthread_join(ck.writer, NULL);
    ck.writer_up = 0;
    if (ck.restarting) {
        fprintf(stderr, "dagrt: checkpoint: the run ended after %" PRIu64 " of the %" PRIu64
                " tasks %s covers\n", ck.index, ck.skip_until, ck.img.path);
        ck.restarting = 0;
        free(ck.order);
        ck.order = NULL;
        ck_file_unload(&ck.img);
    }
    for (size_t k = 0; k < ck.n; k++)
        free(ck.by_id[k]);
    free(ck.by_id);
    free(ck.by_addr);
    free(ck.hash);
    ck.by_id = ck.by_addr = NULL;
    ck.hash = NULL;
    ck.n = ck.cap = ck.hcap = 0;
    ck.on = 0;
    ck_flow = 0;
}
