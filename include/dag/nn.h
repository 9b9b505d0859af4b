/* dag/nn.h: a small neural-network library on the dagcc runtime (libdagnn, docs/nn.md).
 *
 * Two levels. Tensors and layer operations: every operation submits tasks whose
 * dependencies name the tensors' byte ranges, so a program (or another library, such as
 * a mixture-of-experts layer) can compose them into any graph. Models: a sequential stack
 * of layers trained data-parallel (one replica per rank, gradients all-reduced in buckets
 * as soon as they are ready) or as a pipeline (stages on ranks, micro-batches, 1F1B).
 * The same program runs on one process and under mpirun -np N.
 */
#ifndef DAG_NN_H
#define DAG_NN_H

#include <stddef.h>
#include <stdint.h>

#include "../dag.h"
#include "dist.h" /* dag_rank(), dag_nranks(): a data-parallel program asks them */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Tensors: float32, NCHW (a matrix is n x c with h = w = 1), 64-byte aligned host memory.
 * `owner` >= 0: registered with the distributed layer (dag_dist_register) as owned by
 * that rank, so tasks writing it run there and readers elsewhere get inferred transfers;
 * -1: private to each rank (every rank holds its own copy, e.g. a data-parallel replica).
 * ------------------------------------------------------------------------------------- */
typedef struct dag_nn_tensor {
    float *data;
    int n, c, h, w;
    int owner;
} dag_nn_tensor_t;

/* Allocate a zero-filled tensor (on every rank, in the same order when owner >= 0). */
DAG_API dag_status_t dag_nn_tensor_alloc(dag_nn_tensor_t *t, int n, int c, int h, int w,
                                         int owner);
DAG_API void dag_nn_tensor_free(dag_nn_tensor_t *t);
DAG_API size_t dag_nn_tensor_numel(const dag_nn_tensor_t *t);

/* Seeded initialisation (a task writing t): uniform in +-sqrt(6 / fan_in) (He, for ReLU
 * networks) or zeros. The values depend on (seed, element index) only. */
typedef enum dag_nn_init {
    DAG_NN_INIT_ZERO = 0,
    DAG_NN_INIT_HE_UNIFORM = 1
} dag_nn_init_t;
DAG_API dag_status_t dag_nn_tensor_init(dag_nn_tensor_t *t, dag_nn_init_t kind, int fan_in,
                                        uint64_t seed);

/* ---------------------------------------------------------------------------------------
 * Layer operations. Each submits tasks (a task per tile of the batch dimension, or of the
 * output features for weight gradients) with in/out dependencies on the tensors it reads
 * and writes; nothing waits. `ex` may be NULL (defaults: tiles from the worker count,
 * DAG_DEVICE_ANY: a CUDA variant is used where the runtime has a device).
 * Shapes: x [n, cin, h, w], dense weights [out, in] (in = cin*h*w), conv weights
 * [cout, cin, k, k], biases [out]. Backward functions write dx only when dx != NULL and
 * overwrite dw, db unless `accumulate` is set (then they add to them).
 * ------------------------------------------------------------------------------------- */
typedef struct dag_nn_exec {
    int tiles;    /* tasks per operation along the batch; 0: automatic */
    int device;   /* DAG_DEVICE_ANY, DAG_DEVICE_CPU or DAG_DEVICE_CUDA */
    int priority; /* task priority */
} dag_nn_exec_t;

DAG_API dag_status_t dag_nn_dense_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                          const dag_nn_tensor_t *w, const dag_nn_tensor_t *b,
                                          dag_nn_tensor_t *y);
DAG_API dag_status_t dag_nn_dense_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                           const dag_nn_tensor_t *w, const dag_nn_tensor_t *dy,
                                           dag_nn_tensor_t *dx, dag_nn_tensor_t *dw,
                                           dag_nn_tensor_t *db, int accumulate);
/* conv2d (stride, zero padding pad) through im2col + SGEMM; `scratch` holds per-tile
 * partial weight gradients: allocate it with dag_nn_conv2d_scratch(). */
DAG_API dag_status_t dag_nn_conv2d_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                           const dag_nn_tensor_t *w, const dag_nn_tensor_t *b,
                                           dag_nn_tensor_t *y, int stride, int pad);
DAG_API dag_status_t dag_nn_conv2d_scratch(dag_nn_tensor_t *scratch, const dag_nn_exec_t *ex,
                                           const dag_nn_tensor_t *x, const dag_nn_tensor_t *w,
                                           int owner);
DAG_API dag_status_t dag_nn_conv2d_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                            const dag_nn_tensor_t *w, const dag_nn_tensor_t *dy,
                                            dag_nn_tensor_t *dx, dag_nn_tensor_t *dw,
                                            dag_nn_tensor_t *db, dag_nn_tensor_t *scratch,
                                            int stride, int pad, int accumulate);
/* k x k max-pooling with stride k; the backward pass finds the maximum again from x, y. */
DAG_API dag_status_t dag_nn_maxpool_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                            dag_nn_tensor_t *y, int k);
DAG_API dag_status_t dag_nn_maxpool_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                             const dag_nn_tensor_t *y, const dag_nn_tensor_t *dy,
                                             dag_nn_tensor_t *dx, int k);
DAG_API dag_status_t dag_nn_relu_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                         dag_nn_tensor_t *y);
DAG_API dag_status_t dag_nn_relu_backward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *y,
                                          const dag_nn_tensor_t *dy, dag_nn_tensor_t *dx);
/* Inverted dropout: keeps an element with probability 1-p and scales it by 1/(1-p). The
 * mask is a function of (seed, first_sample + row, column) only, so it does not depend on
 * how the batch is split over tiles or ranks. */
DAG_API dag_status_t dag_nn_dropout_forward(const dag_nn_exec_t *ex, const dag_nn_tensor_t *x,
                                            dag_nn_tensor_t *y, float p, uint64_t seed,
                                            long first_sample);
DAG_API dag_status_t dag_nn_dropout_backward(const dag_nn_exec_t *ex,
                                             const dag_nn_tensor_t *dy, dag_nn_tensor_t *dx,
                                             float p, uint64_t seed, long first_sample);
/* Softmax cross-entropy over the first `rows` rows of logits [n, classes]: writes
 * dlogits = (softmax - onehot) * scale (rows beyond `rows` get 0) and adds the summed loss
 * and the number of correct predictions to stats[0] and stats[1]. labels: int32 [n]. */
DAG_API dag_status_t dag_nn_softmax_xent(const dag_nn_exec_t *ex,
                                         const dag_nn_tensor_t *logits,
                                         const int32_t *labels, int rows, float scale,
                                         dag_nn_tensor_t *dlogits, float *stats);

/* Tensor-parallel dense layer: the `out` features split into `parts` (part p on rank
 * p mod N, every tensor of the part owned there). Forward: each part's GEMM runs on its
 * rank (x is sent there by the runtime), then the slices are gathered into y on y's owner
 * (on every rank when y is private). Backward: dy's slices go to the parts, each computes
 * its dw, db and a partial dx, summed on dx's owner. Part p's weights: w[p] (rows
 * [out*p/parts, out*(p+1)/parts) of W), gradients dw[p], db[p]. */
typedef struct dag_nn_tp_dense {
    int parts, batch, in, out;
    dag_nn_tensor_t *w, *b, *dw, *db; /* [parts] */
    dag_nn_tensor_t *y, *dy, *dx;     /* [parts]: output slices and partial input gradients */
} dag_nn_tp_dense_t;
DAG_API dag_status_t dag_nn_tp_dense_create(dag_nn_tp_dense_t *t, int parts, int batch, int in,
                                            int out, uint64_t seed);
DAG_API void dag_nn_tp_dense_destroy(dag_nn_tp_dense_t *t);
DAG_API dag_status_t dag_nn_tp_dense_forward(const dag_nn_exec_t *ex, dag_nn_tp_dense_t *t,
                                             const dag_nn_tensor_t *x, dag_nn_tensor_t *y);
DAG_API dag_status_t dag_nn_tp_dense_backward(const dag_nn_exec_t *ex, dag_nn_tp_dense_t *t,
                                              const dag_nn_tensor_t *x,
                                              const dag_nn_tensor_t *dy, dag_nn_tensor_t *dx);

/* ---------------------------------------------------------------------------------------
 * Optimisers, applied as tasks to flat parameter ranges.
 * ------------------------------------------------------------------------------------- */
typedef enum dag_nn_opt_kind { DAG_NN_SGD = 1, DAG_NN_ADAM = 2 } dag_nn_opt_kind_t;
typedef struct dag_nn_opt {
    dag_nn_opt_kind_t kind;
    float lr;
    float momentum;     /* SGD: heavy-ball momentum (0: plain SGD) */
    float beta1, beta2; /* Adam (0: 0.9 and 0.999) */
    float eps;          /* Adam (0: 1e-8) */
    float weight_decay; /* L2 added to the gradient */
} dag_nn_opt_t;

/* One update of n parameters p from gradient g; m, v are the optimiser state (SGD uses m
 * only) and `t` the 1-based step count (Adam's bias correction). */
DAG_API dag_status_t dag_nn_opt_update(const dag_nn_exec_t *ex, const dag_nn_opt_t *opt,
                                       float *p, const float *g, float *m, float *v, size_t n,
                                       long t);

/* ---------------------------------------------------------------------------------------
 * Models: a sequential stack of layers. Build with dag_nn_model_create, the dag_nn_add_*
 * calls, then dag_nn_model_build. Input shape [batch, c, h, w]; the last layer's output
 * is the logits of a softmax cross-entropy loss.
 * ------------------------------------------------------------------------------------- */
typedef struct dag_nn_model dag_nn_model_t;

typedef enum dag_nn_parallel {
    DAG_NN_DATA_PARALLEL = 0, /* one replica per rank; the batch is split over the ranks */
    DAG_NN_PIPELINE = 1       /* stages on ranks, the batch split into micro-batches */
} dag_nn_parallel_t;

typedef struct dag_nn_config {
    int batch;           /* global batch size (all ranks together) */
    int c, h, w;         /* input sample shape */
    uint64_t seed;       /* parameter initialisation and dropout */
    dag_nn_opt_t opt;
    dag_nn_parallel_t parallel;
    int stages;          /* PIPELINE: number of stages (0: number of ranks); stage s on rank
                            s mod nranks */
    int microbatches;    /* PIPELINE: micro-batches per step (0: 2 x stages) */
    size_t bucket_bytes; /* DATA_PARALLEL: gradient bucket size (0: DAG_NN_BUCKET_KB or
                            256 KiB); buckets are reduced as soon as their gradients exist */
    int tiles;           /* tiles per operation (0: DAG_NN_TILES or automatic) */
    int device;          /* DAG_DEVICE_ANY (default), DAG_DEVICE_CPU, DAG_DEVICE_CUDA */
    int local;           /* 1: every rank trains this model alone on the whole batch (no
                            exchange, nothing registered): a reference, or one rank's model */
} dag_nn_config_t;

DAG_API dag_status_t dag_nn_model_create(dag_nn_model_t **m, const dag_nn_config_t *cfg);
DAG_API dag_status_t dag_nn_add_dense(dag_nn_model_t *m, int out);
DAG_API dag_status_t dag_nn_add_conv2d(dag_nn_model_t *m, int cout, int k, int stride,
                                       int pad);
DAG_API dag_status_t dag_nn_add_maxpool(dag_nn_model_t *m, int k);
DAG_API dag_status_t dag_nn_add_relu(dag_nn_model_t *m);
DAG_API dag_status_t dag_nn_add_dropout(dag_nn_model_t *m, float p);
/* PIPELINE: the next layer starts a new stage (without calls, layers are split into
 * stages of about equal parameter counts). */
DAG_API dag_status_t dag_nn_stage_break(dag_nn_model_t *m);
/* Allocate parameters, gradients and activations; initialise the parameters from the
 * seed (identical on every rank). */
DAG_API dag_status_t dag_nn_model_build(dag_nn_model_t *m);
DAG_API void dag_nn_model_destroy(dag_nn_model_t *m);
DAG_API size_t dag_nn_model_params(const dag_nn_model_t *m);

/* Submit one training step on the global batch x[idx[0..batch-1]] (x: every sample of
 * the data set, c*h*w floats each; labels: int32), each rank taking its share. Returns
 * without waiting for the step (at most two steps are in flight). */
DAG_API dag_status_t dag_nn_train_step(dag_nn_model_t *m, const float *x,
                                       const int32_t *labels, const int32_t *idx);

/* Optional: declare the data set the steps index (the x and labels later passed to
 * dag_nn_train_step, n samples). On a GPU it is copied to the device once and kept there
 * (dag_cuda_register) and each step's batch is gathered on the device, as a hand-written
 * CUDA training loop does, instead of on the host and copied up at every step. The
 * program leaves x and labels unchanged until the model is destroyed or the call is
 * repeated (NULL, NULL, 0 forgets the set). On CPUs, and for pipelines, it changes
 * nothing. While the set is kept on the device, a step with an index outside [0, n)
 * fails with DAG_ERR_INVALID. */
DAG_API dag_status_t dag_nn_train_data(dag_nn_model_t *m, const float *x,
                                       const int32_t *labels, long n);

/* Wait for the submitted steps and return the mean loss and accuracy (over every rank)
 * of the steps since the last call; resets the counters. */
DAG_API dag_status_t dag_nn_train_metrics(dag_nn_model_t *m, double *loss, double *accuracy);

/* Evaluate on n samples (dropout off); every rank gets the accuracy and mean loss. */
DAG_API dag_status_t dag_nn_evaluate(dag_nn_model_t *m, const float *x, const int32_t *labels,
                                     int n, double *loss, double *accuracy);

/* Checkpoints: parameters, optimiser state and step count. Save writes from rank 0;
 * load reads on every rank and checks the file matches the model's layers. */
DAG_API dag_status_t dag_nn_save(dag_nn_model_t *m, const char *path);
DAG_API dag_status_t dag_nn_load(dag_nn_model_t *m, const char *path);
DAG_API long dag_nn_model_step(const dag_nn_model_t *m);

/* Change the learning rate for the steps submitted from now on (a schedule). */
DAG_API dag_status_t dag_nn_set_lr(dag_nn_model_t *m, float lr);

/* Timing of the data-parallel gradient exchange since the last call: per step, the mean
 * time from the last bucket's gradients being ready to every bucket being reduced (the
 * exchange not hidden behind the backward pass), and the number of buckets. */
typedef struct dag_nn_comm_stats {
    double exposed_ms;
    long steps;
    int buckets;
} dag_nn_comm_stats_t;
DAG_API dag_status_t dag_nn_comm_stats(dag_nn_model_t *m, dag_nn_comm_stats_t *st);

/* How the data-parallel gradients are exchanged: "nccl" (between GPUs, on the CUDA
 * streams), "mpi" (MPI_Iallreduce, or UCX under it) or "none" (one rank, a pipeline, or
 * cfg.local). Chosen at dag_nn_model_build by DAG_NN_ALLREDUCE=auto|nccl|mpi (docs/nn.md). */
DAG_API const char *dag_nn_allreduce_backend(const dag_nn_model_t *m);

/* 1 when the model runs each dense or conv layer with the ReLU and dropout / max-pooling
 * after it as one forward and one backward task (fused blocks: the default when it may use
 * a GPU; DAG_NN_FUSE=1|0 forces it on or off, docs/nn.md), 0 when every layer is its own
 * tasks, tiled over the batch (the CPU default). */
DAG_API int dag_nn_model_fused(const dag_nn_model_t *m);

/* 1 when a training step with nothing to exchange (one rank or one GPU) is submitted as one
 * task that runs the fused blocks' bodies in order (the default of a fused model on a GPU:
 * the step is a chain anyway; DAG_NN_CHAIN=1|0 forces it on or off, docs/nn.md). */
DAG_API int dag_nn_model_chained(const dag_nn_model_t *m);

/* ---------------------------------------------------------------------------------------
 * Data: IDX files (MNIST, Fashion-MNIST), gzipped or not. Images become floats in [0, 1].
 * ------------------------------------------------------------------------------------- */
typedef struct dag_nn_dataset {
    float *x;        /* n x (rows*cols) */
    int32_t *labels; /* n */
    int n, rows, cols;
} dag_nn_dataset_t;
DAG_API dag_status_t dag_nn_load_idx(dag_nn_dataset_t *d, const char *images_path,
                                     const char *labels_path);
DAG_API void dag_nn_dataset_free(dag_nn_dataset_t *d);

/* A permutation of 0..n-1 from (seed, epoch), the same on every rank. */
DAG_API void dag_nn_shuffle(int32_t *idx, int n, uint64_t seed, long epoch);

#ifdef __cplusplus
}
#endif

#endif /* DAG_NN_H */
