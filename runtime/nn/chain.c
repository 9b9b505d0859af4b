/* chain.c: a training step's fused tasks merged into one task. On one GPU with nothing to
 * exchange, a fused step (gather, forward blocks, loss, backward blocks with their
 * optimiser steps) is a strict chain: each task needs the one before it, so the graph
 * holds no parallelism, and each task's runtime work on the host (dependencies, device
 * copies' lookup, stream and event handling, completion), tens of microseconds against
 * kernels of a few, was most of the step (bench/RESULTS.md, sixth session). While a chain
 * is open on a thread (nn_chain_begin), nn_submit records each operation (its bodies, a
 * copy of its arguments, its dependencies) instead of submitting it; nn_chain_end submits
 * one task whose bodies run the recorded ones in order, on the same CUDA stream, with the
 * union of their dependencies (a range named twice with different modes is declared once,
 * read-write). An operation that cannot join (no CUDA body, another device, a mode other
 * than in/out/inout, a range that overlaps a recorded one without being equal) closes the
 * chain so far and is submitted on its own, so the order stays the submission order. */
#include <stdlib.h>
#include <string.h>

#include "nn_model.h"

typedef struct { /* the chain task's argument block: this header, ops[n], deps[ndeps], arguments */
    size_t n, ndeps, size; /* size: of the whole block */
    nn_graphs_t *graphs;   /* the model's CUDA graphs (graph.cu), or NULL */
    nn_chain_op_t ops[];
} nn_chain_args_t;

/* the chain being recorded on this thread (the model's recorder) */
static _Thread_local nn_chain_t *cur;
#define R (*cur)

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

static int chain_cpu(void *p) {
    nn_chain_args_t *a = p;
    for (size_t i = 0; i < a->n; i++) {
        int rc = a->ops[i].fn((char *)a + a->ops[i].off);
        if (rc) return rc;
    }
    return 0;
}

static int chain_cuda(void *p, struct dag_cuda_ctx *ctx) {
    nn_chain_args_t *a = p;
    if (a->graphs)
        return nn_cuda.graphs_run(a->graphs, a, a->size, a->ops, a->n,
                                  (const dag_dep_t *)(a->ops + a->n), a->ndeps, ctx);
    for (size_t i = 0; i < a->n; i++) {
        int rc = a->ops[i].cu((char *)a + a->ops[i].off, ctx);
        if (rc) return rc;
    }
    return 0;
}

void nn_chain_begin(nn_chain_t *c, const dag_nn_exec_t *ex, int cpu, const char *label) {
    cur = c;
    R.label = label;
    R.cpu = cpu, R.ex = *ex;
    R.nops = R.blen = R.ndeps = 0;
    R.flushed = 0;
}

/* submit what is recorded (nothing when empty) */
static dag_status_t flush(void) {
    if (!R.nops) return DAG_OK;
    R.flushed++;
    size_t head = up16(sizeof(nn_chain_args_t) + sizeof(nn_chain_op_t) * R.nops +
                       sizeof(dag_dep_t) * R.ndeps);
    size_t size = head + R.blen;
    nn_chain_args_t *a = calloc(1, size); /* zeroed: the padding is part of a graph's key */
    if (!a) return DAG_ERR_NOMEM;
    a->n = R.nops, a->ndeps = R.ndeps, a->size = size;
    for (size_t i = 0; i < R.nops; i++) {
        a->ops[i] = R.ops[i];
        a->ops[i].off += head;
    }
    if (R.ndeps) memcpy(a->ops + R.nops, R.deps, sizeof(dag_dep_t) * R.ndeps);
    memcpy((char *)a + head, R.blob, R.blen);
    int gpu = !R.cpu || R.ops[0].cu; /* then every operation has a CUDA body */
    dag_task_attr_t at = {0};
    at.label = R.label;
    at.file = __FILE__;
    at.priority = R.ex.priority;
    at.device = gpu ? R.ex.device : DAG_DEVICE_CPU;
    if (gpu && R.ex.device != DAG_DEVICE_CPU) {
        at.cuda = chain_cuda;
        if (!R.graphs_tried && nn_cuda.graphs_new)
            R.graphs = nn_cuda.graphs_new(), R.graphs_tried = 1;
        a->graphs = R.graphs;
    }
    dag_status_t st = dag_submit(chain_cpu, a, size, R.deps, R.ndeps, &at);
    free(a);
    R.nops = R.blen = R.ndeps = 0;
    return st;
}

dag_status_t nn_chain_end(void) {
    if (!cur) return DAG_OK;
    dag_status_t st = flush();
    cur = NULL;
    return st;
}

/* the dependencies of operations joining the chain (deps_fit said they can) */
static void add_deps(const dag_dep_t *deps, size_t ndeps) {
    for (size_t i = 0; i < ndeps; i++) {
        if (!deps[i].len) continue;
        size_t j = 0;
        while (j < R.ndeps && !(R.deps[j].addr == deps[i].addr && R.deps[j].len == deps[i].len))
            j++;
        if (j < R.ndeps)
            R.deps[j].mode |= deps[i].mode; /* in | out = inout */
        else
            R.deps[R.ndeps++] = deps[i];
    }
}

void nn_chain_free(nn_chain_t *c) {
    if (c->graphs) nn_cuda.graphs_free(c->graphs);
    free(c->ops), free(c->blob), free(c->deps);
    memset(c, 0, sizeof *c);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return 1;
    *p = q, *cap = c;
    return 0;
}

/* 1: the deps can join the recorded ones (each equal to a recorded range or disjoint
 * from all of them, modes in/out/inout) */
static int deps_fit(const dag_dep_t *d, size_t nd) {
    for (size_t i = 0; i < nd; i++) {
        unsigned mode = d[i].mode;
        if (mode != DAG_IN && mode != DAG_OUT && mode != DAG_INOUT) return 0;
        const char *a = d[i].addr;
        for (size_t j = 0; j < R.ndeps && d[i].len; j++) {
            const char *b = R.deps[j].addr;
            if (a == b && d[i].len == R.deps[j].len) continue;
            if (a < b + R.deps[j].len && b < a + d[i].len) return 0;
        }
    }
    return 1;
}

int nn_chain_take(dag_task_fn fn, nn_cuda_fn cu, const void *args, size_t size,
                  const dag_dep_t *deps, size_t ndeps, const dag_nn_exec_t *ex,
                  dag_status_t *st) {
    if (!cur) return 0;
    *st = DAG_OK;
    int dev = ex ? ex->device : DAG_DEVICE_ANY;
    int joins = (cu || R.cpu) && dev == R.ex.device && (!R.nops || !R.ops[0].cu == !cu);
    if (joins && !deps_fit(deps, ndeps)) {
        if ((*st = flush())) return 1; /* an overlap: start a new chain with this one */
        joins = deps_fit(deps, ndeps);
    }
    if (!joins) {
        *st = flush();
        return *st != DAG_OK; /* the caller submits this one on its own */
    }
    if (grow((void **)&R.ops, &R.cap, R.nops + 1, sizeof *R.ops) ||
        grow((void **)&R.blob, &R.bcap, R.blen + up16(size ? size : 1), 1) ||
        grow((void **)&R.deps, &R.dcap, R.ndeps + ndeps, sizeof *R.deps)) {
        *st = DAG_ERR_NOMEM;
        return 1;
    }
    R.ops[R.nops++] = (nn_chain_op_t){fn, cu, R.blen};
    if (size) memcpy(R.blob + R.blen, args, size);
    R.blen += up16(size ? size : 1);
    add_deps(deps, ndeps);
    return 1;
}

dag_status_t nn_chain_end_with(const dag_dep_t *extra, int *merged) {
    *merged = 0;
    if (cur && R.nops && !R.flushed && deps_fit(extra, 1) &&
        !grow((void **)&R.deps, &R.dcap, R.ndeps + 1, sizeof *R.deps)) {
        add_deps(extra, 1);
        *merged = 1;
    }
    return nn_chain_end();
}
