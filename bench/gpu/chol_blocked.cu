// chol_blocked.cu: the Cholesky factorisation as a blocked right-looking algorithm with
// lookahead, on a column-major matrix (lda = N), as dag tasks on column blocks of NB
// columns, against one cusolverDnDpotrf call on the same matrix and against a hand-written
// version of the same algorithm (two CUDA streams and events, no runtime). Step k:
//   panel(k)     POTRF of the diagonal block, one tall TRSM below it      (column block k)
//   next(k)      column block k+1 updated by panel k: DSYRK + one DGEMM   (the lookahead)
//   trailing(k)  column blocks k+2.. updated by panel k: one tall DGEMM per column block
// Fewer and larger kernels than the tiled program (bench_gpu_linalg chol): panel k+1 runs
// while trailing(k) does, and every update is a DGEMM thousands of rows tall. Every result
// is checked against cuSOLVER's (lower triangle). Usage: bench_gpu_chol_blocked N NB
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cublas_v2.h>
#include <cusolverDn.h>

#include <dag.h>
#include <dag/cuda.h>

#include "bench_cuda.h"

static int N, NB, T;

static double *colblk(double *a, int j) { return a + (size_t)j * NB * N; }
static size_t cbytes() { return (size_t)N * NB * 8; }
static int rows_below(int j) { return N - j * NB; } // rows from block row j down

// the kernels, shared by the dag tasks and the hand-written version: ck is column block
// k on the device
static int k_panel(cublasHandle_t b, cusolverDnHandle_t s, double *ck, int k, double *ws,
                   int lwork, int *info)
{
    double *d = ck + (size_t)k * NB;
    if (cusolverDnDpotrf(s, CUBLAS_FILL_MODE_LOWER, NB, d, N, ws, lwork, info))
        return 1;
    int m = rows_below(k + 1);
    const double one = 1;
    return m > 0 && cublasDtrsm(b, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T,
                                CUBLAS_DIAG_NON_UNIT, m, NB, &one, d, N, d + NB, N);
}

// column block j (cj) -= L(j.., k) L(j, k)^T, lk = column block k (rows from block row j
// down). By default the diagonal block takes a DSYRK (its lower half only) and the rows
// below one DGEMM; CHOL_UPDATE=gemm updates the diagonal block in full with the rows below
// in one DGEMM (NB^3 / 2 more flops per update: 4.7% of the factorisation at NB = N / 16)
static bool g_syrk = true;
static int k_update(cublasHandle_t b, const double *lk, double *cj, int j)
{
    const double one = 1, mone = -1;
    const double *l = lk + (size_t)j * NB;
    double *c = cj + (size_t)j * NB;
    if (!g_syrk)
        return cublasDgemm(b, CUBLAS_OP_N, CUBLAS_OP_T, rows_below(j), NB, NB, &mone, l, N, l,
                           N, &one, c, N) != CUBLAS_STATUS_SUCCESS;
    if (cublasDsyrk(b, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, NB, NB, &mone, l, N, &one, c, N))
        return 1;
    int m = rows_below(j + 1);
    return m > 0 && cublasDgemm(b, CUBLAS_OP_N, CUBLAS_OP_T, m, NB, NB, &mone, l + NB, N, l,
                                N, &one, c + NB, N) != CUBLAS_STATUS_SUCCESS;
}

/* ---- dag tasks ---- */
struct args {
    double *a; // host matrix: the tasks translate block addresses with dag_cuda_ptr
    int k, j0, j1;
};
static int no_cpu(void *) { return 1; }

// the device address of host column block j of the task's matrix
static double *dblk(dag_cuda_ctx *ctx, double *a, int j)
{
    return (double *)dag_cuda_ptr(ctx, colblk(a, j));
}

static int t_panel(void *p, dag_cuda_ctx *ctx)
{
    args *t = (args *)p;
    cusolverDnHandle_t s = (cusolverDnHandle_t)dag_cuda_cusolver(ctx);
    double *c = dblk(ctx, t->a, t->k), *ws;
    int *info, lwork;
    if (!c)
        return 1;
    int e = potrf_task_ws(ctx, s, NB, c, N, &ws, &info, &lwork);
    if (e)
        return e;
    return k_panel((cublasHandle_t)dag_cuda_cublas(ctx), s, c, t->k, ws, lwork, info);
}

// updates of column blocks j0..j1-1 by panel k (each block its own region: the device
// copies of different blocks are not contiguous, so one DGEMM per block)
static int t_update(void *p, dag_cuda_ctx *ctx)
{
    args *t = (args *)p;
    double *lk = dblk(ctx, t->a, t->k);
    if (!lk)
        return 2;
    cublasHandle_t b = (cublasHandle_t)dag_cuda_cublas(ctx);
    for (int j = t->j0; j < t->j1; j++) {
        double *cj = dblk(ctx, t->a, j);
        if (!cj)
            return 2;
        if (k_update(b, lk, cj, j))
            return 1;
    }
    return 0;
}

static void submit(dag_cuda_fn fn, const char *label, args a, dag_dep_t *d, int nd, int prio)
{
    dag_task_attr_t at = {};
    at.label = label;
    at.device = DAG_DEVICE_CUDA;
    at.cuda = fn;
    at.priority = prio;
    if (dag_submit(no_cpu, &a, sizeof a, d, nd, &at) != DAG_OK)
        exit(1);
}

static void chol_submit(double *A)
{
    dag_dep_t *d = (dag_dep_t *)malloc(sizeof *d * (T + 1));
    for (int k = 0; k < T; k++) {
        d[0] = {colblk(A, k), cbytes(), DAG_INOUT};
        submit(t_panel, "panel", {A, k, 0, 0}, d, 1, 3);
        if (k + 1 < T) {
            d[0] = {colblk(A, k), cbytes(), DAG_IN};
            d[1] = {colblk(A, k + 1), cbytes(), DAG_INOUT};
            submit(t_update, "next", {A, k, k + 1, k + 2}, d, 2, 2);
        }
        if (k + 2 < T) {
            d[0] = {colblk(A, k), cbytes(), DAG_IN};
            for (int j = k + 2; j < T; j++)
                d[j - k - 1] = {colblk(A, j), cbytes(), DAG_INOUT};
            submit(t_update, "trailing", {A, k, k + 2, T}, d, T - k - 1, 0);
        }
    }
    free(d);
}

struct copy_args {
    double *from, *to;
};
static int t_copy(void *p, dag_cuda_ctx *ctx)
{
    copy_args *c = (copy_args *)p;
    return cudaMemcpyAsync(dag_cuda_ptr(ctx, c->to), dag_cuda_ptr(ctx, c->from), cbytes(),
                           cudaMemcpyDeviceToDevice, dag_cuda_stream(ctx)) != cudaSuccess;
}

// the dag version on device-resident data (blocks registered, brought in by a first run;
// each timed run starts from K, copied on the device, and is a taskgroup: no write-back)
static double dag_resident(double *A, double *K)
{
    for (int j = 0; j < T; j++) {
        dag_cuda_register(colblk(A, j), cbytes());
        dag_cuda_register(colblk(K, j), cbytes());
    }
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (int j = 0; j < T; j++) {
            copy_args c = {colblk(K, j), colblk(A, j)};
            dag_dep_t d[2] = {{c.from, cbytes(), DAG_IN}, {c.to, cbytes(), DAG_OUT}};
            dag_task_attr_t at = {};
            at.label = "restore";
            at.device = DAG_DEVICE_CUDA;
            at.cuda = t_copy;
            if (dag_submit(no_cpu, &c, sizeof c, d, 2, &at) != DAG_OK)
                exit(1);
        }
        if (rep == 0)
            chol_submit(A); // brings everything in
        if (dag_taskwait() != DAG_OK)
            exit(1);
        if (rep == 0)
            continue;
        double t0 = now_s();
        dag_taskgroup_begin();
        chol_submit(A);
        if (dag_taskgroup_end() != DAG_OK)
            exit(1);
        double t = now_s() - t0;
        best = rep == 1 ? t : std::min(best, t);
    }
    if (dag_taskwait() != DAG_OK) // the result home, for the check
        exit(1);
    for (int j = 0; j < T; j++) {
        dag_cuda_unregister(colblk(A, j), cbytes());
        dag_cuda_unregister(colblk(K, j), cbytes());
    }
    return best;
}

// the same algorithm by hand: panel and lookahead on a high-priority stream, the trailing
// updates on a second stream, ordered by events
static double hand(const double *in, double *out)
{
    size_t bytes = (size_t)N * N * 8;
    double *a;
    CK(cudaMalloc(&a, bytes));
    int lo, hi;
    CK(cudaDeviceGetStreamPriorityRange(&lo, &hi));
    cudaStream_t s0, s1;
    CK(cudaStreamCreateWithPriority(&s0, cudaStreamNonBlocking, hi));
    CK(cudaStreamCreateWithPriority(&s1, cudaStreamNonBlocking, lo));
    cublasHandle_t b0, b1;
    cusolverDnHandle_t sh;
    cublasCreate(&b0), cublasCreate(&b1), cusolverDnCreate(&sh);
    cublasSetStream(b0, s0), cublasSetStream(b1, s1), cusolverDnSetStream(sh, s0);
    double *ws;
    int *info;
    int lwork = potrf_alloc(sh, NB, a, N, &ws, &info);
    cudaEvent_t *pan = (cudaEvent_t *)malloc(sizeof *pan * T), *trl = (cudaEvent_t *)malloc(sizeof *trl * T);
    for (int k = 0; k < T; k++) {
        CK(cudaEventCreateWithFlags(&pan[k], cudaEventDisableTiming));
        CK(cudaEventCreateWithFlags(&trl[k], cudaEventDisableTiming));
    }
    double best = 0;
    for (int rep = 0; rep < 2; rep++) {
        CK(cudaMemcpy(a, in, bytes, cudaMemcpyHostToDevice));
        CK(cudaDeviceSynchronize());
        double t0 = now_s();
        for (int k = 0; k < T; k++) {
            if (k >= 2) // column block k also got trailing(k - 2)
                cudaStreamWaitEvent(s0, trl[k - 2], 0);
            k_panel(b0, sh, colblk(a, k), k, ws, lwork, info);
            cudaEventRecord(pan[k], s0);
            if (k + 1 < T) {
                if (k >= 1)
                    cudaStreamWaitEvent(s0, trl[k - 1], 0);
                k_update(b0, colblk(a, k), colblk(a, k + 1), k + 1);
            }
            if (k + 2 < T) {
                cudaStreamWaitEvent(s1, pan[k], 0);
                for (int j = k + 2; j < T; j++)
                    k_update(b1, colblk(a, k), colblk(a, j), j);
                cudaEventRecord(trl[k], s1);
            }
        }
        CK(cudaDeviceSynchronize());
        double t = now_s() - t0;
        best = rep ? std::min(best, t) : t;
    }
    CK(cudaMemcpy(out, a, bytes, cudaMemcpyDeviceToHost));
    for (int k = 0; k < T; k++)
        cudaEventDestroy(pan[k]), cudaEventDestroy(trl[k]);
    free(pan), free(trl);
    cublasDestroy(b0), cublasDestroy(b1), cusolverDnDestroy(sh);
    cudaStreamDestroy(s0), cudaStreamDestroy(s1);
    cudaFree(ws), cudaFree(info), cudaFree(a);
    return best;
}

static double lib(const double *in, double *out)
{
    size_t bytes = (size_t)N * N * 8;
    double *a, *w;
    int *info;
    cusolverDnHandle_t sh;
    cusolverDnCreate(&sh);
    CK(cudaMalloc(&a, bytes));
    int lwork = potrf_alloc(sh, N, a, N, &w, &info);
    double best = 0;
    for (int rep = 0; rep < 2; rep++) {
        CK(cudaMemcpy(a, in, bytes, cudaMemcpyHostToDevice));
        CK(cudaDeviceSynchronize());
        double t0 = now_s();
        cusolverDnDpotrf(sh, CUBLAS_FILL_MODE_LOWER, N, a, N, w, lwork, info);
        CK(cudaDeviceSynchronize());
        double t = now_s() - t0;
        best = rep ? std::min(best, t) : t;
    }
    CK(cudaMemcpy(out, a, bytes, cudaMemcpyDeviceToHost));
    cudaFree(a), cudaFree(w), cudaFree(info);
    cusolverDnDestroy(sh);
    return best;
}

// max |x - ref| / max |ref| over the lower triangle
static double rel_err(const double *x, const double *ref)
{
    double err = 0, scale = 0;
    for (int j = 0; j < N; j++)
        for (int i = j; i < N; i++) {
            size_t k = (size_t)j * N + i;
            err = std::max(err, fabs(x[k] - ref[k]));
            scale = std::max(scale, fabs(ref[k]));
        }
    return err / scale;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s N NB\n", argv[0]);
        return 2;
    }
    N = atoi(argv[1]);
    NB = atoi(argv[2]);
    if (N <= 0 || NB <= 0 || N % NB) {
        fprintf(stderr, "N (%d) must be a positive multiple of NB (%d)\n", N, NB);
        return 2;
    }
    T = N / NB;
    const char *upd = getenv("CHOL_UPDATE");
    g_syrk = !upd || strcmp(upd, "gemm");
    if (!dag_cuda_device_count()) {
        printf("SKIPPED: no CUDA device\n");
        return 0;
    }
    size_t bytes = (size_t)N * N * 8;
    double *A = (double *)dag_cuda_malloc_host(bytes), *K = (double *)dag_cuda_malloc_host(bytes);
    double *ref = (double *)malloc(bytes), *out = (double *)malloc(bytes);
    if (!A || !K || !ref || !out) {
        fprintf(stderr, "out of host memory\n");
        return 1;
    }
    unsigned s = 1; // symmetric positive definite: (R + R^T)/2 + N I
    for (int j = 0; j < N; j++)
        for (int i = j; i < N; i++) {
            s = s * 1664525u + 1013904223u;
            double v = (s >> 8) * (1.0 / 16777216.0) - 0.5 + (i == j ? N : 0);
            K[(size_t)j * N + i] = K[(size_t)i * N + j] = v;
        }
    double tlib = lib(K, ref);
    double thand = hand(K, out), ehand = rel_err(out, ref);
    // from the host: the blocks start and end in host memory (page-locked), every copy
    // counted; the second of two runs
    double thost = 0;
    for (int rep = 0; rep < 2; rep++) {
        memcpy(A, K, bytes);
        double t0 = now_s();
        chol_submit(A);
        if (dag_taskwait() != DAG_OK) {
            fprintf(stderr, "cholesky: a task failed\n");
            return 1;
        }
        thost = now_s() - t0;
    }
    double ehost = rel_err(A, ref);
    memcpy(A, K, bytes);
    double tres = dag_resident(A, K), eres = rel_err(A, ref);
    double f = (double)N * N * (double)N / 3.0;
    printf("Cholesky N=%d NB=%d, blocked right-looking with lookahead, column-major, "
           "diagonal blocks by %s\n", N, NB, g_syrk ? "DSYRK" : "DGEMM (in full)");
    printf("  cuSOLVER dpotrf on device data        %8.1f ms %6.2f TFLOP/s\n", tlib * 1e3,
           f / tlib / 1e12);
    printf("  hand-written (2 streams, events)      %8.1f ms %6.2f TFLOP/s: %.2fx cuSOLVER; "
           "max rel. diff %.2e %s\n", thand * 1e3, f / thand / 1e12, tlib / thand, ehand,
           ehand < 1e-9 ? "OK" : "MISMATCH");
    printf("  dag, device-resident                  %8.1f ms %6.2f TFLOP/s: %.2fx cuSOLVER, "
           "%.2fx hand-written; max rel. diff %.2e %s\n", tres * 1e3, f / tres / 1e12,
           tlib / tres, thand / tres, eres, eres < 1e-9 ? "OK" : "MISMATCH");
    printf("  dag, from the host (copies included)  %8.1f ms %6.2f TFLOP/s; max rel. diff "
           "%.2e %s\n", thost * 1e3, f / thost / 1e12, ehost, ehost < 1e-9 ? "OK" : "MISMATCH");
    dag_finalize();
    dag_cuda_free_host(A);
    dag_cuda_free_host(K);
    free(ref), free(out);
    return ehand > 1e-9 || eres > 1e-9 || ehost > 1e-9;
}
