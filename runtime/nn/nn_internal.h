/* nn_internal.h: libdagnn's task argument blocks and kernels, shared by the CPU bodies
 * (kernels.c), their CUDA variants (cuda.cu) and the task-submitting code. */
#ifndef DAG_NN_INTERNAL_H
#define DAG_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dag/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dag_cuda_ctx;

/* y[rows, out] = x[rows, in] W^T + b */
typedef struct { const float *x, *w, *b; float *y; int rows, in, out; } nn_dense_fwd_t;
/* dx[rows, in] = dy[rows, out] W */
typedef struct { const float *dy, *w; float *dx; int rows, in, out; } nn_dense_bwd_data_t;
/* dw[o0:o1, :] (+)= dy[:, o0:o1]^T x ; db[o0:o1] (+)= colsum */
typedef struct {
    const float *dy, *x; float *dw, *db; int batch, in, out, o0, o1, accumulate;
} nn_dense_bwd_w_t;

typedef struct {
    int cin, h, w, cout, k, stride, pad, ho, wo;
} nn_conv_shape_t;
/* samples [0, rows) of the tile */
typedef struct { const float *x, *w, *b; float *y; int rows; nn_conv_shape_t s; } nn_conv_fwd_t;
/* partial = sum over the tile's samples of dW (cout*cin*k*k) then db (cout);
 * dx for the tile when dx != NULL */
typedef struct {
    const float *x, *w, *dy; float *dx, *partial; int rows; nn_conv_shape_t s;
} nn_conv_bwd_t;
/* dw (+)= sum_t partial[t][0:nw], db likewise from partial[t][nw:nw+nb] */
typedef struct {
    const float *partial; float *dw, *db; int tiles; size_t nw, nb, stride; int accumulate;
} nn_sum_t;

typedef struct { const float *x, *y, *dy; float *dx; int rows, c, h, w, k; } nn_pool_t;
typedef struct { const float *a, *b; float *out; size_t n; } nn_ew_t; /* relu fwd/bwd */
typedef struct {
    const float *x; float *y; size_t cols; int rows; float p; uint64_t seed; long first;
} nn_dropout_t;
typedef struct {
    const float *logits; const int32_t *labels; float *dlogits; float *stats;
    int n, rows, classes; float scale;
} nn_xent_t;
typedef struct {
    float *p; const float *g; float *m, *v; size_t n; long t; dag_nn_opt_t opt;
} nn_opt_t;
typedef struct { float *out; size_t n; int kind, fan_in; uint64_t seed; } nn_init_t;

/* A fused block (blocks.c): a dense or conv layer with the ReLU after it and a dropout
 * (dense) or max-pooling (conv) after that, forward or backward in one task over the
 * whole batch (the GPU path: a few kernels per task instead of a task per kernel).
 * Forward: a = relu?(layer(x) + b), o = tail(a). Backward: the gradient dout of the
 * block's output (o with a tail, else a) back through the tail and the ReLU into dz
 * (the pre-activation gradient, dout itself when the block is the layer alone), then
 * dw, db (added to when accumulate) and dx (when not NULL). */
enum { NN_TAIL_NONE = 0, NN_TAIL_DROPOUT = 1, NN_TAIL_POOL = 2 };
typedef struct {
    const float *x, *w, *b;
    float *a, *o;
    const float *dout;
    float *dz, *dx, *dw, *db;
    int conv, relu, tail;
    int rows, in, out;  /* dense: x [rows, in], a [rows, out] */
    nn_conv_shape_t s;  /* conv: a [rows, cout, ho, wo] */
    int pool_k;         /* pooling window (tail POOL) */
    float p;            /* dropout (tail DROPOUT; 0 in evaluation) */
    uint64_t seed;
    long first;
    int accumulate;
    int update;         /* backward: then the optimiser step upd (the whole bucket) */
    nn_opt_t upd;
} nn_blk_t;
int nn_k_blk_fwd(void *a);
int nn_k_blk_bwd(void *a);

/* CPU bodies (kernels.c) */
int nn_k_dense_fwd(void *a);
int nn_k_dense_bwd_data(void *a);
int nn_k_dense_bwd_w(void *a);
int nn_k_conv_fwd(void *a);
int nn_k_conv_bwd(void *a);
int nn_k_sum(void *a);
int nn_k_pool_fwd(void *a);
int nn_k_pool_bwd(void *a);
int nn_k_relu_fwd(void *a);
int nn_k_relu_bwd(void *a);
int nn_k_dropout(void *a);
int nn_k_xent(void *a);
int nn_k_opt(void *a);
/* a step's batch: rows samples idx[] of the data set (x, labels) into xin and lab */
typedef struct {
    float *xin; const float *x; int32_t *lab; const int32_t *labels; size_t feat; int rows;
    int32_t idx[];
} nn_gather_t;
int nn_k_gather(void *a);   /* both */
int nn_k_gather_x(void *a); /* the samples only */
int nn_k_gather_y(void *a); /* the labels only */
int nn_k_init(void *a);

/* CUDA variants (cuda.cu), NULL pointers when not built */
typedef int (*nn_cuda_fn)(void *, struct dag_cuda_ctx *);
struct nn_chain_op;
typedef struct nn_graphs nn_graphs_t; /* graph.cu: a model's captured steps */
typedef struct {
    nn_cuda_fn dense_fwd, dense_bwd_data, dense_bwd_w, conv_fwd, conv_bwd, sum, pool_fwd,
        pool_bwd, relu_fwd, relu_bwd, dropout, xent, opt;
    nn_cuda_fn blk_fwd, blk_bwd; /* fused blocks */
    nn_cuda_fn noop;             /* a task that orders, with no work (completion tokens) */
    nn_cuda_fn gather;           /* a step's batch from the data set kept on the device */
    int (*devices)(void);        /* dag_cuda_device_count */
    int (*pin)(void *p, size_t n, int on); /* dag_cuda_register / dag_cuda_unregister */
    /* a chained step's CUDA body run through the model's graphs (graph.cu) */
    nn_graphs_t *(*graphs_new)(void);
    void (*graphs_free)(nn_graphs_t *g);
    int (*graphs_run)(nn_graphs_t *g, void *block, size_t size, const struct nn_chain_op *ops,
                      size_t nops, const dag_dep_t *deps, size_t ndeps,
                      struct dag_cuda_ctx *ctx);
} nn_cuda_table_t;
extern const nn_cuda_table_t nn_cuda;
/* cuda.cu, for graph.cu and the tests: the replay's device copy of the argument block
 * (NULL: none; kernels take the changing fields by value), the graph key's mask, and the
 * largest scratch request since the last take */
void nn_cuda_dyn(const void *host, const void *dev, size_t len);
int nn_cuda_mask(nn_cuda_fn cu, void *args);
size_t nn_cuda_ws_take(void);
nn_graphs_t *nn_graphs_new(void);
void nn_graphs_free(nn_graphs_t *g);
int nn_graphs_run(nn_graphs_t *g, void *block, size_t size, const struct nn_chain_op *ops,
                  size_t nops, const dag_dep_t *deps, size_t ndeps, struct dag_cuda_ctx *ctx);

/* counter-based random numbers: a uniform float in [0, 1) from (seed, index); also on
 * the device (cuda.cu) */
#if defined(__CUDACC__) || defined(NN_CUDA_EMU)
#define NN_HD __host__ __device__
#else
#define NN_HD
#endif
NN_HD static inline uint64_t nn_mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
NN_HD static inline float nn_uniform(uint64_t seed, uint64_t i) {
    return (float)(nn_mix(seed ^ nn_mix(i)) >> 40) * (1.0f / 16777216.0f);
}

/* submission helper (layers.c) */
dag_status_t nn_submit(dag_task_fn fn, nn_cuda_fn cu, const void *args, size_t size,
                       const dag_dep_t *deps, size_t ndeps, const dag_nn_exec_t *ex,
                       const char *label);
int nn_tiles(const dag_nn_exec_t *ex, int rows);
/* chain.c: while a chain is open on this thread, nn_submit records operations into it and
 * nn_chain_end submits them as one task (cpu: also operations without CUDA bodies) */
typedef struct nn_chain_op {
    dag_task_fn fn;
    nn_cuda_fn cu;
    size_t off; /* of the operation's arguments in the block */
} nn_chain_op_t;
typedef struct nn_chain {
    int cpu;          /* chains without CUDA bodies too (DAG_NN_CHAIN=1, tests) */
    dag_nn_exec_t ex; /* of the chain's first operation */
    nn_chain_op_t *ops;
    size_t nops, cap;
    char *blob; /* the operations' arguments, 16-byte aligned each */
    size_t blen, bcap;
    dag_dep_t *deps;
    size_t ndeps, dcap;
    nn_graphs_t *graphs; /* the model's captured steps (CUDA; NULL: none, DAG_NN_GRAPH=0) */
    int graphs_tried;
    int flushed; /* tasks submitted before the end of the open chain */
    const char *label; /* the chain task's label (traces) */
} nn_chain_t;
void nn_chain_begin(nn_chain_t *c, const dag_nn_exec_t *ex, int cpu, const char *label);
dag_status_t nn_chain_end(void);
/* nn_chain_end with `extra` (one range) among the dependencies of the chain's task when
 * the whole chain is that one task (nothing was submitted before it); *merged says so */
dag_status_t nn_chain_end_with(const dag_dep_t *extra, int *merged);
void nn_chain_free(nn_chain_t *c);
int nn_chain_take(dag_task_fn fn, nn_cuda_fn cu, const void *args, size_t size,
                  const dag_dep_t *deps, size_t ndeps, const dag_nn_exec_t *ex,
                  dag_status_t *st);
/* Adam's defaults (beta1, beta2, eps) where they are 0 */
void nn_opt_defaults(dag_nn_opt_t *o);
/* dag_nn_opt_update with tasks of at most `chunk` parameters (0: one task) */
dag_status_t nn_opt_submit(const dag_nn_exec_t *ex, const dag_nn_opt_t *opt, float *p,
                           const float *g, float *m, float *v, size_t n, long t, size_t chunk);

#ifdef __cplusplus
}
#endif

#endif
