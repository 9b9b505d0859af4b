/* graph.cu: a chained training step (chain.c) replayed as a CUDA graph. A chained step's
 * CUDA body makes some twenty kernel launches and cuBLAS calls, and their cost on the
 * host (about 200 us a step for the MLP at batch 64 on an H100's host, against about
 * 130 us of GPU work) bounded the step. The steps of an epoch launch the same work on the
 * same device addresses; only a few argument fields change from one step to the next
 * (the batch's indices, the optimiser's step count and rate, the dropout seed: cuda.cu's
 * nn_cuda_mask). So a step whose key is new runs directly; the second time the key is
 * seen it is captured (stream capture of the same bodies) and instantiated; from then on
 * the step copies its argument block to the device, where the captured kernels read the
 * changing fields (cuda.cu's DYN), and launches the graph: two calls instead of twenty.
 * The key is the stream, the argument block with those fields zeroed, and the device
 * addresses of every dependency and of the stream's scratch, so a graph only ever runs on
 * the addresses it was captured with; a capture that fails (an operation that cannot be
 * captured) leaves its key to run directly. DAG_NN_GRAPH=0 turns replay off. */
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag/cuda.h"
#include "nn_internal.h"

#define NG 8     /* keys (and graphs) kept per model */
#define NSTAGE 8 /* pinned staging copies of a graph's argument block, used in turn */

typedef struct {
    unsigned char *key; /* NULL: a free slot */
    size_t klen;
    unsigned long used; /* the clock at its last use */
    int busy, bad;      /* a task is running it; its capture failed (runs directly) */
    size_t ws;          /* the largest scratch request of its direct run */
    void *wsp;          /* the scratch address the graph was captured with */
    cudaGraphExec_t exec;
    /* the argument block on the device, and NSTAGE pinned staging copies, each with an
     * event recorded behind its last copy: while the host runs ahead of the GPU (steps
     * queued behind each other), a step overwrites the staging copy used NSTAGE steps
     * before, not the one of the step still waiting to run */
    void *dblock, *pinned;
    size_t bsize;
    unsigned next;
    cudaEvent_t copied[NSTAGE];
} entry_t;

struct nn_graphs {
    pthread_mutex_t mu;
    unsigned long clock;
    long captured, replayed, direct;
    int verbose, warned;
    entry_t e[NG];
};

nn_graphs_t *nn_graphs_new(void) {
    const char *env = getenv("DAG_NN_GRAPH");
    if (env && !strcmp(env, "0")) return NULL;
    nn_graphs_t *g = (nn_graphs_t *)calloc(1, sizeof *g);
    if (!g) return NULL;
    pthread_mutex_init(&g->mu, NULL);
    g->verbose = env && !strcmp(env, "2");
    return g;
}

static void drop_graph(entry_t *e) {
    if (e->exec) cudaGraphExecDestroy(e->exec);
    if (e->dblock) cudaFree(e->dblock);
    if (e->pinned) cudaFreeHost(e->pinned);
    for (int i = 0; i < NSTAGE; i++)
        if (e->copied[i]) cudaEventDestroy(e->copied[i]), e->copied[i] = NULL;
    e->exec = NULL, e->dblock = e->pinned = NULL, e->bsize = 0;
}

static void drop(entry_t *e) {
    drop_graph(e);
    free(e->key);
    memset(e, 0, sizeof *e);
}

void nn_graphs_free(nn_graphs_t *g) {
    if (!g) return;
    if (g->verbose)
        fprintf(stderr, "dagnn: steps as CUDA graphs: %ld captured, %ld replayed, %ld direct\n",
                g->captured, g->replayed, g->direct);
    for (int i = 0; i < NG; i++) drop(&g->e[i]);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* the key of a step (malloc'd), NULL when an operation cannot be captured */
static unsigned char *key_of(const void *block, size_t size, const nn_chain_op_t *ops,
                             size_t nops, const dag_dep_t *deps, size_t ndeps,
                             struct dag_cuda_ctx *ctx, size_t *klen) {
    cudaStream_t s = dag_cuda_stream(ctx);
    int dev = dag_cuda_device(ctx);
    size_t head = sizeof s + sizeof dev, n = head + size + ndeps * sizeof(void *);
    unsigned char *k = (unsigned char *)malloc(n);
    if (!k) return NULL;
    memcpy(k, &s, sizeof s);
    memcpy(k + sizeof s, &dev, sizeof dev);
    memcpy(k + head, block, size);
    for (size_t i = 0; i < nops; i++)
        if (nn_cuda_mask(ops[i].cu, k + head + ops[i].off)) {
            free(k);
            return NULL;
        }
    for (size_t i = 0; i < ndeps; i++) {
        void *d = deps[i].len ? dag_cuda_ptr(ctx, deps[i].addr) : NULL;
        memcpy(k + head + size + i * sizeof d, &d, sizeof d);
    }
    *klen = n;
    return k;
}

/* the bodies one after another on the task's stream */
static int run_direct(void *block, const nn_chain_op_t *ops, size_t nops,
                      struct dag_cuda_ctx *ctx) {
    for (size_t i = 0; i < nops; i++) {
        int rc = ops[i].cu((char *)block + ops[i].off, ctx);
        if (rc) return rc;
    }
    return 0;
}

/* the argument block to the device, behind the stream's earlier work */
static int stage(entry_t *e, const void *block, size_t size, cudaStream_t s) {
    unsigned k = e->next++ % NSTAGE;
    char *pin = (char *)e->pinned + k * size;
    if (cudaEventSynchronize(e->copied[k]) != cudaSuccess) return DAG_ERR_DEVICE;
    memcpy(pin, block, size);
    if (cudaMemcpyAsync(e->dblock, pin, size, cudaMemcpyHostToDevice, s) != cudaSuccess ||
        cudaEventRecord(e->copied[k], s) != cudaSuccess)
        return DAG_ERR_DEVICE;
    return 0;
}

/* capture the step into e->exec; nonzero when it could not be (nothing ran) */
static int capture(entry_t *e, void *block, size_t size, const nn_chain_op_t *ops, size_t nops,
                   struct dag_cuda_ctx *ctx) {
    cudaStream_t s = dag_cuda_stream(ctx);
    /* the scratch at its size first: growing it inside the capture would synchronise */
    e->wsp = e->ws ? dag_cuda_workspace(ctx, e->ws) : NULL;
    if (e->ws && !e->wsp) return 1;
    int ok = cudaMalloc(&e->dblock, size) == cudaSuccess &&
             cudaMallocHost(&e->pinned, size * NSTAGE) == cudaSuccess;
    for (int i = 0; ok && i < NSTAGE; i++)
        ok = cudaEventCreateWithFlags(&e->copied[i], cudaEventDisableTiming) == cudaSuccess;
    if (!ok) {
        cudaGetLastError();
        drop_graph(e);
        return 1;
    }
    e->bsize = size;
    if (stage(e, block, size, s)) return drop_graph(e), 1;
    nn_cuda_ws_take();
    cudaGraph_t graph = NULL;
    int rc = 1;
    if (cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
        nn_cuda_dyn(block, e->dblock, size);
        rc = run_direct(block, ops, nops, ctx);
        nn_cuda_dyn(NULL, NULL, 0);
        if (cudaStreamEndCapture(s, &graph) != cudaSuccess) rc = 1;
    }
    if (nn_cuda_ws_take() > e->ws) rc = 1; /* the scratch grew inside: not captured */
    if (!rc && cudaGraphInstantiate(&e->exec, graph, 0) != cudaSuccess) rc = 1, e->exec = NULL;
    if (graph) cudaGraphDestroy(graph);
    if (rc) {
        cudaGetLastError(); /* the failed capture's error is not the task's */
        drop_graph(e);
    }
    return rc;
}

/* x goes before v: a free slot first, then keys without a graph, then the least recent */
static int worse(const entry_t *x, const entry_t *v) {
    if (!x->key || !v->key) return !x->key && v->key;
    if (!x->exec != !v->exec) return !x->exec;
    return x->used < v->used;
}

int nn_graphs_run(nn_graphs_t *g, void *block, size_t size, const nn_chain_op_t *ops,
                  size_t nops, const dag_dep_t *deps, size_t ndeps, struct dag_cuda_ctx *ctx) {
    size_t klen = 0;
    unsigned char *k = g ? key_of(block, size, ops, nops, deps, ndeps, ctx, &klen) : NULL;
    if (!k) return run_direct(block, ops, nops, ctx);
    entry_t *e = NULL, *victim = NULL;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < NG && !e; i++) {
        entry_t *x = &g->e[i];
        if (x->key && x->klen == klen && !memcmp(x->key, k, klen)) e = x;
        else if (!x->busy && (!victim || worse(x, victim))) victim = x;
    }
    int fresh = !e;
    if (fresh && victim) {
        drop(victim);
        e = victim, e->key = k, e->klen = klen, k = NULL;
    } else if (e && (e->busy || e->bad)) {
        e = NULL; /* another task runs it, or it cannot be captured: directly */
    }
    if (e) e->busy = 1, e->used = ++g->clock;
    pthread_mutex_unlock(&g->mu);
    free(k);
    int rc, replayed = 0, bad = 0, captured = 0;
    if (!e || fresh) { /* a key seen once: run, noting the scratch it takes */
        nn_cuda_ws_take();
        rc = run_direct(block, ops, nops, ctx);
        if (e) e->ws = nn_cuda_ws_take();
    } else {
        cudaStream_t s = dag_cuda_stream(ctx);
        if (e->exec && e->ws && dag_cuda_workspace(ctx, e->ws) != e->wsp)
            drop_graph(e); /* the scratch moved: capture again */
        int fresh_graph = !e->exec;
        if (fresh_graph && capture(e, block, size, ops, nops, ctx)) {
            bad = 1; /* marked below, under the lock the other tasks read it with */
            rc = run_direct(block, ops, nops, ctx);
        } else {
            captured = fresh_graph;
            /* a fresh capture staged the block already */
            rc = fresh_graph ? 0 : e->bsize == size ? stage(e, block, size, s) : DAG_ERR_INVALID;
            if (!rc && cudaGraphLaunch(e->exec, s) != cudaSuccess) rc = DAG_ERR_DEVICE;
            replayed = 1;
        }
    }
    pthread_mutex_lock(&g->mu);
    if (e) e->busy = 0, e->bad |= bad;
    replayed ? g->replayed++ : g->direct++;
    g->captured += captured;
    int warn = e && e->bad && !g->warned;
    if (warn) g->warned = 1;
    pthread_mutex_unlock(&g->mu);
    if (warn && g->verbose)
        fprintf(stderr, "dagnn: a chained step could not be captured as a CUDA graph; such "
                        "steps run directly\n");
    return rc;
}
