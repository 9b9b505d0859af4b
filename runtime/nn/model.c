/* model.c: sequential models on the layer operations. Building (shapes, stages, parameter
 * groups, gradient buckets), the forward/backward passes of one micro-batch, the
 * data-parallel step (bucketed all-reduce started as each bucket's gradients exist) and
 * the pipeline step (1F1B over micro-batches, stages on ranks, activations moved by the
 * runtime's inferred transfers), metrics and evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag/dist.h"
#include "nn_model.h"

static int env_int(const char *name, int dflt) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

dag_status_t dag_nn_model_create(dag_nn_model_t **out, const dag_nn_config_t *cfg) {
    if (!out || !cfg || cfg->batch <= 0 || cfg->c <= 0 || cfg->h <= 0 || cfg->w <= 0 ||
        (cfg->opt.kind != DAG_NN_SGD && cfg->opt.kind != DAG_NN_ADAM) || !(cfg->opt.lr > 0) ||
        (cfg->parallel != DAG_NN_DATA_PARALLEL && cfg->parallel != DAG_NN_PIPELINE))
        return DAG_ERR_INVALID;
    dag_nn_model_t *m = calloc(1, sizeof *m);
    if (!m) return DAG_ERR_NOMEM;
    m->cfg = *cfg;
    m->nranks = cfg->local ? 1 : dag_nranks();
    m->rank = cfg->local ? 0 : dag_rank();
    *out = m;
    return DAG_OK;
}

static void in_shape(dag_nn_model_t *m, int *c, int *h, int *w) {
    if (m->nl == 0) {
        *c = m->cfg.c, *h = m->cfg.h, *w = m->cfg.w;
    } else {
        nn_layer_t *p = &m->L[m->nl - 1];
        *c = p->c, *h = p->h, *w = p->w;
    }
}

static dag_status_t add(dag_nn_model_t *m, nn_layer_t l) {
    if (!m || m->built || m->nl >= NN_MAX_LAYERS) return m ? DAG_ERR_STATE : DAG_ERR_INVALID;
    in_shape(m, &l.ic, &l.ih, &l.iw);
    switch (l.kind) {
    case NN_DENSE:
        if (l.out <= 0) return DAG_ERR_INVALID;
        l.c = l.out, l.h = l.w = 1;
        l.nw = (size_t)l.out * l.ic * l.ih * l.iw, l.nb = (size_t)l.out;
        break;
    case NN_CONV:
        if (l.out <= 0 || l.k <= 0 || l.stride <= 0 || l.pad < 0) return DAG_ERR_INVALID;
        l.c = l.out;
        l.h = (l.ih + 2 * l.pad - l.k) / l.stride + 1;
        l.w = (l.iw + 2 * l.pad - l.k) / l.stride + 1;
        if (l.h <= 0 || l.w <= 0) return DAG_ERR_INVALID;
        l.nw = (size_t)l.out * l.ic * l.k * l.k, l.nb = (size_t)l.out;
        break;
    case NN_POOL:
        if (l.k <= 0 || l.ih % l.k || l.iw % l.k) return DAG_ERR_INVALID;
        l.c = l.ic, l.h = l.ih / l.k, l.w = l.iw / l.k;
        break;
    case NN_DROPOUT:
        if (!(l.p >= 0.0f && l.p < 1.0f)) return DAG_ERR_INVALID;
        /* fall through */
    default:
        l.c = l.ic, l.h = l.ih, l.w = l.iw;
    }
    m->L[m->nl++] = l;
    return DAG_OK;
}

dag_status_t dag_nn_add_dense(dag_nn_model_t *m, int out) {
    return add(m, (nn_layer_t){.kind = NN_DENSE, .out = out});
}
dag_status_t dag_nn_add_conv2d(dag_nn_model_t *m, int cout, int k, int stride, int pad) {
    return add(m, (nn_layer_t){.kind = NN_CONV, .out = cout, .k = k, .stride = stride, .pad = pad});
}
dag_status_t dag_nn_add_maxpool(dag_nn_model_t *m, int k) {
    return add(m, (nn_layer_t){.kind = NN_POOL, .k = k});
}
dag_status_t dag_nn_add_relu(dag_nn_model_t *m) { return add(m, (nn_layer_t){.kind = NN_RELU}); }
dag_status_t dag_nn_add_dropout(dag_nn_model_t *m, float p) {
    return add(m, (nn_layer_t){.kind = NN_DROPOUT, .p = p});
}
dag_status_t dag_nn_stage_break(dag_nn_model_t *m) {
    if (!m || m->built) return m ? DAG_ERR_STATE : DAG_ERR_INVALID;
    if (m->nl > 0 && m->nl < NN_MAX_LAYERS) m->breaks[m->nl] = 1;
    return DAG_OK;
}

size_t dag_nn_model_params(const dag_nn_model_t *m) {
    size_t n = 0;
    for (int l = 0; m && l < m->nl; l++) n += m->L[l].nw + m->L[l].nb;
    return n;
}
long dag_nn_model_step(const dag_nn_model_t *m) { return m ? m->step : -1; }

dag_status_t dag_nn_set_lr(dag_nn_model_t *m, float lr) {
    if (!m || !(lr > 0)) return DAG_ERR_INVALID;
    m->cfg.opt.lr = lr; /* read when the optimiser tasks are submitted */
    return DAG_OK;
}

/* stages: explicit breaks, else cut where the running parameter count passes s/S of it */
static dag_status_t assign_stages(dag_nn_model_t *m) {
    int S = m->stages, nb = 0;
    for (int l = 1; l < m->nl; l++) nb += m->breaks[l];
    if (nb) {
        if (nb + 1 != S) return DAG_ERR_INVALID;
        int s = 0;
        for (int l = 0; l < m->nl; l++) m->L[l].stage = s += l > 0 && m->breaks[l];
        return DAG_OK;
    }
    if (S > m->nl) return DAG_ERR_INVALID;
    double total = 0, run = 0;
    for (int l = 0; l < m->nl; l++) total += (double)(m->L[l].nw + m->L[l].nb) + 1;
    int s = 0;
    for (int l = 0; l < m->nl; l++) {
        /* leave at least one layer for each remaining stage */
        if (s < S - 1 && l > 0 && (run >= total * (s + 1) / S || m->nl - l == S - 1 - s) &&
            m->L[l - 1].stage == s && (m->L[l].nw || m->nl - l == S - 1 - s))
            s++;
        m->L[l].stage = s;
        run += (double)(m->L[l].nw + m->L[l].nb) + 1;
    }
    return s == S - 1 ? DAG_OK : DAG_ERR_INVALID;
}

static int owner_of_stage(const dag_nn_model_t *m, int s) {
    return m->cfg.parallel == DAG_NN_PIPELINE && !m->cfg.local ? s % m->nranks : -1;
}

/* data-parallel: make buffer k the input and labels of slot 0 (tasks keep the pointers
 * they were submitted with) */
static void use_input(dag_nn_model_t *m, int k) {
    *ACT(m, 0, 0) = m->in2[k];
    m->labels[0] = m->lab2[k];
    m->flip = k;
}

/* register (on) or unregister the input and label buffers with the GPU (buffer 0 in use) */
static dag_status_t pin_inputs(dag_nn_model_t *m, int on) {
    dag_status_t st = DAG_OK, r;
    for (int s = 0; s < m->slots + m->dbuf; s++) {
        dag_nn_tensor_t *x = s < m->slots ? ACT(m, 0, s) : &m->in2[1];
        dag_nn_tensor_t *y = s < m->slots ? &m->labels[s] : &m->lab2[1];
        if ((r = nn_cuda.pin(x->data, sizeof(float) * dag_nn_tensor_numel(x), on)) && !st) st = r;
        if ((r = nn_cuda.pin(y->data, sizeof(int32_t) * (size_t)m->rows, on)) && !st) st = r;
    }
    return st;
}

dag_status_t dag_nn_model_build(dag_nn_model_t *m) {
    if (!m || m->built || m->nl == 0) return m ? DAG_ERR_STATE : DAG_ERR_INVALID;
    const dag_nn_config_t *c = &m->cfg;
    if (m->L[m->nl - 1].kind != NN_DENSE) return DAG_ERR_INVALID; /* logits */
    m->ex.device = c->device;
    m->ex.tiles = c->tiles > 0 ? c->tiles : env_int("DAG_NN_TILES", 0);
    if (c->parallel == DAG_NN_PIPELINE) {
        m->stages = c->stages > 0 ? c->stages : m->nranks;
        m->mb = c->microbatches > 0 ? c->microbatches : 2 * m->stages;
        if (m->stages > NN_MAX_STAGES || c->batch % m->mb) return DAG_ERR_INVALID;
        m->rows = c->batch / m->mb;
        m->slots = m->stages < m->mb ? m->stages : m->mb;
        m->replicas = 1;
    } else {
        m->stages = 1, m->mb = 1, m->slots = 1;
        m->replicas = m->nranks;
        if (c->batch % m->replicas) {
            fprintf(stderr, "dagnn: batch %d is not a multiple of the %d ranks\n", c->batch,
                    m->replicas);
            return DAG_ERR_INVALID;
        }
        m->rows = c->batch / m->replicas;
    }
    dag_status_t st = assign_stages(m);
    if (st) return st;
    /* parameter groups, one per stage, layers in reverse order; buckets of >= bucket_bytes */
    size_t bucket = c->bucket_bytes ? c->bucket_bytes
                                    : (size_t)env_int("DAG_NN_BUCKET_KB", 256) * 1024;
    for (int s = 0; s < m->stages; s++) {
        nn_group_t *g = &m->grp[s];
        g->owner = owner_of_stage(m, s);
        size_t off = 0, bstart = 0;
        g->nbuckets = 0;
        for (int l = m->nl - 1; l >= 0; l--) {
            nn_layer_t *L = &m->L[l];
            if (L->stage != s || !L->nw) continue;
            L->off = off;
            off += L->nw + L->nb;
            off = (off + 15) & ~(size_t)15;
            int lowest = 1;
            for (int j = l - 1; j >= 0; j--)
                if (m->L[j].stage == s && m->L[j].nw) lowest = 0;
            if ((off - bstart) * sizeof(float) >= bucket || lowest) {
                g->bucket_off[g->nbuckets] = bstart;
                g->bucket_last_layer[g->nbuckets++] = l;
                bstart = off;
            }
        }
        g->bucket_off[g->nbuckets] = off;
        g->n = off ? off : 16;
        if ((st = dag_nn_tensor_alloc(&g->p, 1, (int)g->n, 1, 1, g->owner)) ||
            (st = dag_nn_tensor_alloc(&g->g, 1, (int)g->n, 1, 1, g->owner)) ||
            (st = dag_nn_tensor_alloc(&g->m, 1, (int)g->n, 1, 1, g->owner)) ||
            (st = dag_nn_tensor_alloc(&g->v, 1, (int)g->n, 1, 1, g->owner)))
            return st;
    }
    size_t na = (size_t)(m->nl + 1) * m->slots;
    m->act = calloc(na, sizeof *m->act);
    m->dact = calloc(na, sizeof *m->dact);
    m->scratch = calloc((size_t)m->nl, sizeof *m->scratch);
    m->labels = calloc((size_t)m->slots, sizeof *m->labels);
    if (!m->act || !m->dact || !m->scratch || !m->labels) return DAG_ERR_NOMEM;
    int last = owner_of_stage(m, m->stages - 1);
    for (int s = 0; s < m->slots; s++) {
        if ((st = dag_nn_tensor_alloc(ACT(m, 0, s), m->rows, c->c, c->h, c->w,
                                      owner_of_stage(m, 0))) ||
            (st = dag_nn_tensor_alloc(&m->labels[s], m->rows, 1, 1, 1, last)))
            return st;
        for (int l = 0; l < m->nl; l++) {
            nn_layer_t *L = &m->L[l];
            int own = owner_of_stage(m, L->stage);
            int down = l + 1 < m->nl ? owner_of_stage(m, m->L[l + 1].stage) : last;
            if ((st = dag_nn_tensor_alloc(ACT(m, l + 1, s), m->rows, L->c, L->h, L->w, own)) ||
                (st = dag_nn_tensor_alloc(DACT(m, l + 1, s), m->rows, L->c, L->h, L->w, down)))
                return st;
        }
    }
    for (int l = 0; l < m->nl; l++) {
        nn_layer_t *L = &m->L[l];
        if (L->kind != NN_CONV) continue;
        dag_nn_tensor_t w = {NULL, L->out, L->ic, L->k, L->k, -1};
        if ((st = dag_nn_conv2d_scratch(&m->scratch[l], &m->ex, ACT(m, l, 0), &w,
                                        owner_of_stage(m, L->stage))))
            return st;
    }
    if ((st = dag_nn_tensor_alloc(&m->acc, 1, 16, 1, 1, last)) ||
        (st = dag_nn_tensor_alloc(&m->eval_acc, 1, 16, 1, 1, last)))
        return st;
    /* initial parameters: a function of (seed, layer) only */
    for (int l = 0; l < m->nl; l++) {
        nn_layer_t *L = &m->L[l];
        if (!L->nw) continue;
        nn_group_t *g = &m->grp[L->stage];
        dag_nn_tensor_t w = {g->p.data + L->off, 1, (int)L->nw, 1, 1, g->owner};
        dag_nn_tensor_t b = {g->p.data + L->off + L->nw, 1, (int)L->nb, 1, 1, g->owner};
        int fan_in = (int)(L->nw / (size_t)L->out);
        if ((st = dag_nn_tensor_init(&w, DAG_NN_INIT_HE_UNIFORM, fan_in,
                                     nn_mix(c->seed + 0x100 + (uint64_t)l))) ||
            (st = dag_nn_tensor_init(&b, DAG_NN_INIT_ZERO, 0, 0)))
            return st;
    }
    nn_blocks_plan(m);
    m->inflight = env_int("DAG_NN_INFLIGHT", 2);
    if (m->inflight < 1) m->inflight = 1;
    if (m->inflight > 8) m->inflight = 8;
    m->token_task = env_int("DAG_NN_TOKEN_TASK", 0); /* 1: the token apart (comparison) */
    m->stats = env_int("DAG_NN_STATS", 0);
    if (c->parallel != DAG_NN_PIPELINE) { /* a second input and label buffer */
        m->in2[0] = *ACT(m, 0, 0), m->lab2[0] = m->labels[0];
        if ((st = dag_nn_tensor_alloc(&m->in2[1], m->rows, c->c, c->h, c->w, -1)) ||
            (st = dag_nn_tensor_alloc(&m->lab2[1], m->rows, 1, 1, 1, -1)))
            return st;
        m->dbuf = 1;
    }
    /* the GPU path: the step's inputs and labels page-locked and kept on the device across
     * waits (their copies in run at full speed, without staging); an optimisation only:
     * when the runtime refuses, they stay ordinary memory */
    if (m->fused && m->ex.device != DAG_DEVICE_CPU && nn_cuda.pin && nn_cuda.devices() > 0) {
        if (pin_inputs(m, 1) == DAG_OK)
            m->pinned = 1;
        else
            pin_inputs(m, 0);
    }
    if ((st = nn_exchange_open(m))) return st;
    m->built = 1;
    return dag_taskwait();
}

void dag_nn_model_destroy(dag_nn_model_t *m) {
    if (!m) return;
    dag_taskwait();
    if (m->stats && m->step)
        fprintf(stderr, "dagnn: %ld steps, the host per step: %.1f us waiting for the step %d "
                        "back, %.1f us recording and submitting\n", m->step,
                m->t_wait * 1e3 / (double)m->step, m->inflight,
                m->t_submit * 1e3 / (double)m->step);
    if (m->data_x) dag_nn_train_data(m, NULL, NULL, 0);
    nn_exchange_close(m);
    nn_chain_free(&m->rec);
    if (m->dbuf) use_input(m, 0);
    if (m->pinned) pin_inputs(m, 0);
    dag_nn_tensor_free(&m->in2[1]);
    dag_nn_tensor_free(&m->lab2[1]);
    for (int s = 0; s < m->stages; s++) {
        dag_nn_tensor_free(&m->grp[s].p);
        dag_nn_tensor_free(&m->grp[s].g);
        dag_nn_tensor_free(&m->grp[s].m);
        dag_nn_tensor_free(&m->grp[s].v);
    }
    size_t na = (size_t)(m->nl + 1) * m->slots;
    for (size_t i = 0; m->act && i < na; i++) dag_nn_tensor_free(&m->act[i]);
    for (size_t i = 0; m->dact && i < na; i++) dag_nn_tensor_free(&m->dact[i]);
    for (int l = 0; m->scratch && l < m->nl; l++) dag_nn_tensor_free(&m->scratch[l]);
    for (int s = 0; m->labels && s < m->slots; s++) dag_nn_tensor_free(&m->labels[s]);
    dag_nn_tensor_free(&m->acc);
    dag_nn_tensor_free(&m->eval_acc);
    free(m->act), free(m->dact), free(m->scratch), free(m->labels);
    free(m);
}

/* views of a layer's parameters and gradients inside its group's flat arrays */
void nn_views(dag_nn_model_t *m, int l, dag_nn_tensor_t *w, dag_nn_tensor_t *b,
              dag_nn_tensor_t *dw, dag_nn_tensor_t *db) {
    nn_layer_t *L = &m->L[l];
    nn_group_t *g = &m->grp[L->stage];
    int in = (int)(L->nw / (size_t)L->out);
    if (L->kind == NN_CONV)
        *w = (dag_nn_tensor_t){g->p.data + L->off, L->out, L->ic, L->k, L->k, g->owner};
    else
        *w = (dag_nn_tensor_t){g->p.data + L->off, L->out, in, 1, 1, g->owner};
    *dw = *w;
    dw->data = g->g.data + L->off;
    *b = (dag_nn_tensor_t){g->p.data + L->off + L->nw, 1, L->out, 1, 1, g->owner};
    *db = *b;
    db->data = g->g.data + L->off + L->nw;
}

uint64_t nn_drop_seed(const dag_nn_model_t *m, int l) {
    return nn_mix(m->cfg.seed ^ nn_mix(0xd0d0 + (uint64_t)l));
}

/* gather the samples idx[0..rows) into slot s (x on the first stage, labels on the last);
 * indices beyond `valid` repeat sample idx[0] */
static dag_status_t gather(dag_nn_model_t *m, int s, const float *x, const int32_t *labels,
                           const int32_t *idx, int valid, int need_x, int need_y) {
    size_t sz = sizeof(nn_gather_t) + sizeof(int32_t) * (size_t)m->rows;
    nn_gather_t *a = malloc(sz);
    if (!a) return DAG_ERR_NOMEM;
    dag_nn_tensor_t *xin = ACT(m, 0, s);
    *a = (nn_gather_t){xin->data, x, (int32_t *)m->labels[s].data, labels,
                       (size_t)m->cfg.c * m->cfg.h * m->cfg.w, m->rows};
    for (int r = 0; r < m->rows; r++) a->idx[r] = idx[r < valid ? r : 0];
    dag_nn_exec_t cpu = {1, DAG_DEVICE_CPU, 1};
    dag_status_t st = DAG_OK;
    if (need_x && need_y && x == m->data_x && labels == m->data_lab &&
        xin->owner == m->labels[s].owner) {
        /* the data set is kept on the device (dag_nn_train_data): gather there */
        for (int r = 0; r < m->rows; r++)
            if (a->idx[r] < 0 || a->idx[r] >= m->data_n) {
                free(a);
                return DAG_ERR_INVALID;
            }
        dag_dep_t d[] = {{(void *)x, sizeof(float) * a->feat * (size_t)m->data_n, DAG_IN},
                         {(void *)labels, sizeof(int32_t) * (size_t)m->data_n, DAG_IN},
                         {xin->data, sizeof(float) * dag_nn_tensor_numel(xin), DAG_OUT},
                         {m->labels[s].data, sizeof(int32_t) * (size_t)m->rows, DAG_OUT}};
        st = nn_submit(nn_k_gather, nn_cuda.gather, a, sz, d, 4, &m->ex, "nn.gather.dev");
        need_x = need_y = 0;
    }
    if (need_x && need_y && xin->owner == m->labels[s].owner) { /* one task for both */
        dag_dep_t d[] = {{xin->data, sizeof(float) * dag_nn_tensor_numel(xin), DAG_OUT},
                         {m->labels[s].data, sizeof(int32_t) * (size_t)m->rows, DAG_OUT}};
        st = nn_submit(nn_k_gather, NULL, a, sz, d, 2, &cpu, "nn.gather");
        need_x = need_y = 0;
    }
    if (need_x) {
        dag_dep_t d = {xin->data, sizeof(float) * dag_nn_tensor_numel(xin), DAG_OUT};
        st = nn_submit(nn_k_gather_x, NULL, a, sz, &d, 1, &cpu, "nn.gather.x");
    }
    if (!st && need_y) {
        dag_dep_t d = {m->labels[s].data, sizeof(int32_t) * (size_t)m->rows, DAG_OUT};
        st = nn_submit(nn_k_gather_y, NULL, a, sz, &d, 1, &cpu, "nn.gather.y");
    }
    free(a);
    return st;
}

static dag_status_t forward_layer(dag_nn_model_t *m, int l, int s, int train, long first) {
    nn_layer_t *L = &m->L[l];
    dag_nn_tensor_t *x = ACT(m, l, s), *y = ACT(m, l + 1, s), w, b, dw, db;
    switch (L->kind) {
    case NN_DENSE:
        nn_views(m, l, &w, &b, &dw, &db);
        return dag_nn_dense_forward(&m->ex, x, &w, &b, y);
    case NN_CONV:
        nn_views(m, l, &w, &b, &dw, &db);
        return dag_nn_conv2d_forward(&m->ex, x, &w, &b, y, L->stride, L->pad);
    case NN_POOL:
        return dag_nn_maxpool_forward(&m->ex, x, y, L->k);
    case NN_RELU:
        return dag_nn_relu_forward(&m->ex, x, y);
    default:
        return dag_nn_dropout_forward(&m->ex, x, y, train ? L->p : 0.0f, nn_drop_seed(m, l), first);
    }
}

static dag_status_t backward_layer(dag_nn_model_t *m, int l, int s, int acc, long first) {
    nn_layer_t *L = &m->L[l];
    dag_nn_tensor_t *x = ACT(m, l, s), *y = ACT(m, l + 1, s), *dy = DACT(m, l + 1, s);
    dag_nn_tensor_t *dx = l > 0 ? DACT(m, l, s) : NULL, w, b, dw, db;
    switch (L->kind) {
    case NN_DENSE:
        nn_views(m, l, &w, &b, &dw, &db);
        return dag_nn_dense_backward(&m->ex, x, &w, dy, dx, &dw, &db, acc);
    case NN_CONV:
        nn_views(m, l, &w, &b, &dw, &db);
        return dag_nn_conv2d_backward(&m->ex, x, &w, dy, dx, &dw, &db, &m->scratch[l],
                                      L->stride, L->pad, acc);
    default:
        if (!dx) return DAG_OK;
        if (L->kind == NN_POOL) return dag_nn_maxpool_backward(&m->ex, x, y, dy, dx, L->k);
        if (L->kind == NN_RELU) return dag_nn_relu_backward(&m->ex, y, dy, dx);
        return dag_nn_dropout_backward(&m->ex, dy, dx, L->p, nn_drop_seed(m, l), first);
    }
}

/* a unit: a fused block (m->blk[l] layers) or one layer */
static dag_status_t forward_unit(dag_nn_model_t *m, int l, int s, int train, long first) {
    if (m->fused && (m->L[l].kind == NN_DENSE || m->L[l].kind == NN_CONV))
        return nn_block_forward(m, l, s, train, first);
    return forward_layer(m, l, s, train, first);
}
static dag_status_t backward_unit(dag_nn_model_t *m, int l, int s, int acc, long first) {
    if (m->fused && (m->L[l].kind == NN_DENSE || m->L[l].kind == NN_CONV))
        return nn_block_backward(m, l, s, acc, first, 0, 0);
    return backward_layer(m, l, s, acc, first);
}
/* the forward pass of slot s through the layers of `stage` (-1: all) */
static dag_status_t forward_units(dag_nn_model_t *m, int s, int stage, int train, long first) {
    dag_status_t st = DAG_OK;
    for (int l = 0; !st && l < m->nl; l += m->blk[l])
        if (stage < 0 || m->L[l].stage == stage) st = forward_unit(m, l, s, train, first);
    return st;
}

static dag_status_t update_bucket(dag_nn_model_t *m, nn_group_t *g, int b) {
    size_t o = g->bucket_off[b], n = g->bucket_off[b + 1] - o;
    /* fused (GPU): one kernel over the bucket's flat parameters; else 64 Ki per task */
    return nn_opt_submit(&m->ex, &m->cfg.opt, g->p.data + o, g->g.data + o, g->m.data + o,
                         g->v.data + o, n, m->step + 1, m->fused ? 0 : (size_t)1 << 16);
}

static dag_status_t step_data_parallel(dag_nn_model_t *m, const float *x, const int32_t *labels,
                                       const int32_t *idx) {
    dag_status_t st;
    long first = m->step * m->cfg.batch + (long)m->rank * m->rows;
    const int32_t *mine = idx + (m->replicas > 1 ? (size_t)m->rank * m->rows : 0);
    use_input(m, !m->flip);
    if ((st = gather(m, 0, x, labels, mine, m->rows, 1, 1))) return st;
    if ((st = forward_units(m, 0, -1, 1, first))) return st;
    if ((st = dag_nn_softmax_xent(&m->ex, ACT(m, m->nl, 0), (int32_t *)m->labels[0].data,
                                  m->rows, 1.0f / (float)m->cfg.batch, DACT(m, m->nl, 0),
                                  m->acc.data)))
        return st;
    nn_group_t *g = &m->grp[0];
    int b = 0;
    for (int l = m->nl - 1; l >= 0; l--) {
        if (!m->blk[l]) continue; /* inside a fused block */
        int ends = b < g->nbuckets && g->bucket_last_layer[b] == l;
        if (ends && m->fused && !nn_exchanging(m)) {
            /* fused, nothing to exchange: the bucket's optimiser step is the end of the
             * backward task that completes it (one task less per bucket) */
            if ((st = nn_block_backward(m, l, 0, 0, first, 1, m->step + 1))) return st;
            b++;
            continue;
        }
        if ((st = backward_unit(m, l, 0, 0, first))) return st;
        if (ends) {
            /* every gradient of bucket b is now produced by submitted tasks: reduce it and
             * update its parameters while the backward pass goes on */
            if (nn_exchanging(m)) {
                size_t o = g->bucket_off[b];
                st = nn_exchange(m, g->g.data + o, g->bucket_off[b + 1] - o,
                                 b == g->nbuckets - 1);
                if (st) return st;
            }
            if ((st = update_bucket(m, g, b))) return st;
            b++;
        }
    }
    return DAG_OK;
}

/* 1F1B: stage s runs min(S-s-1, M) forwards, then alternates one backward, one forward,
 * then the remaining backwards. The ops of every stage are merged into one submission
 * order in which each op comes after the ops it needs, so the replicated flow is a valid
 * sequential program; activation slots (m mod slots) are then safe to reuse. */
static dag_status_t step_pipeline(dag_nn_model_t *m, const float *x, const int32_t *labels,
                                  const int32_t *idx) {
    int S = m->stages, M = m->mb;
    int *pos = calloc((size_t)S, sizeof(int)), *nf = calloc((size_t)S, sizeof(int));
    int *nbk = calloc((size_t)S, sizeof(int));
    int *ops = malloc(sizeof(int) * (size_t)S * 2 * M); /* +m+1: forward, -(m+1): backward */
    dag_status_t st = DAG_OK;
    if (!pos || !nf || !nbk || !ops) {
        st = DAG_ERR_NOMEM;
        goto out;
    }
    for (int s = 0; s < S; s++) {
        int warm = S - s - 1 < M ? S - s - 1 : M, k = 0, f = 0, bk = 0;
        int *o = ops + (size_t)s * 2 * M;
        for (; f < warm; f++) o[k++] = f + 1;
        while (bk < M) {
            if (f < M) o[k++] = ++f;
            o[k++] = -(++bk);
        }
    }
    for (int done = 0; done < S * 2 * M;) {
        int progress = 0;
        for (int s = 0; s < S; s++) {
            if (pos[s] == 2 * M) continue;
            int op = ops[(size_t)s * 2 * M + pos[s]];
            int mi = (op > 0 ? op : -op) - 1, slot = mi % m->slots;
            long first = m->step * m->cfg.batch + (long)mi * m->rows;
            if (op > 0) {
                if (s > 0 && nf[s - 1] <= mi) continue;
                if (s == 0 || s == S - 1)
                    st = gather(m, slot, x, labels, idx + (size_t)mi * m->rows, m->rows, s == 0,
                                s == S - 1);
                if (!st) st = forward_units(m, slot, s, 1, first);
                if (!st && s == S - 1)
                    st = dag_nn_softmax_xent(&m->ex, ACT(m, m->nl, slot),
                                             (int32_t *)m->labels[slot].data, m->rows,
                                             1.0f / (float)m->cfg.batch, DACT(m, m->nl, slot),
                                             m->acc.data);
                nf[s]++;
            } else {
                if (s < S - 1 && nbk[s + 1] <= mi) continue;
                for (int l = m->nl - 1; !st && l >= 0; l--)
                    if (m->blk[l] && m->L[l].stage == s)
                        st = backward_unit(m, l, slot, mi > 0, first);
                nbk[s]++;
            }
            if (st) goto out;
            pos[s]++, done++, progress = 1;
        }
        if (!progress) {
            st = DAG_ERR_STATE; /* cannot happen for a 1F1B schedule */
            goto out;
        }
    }
    for (int s = 0; s < S && !st; s++)
        for (int b = 0; b < m->grp[s].nbuckets && !st; b++) st = update_bucket(m, &m->grp[s], b);
out:
    free(pos), free(nf), free(nbk), free(ops);
    return st;
}

/* register (on) or forget a data set's samples and labels with the GPU; registering is
 * all or nothing */
static dag_status_t pin_data(const dag_nn_model_t *m, const float *x, const int32_t *labels,
                             long n, int on) {
    size_t xbytes = sizeof(float) * (size_t)m->cfg.c * m->cfg.h * m->cfg.w * (size_t)n;
    dag_status_t st = nn_cuda.pin((void *)x, xbytes, on);
    if (st && on) return st;
    dag_status_t r = nn_cuda.pin((void *)labels, sizeof(int32_t) * (size_t)n, on);
    if (r && on) nn_cuda.pin((void *)x, xbytes, 0);
    return st ? st : r;
}

dag_status_t dag_nn_train_data(dag_nn_model_t *m, const float *x, const int32_t *labels,
                               long n) {
    if (!m || ((x || labels || n) && (!x || !labels || n <= 0))) return DAG_ERR_INVALID;
    if (!m->built) return DAG_ERR_STATE;
    if (x == m->data_x && labels == m->data_lab && n == m->data_n) return DAG_OK;
    dag_status_t st = dag_taskwait(), r;
    if (m->data_x) { /* the earlier set's registrations (never written: nothing goes home) */
        if ((r = pin_data(m, m->data_x, m->data_lab, m->data_n, 0)) && !st) st = r;
        m->data_x = NULL, m->data_lab = NULL, m->data_n = 0;
    }
    /* only the GPU path gathers elsewhere than on the host; data-parallel steps only;
     * a refused registration is no error (an optimisation only: the host gathers) */
    if (st || !x || !m->pinned || m->cfg.parallel == DAG_NN_PIPELINE ||
        pin_data(m, x, labels, n, 1))
        return st;
    m->data_x = x, m->data_lab = labels, m->data_n = n;
    return DAG_OK;
}

static int k_token(void *p) {
    (void)p;
    return 0;
}

/* the step's completion token as a task of its own, after the step's optimiser tasks: its
 * parameters, bucket by bucket (the ranges the fused path uses: a range over several
 * buckets would be another region on a GPU, brought up to date through the host) */
static dag_status_t step_token(dag_nn_model_t *m, dag_dep_t t) {
    nn_group_t *g = &m->grp[0];
    dag_dep_t d[NN_MAX_LAYERS + 1] = {t};
    for (int b = 0; b < g->nbuckets; b++)
        d[b + 1] = (dag_dep_t){g->p.data + g->bucket_off[b],
                               sizeof(float) * (g->bucket_off[b + 1] - g->bucket_off[b]),
                               DAG_IN};
    dag_task_attr_t at = {.label = "nn.step.done"};
    /* on the GPU when the parameters are there: a CPU token would bring them home */
    if (m->ex.device != DAG_DEVICE_CPU && nn_cuda.noop) at.cuda = nn_cuda.noop;
    at.device = at.cuda ? m->ex.device : DAG_DEVICE_CPU;
    return dag_submit(k_token, NULL, 0, d, (size_t)g->nbuckets + 1, &at);
}

dag_status_t dag_nn_train_step(dag_nn_model_t *m, const float *x, const int32_t *labels,
                               const int32_t *idx) {
    if (!m || !x || !labels || !idx) return DAG_ERR_INVALID;
    if (!m->built) return DAG_ERR_STATE;
    dag_status_t st;
    char *tok = m->token[m->step % m->inflight];
    if (m->cfg.parallel == DAG_NN_PIPELINE) {
        if ((st = step_pipeline(m, x, labels, idx))) return st;
        st = dag_taskwait(); /* 1F1B flushes the pipeline at every step anyway */
    } else {
        /* at most m->inflight steps in flight: wait for the step that many steps back */
        /* read, not written, by the wait: on a GPU the token then stays valid on the
         * device too, and the next step need not copy it back in */
        dag_dep_t t = {tok, 1, DAG_IN};
        double t0 = m->stats ? nn_now_ms() : 0;
        if ((st = dag_taskwait_deps(&t, 1))) return st;
        double t1 = m->stats ? nn_now_ms() : 0;
        t.mode = DAG_INOUT; /* the new step's token */
        int chain = nn_chained(m);
        if (chain) nn_chain_begin(&m->rec, &m->ex, m->chain == 2, "nn.step");
        st = step_data_parallel(m, x, labels, idx);
        /* a step that is one chained task carries the token itself (one task less) */
        int merged = 0;
        dag_status_t sc = !chain ? DAG_OK
                          : st || m->token_task ? nn_chain_end()
                                                : nn_chain_end_with(&t, &merged);
        if (st || (st = sc)) return st;
        if (!merged) st = step_token(m, t);
        if (m->stats) m->t_wait += t1 - t0, m->t_submit += nn_now_ms() - t1;
    }
    m->step++;
    m->samples_since += m->cfg.batch;
    return st;
}

static int k_zero2(void *p) {
    float *a = *(float **)p;
    a[0] = a[1] = 0;
    return 0;
}

/* sum an accumulator over the ranks, read it on every rank, then reset it (by a task, so
 * the owner's copy stays the current one in distributed runs) */
static dag_status_t collect(dag_nn_model_t *m, dag_nn_tensor_t *acc, double *v0, double *v1) {
    dag_status_t st;
    if (nn_exchanging(m) && (st = nn_exchange(m, acc->data, 2, 0))) return st;
    if (acc->owner >= 0 && (st = dag_dist_fetch(acc->data, 2 * sizeof(float), -1))) return st;
    if ((st = dag_taskwait())) return st;
    *v0 = acc->data[0], *v1 = acc->data[1];
    dag_dep_t d = {acc->data, 2 * sizeof(float), DAG_INOUT};
    dag_task_attr_t at = {.label = "nn.acc.reset"};
    return dag_submit(k_zero2, &acc->data, sizeof acc->data, &d, 1, &at);
}

dag_status_t dag_nn_train_metrics(dag_nn_model_t *m, double *loss, double *accuracy) {
    if (!m || !m->built) return m ? DAG_ERR_STATE : DAG_ERR_INVALID;
    double l, c;
    dag_status_t st = collect(m, &m->acc, &l, &c);
    if (st) return st;
    double n = (double)(m->samples_since ? m->samples_since : 1);
    if (loss) *loss = l / n;
    if (accuracy) *accuracy = c / n;
    m->samples_since = 0;
    return DAG_OK;
}

dag_status_t dag_nn_evaluate(dag_nn_model_t *m, const float *x, const int32_t *labels, int n,
                             double *loss, double *accuracy) {
    if (!m || !x || !labels || n <= 0) return DAG_ERR_INVALID;
    if (!m->built) return DAG_ERR_STATE;
    dag_status_t st = DAG_OK;
    int rows = m->rows, chunks = (n + rows - 1) / rows;
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)rows);
    if (!idx) return DAG_ERR_NOMEM;
    if (m->cfg.parallel == DAG_NN_PIPELINE) {
        /* forward passes only; a slot is reused once the last stage has read it */
        for (int c = 0; c < chunks && !st; c++) {
            int s = c % m->slots, valid = n - c * rows < rows ? n - c * rows : rows;
            for (int r = 0; r < valid; r++) idx[r] = c * rows + r;
            st = gather(m, s, x, labels, idx, valid, 1, 1);
            if (!st) st = forward_units(m, s, -1, 0, 0);
            if (!st)
                st = dag_nn_softmax_xent(&m->ex, ACT(m, m->nl, s), (int32_t *)m->labels[s].data,
                                         valid, 0.0f, DACT(m, m->nl, s), m->eval_acc.data);
        }
    } else {
        /* rank r takes chunks r, r + N, ...; every rank submits the same number of them */
        int per = (chunks + m->replicas - 1) / m->replicas;
        for (int k = 0; k < per && !st; k++) {
            int c = k * m->replicas + (m->replicas > 1 ? m->rank : 0);
            int valid = c < chunks ? (n - c * rows < rows ? n - c * rows : rows) : 0;
            for (int r = 0; r < rows; r++) idx[r] = r < valid ? c * rows + r : 0;
            use_input(m, !m->flip);
            int chain = nn_chained(m);
            if (chain) nn_chain_begin(&m->rec, &m->ex, m->chain == 2, "nn.eval");
            st = gather(m, 0, x, labels, idx, valid, 1, 1);
            if (!st) st = forward_units(m, 0, -1, 0, 0);
            if (!st)
                st = dag_nn_softmax_xent(&m->ex, ACT(m, m->nl, 0), (int32_t *)m->labels[0].data,
                                         valid, 0.0f, DACT(m, m->nl, 0), m->eval_acc.data);
            dag_status_t sc = chain ? nn_chain_end() : DAG_OK;
            if (!st) st = sc;
        }
    }
    free(idx);
    if (st) return st;
    double l, c;
    if ((st = collect(m, &m->eval_acc, &l, &c))) return st;
    if (loss) *loss = l / n;
    if (accuracy) *accuracy = c / n;
    return dag_taskwait();
}

dag_status_t dag_nn_comm_stats(dag_nn_model_t *m, dag_nn_comm_stats_t *out) {
    if (!m || !out) return DAG_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->buckets = m->grp[0].nbuckets;
    if (!nn_exchanging(m)) return DAG_OK;
    dag_status_t st = dag_taskwait();
    double ms = 0;
    long n = 0;
    nn_exchange_stats(m, &ms, &n);
    out->steps = n;
    out->exposed_ms = n ? ms / (double)n : 0;
    return st;
}
