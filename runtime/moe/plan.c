/* plan.c: the routing plan of one forward, built on every rank from the gate's routing
 * records (identical everywhere, so every rank submits the same task flow): capacity and
 * dropping, the load-balancing loss, chunks of each expert's batch, their placement on
 * ranks (hot experts' chunks replicated onto the least loaded ranks), their priorities,
 * the rows each chunk owns in the (token block, rank) tiles, and the tasks (one per chunk,
 * or one per expert group under static placement). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "moe_int.h"

void moe_plan_free(struct moe_plan *p)
{
    free(p->count);
    free(p->routed);
    free(p->auxg);
    free(p->row);
    free(p->xof);
    free(p->rows_bx);
    free(p->chunk);
    free(p->seg);
    free(p->task0);
    free(p->eused);
    memset(p, 0, sizeof *p);
}

struct sortkey {
    int key, idx;
};

static int cmp_key(const void *a, const void *b)
{
    const struct sortkey *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* static placement (expert parallelism as GShard / DeepSpeed-MoE run it): expert e is
 * pinned to rank e mod R (its home) and, there, to worker (e div R) mod W: experts dealt
 * round-robin over every (rank, worker) slot, so neighbouring experts land on different
 * workers. Each worker is a device that runs its experts whole. */
static int static_group(const struct dag_moe *m, int e)
{
    return (e / m->R) % m->W;
}

/* Greedy rebalancing over ranks: move chunks of the most loaded rank's hottest expert
 * to the least loaded rank while that lowers the maximum. */
static void replicate(struct dag_moe *m, struct moe_plan *p)
{
    int R = m->R;
    long load[R > 0 ? R : 1];
    memset(load, 0, sizeof load);
    for (int c = 0; c < p->nchunk; c++)
        load[p->chunk[c].x] += p->chunk[c].n;
    for (int it = 0; it < p->nchunk; it++) {
        int xa = 0, xi = 0;
        for (int x = 1; x < R; x++) {
            if (load[x] > load[xa])
                xa = x;
            if (load[x] < load[xi])
                xi = x;
        }
        /* the chunk on xa of the expert with the most rows there that still helps */
        int best = -1;
        long bestw = -1;
        for (int c = p->nchunk - 1; c >= 0; c--) {
            struct moe_chunk *ch = &p->chunk[c];
            if (ch->x != xa || load[xi] + ch->n >= load[xa])
                continue;
            long w = p->count[ch->e];
            if (w > bestw) {
                bestw = w;
                best = c;
            }
        }
        if (best < 0)
            break;
        p->chunk[best].x = xi;
        load[xa] -= p->chunk[best].n;
        load[xi] += p->chunk[best].n;
    }
    for (int c = 0; c < p->nchunk; c++)
        if (p->chunk[c].x != moe_home(m, p->chunk[c].e))
            p->replicated++;
}

dag_status_t moe_plan_build(struct dag_moe *m, int n)
{
    struct moe_plan *p = &m->plan;
    int E = m->E, K = m->K, R = m->R;
    int dyn = !(m->cfg.flags & DAG_MOE_STATIC);
    p->n = n;
    p->nb = (n + m->bt - 1) / m->bt;
    p->dropped = 0;
    p->replicated = 0;
    memset(p->count, 0, sizeof *p->count * E);
    memset(p->routed, 0, sizeof *p->routed * E);
    memset(p->rows_bx, 0, sizeof *p->rows_bx * (size_t)p->nb * R);
    memset(p->eused, 0, sizeof *p->eused * (size_t)E * R);

    /* routing counts and mean probabilities: the load-balancing loss */
    double *pm = calloc(E, sizeof *pm);
    int *order = malloc(sizeof *order * (size_t)n * K);
    int *off = calloc((size_t)E + 1, sizeof *off);
    struct sortkey *keys = NULL;
    if (!pm || !order || !off) {
        free(pm);
        free(order);
        free(off);
        return DAG_ERR_NOMEM;
    }
    for (int t = 0; t < n; t++) {
        int b = t / m->bt, tt = t % m->bt;
        const int *idx = moe_rt_idx(m, b, tt);
        const float *pr = moe_rt_p(m, b, tt);
        for (int j = 0; j < K; j++)
            p->routed[idx[j]]++;
        for (int e = 0; e < E; e++)
            pm[e] += pr[e];
    }
    double aux = 0;
    for (int e = 0; e < E; e++) {
        double f = (double)p->routed[e] / ((double)n * K);
        aux += f * pm[e] / n;
        p->auxg[e] = (float)(m->cfg.aux_coef * E * f / n);
    }
    p->aux = (float)(m->cfg.aux_coef * E * aux);

    /* capacity: first choices of every token before second choices, tokens in order */
    p->capacity = m->cfg.capacity_factor > 0
                      ? (int)ceil((double)m->cfg.capacity_factor * n * K / E)
                      : 0;
    for (int j = 0; j < K; j++)
        for (int t = 0; t < n; t++) {
            int e = moe_rt_idx(m, t / m->bt, t % m->bt)[j];
            if (p->capacity && p->count[e] >= p->capacity) {
                p->row[(size_t)t * K + j] = -1;
                p->dropped++;
            } else {
                p->row[(size_t)t * K + j] = 0;
                p->count[e]++;
            }
        }
    /* kept assignments by expert, tokens in order */
    for (int e = 0; e < E; e++)
        off[e + 1] = off[e] + p->count[e];
    int *fill = calloc(E, sizeof *fill);
    if (!fill) {
        free(pm);
        free(order);
        free(off);
        return DAG_ERR_NOMEM;
    }
    for (int t = 0; t < n; t++) {
        const int *idx = moe_rt_idx(m, t / m->bt, t % m->bt);
        for (int j = 0; j < K; j++)
            if (p->row[(size_t)t * K + j] >= 0)
                order[off[idx[j]] + fill[idx[j]]++] = t * K + j;
    }
    free(fill);

    /* chunks: balanced pieces of at most cs rows (static: the whole batch). Adaptive size:
     * about MOE_CHUNKS_PER_WORKER chunks per worker in all, never below MOE_CHUNK_MIN
     * rows: small enough to balance, large enough that the weight-gradient update (a
     * pass over the expert's weights per chunk) stays a small part of a chunk's work */
    long kept = 0;
    for (int e = 0; e < E; e++)
        kept += p->count[e];
    int cs = m->chunk;
    if (!cs) {
        long per = (long)m->W * R * MOE_CHUNKS_PER_WORKER;
        cs = (int)((kept + per - 1) / per);
        cs = cs < MOE_CHUNK_MIN ? MOE_CHUNK_MIN : cs;
    }
    p->csize = cs;
    p->nchunk = 0;
    for (int e = 0; e < E; e++) {
        int cnt = p->count[e];
        if (!cnt)
            continue;
        int nc = dyn ? (cnt + cs - 1) / cs : 1;
        int start = off[e];
        for (int c = 0; c < nc; c++) {
            int sz = cnt / nc + (c < cnt % nc);
            struct moe_chunk *ch = &p->chunk[p->nchunk++];
            ch->e = e;
            ch->x = moe_home(m, e);
            ch->n = sz;
            ch->seg0 = start; /* temporarily: first index in order[] */
            ch->nseg = 0;
            ch->prio = 0;
            start += sz;
        }
    }
    if (dyn && R > 1 && !(m->cfg.flags & DAG_MOE_NO_REPLICATE))
        replicate(m, p);
    /* priorities: chunks of the experts above the mean load lie on the longest path to
     * the combine; the heavier the expert, the earlier its chunks start */
    if (dyn && !(m->cfg.flags & DAG_MOE_NO_PRIORITY)) {
        long tot = kept;
        for (int c = 0; c < p->nchunk; c++) {
            int cnt = p->count[p->chunk[c].e];
            if ((long)cnt * E > tot) {
                int pr = (cnt + cs - 1) / cs;
                p->chunk[c].prio = pr < 1000 ? pr : 1000;
            }
        }
    }
    /* static placement: chunks (one per expert) grouped by rank and worker group */
    int *group = NULL;
    if (!dyn && p->nchunk) {
        keys = malloc(sizeof *keys * p->nchunk);
        struct moe_chunk *tmp = malloc(sizeof *tmp * p->nchunk);
        group = malloc(sizeof *group * p->nchunk);
        if (!keys || !tmp || !group) {
            free(keys);
            free(tmp);
            free(group);
            free(pm);
            free(order);
            free(off);
            return DAG_ERR_NOMEM;
        }
        for (int c = 0; c < p->nchunk; c++) {
            keys[c].key = p->chunk[c].x * (m->W + 1) + static_group(m, p->chunk[c].e);
            keys[c].idx = c;
        }
        qsort(keys, p->nchunk, sizeof *keys, cmp_key);
        for (int c = 0; c < p->nchunk; c++) {
            tmp[c] = p->chunk[keys[c].idx];
            group[c] = keys[c].key;
        }
        memcpy(p->chunk, tmp, sizeof *tmp * p->nchunk);
        free(tmp);
        free(keys);
    }
    /* rows in the (b, x) tiles, chunk after chunk; segments per block */
    p->nseg = 0;
    for (int c = 0; c < p->nchunk; c++) {
        struct moe_chunk *ch = &p->chunk[c];
        int first = ch->seg0, x = ch->x;
        ch->seg0 = p->nseg;
        p->eused[ch->e * R + x] = 1;
        for (int i = 0; i < ch->n; i++) {
            int a = order[first + i];
            int b = (a / K) / m->bt;
            int *rb = &p->rows_bx[b * R + x];
            if (ch->nseg == 0 || p->seg[p->nseg - 1].b != b) {
                p->seg[p->nseg].b = b;
                p->seg[p->nseg].row = *rb;
                p->seg[p->nseg].n = 0;
                p->nseg++;
                ch->nseg++;
            }
            p->seg[p->nseg - 1].n++;
            p->row[a] = (*rb)++;
            p->xof[a] = x;
        }
    }
    /* tasks */
    p->ntask = 0;
    for (int c = 0; c < p->nchunk; c++)
        if (dyn || c == 0 || group[c] != group[c - 1])
            p->task0[p->ntask++] = c;
    p->task0[p->ntask] = p->nchunk;
    free(group);
    free(pm);
    free(order);
    free(off);
    return DAG_OK;
}
