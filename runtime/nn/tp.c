/* tp.c: the tensor-parallel dense layer. The output features are split into parts, part p
 * on rank p mod N: its weight rows, bias, gradients, output slice and input-gradient
 * partial are tensors owned by that rank, so its GEMM tasks run there. Every transfer is
 * inferred by the runtime: x goes to every part's rank (broadcast tree), the output
 * slices come to the owner of y (gather), dy's slices go out, and the partial input
 * gradients come to the owner of dx (reduce). */
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#define TILE(i, T, n) ((int)((long)(n) * (i) / (T)))

typedef struct {
    float *dst; const float *src; int rows, cols, ld_full, c0, to_full;
} nn_slice_t;

/* to_full: full[:, c0:c0+cols] = part; else part = full[:, c0:c0+cols] */
static int k_slice(void *p) {
    nn_slice_t *a = p;
    for (int r = 0; r < a->rows; r++) {
        if (a->to_full)
            memcpy(a->dst + (size_t)r * a->ld_full + a->c0, a->src + (size_t)r * a->cols,
                   sizeof(float) * (size_t)a->cols);
        else
            memcpy(a->dst + (size_t)r * a->cols, a->src + (size_t)r * a->ld_full + a->c0,
                   sizeof(float) * (size_t)a->cols);
    }
    return 0;
}

typedef struct { float *dst; int parts; size_t n; const float *s[64]; } nn_reduce_t;

static int k_reduce(void *p) {
    nn_reduce_t *a = p;
    memcpy(a->dst, a->s[0], sizeof(float) * a->n);
    for (int q = 1; q < a->parts; q++)
        for (size_t i = 0; i < a->n; i++) a->dst[i] += a->s[q][i];
    return 0;
}

static void tp_free(dag_nn_tp_dense_t *t) {
    dag_nn_tensor_t *arrs[] = {t->w, t->b, t->dw, t->db, t->y, t->dy, t->dx};
    for (int k = 0; k < 7; k++) {
        for (int p = 0; arrs[k] && p < t->parts; p++) dag_nn_tensor_free(&arrs[k][p]);
        free(arrs[k]);
    }
    memset(t, 0, sizeof *t);
}

dag_status_t dag_nn_tp_dense_create(dag_nn_tp_dense_t *t, int parts, int batch, int in, int out,
                                    uint64_t seed) {
    if (!t || parts < 1 || parts > 64 || batch < 1 || in < 1 || out < parts) return DAG_ERR_INVALID;
    memset(t, 0, sizeof *t);
    t->parts = parts, t->batch = batch, t->in = in, t->out = out;
    dag_nn_tensor_t **arrs[] = {&t->w, &t->b, &t->dw, &t->db, &t->y, &t->dy, &t->dx};
    for (int k = 0; k < 7; k++)
        if (!(*arrs[k] = calloc((size_t)parts, sizeof(dag_nn_tensor_t)))) {
            tp_free(t);
            return DAG_ERR_NOMEM;
        }
    dag_status_t st = DAG_OK;
    for (int p = 0; p < parts && !st; p++) {
        int rows = TILE(p + 1, parts, out) - TILE(p, parts, out);
        if ((st = dag_nn_tensor_alloc(&t->w[p], rows, in, 1, 1, p)) ||
            (st = dag_nn_tensor_alloc(&t->b[p], 1, rows, 1, 1, p)) ||
            (st = dag_nn_tensor_alloc(&t->dw[p], rows, in, 1, 1, p)) ||
            (st = dag_nn_tensor_alloc(&t->db[p], 1, rows, 1, 1, p)) ||
            (st = dag_nn_tensor_alloc(&t->y[p], batch, rows, 1, 1, p)) ||
            (st = dag_nn_tensor_alloc(&t->dy[p], batch, rows, 1, 1, p)) ||
            (st = dag_nn_tensor_alloc(&t->dx[p], batch, in, 1, 1, p)))
            break;
        /* part p: rows [out*p/parts, out*(p+1)/parts) of W, from its own seed */
        st = dag_nn_tensor_init(&t->w[p], DAG_NN_INIT_HE_UNIFORM, in, nn_mix(seed + (uint64_t)p));
    }
    if (st) tp_free(t);
    return st;
}

void dag_nn_tp_dense_destroy(dag_nn_tp_dense_t *t) {
    if (t) tp_free(t);
}

static dag_status_t slice(dag_nn_tensor_t *full, dag_nn_tensor_t *part, int c0, int to_full) {
    nn_slice_t a = {to_full ? full->data : part->data, to_full ? part->data : full->data,
                    part->n, part->c, full->c, c0, to_full};
    size_t fb = sizeof(float) * dag_nn_tensor_numel(full), pb = sizeof(float) * dag_nn_tensor_numel(part);
    /* the part is written first when it is the output, so the task runs on its owner */
    dag_dep_t d[2];
    if (to_full)
        d[0] = (dag_dep_t){full->data, fb, DAG_INOUT}, d[1] = (dag_dep_t){part->data, pb, DAG_IN};
    else
        d[0] = (dag_dep_t){part->data, pb, DAG_OUT}, d[1] = (dag_dep_t){full->data, fb, DAG_IN};
    dag_nn_exec_t cpu = {1, DAG_DEVICE_CPU, 0};
    return nn_submit(k_slice, NULL, &a, sizeof a, d, 2, &cpu, to_full ? "nn.tp.gather" : "nn.tp.split");
}

dag_status_t dag_nn_tp_dense_forward(const dag_nn_exec_t *ex, dag_nn_tp_dense_t *t,
                                     const dag_nn_tensor_t *x, dag_nn_tensor_t *y) {
    if (!t || !x || !y || x->n != t->batch || (int)(dag_nn_tensor_numel(x) / (size_t)x->n) != t->in ||
        y->n != t->batch || (int)(dag_nn_tensor_numel(y) / (size_t)y->n) != t->out)
        return DAG_ERR_INVALID;
    dag_status_t st;
    dag_nn_tensor_t yf = *y;
    yf.c = t->out, yf.h = yf.w = 1;
    for (int p = 0; p < t->parts; p++) {
        dag_nn_tensor_t w = t->w[p];
        if ((st = dag_nn_dense_forward(ex, x, &w, &t->b[p], &t->y[p]))) return st;
    }
    for (int p = 0; p < t->parts; p++)
        if ((st = slice(&yf, &t->y[p], TILE(p, t->parts, t->out), 1))) return st;
    return DAG_OK;
}

dag_status_t dag_nn_tp_dense_backward(const dag_nn_exec_t *ex, dag_nn_tp_dense_t *t,
                                      const dag_nn_tensor_t *x, const dag_nn_tensor_t *dy,
                                      dag_nn_tensor_t *dx) {
    if (!t || !x || !dy || x->n != t->batch || dy->n != t->batch ||
        (int)(dag_nn_tensor_numel(dy) / (size_t)dy->n) != t->out ||
        (dx && dag_nn_tensor_numel(dx) != dag_nn_tensor_numel(x)))
        return DAG_ERR_INVALID;
    dag_status_t st;
    dag_nn_tensor_t dyf = *dy;
    dyf.c = t->out, dyf.h = dyf.w = 1;
    for (int p = 0; p < t->parts; p++) {
        if ((st = slice(&dyf, &t->dy[p], TILE(p, t->parts, t->out), 0))) return st;
        if ((st = dag_nn_dense_backward(ex, x, &t->w[p], &t->dy[p], dx ? &t->dx[p] : NULL,
                                        &t->dw[p], &t->db[p], 0)))
            return st;
    }
    if (!dx) return DAG_OK;
    nn_reduce_t a = {dx->data, t->parts, dag_nn_tensor_numel(dx), {0}};
    dag_dep_t d[65];
    d[0] = (dag_dep_t){dx->data, sizeof(float) * a.n, DAG_OUT};
    for (int p = 0; p < t->parts; p++) {
        a.s[p] = t->dx[p].data;
        d[p + 1] = (dag_dep_t){t->dx[p].data, sizeof(float) * a.n, DAG_IN};
    }
    dag_nn_exec_t cpu = {1, DAG_DEVICE_CPU, 0};
    return nn_submit(k_reduce, NULL, &a, sizeof a, d, (size_t)t->parts + 1, &cpu, "nn.tp.reduce");
}
