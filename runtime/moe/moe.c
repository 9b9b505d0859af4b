/* moe.c: the MoE layer's public calls (include/dag/moe.h). Creates the registered buffers,
 * and for each forward / backward submits the task flow: gate per token block, a wait for
 * the routing (the flow's shape depends on it), the plan (plan.c), then dispatch packing,
 * one task per expert chunk (created at run time, placed by the scheduler; in distributed
 * runs on the chunk's rank, weights and token rows moved by inferred transfers), combine,
 * and for backward the gradient reductions. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "moe_int.h"

/* growable dependency list */
struct deps {
    dag_dep_t *d;
    size_t n, cap;
};

static int dep_add(struct deps *v, void *addr, size_t len, unsigned mode)
{
    if (!len)
        return 0;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        dag_dep_t *d = realloc(v->d, cap * sizeof *d);
        if (!d)
            return -1;
        v->d = d;
        v->cap = cap;
    }
    v->d[v->n++] = (dag_dep_t){addr, len, mode};
    return 0;
}

/* every CPU task body runs through here: its thread CPU time goes to its worker's count
 * (dag_moe_worker_busy) */
static int timed_body(void *arg)
{
    struct moe_targs *a = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    int r = a->fn(arg);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    int w = dag_worker_id();
    w = w >= 0 && w < a->m->W ? w : a->m->W;
    long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    unsigned long long u = (unsigned long long)(ns > 0 ? ns : 0);
    __atomic_add_fetch(&a->m->busy_ns[w], u, __ATOMIC_RELAXED);
    int ph = a->fn == moe_expert_fwd ? 0 : a->fn == moe_expert_bwd ? 1 : -1;
    if (ph >= 0) { /* atomic max */
        unsigned long long cur = __atomic_load_n(&a->m->longest_ns[ph], __ATOMIC_RELAXED);
        while (u > cur && !__atomic_compare_exchange_n(&a->m->longest_ns[ph], &cur, u, 1,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
    }
    return r;
}

static dag_status_t submit_cuda(struct dag_moe *m, dag_task_fn fn, dag_cuda_fn cuda, int i,
                                int n, const float *user, float lr, struct deps *v, int node,
                                int prio, const char *label)
{
    struct moe_targs a = {m, fn, i, n, user, lr};
    dag_task_attr_t at = {.label = label, .file = __FILE__, .priority = prio, .cuda = cuda};
    if (m->R > 1) {
        at.flags = DAG_TASK_ON_NODE;
        at.node = node;
    }
    dag_status_t st = dag_submit(timed_body, &a, sizeof a, v->d, v->n, &at);
    v->n = 0;
    return st;
}

static dag_status_t submit(struct dag_moe *m, dag_task_fn fn, int i, int n, const float *user,
                           float lr, struct deps *v, int node, int prio, const char *label)
{
    return submit_cuda(m, fn, NULL, i, n, user, lr, v, node, prio, label);
}

static int env_int(const char *name, int def)
{
    const char *s = getenv(name);
    int v = s && *s ? atoi(s) : 0;
    return v > 0 ? v : def;
}

static int init_expert_task(void *arg)
{
    struct moe_targs *a = arg;
    moe_init_expert(a->m, a->i, dag_tile(a->m->P, a->i, 0));
    return 0;
}

static int init_gate_task(void *arg)
{
    struct moe_targs *a = arg;
    moe_init_gate(a->m, dag_tile(a->m->GW, 0, 0));
    return 0;
}

static int set_expert_task(void *arg)
{
    struct moe_targs *a = arg;
    const float *src = a->user + a->m->pg + (size_t)a->i * a->m->pe;
    memcpy(dag_tile(a->m->P, a->i, 0), src, sizeof *src * a->m->pe);
    return 0;
}

static int set_gate_task(void *arg)
{
    struct moe_targs *a = arg;
    memcpy(dag_tile(a->m->GW, 0, 0), a->user, sizeof(float) * a->m->pg);
    return 0;
}

dag_status_t dag_moe_destroy(dag_moe_t *m)
{
    if (!m)
        return DAG_ERR_INVALID;
    dag_taskwait();
    dag_matrix_t *mats[] = {m->P, m->G, m->GP, m->GW, m->GWG, m->GWP, m->XT, m->RT,
                            m->YT, m->DXT, m->DISP, m->GDISP, m->OUT, m->HS, m->GRET};
    for (size_t i = 0; i < sizeof mats / sizeof *mats; i++)
        if (mats[i])
            dag_matrix_destroy(mats[i]);
    if (m->acc)
        for (size_t i = 0; i < (size_t)m->E * (m->W + 1); i++)
            free(m->acc[i]);
    free(m->acc);
    free(m->acc_gen);
    free(m->busy_ns);
    moe_plan_free(&m->plan);
    free(m);
    return DAG_OK;
}

static dag_status_t mat(dag_matrix_t **out, int mt, int nt, size_t bytes, dag_dist_kind_t k,
                        int p, int q)
{
    dag_dist_t d = {.kind = k, .p = p, .q = q};
    return dag_matrix_create(out, mt, nt, bytes, &d);
}

dag_status_t dag_moe_create(dag_moe_t **out, const dag_moe_config_t *cfg)
{
    if (!out || !cfg)
        return DAG_ERR_INVALID;
    *out = NULL;
    if (cfg->d_model <= 0 || cfg->d_hidden <= 0 || cfg->n_experts <= 0 || cfg->top_k <= 0 ||
        cfg->top_k > cfg->n_experts || cfg->max_tokens <= 0 || cfg->chunk_tokens < 0 ||
        cfg->block_tokens < 0 || cfg->aux_coef < 0 ||
        (cfg->flags & ~(DAG_MOE_STATIC | DAG_MOE_NO_PRIORITY | DAG_MOE_NO_REPLICATE)))
        return DAG_ERR_INVALID;
    struct dag_moe *m = calloc(1, sizeof *m);
    if (!m)
        return DAG_ERR_NOMEM;
    m->cfg = *cfg;
    m->D = cfg->d_model;
    m->H = cfg->d_hidden;
    m->E = cfg->n_experts;
    m->K = cfg->top_k;
    m->chunk = cfg->chunk_tokens ? cfg->chunk_tokens : env_int("DAG_MOE_CHUNK", 0);
    m->bt = cfg->block_tokens ? cfg->block_tokens : env_int("DAG_MOE_BLOCK", 64);
    m->R = dag_nranks(); /* starts the runtime */
    m->rank = dag_rank();
    m->W = dag_num_threads();
    if (m->R < 1 || m->W < 1) {
        free(m);
        return DAG_ERR_STATE;
    }
    openblas_set_num_threads(1); /* one thread per task: the runtime spreads the tasks */
    m->Bmax = (cfg->max_tokens + m->bt - 1) / m->bt;
    m->pe = (size_t)2 * m->D * m->H + m->H + m->D;
    m->pg = (size_t)m->D * m->E + m->E;
    m->rt_tok = sizeof(int) * m->K + sizeof(float) * (m->K + m->E);
    size_t row = (size_t)m->bt * m->K;
    int R = m->R, B = m->Bmax, E = m->E;
    dag_status_t st = DAG_OK;
    if (!st) st = mat(&m->P, E, 1, m->pe * 4, DAG_DIST_CYCLIC, 0, 0);
    if (!st) st = mat(&m->G, E, 1, m->pe * 4, DAG_DIST_CYCLIC, 0, 0);
    if (!st && R > 1) st = mat(&m->GP, E, R, m->pe * 4, DAG_DIST_2D, 1, R);
    if (!st) st = mat(&m->GW, 1, 1, m->pg * 4, DAG_DIST_OWNER, 0, 0);
    if (!st) st = mat(&m->GWG, 1, 1, m->pg * 4, DAG_DIST_OWNER, 0, 0);
    if (!st) st = mat(&m->GWP, B, 1, m->pg * 4, DAG_DIST_CYCLIC, 0, 0);
    if (!st) st = mat(&m->XT, B, 1, (size_t)m->bt * m->D * 4, DAG_DIST_CYCLIC, 0, 0);
    if (!st) st = mat(&m->RT, B, 1, m->bt * m->rt_tok, DAG_DIST_CYCLIC, 0, 0);
    if (!st) st = mat(&m->YT, B, 1, (size_t)m->bt * m->D * 4, DAG_DIST_CYCLIC, 0, 0);
    if (!st) st = mat(&m->DXT, B, 1, (size_t)m->bt * m->D * 4, DAG_DIST_CYCLIC, 0, 0);
    if (!st) st = mat(&m->DISP, B, R, row * m->D * 4, DAG_DIST_2D, R, 1);
    if (!st) st = mat(&m->GDISP, B, R, row * m->D * 4, DAG_DIST_2D, R, 1);
    if (!st) st = mat(&m->OUT, B, R, row * m->D * 4, DAG_DIST_2D, 1, R);
    if (!st) st = mat(&m->GRET, B, R, row * m->D * 4, DAG_DIST_2D, 1, R);
    if (!st) st = mat(&m->HS, B, R, row * m->H * 4, DAG_DIST_2D, 1, R);
    struct moe_plan *p = &m->plan;
    size_t na = (size_t)cfg->max_tokens * m->K;
    size_t cmin = m->chunk ? (size_t)m->chunk : MOE_CHUNK_MIN;
    size_t maxchunk = na / cmin + E + 1;
    size_t maxseg = maxchunk + (size_t)E * B + 1;
    m->acc = calloc((size_t)E * (m->W + 1), sizeof *m->acc);
    m->acc_gen = calloc((size_t)E * (m->W + 1), sizeof *m->acc_gen);
    m->busy_ns = calloc((size_t)m->W + 1, sizeof *m->busy_ns);
    p->count = calloc(E, sizeof *p->count);
    p->routed = calloc(E, sizeof *p->routed);
    p->auxg = calloc(E, sizeof *p->auxg);
    p->row = calloc(na, sizeof *p->row);
    p->xof = calloc(na, sizeof *p->xof);
    p->rows_bx = calloc((size_t)B * R, sizeof *p->rows_bx);
    p->chunk = calloc(maxchunk, sizeof *p->chunk);
    p->seg = calloc(maxseg, sizeof *p->seg);
    p->task0 = calloc(maxchunk + 1, sizeof *p->task0);
    p->eused = calloc((size_t)E * R, sizeof *p->eused);
    if (!st && (!m->acc || !m->acc_gen || !m->busy_ns || !p->count || !p->routed || !p->auxg || !p->row ||
                !p->xof || !p->rows_bx || !p->chunk || !p->seg || !p->task0 || !p->eused))
        st = DAG_ERR_NOMEM;
    /* parameters, initialised on their owners */
    struct deps v = {0};
    for (int e = 0; !st && e < E; e++) {
        if (dep_add(&v, dag_tile(m->P, e, 0), m->pe * 4, DAG_OUT))
            st = DAG_ERR_NOMEM;
        else
            st = submit(m, init_expert_task, e, 0, NULL, 0, &v, moe_home(m, e), 0, "moe_init");
    }
    if (!st && dep_add(&v, dag_tile(m->GW, 0, 0), m->pg * 4, DAG_OUT))
        st = DAG_ERR_NOMEM;
    if (!st)
        st = submit(m, init_gate_task, 0, 0, NULL, 0, &v, 0, 0, "moe_init");
    free(v.d);
    dag_status_t w = dag_taskwait();
    if (!st)
        st = w;
    if (st) {
        dag_moe_destroy(m);
        return st;
    }
    *out = m;
    return DAG_OK;
}

/* dependencies on the used rows [0, rows) of tiles (b, x) of t, every x */
static int deps_bx(struct dag_moe *m, struct deps *v, dag_matrix_t *t, int b, int width,
                   unsigned mode)
{
    for (int x = 0; x < m->R; x++) {
        int rows = m->plan.rows_bx[b * m->R + x];
        if (rows && dep_add(v, dag_tile(t, b, x), sizeof(float) * rows * width, mode))
            return -1;
    }
    return 0;
}

/* dependencies on the rows of the chunks of task t in matrix mt */
static int deps_chunks(struct dag_moe *m, struct deps *v, int t, dag_matrix_t *mt, int width,
                       unsigned mode)
{
    const struct moe_plan *p = &m->plan;
    for (int c = p->task0[t]; c < p->task0[t + 1]; c++) {
        const struct moe_chunk *ch = &p->chunk[c];
        for (int s = 0; s < ch->nseg; s++) {
            const struct moe_seg *sg = &p->seg[ch->seg0 + s];
            if (dep_add(v, moe_tile_row(m, mt, sg->b, ch->x, sg->row, width),
                        sizeof(float) * sg->n * width, mode))
                return -1;
        }
    }
    return 0;
}

static dag_status_t fetch_blocks(struct dag_moe *m, dag_matrix_t *t, int nb, size_t tokbytes,
                                 int n)
{
    if (m->R == 1)
        return DAG_OK;
    for (int b = 0; b < nb; b++) {
        dag_status_t st = dag_dist_fetch(dag_tile(t, b, 0), tokbytes * moe_ntok(m, b, n), -1);
        if (st)
            return st;
    }
    return DAG_OK;
}

#define TRY(x)                                                                            \
    do {                                                                                  \
        if (!st && (x))                                                                   \
            st = DAG_ERR_NOMEM;                                                           \
    } while (0)

dag_status_t dag_moe_forward(dag_moe_t *m, const float *x, int n, const int *route, float *y)
{
    if (!m || !x || !y || n <= 0 || n > m->cfg.max_tokens)
        return DAG_ERR_INVALID;
    if (route)
        for (size_t i = 0; i < (size_t)n * m->K; i++)
            if (route[i] < 0 || route[i] >= m->E)
                return DAG_ERR_INVALID;
    int nb = (n + m->bt - 1) / m->bt, D = m->D;
    size_t rowb = sizeof(float) * D;
    struct deps v = {0};
    dag_status_t st = DAG_OK;
    m->route = route;
    m->have_fwd = 0;
    m->longest_ns[0] = 0; /* no task of this layer runs between the calls */
    for (int b = 0; b < nb && !st; b++) {
        int nt = moe_ntok(m, b, n);
        TRY(dep_add(&v, dag_tile(m->GW, 0, 0), m->pg * 4, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->XT, b, 0), rowb * nt, DAG_OUT));
        TRY(dep_add(&v, dag_tile(m->RT, b, 0), m->rt_tok * nt, DAG_OUT));
        if (!st)
            st = submit(m, moe_gate_fwd, b, n, x, 0, &v, moe_owner_b(m, b), 0, "moe_gate");
    }
    if (!st)
        st = fetch_blocks(m, m->RT, nb, m->rt_tok, n);
    dag_status_t w = dag_taskwait(); /* the routing decides the rest of the flow */
    if (!st)
        st = w;
    if (!st)
        st = moe_plan_build(m, n);
    m->route = NULL;
    struct moe_plan *p = &m->plan;
    for (int b = 0; b < nb && !st; b++) { /* dispatch: rows to the ranks of their chunks */
        TRY(dep_add(&v, dag_tile(m->XT, b, 0), rowb * moe_ntok(m, b, n), DAG_IN));
        TRY(deps_bx(m, &v, m->DISP, b, D, DAG_OUT));
        if (!st && v.n > 1)
            st = submit(m, moe_pack, b, n, NULL, 0, &v, moe_owner_b(m, b), 0, "moe_dispatch");
        v.n = 0;
    }
    for (int t = 0; t < p->ntask && !st; t++) { /* the experts' chunks */
        const struct moe_chunk *c0 = &p->chunk[p->task0[t]];
        int prio = 0;
        for (int c = p->task0[t]; c < p->task0[t + 1]; c++) {
            TRY(dep_add(&v, dag_tile(m->P, p->chunk[c].e, 0), m->pe * 4, DAG_IN));
            prio = p->chunk[c].prio > prio ? p->chunk[c].prio : prio;
        }
        TRY(deps_chunks(m, &v, t, m->DISP, D, DAG_IN));
        TRY(deps_chunks(m, &v, t, m->OUT, D, DAG_OUT));
        TRY(deps_chunks(m, &v, t, m->HS, m->H, DAG_OUT));
        if (!st)
            st = submit_cuda(m, moe_expert_fwd, MOE_EXPERT_CUDA, t, n, NULL, 0, &v, c0->x, prio,
                             "moe_expert");
    }
    for (int b = 0; b < nb && !st; b++) { /* combine */
        int nt = moe_ntok(m, b, n);
        TRY(dep_add(&v, dag_tile(m->RT, b, 0), m->rt_tok * nt, DAG_IN));
        TRY(deps_bx(m, &v, m->OUT, b, D, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->YT, b, 0), rowb * nt, DAG_OUT));
        if (!st)
            st = submit(m, moe_combine, b, n, NULL, 0, &v, moe_owner_b(m, b), 0, "moe_combine");
    }
    if (!st)
        st = fetch_blocks(m, m->YT, nb, rowb, n);
    free(v.d);
    w = dag_taskwait();
    if (!st)
        st = w;
    if (st)
        return st;
    for (int b = 0; b < nb; b++)
        memcpy(y + (size_t)b * m->bt * D, dag_tile(m->YT, b, 0), rowb * moe_ntok(m, b, n));
    m->have_fwd = 1;
    m->st.forwards++;
    m->st.tokens += n;
    m->st.assignments += (unsigned long long)n * m->K;
    m->st.dropped += p->dropped;
    m->st.last_dropped = p->dropped;
    m->st.capacity = p->capacity;
    m->st.chunks += p->nchunk;
    m->st.replicated += p->replicated;
    m->st.last_longest_fwd_s = 1e-9 * (double)m->longest_ns[0];
    m->st.last_replicated = p->replicated;
    return DAG_OK;
}

dag_status_t dag_moe_backward(dag_moe_t *m, const float *dy, float *dx)
{
    if (!m || !dy)
        return DAG_ERR_INVALID;
    if (!m->have_fwd)
        return DAG_ERR_STATE;
    struct moe_plan *p = &m->plan;
    int n = p->n, nb = p->nb, D = m->D, R = m->R;
    size_t rowb = sizeof(float) * D;
    struct deps v = {0};
    dag_status_t st = DAG_OK;
    m->gen++;
    m->longest_ns[1] = 0;
    for (int b = 0; b < nb && !st; b++) { /* gate backward, rows w * dy to the experts */
        int nt = moe_ntok(m, b, n);
        TRY(dep_add(&v, dag_tile(m->RT, b, 0), m->rt_tok * nt, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->XT, b, 0), rowb * nt, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->GW, 0, 0), m->pg * 4, DAG_IN));
        TRY(deps_bx(m, &v, m->OUT, b, D, DAG_IN));
        TRY(deps_bx(m, &v, m->GDISP, b, D, DAG_OUT));
        TRY(dep_add(&v, dag_tile(m->GWP, b, 0), m->pg * 4, DAG_OUT));
        TRY(dep_add(&v, dag_tile(m->DXT, b, 0), rowb * nt, DAG_OUT));
        if (!st)
            st = submit(m, moe_gate_bwd, b, n, dy, 0, &v, moe_owner_b(m, b), 0, "moe_gate_bwd");
    }
    for (int t = 0; t < p->ntask && !st; t++) { /* the experts' chunks, backward */
        const struct moe_chunk *c0 = &p->chunk[p->task0[t]];
        int prio = 0;
        for (int c = p->task0[t]; c < p->task0[t + 1]; c++) {
            const struct moe_chunk *ch = &p->chunk[c];
            TRY(dep_add(&v, dag_tile(m->P, ch->e, 0), m->pe * 4, DAG_IN));
            /* concurrent members of one set per expert and rank: the reduction waits */
            TRY(dep_add(&v, R > 1 ? dag_tile(m->GP, ch->e, ch->x) : dag_tile(m->G, ch->e, 0),
                        m->pe * 4, DAG_INOUTSET));
            prio = ch->prio > prio ? ch->prio : prio;
        }
        TRY(deps_chunks(m, &v, t, m->DISP, D, DAG_IN));
        TRY(deps_chunks(m, &v, t, m->GDISP, D, DAG_IN));
        TRY(deps_chunks(m, &v, t, m->HS, m->H, DAG_IN));
        TRY(deps_chunks(m, &v, t, m->GRET, D, DAG_OUT));
        if (!st)
            st = submit(m, moe_expert_bwd, t, n, NULL, 0, &v, c0->x, prio, "moe_expert_bwd");
    }
    for (int e = 0; e < m->E && !st; e++) { /* weight gradients */
        if (R == 1) {
            TRY(dep_add(&v, dag_tile(m->G, e, 0), m->pe * 4, DAG_INOUT));
            if (!st)
                st = submit(m, moe_grad_reduce, e, n, NULL, 0, &v, 0, 0, "moe_grad");
            continue;
        }
        for (int x = 0; x < R && !st; x++) {
            if (!p->eused[e * R + x])
                continue;
            TRY(dep_add(&v, dag_tile(m->GP, e, x), m->pe * 4, DAG_INOUT));
            if (!st)
                st = submit(m, moe_grad_reduce, e, n, NULL, 0, &v, x, 0, "moe_grad");
        }
        for (int x = 0; x < R; x++)
            if (p->eused[e * R + x])
                TRY(dep_add(&v, dag_tile(m->GP, e, x), m->pe * 4, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->G, e, 0), m->pe * 4, DAG_OUT));
        if (!st)
            st = submit(m, moe_grad_home, e, n, NULL, 0, &v, moe_home(m, e), 0, "moe_grad");
    }
    for (int b = 0; b < nb && !st; b++) { /* dx */
        int nt = moe_ntok(m, b, n);
        TRY(deps_bx(m, &v, m->GRET, b, D, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->DXT, b, 0), rowb * nt, DAG_INOUT));
        if (!st)
            st = submit(m, moe_dx_combine, b, n, NULL, 0, &v, moe_owner_b(m, b), 0, "moe_dx");
    }
    for (int b = 0; b < nb && !st; b++)
        TRY(dep_add(&v, dag_tile(m->GWP, b, 0), m->pg * 4, DAG_IN));
    TRY(dep_add(&v, dag_tile(m->GWG, 0, 0), m->pg * 4, DAG_OUT));
    if (!st)
        st = submit(m, moe_gate_grad, nb, n, NULL, 0, &v, 0, 0, "moe_gate_grad");
    if (!st && dx)
        st = fetch_blocks(m, m->DXT, nb, rowb, n);
    free(v.d);
    dag_status_t w = dag_taskwait();
    if (!st)
        st = w;
    if (st)
        return st;
    if (dx)
        for (int b = 0; b < nb; b++)
            memcpy(dx + (size_t)b * m->bt * D, dag_tile(m->DXT, b, 0), rowb * moe_ntok(m, b, n));
    m->st.backwards++;
    m->st.last_longest_bwd_s = 1e-9 * (double)m->longest_ns[1];
    m->st.chunks += p->nchunk;
    m->st.replicated += p->replicated;
    return DAG_OK;
}

dag_status_t dag_moe_sgd(dag_moe_t *m, float lr)
{
    if (!m)
        return DAG_ERR_INVALID;
    struct deps v = {0};
    dag_status_t st = DAG_OK;
    for (int e = 0; e < m->E && !st; e++) {
        TRY(dep_add(&v, dag_tile(m->G, e, 0), m->pe * 4, DAG_IN));
        TRY(dep_add(&v, dag_tile(m->P, e, 0), m->pe * 4, DAG_INOUT));
        if (!st)
            st = submit(m, moe_sgd_expert, e, 0, NULL, lr, &v, moe_home(m, e), 0, "moe_sgd");
    }
    TRY(dep_add(&v, dag_tile(m->GWG, 0, 0), m->pg * 4, DAG_IN));
    TRY(dep_add(&v, dag_tile(m->GW, 0, 0), m->pg * 4, DAG_INOUT));
    if (!st)
        st = submit(m, moe_sgd_gate, 0, 0, NULL, lr, &v, 0, 0, "moe_sgd");
    free(v.d);
    dag_status_t w = dag_taskwait();
    return st ? st : w;
}

size_t dag_moe_num_params(const dag_moe_t *m)
{
    return m ? m->pg + (size_t)m->E * m->pe : 0;
}

/* copy gate tile and expert tiles of (gate, experts) to a flat vector on every rank */
static dag_status_t gather(dag_moe_t *m, dag_matrix_t *gate, dag_matrix_t *ex, float *out)
{
    if (!m || !out)
        return DAG_ERR_INVALID;
    dag_status_t st = DAG_OK;
    if (m->R > 1) {
        st = dag_dist_fetch(dag_tile(gate, 0, 0), m->pg * 4, -1);
        for (int e = 0; e < m->E && !st; e++)
            st = dag_dist_fetch(dag_tile(ex, e, 0), m->pe * 4, -1);
    }
    dag_status_t w = dag_taskwait();
    if (!st)
        st = w;
    if (st)
        return st;
    memcpy(out, dag_tile(gate, 0, 0), m->pg * 4);
    for (int e = 0; e < m->E; e++)
        memcpy(out + m->pg + (size_t)e * m->pe, dag_tile(ex, e, 0), m->pe * 4);
    return DAG_OK;
}

dag_status_t dag_moe_get_params(dag_moe_t *m, float *params)
{
    return gather(m, m ? m->GW : NULL, m ? m->P : NULL, params);
}

dag_status_t dag_moe_get_grads(dag_moe_t *m, float *grads)
{
    return gather(m, m ? m->GWG : NULL, m ? m->G : NULL, grads);
}

dag_status_t dag_moe_set_params(dag_moe_t *m, const float *params)
{
    if (!m || !params)
        return DAG_ERR_INVALID;
    struct deps v = {0};
    dag_status_t st = DAG_OK;
    for (int e = 0; e < m->E && !st; e++) {
        TRY(dep_add(&v, dag_tile(m->P, e, 0), m->pe * 4, DAG_OUT));
        if (!st)
            st = submit(m, set_expert_task, e, 0, params, 0, &v, moe_home(m, e), 0, "moe_set");
    }
    TRY(dep_add(&v, dag_tile(m->GW, 0, 0), m->pg * 4, DAG_OUT));
    if (!st)
        st = submit(m, set_gate_task, 0, 0, params, 0, &v, 0, 0, "moe_set");
    free(v.d);
    dag_status_t w = dag_taskwait();
    return st ? st : w;
}

dag_status_t dag_moe_aux_loss(const dag_moe_t *m, float *aux)
{
    if (!m || !aux)
        return DAG_ERR_INVALID;
    if (!m->have_fwd)
        return DAG_ERR_STATE;
    *aux = m->plan.aux;
    return DAG_OK;
}

dag_status_t dag_moe_stats(const dag_moe_t *m, dag_moe_stats_t *s)
{
    if (!m || !s)
        return DAG_ERR_INVALID;
    *s = m->st;
    return DAG_OK;
}

dag_status_t dag_moe_expert_load(const dag_moe_t *m, int *counts, int *routed)
{
    if (!m || !counts)
        return DAG_ERR_INVALID;
    if (!m->have_fwd)
        return DAG_ERR_STATE;
    memcpy(counts, m->plan.count, sizeof *counts * m->E);
    if (routed)
        memcpy(routed, m->plan.routed, sizeof *routed * m->E);
    return DAG_OK;
}

dag_status_t dag_moe_worker_busy(const dag_moe_t *m, double *busy, int n)
{
    if (!m || !busy || n < 1 || n > m->W)
        return DAG_ERR_INVALID;
    for (int w = 0; w < n; w++)
        busy[w] = 1e-9 * (double)__atomic_load_n(&m->busy_ns[w], __ATOMIC_RELAXED);
    return DAG_OK;
}
