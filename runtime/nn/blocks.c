/* blocks.c: fused blocks, the GPU path of a model. A dense or conv layer, the ReLU after it
 * and a dropout (dense) or max-pooling (conv) after that run as one forward task and one
 * backward task over the whole batch (nn_blk_t; bodies in kernels.c and cuda.cu), so a
 * step of the MLP is 3 forward + 1 loss + 3 backward tasks instead of about 20 (plus one
 * optimiser task per bucket). The arithmetic is the layers' own: a fused model follows
 * the same loss curve as an unfused one (tests/nn/test_train.c compares them). */
#include <stdlib.h>
#include <string.h>

#include "nn_model.h"

void nn_blocks_plan(dag_nn_model_t *m) {
    const char *e = getenv("DAG_NN_FUSE");
    int gpu = m->ex.device != DAG_DEVICE_CPU && nn_cuda.devices && nn_cuda.devices() > 0;
    int f = e && *e ? atoi(e) != 0 : gpu;
    m->fused = f;
    /* one GPU, nothing exchanged: a fused step is a chain, submitted as one task (chain.c);
     * DAG_NN_CHAIN=0 never, =1 whenever the model is fused (also on CPUs: tests) */
    const char *c = getenv("DAG_NN_CHAIN");
    m->chain = c && *c ? (f && atoi(c) != 0 ? 2 : 0) : f && gpu;
    for (int l = 0; l < m->nl; l++) m->blk[l] = 1;
    if (!f) return;
    for (int l = 0; l < m->nl;) {
        nn_layer_t *L = &m->L[l];
        int k = 1;
        if (L->kind == NN_DENSE || L->kind == NN_CONV) {
            if (l + k < m->nl && m->L[l + k].kind == NN_RELU && m->L[l + k].stage == L->stage) k++;
            int tail = L->kind == NN_DENSE ? NN_DROPOUT : NN_POOL;
            if (l + k < m->nl && m->L[l + k].kind == tail && m->L[l + k].stage == L->stage) k++;
        }
        m->blk[l] = k;
        for (int j = 1; j < k; j++) m->blk[l + j] = 0;
        l += k;
    }
}

/* the argument block of the unit starting at l (slot s) */
static void describe(dag_nn_model_t *m, int l, int s, nn_blk_t *A, int *relu, int *tail) {
    nn_layer_t *L = &m->L[l];
    int k = m->blk[l];
    *relu = k > 1 && m->L[l + 1].kind == NN_RELU;
    *tail = k > 1 + *relu ? (m->L[l + 1 + *relu].kind == NN_DROPOUT ? NN_TAIL_DROPOUT
                                                                     : NN_TAIL_POOL)
                          : NN_TAIL_NONE;
    dag_nn_tensor_t w, b, dw, db;
    nn_views(m, l, &w, &b, &dw, &db);
    memset(A, 0, sizeof *A);
    A->x = ACT(m, l, s)->data;
    A->w = w.data, A->b = b.data, A->dw = dw.data, A->db = db.data;
    A->a = ACT(m, l + 1 + *relu, s)->data;
    A->o = *tail ? ACT(m, l + k, s)->data : NULL;
    A->conv = L->kind == NN_CONV, A->relu = *relu, A->tail = *tail;
    A->rows = m->rows;
    A->out = L->out;
    A->in = (int)(L->nw / (size_t)L->out);
    if (A->conv)
        A->s = (nn_conv_shape_t){L->ic, L->ih, L->iw, L->out, L->k, L->stride, L->pad, L->h, L->w};
    if (*tail == NN_TAIL_POOL) A->pool_k = m->L[l + 1 + *relu].k;
    if (*tail == NN_TAIL_DROPOUT) {
        A->p = m->L[l + 1 + *relu].p;
        A->seed = nn_drop_seed(m, l + 1 + *relu);
    }
}

static dag_dep_t whole(const dag_nn_tensor_t *t, unsigned mode) {
    return (dag_dep_t){t->data, sizeof(float) * dag_nn_tensor_numel(t), mode};
}

/* The whole gradient bucket holding layer l's parameters, in the flat array `base` (the
 * group's parameters or gradients). Every task of the fused path names a bucket's
 * parameters and gradients by this one range (the all-reduce and the optimiser do too),
 * so the GPU keeps each as one region: ranges that only overlapped would be separate
 * device copies, made coherent through the host at every step. */
static dag_dep_t bucket_dep(dag_nn_model_t *m, int l, float *base, unsigned mode) {
    nn_group_t *g = &m->grp[m->L[l].stage];
    int b = 0;
    while (b + 1 < g->nbuckets && g->bucket_off[b + 1] <= m->L[l].off) b++;
    size_t o = g->bucket_off[b];
    return (dag_dep_t){base + o, sizeof(float) * (g->bucket_off[b + 1] - o), mode};
}

dag_status_t nn_block_forward(dag_nn_model_t *m, int l, int s, int train, long first) {
    nn_blk_t A;
    int relu, tail;
    describe(m, l, s, &A, &relu, &tail);
    if (!train) A.p = 0.0f;
    A.first = first;
    nn_group_t *g = &m->grp[m->L[l].stage];
    dag_dep_t d[4];
    size_t nd = 0;
    d[nd++] = whole(ACT(m, l + 1 + relu, s), DAG_OUT);
    if (tail) d[nd++] = whole(ACT(m, l + m->blk[l], s), DAG_OUT);
    d[nd++] = whole(ACT(m, l, s), DAG_IN);
    d[nd++] = bucket_dep(m, l, g->p.data, DAG_IN); /* w and b */
    return nn_submit(nn_k_blk_fwd, nn_cuda.blk_fwd, &A, sizeof A, d, nd, &m->ex, "nn.blk.fwd");
}

dag_status_t nn_block_backward(dag_nn_model_t *m, int l, int s, int acc, long first,
                               int update, long t) {
    nn_blk_t A;
    int relu, tail, k = m->blk[l];
    describe(m, l, s, &A, &relu, &tail);
    A.first = first;
    A.accumulate = acc;
    nn_group_t *g = &m->grp[m->L[l].stage];
    dag_nn_tensor_t *dout = DACT(m, l + k, s);
    A.dout = dout->data;
    A.dz = k > 1 ? DACT(m, l + 1, s)->data : NULL;
    A.dx = l > 0 ? DACT(m, l, s)->data : NULL;
    dag_dep_t d[10];
    size_t nd = 0;
    /* the weight gradients first: they feed the bucket's all-reduce. dw and db are part of
     * the bucket (inout: the other layers' parts stay as they are) */
    d[nd++] = bucket_dep(m, l, g->g.data, DAG_INOUT);
    dag_dep_t pb = bucket_dep(m, l, g->p.data, update ? DAG_INOUT : DAG_IN); /* w */
    if (update) { /* then the optimiser step of the whole bucket */
        size_t o = (size_t)((float *)pb.addr - g->p.data), n = pb.len / sizeof(float);
        A.update = 1;
        A.upd = (nn_opt_t){g->p.data + o, g->g.data + o, g->m.data + o, g->v.data + o, n, t,
                           m->cfg.opt};
        nn_opt_defaults(&A.upd.opt);
        d[nd++] = (dag_dep_t){A.upd.m, pb.len, DAG_INOUT};
        d[nd++] = (dag_dep_t){A.upd.v, pb.len, DAG_INOUT};
    }
    if (A.dx) d[nd++] = whole(DACT(m, l, s), DAG_OUT);
    if (A.dz) d[nd++] = whole(DACT(m, l + 1, s), DAG_OUT);
    d[nd++] = whole(dout, DAG_IN);
    d[nd++] = whole(ACT(m, l, s), DAG_IN);
    d[nd++] = pb;
    if (relu || tail == NN_TAIL_POOL) d[nd++] = whole(ACT(m, l + 1 + relu, s), DAG_IN);
    if (tail == NN_TAIL_POOL) d[nd++] = whole(ACT(m, l + k, s), DAG_IN);
    return nn_submit(nn_k_blk_bwd, nn_cuda.blk_bwd, &A, sizeof A, d, nd, &m->ex, "nn.blk.bwd");
}

int dag_nn_model_fused(const dag_nn_model_t *m) { return m && m->built ? m->fused : 0; }
int nn_chained(const dag_nn_model_t *m) { return m->chain && !nn_exchanging(m); }
int dag_nn_model_chained(const dag_nn_model_t *m) { return m && m->built && nn_chained(m); }
