/* layers.c: tensors and the layer operations of dag/nn.h. Each operation splits its work
 * into tiles and submits one task per tile whose dependencies name exactly the rows it
 * reads and writes; the kernels are in kernels.c (CPU) and cuda.cu (CUDA variants). */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dag/dist.h"
#include "nn_internal.h"

#define ROW(t) ((size_t)(t)->c * (t)->h * (t)->w)

size_t dag_nn_tensor_numel(const dag_nn_tensor_t *t) {
    return t ? (size_t)t->n * ROW(t) : 0;
}

dag_status_t dag_nn_tensor_alloc(dag_nn_tensor_t *t, int n, int c, int h, int w, int owner) {
    if (!t || n <= 0 || c <= 0 || h <= 0 || w <= 0) return DAG_ERR_INVALID;
    memset(t, 0, sizeof *t);
    size_t bytes = sizeof(float) * (size_t)n * c * h * w;
    size_t rounded = (bytes + 4095) & ~(size_t)4095;
    float *d = aligned_alloc(4096, rounded);
    if (!d) return DAG_ERR_NOMEM;
    memset(d, 0, rounded);
    *t = (dag_nn_tensor_t){d, n, c, h, w, -1};
    if (owner >= 0) {
        dag_status_t st = dag_dist_register(d, bytes, owner % dag_nranks());
        if (st != DAG_OK) {
            free(d);
            t->data = NULL;
            return st;
        }
        t->owner = owner % dag_nranks();
    }
    return DAG_OK;
}

void dag_nn_tensor_free(dag_nn_tensor_t *t) {
    if (!t || !t->data) return;
    if (t->owner >= 0) dag_dist_unregister(t->data);
    free(t->data);
    t->data = NULL;
}

int nn_tiles(const dag_nn_exec_t *ex, int rows) {
    int t = ex && ex->tiles > 0 ? ex->tiles : dag_num_threads();
    if (t > rows) t = rows;
    return t < 1 ? 1 : t;
}

/* OpenBLAS runs single-threaded inside tasks: the tiles' tasks are the parallelism */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void) { openblas_set_num_threads(1); }

dag_status_t nn_submit(dag_task_fn fn, nn_cuda_fn cu, const void *args, size_t size,
                       const dag_dep_t *deps, size_t ndeps, const dag_nn_exec_t *ex,
                       const char *label) {
    pthread_once(&blas_once, blas_single);
    dag_task_attr_t at = {0};
    at.label = label;
    at.file = __FILE__;
    int dev = ex ? ex->device : DAG_DEVICE_ANY;
    at.priority = ex ? ex->priority : 0;
    if (dev == DAG_DEVICE_CUDA && !cu) return DAG_ERR_UNSUPPORTED;
    dag_status_t st;
    if (nn_chain_take(fn, cu, args, size, deps, ndeps, ex, &st)) return st; /* chain.c */
    if (dev != DAG_DEVICE_CPU && cu) at.cuda = cu;
    at.device = dev;
    return dag_submit(fn, args, size, deps, ndeps, &at);
}

static dag_dep_t rows_dep(const dag_nn_tensor_t *t, int r0, int r1, unsigned mode) {
    return (dag_dep_t){t->data + (size_t)r0 * ROW(t), sizeof(float) * (size_t)(r1 - r0) * ROW(t),
                       mode};
}
static dag_dep_t all_dep(const dag_nn_tensor_t *t, unsigned mode) {
    return rows_dep(t, 0, t->n, mode);
}
#define TILE(i, T, n) ((int)((long)(n) * (i) / (T)))

dag_status_t dag_nn_tensor_init(dag_nn_tensor_t *t, dag_nn_init_t kind, int fan_in,
                                uint64_t seed) {
    if (!t || !t->data) return DAG_ERR_INVALID;
    nn_init_t a = {t->data, dag_nn_tensor_numel(t), (int)kind, fan_in, seed};
    dag_dep_t d = all_dep(t, DAG_OUT);
    dag_nn_exec_t cpu = {1, DAG_DEVICE_CPU, 0};
    return nn_submit(nn_k_init, NULL, &a, sizeof a, &d, 1, &cpu, "nn.init");
}

/* a forward task of rows [r0, r1): writes those rows of y from the same rows of x, the
 * weights w and the bias b */
static dag_status_t submit_fwd(dag_task_fn fn, nn_cuda_fn cu, const void *args, size_t size,
                               const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                               const dag_nn_tensor_t *w, const dag_nn_tensor_t *b,
                               const dag_nn_tensor_t *y, int r0, int r1, const char *name) {
    dag_dep_t d[] = {rows_dep(y, r0, r1, DAG_OUT), rows_dep(x, r0, r1, DAG_IN),
                     all_dep(w, DAG_IN), all_dep(b, DAG_IN)};
    return nn_submit(fn, cu, args, size, d, 4, ex, name);
}

dag_status_t dag_nn_dense_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                  const dag_nn_tensor_t *w, const dag_nn_tensor_t *b,
                                  dag_nn_tensor_t *y) {
    if (!x || !w || !b || !y || w->n != y->c || (size_t)w->c * w->h * w->w != ROW(x) ||
        x->n != y->n || (int)dag_nn_tensor_numel(b) != w->n)
        return DAG_ERR_INVALID;
    int T = nn_tiles(ex, x->n);
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, x->n), r1 = TILE(i + 1, T, x->n);
        nn_dense_fwd_t a = {x->data + r0 * ROW(x), w->data, b->data, y->data + r0 * ROW(y),
                            r1 - r0, (int)ROW(x), w->n};
        dag_status_t st = submit_fwd(nn_k_dense_fwd, nn_cuda.dense_fwd, &a, sizeof a, ex, x, w,
                                     b, y, r0, r1, "nn.dense.fwd");
        if (st) return st;
    }
    return DAG_OK;
}

dag_status_t dag_nn_dense_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                   const dag_nn_tensor_t *w, const dag_nn_tensor_t *dy,
                                   dag_nn_tensor_t *dx, dag_nn_tensor_t *dw,
                                   dag_nn_tensor_t *db, int accumulate) {
    if (!x || !w || !dy || !dw || !db || dy->c != w->n || dy->n != x->n ||
        dag_nn_tensor_numel(dw) != dag_nn_tensor_numel(w) || (int)dag_nn_tensor_numel(db) != w->n)
        return DAG_ERR_INVALID;
    int in = (int)ROW(x), out = w->n;
    int T = nn_tiles(ex, x->n);
    dag_status_t st;
    /* weight gradient first (it feeds the all-reduce), split over output features */
    int To = nn_tiles(ex, out);
    for (int i = 0; i < To; i++) {
        int o0 = TILE(i, To, out), o1 = TILE(i + 1, To, out);
        nn_dense_bwd_w_t a = {dy->data, x->data, dw->data, db->data, x->n, in, out, o0, o1,
                              accumulate};
        unsigned mode = accumulate ? DAG_INOUT : DAG_OUT;
        dag_dep_t d[] = {rows_dep(dw, o0, o1, mode),
                         {db->data + o0, sizeof(float) * (size_t)(o1 - o0), mode},
                         all_dep(dy, DAG_IN), all_dep(x, DAG_IN)};
        if ((st = nn_submit(nn_k_dense_bwd_w, nn_cuda.dense_bwd_w, &a, sizeof a, d, 4, ex,
                            "nn.dense.bwd_w")))
            return st;
    }
    if (!dx) return DAG_OK;
    if (dx->n != x->n || ROW(dx) != ROW(x)) return DAG_ERR_INVALID;
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, x->n), r1 = TILE(i + 1, T, x->n);
        nn_dense_bwd_data_t a = {dy->data + r0 * ROW(dy), w->data, dx->data + r0 * ROW(dx),
                                 r1 - r0, in, out};
        dag_dep_t d[] = {rows_dep(dx, r0, r1, DAG_OUT), rows_dep(dy, r0, r1, DAG_IN),
                         all_dep(w, DAG_IN)};
        if ((st = nn_submit(nn_k_dense_bwd_data, nn_cuda.dense_bwd_data, &a, sizeof a, d, 3, ex,
                            "nn.dense.bwd_x")))
            return st;
    }
    return DAG_OK;
}

static int conv_shape(nn_conv_shape_t *s, const dag_nn_tensor_t *x, const dag_nn_tensor_t *w,
                      int stride, int pad) {
    if (!x || !w || stride <= 0 || pad < 0 || w->h != w->w || w->c != x->c) return -1;
    *s = (nn_conv_shape_t){x->c, x->h, x->w, w->n, w->h, stride, pad, 0, 0};
    s->ho = (x->h + 2 * pad - s->k) / stride + 1;
    s->wo = (x->w + 2 * pad - s->k) / stride + 1;
    return s->ho > 0 && s->wo > 0 ? 0 : -1;
}

dag_status_t dag_nn_conv2d_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                   const dag_nn_tensor_t *w, const dag_nn_tensor_t *b,
                                   dag_nn_tensor_t *y, int stride, int pad) {
    nn_conv_shape_t s;
    if (conv_shape(&s, x, w, stride, pad) || !b || !y || y->n != x->n || y->c != s.cout ||
        y->h != s.ho || y->w != s.wo || (int)dag_nn_tensor_numel(b) != s.cout)
        return DAG_ERR_INVALID;
    int T = nn_tiles(ex, x->n);
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, x->n), r1 = TILE(i + 1, T, x->n);
        nn_conv_fwd_t a = {x->data + r0 * ROW(x), w->data, b->data, y->data + r0 * ROW(y),
                           r1 - r0, s};
        dag_status_t st = submit_fwd(nn_k_conv_fwd, nn_cuda.conv_fwd, &a, sizeof a, ex, x, w, b,
                                     y, r0, r1, "nn.conv.fwd");
        if (st) return st;
    }
    return DAG_OK;
}

dag_status_t dag_nn_conv2d_scratch(dag_nn_tensor_t *scratch, const dag_nn_exec_t *ex,
                                   const dag_nn_tensor_t *x, const dag_nn_tensor_t *w,
                                   int owner) {
    if (!scratch || !x || !w) return DAG_ERR_INVALID;
    size_t per = dag_nn_tensor_numel(w) + (size_t)w->n;
    per = (per + 15) & ~(size_t)15; /* 64-byte aligned tiles */
    return dag_nn_tensor_alloc(scratch, nn_tiles(ex, x->n), (int)per, 1, 1, owner);
}

dag_status_t dag_nn_conv2d_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                    const dag_nn_tensor_t *w, const dag_nn_tensor_t *dy,
                                    dag_nn_tensor_t *dx, dag_nn_tensor_t *dw,
                                    dag_nn_tensor_t *db, dag_nn_tensor_t *scratch, int stride,
                                    int pad, int accumulate) {
    nn_conv_shape_t s;
    if (conv_shape(&s, x, w, stride, pad) || !dy || !dw || !db || !scratch || !scratch->data ||
        dy->n != x->n || dy->c != s.cout || dy->h != s.ho || dy->w != s.wo ||
        dag_nn_tensor_numel(dw) != dag_nn_tensor_numel(w) || (int)dag_nn_tensor_numel(db) != s.cout ||
        ROW(scratch) < dag_nn_tensor_numel(w) + (size_t)s.cout || scratch->n > x->n)
        return DAG_ERR_INVALID;
    if (dx && (dx->n != x->n || ROW(dx) != ROW(x))) return DAG_ERR_INVALID;
    int T = scratch->n;
    dag_status_t st;
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, x->n), r1 = TILE(i + 1, T, x->n);
        nn_conv_bwd_t a = {x->data + r0 * ROW(x), w->data, dy->data + r0 * ROW(dy),
                           dx ? dx->data + r0 * ROW(dx) : NULL, scratch->data + i * ROW(scratch),
                           r1 - r0, s};
        dag_dep_t d[] = {rows_dep(scratch, i, i + 1, DAG_OUT), rows_dep(x, r0, r1, DAG_IN),
                         rows_dep(dy, r0, r1, DAG_IN), all_dep(w, DAG_IN),
                         dx ? rows_dep(dx, r0, r1, DAG_OUT) : (dag_dep_t){0}};
        if ((st = nn_submit(nn_k_conv_bwd, nn_cuda.conv_bwd, &a, sizeof a, d, dx ? 5 : 4, ex,
                            "nn.conv.bwd")))
            return st;
    }
    nn_sum_t a = {scratch->data, dw->data, db->data, T, dag_nn_tensor_numel(w), (size_t)s.cout,
                  ROW(scratch), accumulate};
    unsigned mode = accumulate ? DAG_INOUT : DAG_OUT;
    dag_dep_t d[] = {all_dep(dw, mode), all_dep(db, mode), rows_dep(scratch, 0, T, DAG_IN)};
    return nn_submit(nn_k_sum, nn_cuda.sum, &a, sizeof a, d, 3, ex, "nn.conv.bwd_w");
}

static dag_status_t pool(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                         const dag_nn_tensor_t *y, const dag_nn_tensor_t *dy,
                         dag_nn_tensor_t *dx, int k) {
    if (!x || !y || k <= 0 || y->n != x->n || y->c != x->c || y->h != x->h / k ||
        y->w != x->w / k || y->h == 0 || y->w == 0 || x->h % k || x->w % k)
        return DAG_ERR_INVALID;
    if (dy && (dy->n != y->n || ROW(dy) != ROW(y) || !dx || dx->n != x->n || ROW(dx) != ROW(x)))
        return DAG_ERR_INVALID;
    int T = nn_tiles(ex, x->n);
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, x->n), r1 = TILE(i + 1, T, x->n);
        nn_pool_t a = {x->data + r0 * ROW(x), y->data + r0 * ROW(y),
                       dy ? dy->data + r0 * ROW(dy) : NULL, dx ? dx->data + r0 * ROW(dx) : NULL,
                       r1 - r0, x->c, x->h, x->w, k};
        dag_status_t st;
        if (!dy) {
            dag_dep_t d[] = {rows_dep(y, r0, r1, DAG_OUT), rows_dep(x, r0, r1, DAG_IN)};
            st = nn_submit(nn_k_pool_fwd, nn_cuda.pool_fwd, &a, sizeof a, d, 2, ex, "nn.pool.fwd");
        } else {
            dag_dep_t d[] = {rows_dep(dx, r0, r1, DAG_OUT), rows_dep(x, r0, r1, DAG_IN),
                             rows_dep(y, r0, r1, DAG_IN), rows_dep(dy, r0, r1, DAG_IN)};
            st = nn_submit(nn_k_pool_bwd, nn_cuda.pool_bwd, &a, sizeof a, d, 4, ex, "nn.pool.bwd");
        }
        if (st) return st;
    }
    return DAG_OK;
}

dag_status_t dag_nn_maxpool_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                    dag_nn_tensor_t *y, int k) {
    return pool(ex, x, y, NULL, NULL, k);
}

dag_status_t dag_nn_maxpool_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                     const dag_nn_tensor_t *y, const dag_nn_tensor_t *dy,
                                     dag_nn_tensor_t *dx, int k) {
    if (!dy) return DAG_ERR_INVALID;
    return pool(ex, x, y, dy, dx, k);
}

static dag_status_t elementwise(const dag_nn_exec_t *ex, const dag_nn_tensor_t *a_,
                                const dag_nn_tensor_t *b_, dag_nn_tensor_t *out, int bwd) {
    if (!a_ || !out || out->n != a_->n || ROW(out) != ROW(a_) ||
        (b_ && (b_->n != a_->n || ROW(b_) != ROW(a_))))
        return DAG_ERR_INVALID;
    int T = nn_tiles(ex, a_->n);
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, a_->n), r1 = TILE(i + 1, T, a_->n);
        nn_ew_t a = {a_->data + r0 * ROW(a_), b_ ? b_->data + r0 * ROW(b_) : NULL,
                     out->data + r0 * ROW(out), (size_t)(r1 - r0) * ROW(out)};
        dag_dep_t d[] = {rows_dep(out, r0, r1, DAG_OUT), rows_dep(a_, r0, r1, DAG_IN),
                         b_ ? rows_dep(b_, r0, r1, DAG_IN) : (dag_dep_t){0}};
        dag_status_t st = bwd ? nn_submit(nn_k_relu_bwd, nn_cuda.relu_bwd, &a, sizeof a, d, 3,
                                          ex, "nn.relu.bwd")
                              : nn_submit(nn_k_relu_fwd, nn_cuda.relu_fwd, &a, sizeof a, d, 2,
                                          ex, "nn.relu.fwd");
        if (st) return st;
    }
    return DAG_OK;
}

dag_status_t dag_nn_relu_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                 dag_nn_tensor_t *y) {
    return elementwise(ex, x, NULL, y, 0);
}

dag_status_t dag_nn_relu_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *y,
                                  const dag_nn_tensor_t *dy, dag_nn_tensor_t *dx) {
    if (!dy) return DAG_ERR_INVALID;
    return elementwise(ex, y, dy, dx, 1);
}

static dag_status_t dropout(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                            dag_nn_tensor_t *y, float p, uint64_t seed, long first,
                            const char *label) {
    if (!x || !y || y->n != x->n || ROW(y) != ROW(x) || !(p >= 0.0f && p < 1.0f))
        return DAG_ERR_INVALID;
    int T = nn_tiles(ex, x->n);
    for (int i = 0; i < T; i++) {
        int r0 = TILE(i, T, x->n), r1 = TILE(i + 1, T, x->n);
        nn_dropout_t a = {x->data + r0 * ROW(x), y->data + r0 * ROW(y), ROW(x), r1 - r0, p, seed,
                          first + r0};
        dag_dep_t d[] = {rows_dep(y, r0, r1, DAG_OUT), rows_dep(x, r0, r1, DAG_IN)};
        dag_status_t st = nn_submit(nn_k_dropout, nn_cuda.dropout, &a, sizeof a, d, 2, ex, label);
        if (st) return st;
    }
    return DAG_OK;
}

dag_status_t dag_nn_dropout_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                    dag_nn_tensor_t *y, float p, uint64_t seed,
                                    long first_sample) {
    return dropout(ex, x, y, p, seed, first_sample, "nn.dropout.fwd");
}

dag_status_t dag_nn_dropout_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *dy,
                                     dag_nn_tensor_t *dx, float p, uint64_t seed,
                                     long first_sample) {
    return dropout(ex, dy, dx, p, seed, first_sample, "nn.dropout.bwd");
}

dag_status_t dag_nn_softmax_xent(const dag_nn_exec_t *ex, const dag_nn_tensor_t *logits,
                                 const int32_t *labels, int rows, float scale,
                                 dag_nn_tensor_t *dlogits, float *stats) {
    if (!logits || !labels || !dlogits || !stats || rows < 0 || rows > logits->n ||
        dlogits->n != logits->n || ROW(dlogits) != ROW(logits))
        return DAG_ERR_INVALID;
    nn_xent_t a = {logits->data, labels, dlogits->data, stats, logits->n, rows, (int)ROW(logits),
                   scale};
    dag_dep_t d[] = {all_dep(dlogits, DAG_OUT), {stats, 2 * sizeof(float), DAG_INOUT},
                     all_dep(logits, DAG_IN),
                     {(void *)labels, sizeof(int32_t) * (size_t)logits->n, DAG_IN}};
    return nn_submit(nn_k_xent, nn_cuda.xent, &a, sizeof a, d, 4, ex, "nn.xent");
}

dag_status_t dag_nn_opt_update(const dag_nn_exec_t *ex, const dag_nn_opt_t *opt, float *p,
                               const float *g, float *m, float *v, size_t n, long t) {
    return nn_opt_submit(ex, opt, p, g, m, v, n, t, (size_t)1 << 16);
}

dag_status_t nn_opt_submit(const dag_nn_exec_t *ex, const dag_nn_opt_t *opt, float *p,
                           const float *g, float *m, float *v, size_t n, long t, size_t chunk) {
    if (!opt || !p || !g || !m || (opt->kind == DAG_NN_ADAM && !v) || t < 1 ||
        (opt->kind != DAG_NN_SGD && opt->kind != DAG_NN_ADAM))
        return DAG_ERR_INVALID;
    dag_nn_opt_t o = *opt;
    nn_opt_defaults(&o);
    if (!chunk) chunk = n ? n : 1;
    for (size_t i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk;
        nn_opt_t a = {p + i, g + i, m + i, v ? v + i : NULL, k, t, o};
        dag_dep_t d[] = {{p + i, k * sizeof(float), DAG_INOUT},
                         {m + i, k * sizeof(float), DAG_INOUT},
                         {(void *)(g + i), k * sizeof(float), DAG_IN},
                         {v ? v + i : NULL, v ? k * sizeof(float) : 0, DAG_INOUT}};
        dag_status_t st = nn_submit(nn_k_opt, nn_cuda.opt, &a, sizeof a, d, 4, ex, "nn.opt");
        if (st) return st;
    }
    return DAG_OK;
}

#ifndef DAG_NN_HAVE_CUDA
const nn_cuda_table_t nn_cuda = {0}; /* built without CUDA: CPU bodies only */
#endif
