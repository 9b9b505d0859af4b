/* check.c: flow checkpoints. Every DAG_COMM_CHECK_EVERY tasks and at each top-level wait
 * the flow (flow.c) hands over the number of tasks submitted and a hash of the flow so far;
 * the engine's thread sends it to the next rank on the ring and compares the previous
 * rank's with its own: a difference is a flow mismatch (the ranks submitted different
 * tasks), reported with the last task submitted here. A mismatch that makes a message go
 * to the wrong task is caught earlier, on the message (xfer_env_check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"

struct check {
    uint64_t count, hash;
    int final, have;
    const char *label, *file;
    int line;
};

struct ckpt_item {
    struct ckpt_item *next;
    struct check c;
};

static struct {
    const struct transport *tp;
    void (*wake)(void);             /* the engine's thread sends them */
    pthread_mutex_t lock;           /* the queue */
    struct ckpt_item *head, *tail;  /* handed over by the flow, not yet sent */
    struct check *own, *pred;       /* checkpoints by index: ours and rank-1's */
    size_t nown, npred, capown, cappred;
    size_t bad;                     /* 1 + the first checkpoint that differed; 0: none */
    double bad_since;
} checks = {.lock = PTHREAD_MUTEX_INITIALIZER};

void check_start(const struct transport *tp, void (*wake)(void))
{
    checks.tp = tp;
    checks.wake = wake;
}

void check_stop(void)
{
    struct ckpt_item *ck;
    COMM_FIFO_TAKE(&checks.lock, checks.head, checks.tail, ck);
    while (ck) {
        struct ckpt_item *n = ck->next;
        free(ck);
        ck = n;
    }
    free(checks.own);
    free(checks.pred);
    checks.own = checks.pred = NULL;
    checks.nown = checks.npred = checks.capown = checks.cappred = 0;
    checks.bad = 0;
}

static int grow(struct check **a, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    struct check *p = realloc(*a, n * sizeof *p);
    if (!p)
        return -1;
    memset(p + *cap, 0, (n - *cap) * sizeof *p);
    *a = p;
    *cap = n;
    return 0;
}

static void compare(size_t idx)
{
    if (idx >= checks.nown || idx >= checks.npred || !checks.own[idx].have ||
        !checks.pred[idx].have)
        return;
    const struct check *a = &checks.own[idx], *b = &checks.pred[idx];
    if (a->count == b->count && a->hash == b->hash && a->final == b->final)
        return;
    if (!checks.bad) { /* said at check_tick, unless a message says more first */
        checks.bad = idx + 1;
        checks.bad_since = comm_now();
    }
}

/* A difference is reported CHECK_DELAY_S after it was found, unless a transfer's
 * envelope reported the mismatch meanwhile with the two tasks and the tile (xfer.c). */
#define CHECK_DELAY_S 0.5
int check_pending(void)
{
    return checks.bad && !comm_broken();
}

void check_tick(double now)
{
    if (!checks.bad || comm_broken() || now - checks.bad_since < CHECK_DELAY_S)
        return;
    size_t idx = checks.bad - 1;
    const struct check *a = &checks.own[idx], *b = &checks.pred[idx];
    int pred = (dist.rank + dist.nranks - 1) % dist.nranks;
    char w[300];
    comm_where(a->file, a->line, w, sizeof w);
    fprintf(stderr,
            "dagrt[rank %d]: error: the task flow differs between rank %d and rank %d "
            "(checkpoint %zu: rank %d had submitted %llu tasks%s, rank %d %llu%s; last task "
            "here '%s'%s). " COMM_FLOW_ADVICE ".\n",
            dist.rank, pred, dist.rank, idx, pred, (unsigned long long)b->count,
            b->final ? " and finished" : "", dist.rank, (unsigned long long)a->count,
            a->final ? " and finished" : "", a->label ? a->label : "-", w);
    comm_fail(DAG_ERR_MISMATCH, -1, 1);
}

static void own_checkpoint(const struct check *c)
{
    size_t idx = checks.nown;
    if (grow(&checks.own, &checks.capown, idx + 1))
        return;
    checks.own[idx] = *c;
    checks.own[idx].have = 1;
    checks.nown = idx + 1;
    struct ctrl_msg m = {.type = CTRL_CHECK, .arg = c->final, .idx = idx, .count = c->count,
                         .hash = c->hash};
    checks.tp->ctrl_send((dist.rank + 1) % dist.nranks, &m);
    compare(idx);
}

void check_from_pred(const struct ctrl_msg *m)
{
    size_t idx = (size_t)m->idx;
    if (grow(&checks.pred, &checks.cappred, idx + 1))
        return;
    checks.pred[idx] = (struct check){.count = m->count, .hash = m->hash, .final = m->arg,
                                 .have = 1};
    if (idx + 1 > checks.npred)
        checks.npred = idx + 1;
    compare(idx);
}

void comm_checkpoint(uint64_t count, uint64_t hash, int final, const char *label,
                     const char *file, int line)
{
    struct ckpt_item *it = malloc(sizeof *it);
    if (!it)
        return;
    it->c = (struct check){count, hash, final, 1, label, file, line};
    COMM_FIFO_PUSH(&checks.lock, checks.head, checks.tail, it);
    checks.wake();
}

int check_run_queued(void)
{
    struct ckpt_item *ck;
    COMM_FIFO_TAKE(&checks.lock, checks.head, checks.tail, ck);
    int n = 0;
    for (; ck; n++) {
        struct ckpt_item *next = ck->next;
        own_checkpoint(&ck->c);
        free(ck);
        ck = next;
    }
    return n;
}
