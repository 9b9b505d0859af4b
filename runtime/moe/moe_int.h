/* moe_int.h: internal state of an MoE layer (runtime/moe/): the registered buffers, the
 * per-forward routing plan (plan.c), the task bodies (kernels.c) and the layer calls
 * (moe.c). */
#ifndef DAG_MOE_INT_H
#define DAG_MOE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <dag.h>
#include <dag/dist.h>
#include <dag/moe.h>

/* One chunk: consecutive kept assignments of one expert, run by one task on one rank.
 * Its rows in the (block, rank) tiles are contiguous per block: segments. */
struct moe_seg {
    int b;    /* token block */
    int row;  /* first row in tiles (b, x) of DISP / OUT / HS / GDISP / GRET */
    int n;    /* rows */
};

struct moe_chunk {
    int e;        /* expert */
    int x;        /* rank that runs it */
    int n;        /* rows */
    int seg0, nseg; /* its segments in plan.seg */
    int prio;     /* task priority */
};

struct moe_plan {
    int n, nb;          /* tokens, token blocks in use */
    int capacity;       /* 0: none */
    int dropped;
    int *count;         /* [E] kept assignments per expert */
    int *routed;        /* [E] assignments per expert before capacity */
    float *auxg;        /* [E] d aux / d probs[n, e] = coef * E * f_e / n */
    float aux;
    int *row;           /* [n*K] row of assignment in its (b, x) tile, -1: dropped */
    int *xof;           /* [n*K] rank x of the assignment's tile */
    int *rows_bx;       /* [nb*R] rows used in tile (b, x) */
    struct moe_chunk *chunk;
    int nchunk;
    struct moe_seg *seg;
    int nseg;
    int *task0, ntask;  /* tasks: chunks [task0[t], task0[t+1]) run in one task */
    int *eused;         /* [E*R] expert e had chunks on rank x */
    int csize;          /* chunk size used */
    int replicated;
};

struct dag_moe {
    dag_moe_config_t cfg;
    int D, H, E, K, bt, chunk; /* chunk: fixed chunk size, 0: adaptive (plan.c) */
    int R, rank, W;      /* ranks, this rank, workers */
    int Bmax;            /* token blocks for max_tokens */
    size_t pe;           /* floats per expert: D*H + H + H*D + D */
    size_t pg;           /* floats of the gate: D*E + E */
    /* registered buffers (dag/dist.h matrices) */
    dag_matrix_t *P, *G;      /* E x 1, cyclic: expert parameters and gradients */
    dag_matrix_t *GP;         /* E x R, tile (e, x) on x: gradient part of x (R > 1) */
    dag_matrix_t *GW, *GWG;   /* 1 x 1 on rank 0: gate parameters, gradient */
    dag_matrix_t *GWP;        /* Bmax x 1 cyclic: gate gradient part of block b */
    dag_matrix_t *XT, *RT, *YT, *DXT; /* Bmax x 1 cyclic: x copy, routing, y, dx */
    dag_matrix_t *DISP, *GDISP; /* Bmax x R, tile (b, x) on b's rank: rows sent to x */
    dag_matrix_t *OUT, *HS, *GRET; /* Bmax x R, tile (b, x) on x: results of x for b */
    size_t rt_tok;            /* bytes of one token's routing record */
    /* per-worker weight-gradient accumulators: acc[e * (W+1) + w], pe floats each */
    float **acc;
    unsigned *acc_gen;
    unsigned gen;
    struct moe_plan plan;
    int have_fwd;
    const int *route;         /* forced routing of the current forward */
    dag_moe_stats_t st;
    unsigned long long *busy_ns; /* [W+1]: CPU time of task bodies per worker (W: others) */
    unsigned long long longest_ns[2]; /* longest expert task body: forward, backward */
};

/* routing record of a token in RT: idx[K] (int), w[K], probs[E] (float) */
static inline int *moe_rt_idx(const struct dag_moe *m, int b, int t)
{
    return (int *)((char *)dag_tile(m->RT, b, 0) + (size_t)t * m->rt_tok);
}
static inline float *moe_rt_w(const struct dag_moe *m, int b, int t)
{
    return (float *)(moe_rt_idx(m, b, t) + m->K);
}
static inline float *moe_rt_p(const struct dag_moe *m, int b, int t)
{
    return moe_rt_w(m, b, t) + m->K;
}
static inline int moe_owner_b(const struct dag_moe *m, int b) { return b % m->R; }
static inline int moe_home(const struct dag_moe *m, int e) { return e % m->R; }
static inline int moe_ntok(const struct dag_moe *m, int b, int n)
{
    int r = n - b * m->bt;
    return r < m->bt ? r : m->bt;
}
static inline float *moe_tile_row(const struct dag_moe *m, dag_matrix_t *t, int b, int x,
                                  int row, int width)
{
    (void)m;
    return (float *)dag_tile(t, b, x) + (size_t)row * width;
}

/* plan.c */
#define MOE_CHUNKS_PER_WORKER 4 /* adaptive chunks: about this many per worker */
#define MOE_CHUNK_MIN 16        /* adaptive chunks: never fewer rows */
dag_status_t moe_plan_build(struct dag_moe *m, int n);
void moe_plan_free(struct moe_plan *p);

/* kernels.c: task bodies */
struct moe_targs {
    struct dag_moe *m;
    int (*fn)(void *);  /* the body (moe.c runs it through a timing trampoline) */
    int i;             /* block, task or expert index, by body */
    int n;             /* tokens in the forward */
    const float *user; /* x or dy of the caller (same on every rank) */
    float lr;
};
int moe_gate_fwd(void *a);
int moe_pack(void *a);
int moe_expert_fwd(void *a);
int moe_combine(void *a);
int moe_gate_bwd(void *a);
int moe_expert_bwd(void *a);
int moe_grad_reduce(void *a);
int moe_grad_home(void *a);
int moe_dx_combine(void *a);
int moe_gate_grad(void *a);
int moe_sgd_expert(void *a);
int moe_sgd_gate(void *a);
#ifdef DAG_MOE_CUDA /* expert_cuda.cu: a chunk's forward on a GPU */
int moe_expert_fwd_cuda(void *a, struct dag_cuda_ctx *ctx);
#define MOE_EXPERT_CUDA moe_expert_fwd_cuda
#else
#define MOE_EXPERT_CUDA NULL
#endif
void moe_init_expert(const struct dag_moe *m, int e, float *p);
void moe_init_gate(const struct dag_moe *m, float *p);

#endif /* DAG_MOE_INT_H */
