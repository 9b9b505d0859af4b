/* dag/moe.h: Mixture-of-Experts layers scheduled by the dagcc runtime (libdagmoe,
 * runtime/moe/, docs/moe.md).
 *
 * A layer maps n tokens of d_model floats to n tokens of d_model floats. A gate (softmax
 * over the experts of x Wg + bg) picks top_k experts per token; each expert is a 2-layer
 * MLP (GELU between) and a token's output is the sum of its experts' outputs weighted by
 * their gate probabilities (soft routing). After routing, each expert's token batch is
 * cut into chunks of chunk_tokens and every chunk becomes a task created at run time,
 * placed by the scheduler on any worker (and, in distributed runs, on the expert's rank
 * or on an idle rank that receives a replica of its weights).
 * Distributed runs (mpirun): every rank makes the same calls with the same inputs (the
 * replicated task flow of dag/dist.h); experts are spread over the ranks, token blocks
 * over the ranks too, and outputs and gradients come back on every rank.
 * Call from the top level of the program (not inside a task): the calls wait.
 */
#ifndef DAG_MOE_H
#define DAG_MOE_H

#include <stddef.h>

#include "../dag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dag_moe_config_t.flags */
#define DAG_MOE_STATIC 0x1u       /* static placement (expert parallelism): expert e pinned
                                     to rank e mod R and there to worker (e/R) mod W; one
                                     task per worker's group, no chunks, no stealing */
#define DAG_MOE_NO_PRIORITY 0x2u  /* chunk tasks without priorities */
#define DAG_MOE_NO_REPLICATE 0x4u /* distributed: chunks stay on their expert's rank */

typedef struct dag_moe_config {
    int d_model;           /* token width (input and output) */
    int d_hidden;          /* expert hidden width */
    int n_experts;         /* number of experts, >= 1 */
    int top_k;             /* experts per token, 1..n_experts */
    int max_tokens;        /* largest batch a forward call may pass */
    float capacity_factor; /* capacity per expert = ceil(cf * n * top_k / n_experts);
                              assignments beyond it are dropped. <= 0: no limit */
    int chunk_tokens;      /* tokens per expert task; 0: DAG_MOE_CHUNK, else adaptive (about
                              4 chunks per worker, at least 16 tokens) */
    int block_tokens;      /* tokens per gate / combine task; 0: DAG_MOE_BLOCK, else 64 */
    float aux_coef;        /* weight of the load-balancing loss (0.01 is usual) */
    unsigned flags;        /* DAG_MOE_* */
    unsigned long long seed; /* parameter initialisation */
} dag_moe_config_t;

typedef struct dag_moe dag_moe_t;

/* Create a layer with freshly initialised parameters (uniform +-1/sqrt(fan_in), zero
 * biases). Starts the runtime if needed. Collective in distributed runs. */
DAG_API dag_status_t dag_moe_create(dag_moe_t **moe, const dag_moe_config_t *cfg);
DAG_API dag_status_t dag_moe_destroy(dag_moe_t *moe);

/* y[n x d_model] = MoE(x[n x d_model]), 1 <= n <= max_tokens. `route` (NULL: the gate
 * chooses) forces the experts of each token, n x top_k indices (hash routing, benchmarks,
 * tests); the combine weights are still the gate's probabilities of those experts.
 * The layer keeps what backward needs (a copy of x, routing, hidden activations). */
DAG_API dag_status_t dag_moe_forward(dag_moe_t *moe, const float *x, int n, const int *route,
                                     float *y);

/* The auxiliary load-balancing loss of the last forward:
 * aux_coef * n_experts * sum_e f_e * P_e, where f_e is the fraction of the n * top_k
 * assignments the gate gave expert e (before capacity) and P_e its mean probability. */
DAG_API dag_status_t dag_moe_aux_loss(const dag_moe_t *moe, float *aux);

/* Gradients of  sum(dy . y) + aux_loss  for the last forward: dx[n x d_model] (may be
 * NULL) and the parameters' gradients, kept in the layer (overwritten, not summed). */
DAG_API dag_status_t dag_moe_backward(dag_moe_t *moe, const float *dy, float *dx);

/* Plain SGD on every parameter: p -= lr * grad. */
DAG_API dag_status_t dag_moe_sgd(dag_moe_t *moe, float lr);

/* Parameters as one flat vector: Wg [d_model x n_experts], bg [n_experts], then per
 * expert W1 [d_model x d_hidden], b1 [d_hidden], W2 [d_hidden x d_model], b2 [d_model]
 * (row-major). Get and set are collective; the values are the same on every rank. */
DAG_API size_t dag_moe_num_params(const dag_moe_t *moe);
DAG_API dag_status_t dag_moe_get_params(dag_moe_t *moe, float *params);
DAG_API dag_status_t dag_moe_set_params(dag_moe_t *moe, const float *params);
DAG_API dag_status_t dag_moe_get_grads(dag_moe_t *moe, float *grads);

/* Counters since creation, and the last forward's per-expert token counts. */
typedef struct dag_moe_stats {
    unsigned long long forwards, backwards;
    unsigned long long tokens;      /* tokens seen by forward */
    unsigned long long assignments; /* token-expert pairs the gate made (n * top_k) */
    unsigned long long dropped;     /* of them, dropped by the capacity limit */
    unsigned long long chunks;      /* expert tasks created (forward and backward) */
    unsigned long long replicated;  /* chunks run away from their expert's rank */
    int last_dropped;               /* dropped in the last forward */
    int capacity;                   /* capacity per expert in the last forward (0: none) */
    /* CPU seconds of the longest expert task on this rank in the last forward and in the
     * last backward (a chunk, or under DAG_MOE_STATIC a worker slot's experts): the
     * indivisible unit that bounds a step from below (GPU executions not counted) */
    double last_longest_fwd_s, last_longest_bwd_s;
    int last_replicated; /* chunks of the last forward run away from their expert's rank */
} dag_moe_stats_t;
DAG_API dag_status_t dag_moe_stats(const dag_moe_t *moe, dag_moe_stats_t *stats);
/* counts[n_experts]: assignments each expert processed in the last forward (after
 * capacity), and where non-NULL, routed[n_experts]: assignments before capacity. */
DAG_API dag_status_t dag_moe_expert_load(const dag_moe_t *moe, int *counts, int *routed);

/* busy[w]: seconds of CPU time the layer's task bodies took on worker w of this rank
 * since creation, w < n <= dag_num_threads() (GPU executions of chunks not included).
 * The busiest worker's share of a step is the step time one core per worker would give
 * without waits (bench/moe prints it as the critical-path estimate). */
DAG_API dag_status_t dag_moe_worker_busy(const dag_moe_t *moe, double *busy, int n);

#ifdef __cplusplus
}
#endif

#endif /* DAG_MOE_H */
