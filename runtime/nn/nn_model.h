/* nn_model.h: the model structure shared by model.c (building, steps, schedules),
 * comm.c (gradient all-reduce) and checkpoint.c. */
#ifndef DAG_NN_MODEL_H
#define DAG_NN_MODEL_H

#include <time.h>

#include "nn_internal.h"

#define NN_MAX_LAYERS 64
#define NN_MAX_STAGES 64

enum { NN_DENSE, NN_CONV, NN_POOL, NN_RELU, NN_DROPOUT };

typedef struct nn_layer {
    int kind;
    int out, k, stride, pad; /* dense: out; conv: cout, k, stride, pad; pool: k */
    float p;                 /* dropout */
    int ic, ih, iw;          /* input sample shape */
    int c, h, w;             /* output sample shape */
    int stage;
    size_t nw, nb;  /* parameter counts (weights, bias) */
    size_t off;     /* offset of the weights in the stage's flat arrays (bias follows) */
} nn_layer_t;

/* the parameters of one stage (data-parallel: one group); layers in reverse order, so
 * the gradients of the last layers, ready first, come first in memory */
typedef struct nn_group {
    int owner;
    size_t n;
    dag_nn_tensor_t p, g, m, v;
    int nbuckets;
    size_t bucket_off[NN_MAX_LAYERS + 1]; /* bucket b: [off[b], off[b+1]) */
    int bucket_last_layer[NN_MAX_LAYERS]; /* lowest layer index in bucket b */
} nn_group_t;

typedef struct nn_comm nn_comm_t;
typedef struct nn_nccl nn_nccl_t;

struct dag_nn_model {
    dag_nn_config_t cfg;
    int nl, built, nranks, rank;
    nn_layer_t L[NN_MAX_LAYERS];
    int breaks[NN_MAX_LAYERS]; /* a stage starts at this layer (dag_nn_stage_break) */
    int stages, mb, slots, rows; /* rows: samples per micro-batch / per replica */
    int replicas;                /* data-parallel ranks exchanging gradients */
    nn_group_t grp[NN_MAX_STAGES];
    dag_nn_tensor_t *act, *dact, *scratch; /* [(nl+1) * slots], [nl] */
    dag_nn_tensor_t *labels;               /* [slots], int32 stored in float tensors */
    dag_nn_tensor_t acc, eval_acc;         /* loss sum, correct count */
    char token[8][64];  /* completion tokens of the last `inflight` steps */
    int inflight;       /* steps in flight (DAG_NN_INFLIGHT, default 2) */
    int token_task;     /* DAG_NN_TOKEN_TASK=1: a chained step's token as a task apart */
    int stats;          /* DAG_NN_STATS=1: the host's time per step printed at destroy */
    double t_wait, t_submit; /* ms in dag_nn_train_step: waiting for a token, the rest */
    int pinned;         /* inputs and labels registered with the GPU (fused, GPU present) */
    /* data-parallel: two input and label buffers, used by turns (flip), so that the next
     * step's gather does not wait for this step's first layers */
    int dbuf, flip;
    dag_nn_tensor_t in2[2], lab2[2];
    /* dag_nn_train_data: the data set kept on the GPU, the steps' batches gathered there */
    const float *data_x;
    const int32_t *data_lab;
    long data_n;
    float sync[16]; /* dag_nn_save: rank 0's status, sent to every rank */
    long step, samples_since;
    dag_nn_exec_t ex;
    nn_comm_t *comm;
    nn_nccl_t *nccl; /* gradients reduced through NCCL on the GPUs (nccl.c) */
    int fused;                /* layers run as fused blocks (blocks.c) */
    int chain;                /* 1: a step is one task (chain.c); 2: also CPU bodies */
    nn_chain_t rec;           /* the step being recorded (chain.c) */
    int blk[NN_MAX_LAYERS];   /* layers in the unit starting at l; 0 inside a block */
};

#define ACT(m, l, s) (&(m)->act[(size_t)(l) * (m)->slots + (s)])
#define DACT(m, l, s) (&(m)->dact[(size_t)(l) * (m)->slots + (s)])

/* model.c: a layer's parameter and gradient views; the dropout seed of layer l */
void nn_views(dag_nn_model_t *m, int l, dag_nn_tensor_t *w, dag_nn_tensor_t *b,
              dag_nn_tensor_t *dw, dag_nn_tensor_t *db);
uint64_t nn_drop_seed(const dag_nn_model_t *m, int l);

/* blocks.c: fused blocks. plan: DAG_NN_FUSE=1|0, else fused when the model may use a GPU
 * (cfg.device not CPU and a CUDA device present): a dense or conv layer and the ReLU and
 * dropout / max-pooling after it (same stage) become one unit, m->blk[] its length. The
 * forward and backward of a unit starting at layer l (slot s) are one task each. */
void nn_blocks_plan(dag_nn_model_t *m);
/* a step (or an evaluation chunk) of m is recorded and submitted as one task (chain.c) */
int nn_chained(const dag_nn_model_t *m);
dag_status_t nn_block_forward(dag_nn_model_t *m, int l, int s, int train, long first);
/* update: the backward task also applies the optimiser step t to the whole bucket of l
 * (one GPU, nothing to exchange: one task less per bucket) */
dag_status_t nn_block_backward(dag_nn_model_t *m, int l, int s, int acc, long first,
                               int update, long t);

/* comm.c: data-parallel exchange over MPI (nonblocking collectives posted from detachable
 * tasks, in submission order on every rank) */
dag_status_t nn_comm_create(nn_comm_t **c);
void nn_comm_destroy(nn_comm_t *c);
/* submit a task that sums buf[0..n) over the ranks once the earlier writers are done;
 * `timed`: the exchange's exposed time is measured from this bucket */
dag_status_t nn_comm_allreduce(nn_comm_t *c, float *buf, size_t n, int timed);
void nn_comm_stats(nn_comm_t *c, double *exposed_ms, long *count);

/* nccl.c (CUDA builds; comm.c answers otherwise): the exchange through NCCL on the task's
 * CUDA stream. create: forced = DAG_NN_ALLREDUCE=nccl (an error when NCCL cannot run);
 * otherwise every rank agrees whether NCCL can run and *c stays NULL when not. */
dag_status_t nn_nccl_create(nn_nccl_t **c, int forced, int rank, int nranks);
void nn_nccl_destroy(nn_nccl_t *c);
dag_status_t nn_nccl_allreduce(nn_nccl_t *c, float *buf, size_t n, int timed);
void nn_nccl_stats(nn_nccl_t *c, double *exposed_ms, long *count);

/* comm.c: choose and open the exchange of a data-parallel model (DAG_NN_ALLREDUCE), submit
 * one all-reduce through it, read its timing */
dag_status_t nn_exchange_open(dag_nn_model_t *m);
void nn_exchange_close(dag_nn_model_t *m);
int nn_exchanging(const dag_nn_model_t *m);
dag_status_t nn_exchange(dag_nn_model_t *m, float *buf, size_t n, int timed);
void nn_exchange_stats(dag_nn_model_t *m, double *exposed_ms, long *count);

/* CLOCK_MONOTONIC in milliseconds */
static inline double nn_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

#endif
