// linalg.cu: tiled DGEMM and Cholesky as dag tasks on cuBLAS/cuSOLVER tile kernels,
// against one cublasDgemm / cusolverDnDpotrf call on the whole matrix. The dag versions
// start and end with the data on the host (pinned tiles) and include every transfer;
// the library calls are timed twice: on data already on the device, and with the
// copies in and out. The dag versions are timed on device-resident data too (tiles
// registered, brought in by a first run), which is what the library's on-device time
// compares with. Results are checked against the library's.
// Usage: bench_gpu_linalg gemm|chol N NB [noref]   (BENCH_TRSM=inv: see t_trsm_inv;
//   BENCH_CHOL=col: see chol_submit_col; BENCH_HAND=S: the hand-written tiled anchor on
//   S update streams, default 4, 0 skips it: see chol_hand)
//   DAG_CUDA_MEM_MB caps the runtime's device memory (out-of-core runs);
//   DAG_CUDA_DEVICES=1 restricts it to one GPU.
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
static double *tile(double *m, int i, int j) { return m + ((size_t)j * T + i) * NB * NB; }
static size_t tbytes() { return (size_t)NB * NB * 8; }

// tiles <-> column-major full matrix
static void to_full(double *m, double *full)
{
    for (int j = 0; j < T; j++)
        for (int i = 0; i < T; i++)
            for (int c = 0; c < NB; c++)
                memcpy(full + ((size_t)j * NB + c) * N + (size_t)i * NB, tile(m, i, j) + (size_t)c * NB,
                       NB * 8);
}

struct targs {
    double *a, *b, *c;
};

static int no_cpu(void *) { return 1; }

static void submit_raw(dag_cuda_fn fn, const char *label, const void *args, size_t len,
                       dag_dep_t *d, int nd, int prio)
{
    dag_task_attr_t at = {};
    at.label = label;
    at.device = DAG_DEVICE_CUDA;
    at.cuda = fn;
    at.priority = prio;
    if (dag_submit(no_cpu, args, len, d, nd, &at) != DAG_OK)
        exit(1);
}
static void submit(dag_cuda_fn fn, const char *label, targs a, dag_dep_t *d, int nd, int prio)
{
    submit_raw(fn, label, &a, sizeof a, d, nd, prio);
}

#define DEV(p) ((double *)dag_cuda_ptr(ctx, (p)))
#define BLAS ((cublasHandle_t)dag_cuda_cublas(ctx))

static int t_gemm_nn(void *p, dag_cuda_ctx *ctx) // c += a b
{
    targs *t = (targs *)p;
    const double one = 1;
    return cublasDgemm(BLAS, CUBLAS_OP_N, CUBLAS_OP_N, NB, NB, NB, &one, DEV(t->a), NB, DEV(t->b),
                       NB, &one, DEV(t->c), NB) != CUBLAS_STATUS_SUCCESS;
}

// the Cholesky's tile kernels on device pointers, for the dag tasks below and the
// hand-written anchor (chol_hand)
static int k_gemm_nt(cublasHandle_t h, const double *a, const double *b, double *c) // c -= a b^T
{
    const double one = 1, mone = -1;
    return cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, NB, NB, NB, &mone, a, NB, b, NB, &one, c,
                       NB) != CUBLAS_STATUS_SUCCESS;
}
static int k_syrk(cublasHandle_t h, const double *a, double *c) // c -= a a^T (lower)
{
    const double one = 1, mone = -1;
    return cublasDsyrk(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, NB, NB, &mone, a, NB, &one, c,
                       NB) != CUBLAS_STATUS_SUCCESS;
}
static int k_trsm(cublasHandle_t h, const double *l, double *c) // c = c L^-T
{
    const double one = 1;
    return cublasDtrsm(h, CUBLAS_SIDE_RIGHT, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T,
                       CUBLAS_DIAG_NON_UNIT, NB, NB, &one, l, NB, c, NB) != CUBLAS_STATUS_SUCCESS;
}

static int t_gemm_nt(void *p, dag_cuda_ctx *ctx)
{
    targs *t = (targs *)p;
    return k_gemm_nt(BLAS, DEV(t->a), DEV(t->b), DEV(t->c));
}
static int t_syrk(void *p, dag_cuda_ctx *ctx)
{
    targs *t = (targs *)p;
    return k_syrk(BLAS, DEV(t->a), DEV(t->c));
}
static int t_trsm(void *p, dag_cuda_ctx *ctx) // L = a
{
    targs *t = (targs *)p;
    return k_trsm(BLAS, DEV(t->a), DEV(t->c));
}

static int t_potrf(void *p, dag_cuda_ctx *ctx)
{
    targs *t = (targs *)p;
    cusolverDnHandle_t h = (cusolverDnHandle_t)dag_cuda_cusolver(ctx);
    double *a = DEV(t->c), *ws;
    int *info, lwork, e = potrf_task_ws(ctx, h, NB, a, NB, &ws, &info, &lwork);
    if (e)
        return e;
    return cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, NB, a, NB, ws, lwork, info) !=
           CUSOLVER_STATUS_SUCCESS;
}

// BENCH_TRSM=inv: the panel's TRSMs as GEMMs. The POTRF task also inverts its factor
// (cusolverDnXtrtri) into a tile of Inv, and each TRSM multiplies by that inverse
// (C L^-T = C (L^-1)^T, a DGEMM into a workspace, copied back), as MAGMA does with
// inverted diagonal blocks: cuBLAS's DTRSM of a 1024 tile runs at a small fraction of
// its DGEMM speed, and 16 of them lie on the critical path.
static double *Inv; // T tiles, one per panel step
static bool trsm_inv;

__global__ static void zero_upper(double *a, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x, j = blockIdx.y;
    if (i < j && j < n)
        a[(size_t)j * n + i] = 0;
}

static int t_potrf_inv(void *p, dag_cuda_ctx *ctx) // c = chol(c); b = c^-1 (lower)
{
    targs *t = (targs *)p;
    int rc = t_potrf(p, ctx);
    if (rc)
        return rc;
    cusolverDnHandle_t h = (cusolverDnHandle_t)dag_cuda_cusolver(ctx);
    cudaStream_t s = dag_cuda_stream(ctx);
    double *inv = DEV(t->b);
    if (cudaMemcpyAsync(inv, DEV(t->c), tbytes(), cudaMemcpyDeviceToDevice, s) != cudaSuccess)
        return 3;
    size_t dws = 0, hws = 0;
    if (cusolverDnXtrtri_bufferSize(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_DIAG_NON_UNIT, NB, CUDA_R_64F,
                                    inv, NB, &dws, &hws))
        return 4;
    static thread_local char *hbuf;
    static thread_local size_t hcap;
    if (hws > hcap) {
        free(hbuf);
        hbuf = (char *)malloc(hws);
        hcap = hbuf ? hws : 0;
        if (!hbuf)
            return 5;
    }
    char *ws = (char *)dag_cuda_workspace(ctx, dws + 256);
    if (!ws)
        return 6;
    if (cusolverDnXtrtri(h, CUBLAS_FILL_MODE_LOWER, CUBLAS_DIAG_NON_UNIT, NB, CUDA_R_64F, inv, NB,
                         ws + 256, dws, hbuf, hws, (int *)ws))
        return 7;
    zero_upper<<<dim3((NB + 255) / 256, NB), 256, 0, s>>>(inv, NB);
    return cudaGetLastError() != cudaSuccess;
}

static int t_trsm_inv(void *p, dag_cuda_ctx *ctx) // c = c L^-T = c (L^-1)^T, b = L^-1
{
    targs *t = (targs *)p;
    const double one = 1, zero = 0;
    double *w = (double *)dag_cuda_workspace(ctx, tbytes());
    if (!w)
        return 2;
    if (cublasDgemm(BLAS, CUBLAS_OP_N, CUBLAS_OP_T, NB, NB, NB, &one, DEV(t->c), NB, DEV(t->b), NB,
                    &zero, w, NB) != CUBLAS_STATUS_SUCCESS)
        return 1;
    return cudaMemcpyAsync(DEV(t->c), w, tbytes(), cudaMemcpyDeviceToDevice,
                           dag_cuda_stream(ctx)) != cudaSuccess;
}

static void gemm_submit(double *A, double *B, double *C)
{
    for (int k = 0; k < T; k++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                targs a = {tile(A, i, k), tile(B, k, j), tile(C, i, j)};
                dag_dep_t d[3] = {{a.a, tbytes(), DAG_IN}, {a.b, tbytes(), DAG_IN},
                                  {a.c, tbytes(), DAG_INOUT}};
                submit(t_gemm_nn, "gemm", a, d, 3, 0);
            }
}

static double gemm_dag(double *A, double *B, double *C)
{
    double t0 = now_s();
    gemm_submit(A, B, C);
    if (dag_taskwait() != DAG_OK)
        exit(1);
    return now_s() - t0;
}

static void chol_submit(double *A)
{
    for (int k = 0; k < T; k++) {
        double *inv = trsm_inv && k + 1 < T ? Inv + (size_t)k * NB * NB : nullptr;
        targs p = {nullptr, inv, tile(A, k, k)};
        dag_dep_t dp[2] = {{p.c, tbytes(), DAG_INOUT}, {inv, tbytes(), DAG_OUT}};
        submit(inv ? t_potrf_inv : t_potrf, "potrf", p, dp, inv ? 2 : 1, 3);
        for (int i = k + 1; i < T; i++) {
            targs a = {tile(A, k, k), inv, tile(A, i, k)};
            dag_dep_t d[2] = {{inv ? inv : a.a, tbytes(), DAG_IN}, {a.c, tbytes(), DAG_INOUT}};
            submit(inv ? t_trsm_inv : t_trsm, "trsm", a, d, 2, 2);
        }
        for (int i = k + 1; i < T; i++) {
            targs s = {tile(A, i, k), nullptr, tile(A, i, i)};
            dag_dep_t ds[2] = {{s.a, tbytes(), DAG_IN}, {s.c, tbytes(), DAG_INOUT}};
            submit(t_syrk, "syrk", s, ds, 2, i == k + 1 ? 2 : 1);
            for (int j = k + 1; j < i; j++) {
                targs g = {tile(A, i, k), tile(A, j, k), tile(A, i, j)};
                dag_dep_t dg[3] = {{g.a, tbytes(), DAG_IN}, {g.b, tbytes(), DAG_IN},
                                   {g.c, tbytes(), DAG_INOUT}};
                submit(t_gemm_nt, "gemm_nt", g, dg, 3, j == k + 1 ? 1 : 0);
            }
        }
    }
}

// BENCH_CHOL=col: the same tiles, a task per tile *column*. Column j is two regions, its
// diagonal tile D_j and the tiles below it, P_j (contiguous in this layout), and every
// task names whole regions, so no two regions partly overlap. Step k: POTRF of D_k (and
// the inverse of its factor, as BENCH_TRSM=inv), the TRSM of P_k as one strided-batched
// DGEMM by that inverse, then for each later column j one update task: SYRK of D_j and
// one strided-batched DGEMM over P_j (tile (i,j) -= (i,k) (j,k)^T for every i > j). Fewer,
// larger kernels: a 1024 tile's DGEMM fills half of an H100's SMs, a column's fills it.
static bool chol_col;
static double *ptile(double *m, int j) { return m + ((size_t)j * T + j + 1) * NB * NB; }
static size_t pbytes(int j) { return (size_t)(T - 1 - j) * tbytes(); }

struct cargs {
    double *A;
    int k, j;
};

static int t_trsm_col(void *p, dag_cuda_ctx *ctx) // P_k = P_k L^-T, tile by tile
{
    cargs *c = (cargs *)p;
    int m = T - 1 - c->k;
    const double one = 1, zero = 0;
    double *w = (double *)dag_cuda_workspace(ctx, pbytes(c->k));
    double *pk = DEV(ptile(c->A, c->k));
    if (!w || !pk)
        return 2;
    if (cublasDgemmStridedBatched(BLAS, CUBLAS_OP_N, CUBLAS_OP_T, NB, NB, NB, &one, pk, NB,
                                  (long long)NB * NB, DEV(Inv + (size_t)c->k * NB * NB), NB, 0,
                                  &zero, w, NB, (long long)NB * NB, m) != CUBLAS_STATUS_SUCCESS)
        return 1;
    return cudaMemcpyAsync(pk, w, pbytes(c->k), cudaMemcpyDeviceToDevice, dag_cuda_stream(ctx)) !=
           cudaSuccess;
}

static int t_update_col(void *p, dag_cuda_ctx *ctx) // column j after panel k
{
    cargs *c = (cargs *)p;
    const double one = 1, mone = -1;
    double *ajk = DEV(tile(c->A, c->j, c->k)), *djj = DEV(tile(c->A, c->j, c->j));
    if (!ajk || !djj)
        return 2;
    if (cublasDsyrk(BLAS, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, NB, NB, &mone, ajk, NB, &one, djj,
                    NB) != CUBLAS_STATUS_SUCCESS)
        return 1;
    int m = T - 1 - c->j;
    if (!m)
        return 0;
    double *aik = DEV(tile(c->A, c->j + 1, c->k)), *pj = DEV(ptile(c->A, c->j));
    if (!aik || !pj)
        return 2;
    return cublasDgemmStridedBatched(BLAS, CUBLAS_OP_N, CUBLAS_OP_T, NB, NB, NB, &mone, aik, NB,
                                     (long long)NB * NB, ajk, NB, 0, &one, pj, NB,
                                     (long long)NB * NB, m) != CUBLAS_STATUS_SUCCESS;
}

static void chol_submit_col(double *A)
{
    for (int k = 0; k < T; k++) {
        bool last = k + 1 == T;
        double *inv = last ? nullptr : Inv + (size_t)k * NB * NB;
        targs p = {nullptr, inv, tile(A, k, k)};
        dag_dep_t dp[2] = {{p.c, tbytes(), DAG_INOUT}, {inv, tbytes(), DAG_OUT}};
        submit(last ? t_potrf : t_potrf_inv, "potrf", p, dp, last ? 1 : 2, 3);
        if (last)
            break;
        cargs t = {A, k, k};
        dag_dep_t dt[2] = {{inv, tbytes(), DAG_IN}, {ptile(A, k), pbytes(k), DAG_INOUT}};
        submit_raw(t_trsm_col, "trsm_col", &t, sizeof t, dt, 2, 2);
        for (int j = k + 1; j < T; j++) {
            cargs u = {A, k, j};
            dag_dep_t du[3] = {{ptile(A, k), pbytes(k), DAG_IN},
                               {tile(A, j, j), tbytes(), DAG_INOUT},
                               {ptile(A, j), pbytes(j), DAG_INOUT}};
            submit_raw(t_update_col, "update_col", &u, sizeof u, du, j + 1 < T ? 3 : 2,
                       j == k + 1 ? 2 : 0);
        }
    }
}

// The hand-written anchor of the tiled Cholesky: the same tile kernels in the same order,
// issued by one thread on CUDA streams with events and no runtime: the TRSMs of row i and
// the updates of tile column j on stream 1 + i % S / 1 + j % S, each
// kernel after the events of the last writers of its tiles (in Cholesky a tile is read
// only once it is final, so last-writer events order everything); the next step's chain
// (its POTRF, the TRSM and SYRK feeding it) on the high-priority stream. Device-resident tiles,
// as cuSOLVER's on-device time. Tells the tile algorithm's own limit from the runtime's.
static double chol_hand(const double *in, double *out, int nstreams)
{
    size_t bytes = (size_t)T * T * tbytes();
    double *d;
    CK(cudaMalloc(&d, bytes));
    CK(cudaMemcpy(d, in, bytes, cudaMemcpyHostToDevice));
    int lo, hi;
    CK(cudaDeviceGetStreamPriorityRange(&lo, &hi));
    int S = nstreams + 1;
    cudaStream_t *st = (cudaStream_t *)malloc(sizeof *st * S);
    cublasHandle_t *bh = (cublasHandle_t *)malloc(sizeof *bh * S);
    cusolverDnHandle_t sh;
    for (int i = 0; i < S; i++) {
        CK(cudaStreamCreateWithPriority(&st[i], cudaStreamNonBlocking, i ? lo : hi));
        cublasCreate(&bh[i]);
        cublasSetStream(bh[i], st[i]);
    }
    cusolverDnCreate(&sh);
    cusolverDnSetStream(sh, st[0]);
    double *w;
    int *info;
    int lwork = potrf_alloc(sh, NB, d, NB, &w, &info);
    cudaEvent_t *ev = (cudaEvent_t *)malloc(sizeof *ev * T * T);
    bool *has = (bool *)calloc((size_t)T * T, 1);
    for (int i = 0; i < T * T; i++)
        CK(cudaEventCreateWithFlags(&ev[i], cudaEventDisableTiming));
    auto dt = [&](int i, int j) { return d + ((size_t)j * T + i) * NB * NB; };
    auto after = [&](int s, int i, int j) { if (has[j * T + i]) cudaStreamWaitEvent(st[s], ev[j * T + i], 0); };
    auto wrote = [&](int s, int i, int j) { cudaEventRecord(ev[j * T + i], st[s]); has[j * T + i] = true; };
    CK(cudaDeviceSynchronize());
    double t0 = now_s();
    auto col = [&](int j) { return 1 + j % nstreams; };
    for (int k = 0; k < T; k++) {
        after(0, k, k); // the critical chain on stream 0: POTRF, the next panel's TRSM, SYRK
        cusolverDnDpotrf(sh, CUBLAS_FILL_MODE_LOWER, NB, dt(k, k), NB, w, lwork, info);
        wrote(0, k, k);
        for (int i = k + 1; i < T; i++) {
            int s = i == k + 1 ? 0 : col(i);
            after(s, k, k), after(s, i, k);
            k_trsm(bh[s], dt(k, k), dt(i, k));
            wrote(s, i, k);
        }
        for (int j = k + 1; j < T; j++) {
            int s = j == k + 1 ? 0 : col(j);
            after(s, j, k), after(s, j, j);
            k_syrk(bh[s], dt(j, k), dt(j, j));
            wrote(s, j, j);
            s = col(j);
            for (int i = j + 1; i < T; i++) {
                after(s, i, k), after(s, j, k), after(s, i, j);
                k_gemm_nt(bh[s], dt(i, k), dt(j, k), dt(i, j));
                wrote(s, i, j);
            }
        }
    }
    CK(cudaDeviceSynchronize());
    double t = now_s() - t0;
    CK(cudaMemcpy(out, d, bytes, cudaMemcpyDeviceToHost));
    for (int i = 0; i < T * T; i++)
        cudaEventDestroy(ev[i]);
    for (int i = 0; i < S; i++) {
        cublasDestroy(bh[i]);
        cudaStreamDestroy(st[i]);
    }
    cusolverDnDestroy(sh);
    cudaFree(w), cudaFree(info), cudaFree(d);
    free(ev), free(has), free(st), free(bh);
    return t;
}

static void chol_any(double *A) { chol_col ? chol_submit_col(A) : chol_submit(A); }

static double chol_dag(double *A)
{
    double t0 = now_s();
    chol_any(A);
    if (dag_taskwait() != DAG_OK) {
        fprintf(stderr, "cholesky: a task failed\n");
        exit(1);
    }
    return now_s() - t0;
}

static void each_tile(bool lower, void (*fn)(double *, double *, size_t), double *m, double *k)
{
    if (lower && chol_col) { // the column variant's regions: D_j and P_j
        for (int j = 0; j < T; j++) {
            fn(tile(m, j, j), k ? tile(k, j, j) : nullptr, tbytes());
            if (j + 1 < T)
                fn(ptile(m, j), k ? ptile(k, j) : nullptr, pbytes(j));
        }
        return;
    }
    for (int j = 0; j < T; j++)
        for (int i = lower ? j : 0; i < T; i++)
            fn(tile(m, i, j), k ? tile(k, i, j) : nullptr, tbytes());
}
static void reg(double *t, double *, size_t len) { dag_cuda_register(t, len); }
static void unreg(double *t, double *, size_t len) { dag_cuda_unregister(t, len); }
struct copy_args {
    double *from, *to;
    size_t len;
};
static int t_copy(void *p, dag_cuda_ctx *ctx) // to = from, on the device
{
    copy_args *c = (copy_args *)p;
    return cudaMemcpyAsync(DEV(c->to), DEV(c->from), c->len, cudaMemcpyDeviceToDevice,
                           dag_cuda_stream(ctx)) != cudaSuccess;
}
static void restore(double *a, double *k, size_t len) // a = k on the device
{
    copy_args c = {k, a, len};
    dag_dep_t d[2] = {{k, len, DAG_IN}, {a, len, DAG_OUT}};
    submit_raw(t_copy, "restore", &c, sizeof c, d, 2, 0);
}

// Device-resident data, as the library calls on device data are timed: the tiles are
// registered (their device copies outlive the waits), a first run brings them to the
// device, and the timed runs are taskgroups (no write-back at their end) on data already
// there. Cholesky starts each run from the input kept in K, copied on the device. GEMM
// accumulates: C = (runs + 2) A B at the end (it held A B). Returns the last run's time;
// *st gets the counters of that run.
static double resident(bool gemm, double *A, double *B, double *C, double *K, int runs,
                       dag_cuda_stats_t *st)
{
    each_tile(!gemm, reg, A, nullptr);
    if (gemm) {
        each_tile(false, reg, B, nullptr);
        each_tile(false, reg, C, nullptr);
    } else {
        each_tile(true, reg, K, nullptr);
    }
    double t = 0;
    for (int rep = 0; rep <= runs; rep++) {
        if (!gemm)
            each_tile(true, restore, A, K);
        if (rep == 0)
            gemm ? gemm_submit(A, B, C) : chol_any(A); // brings the data in
        if (dag_taskwait() != DAG_OK)
            exit(1);
        if (rep == 0)
            continue;
        dag_cuda_stats_reset();
        double t0 = now_s();
        dag_taskgroup_begin();
        gemm ? gemm_submit(A, B, C) : chol_any(A);
        if (dag_taskgroup_end() != DAG_OK)
            exit(1);
        t = now_s() - t0;
        dag_cuda_stats(st);
    }
    if (dag_taskwait() != DAG_OK) // results home, for the check
        exit(1);
    each_tile(!gemm, unreg, A, nullptr);
    if (gemm) {
        each_tile(false, unreg, B, nullptr);
        each_tile(false, unreg, C, nullptr);
    } else {
        each_tile(true, unreg, K, nullptr);
    }
    return t;
}

// max |out - f ref| / max |f ref| over the lower triangle (Cholesky) or everything
static double rel_err(double *m, const double *full, bool gemm, double f)
{
    size_t mbytes = (size_t)N * N * 8;
    double *out = (double *)malloc(mbytes);
    to_full(m, out);
    double err = 0, scale = 0;
    for (int j = 0; j < N; j++)
        for (int i = gemm ? 0 : j; i < N; i++) {
            size_t k = (size_t)j * N + i;
            err = std::max(err, fabs(out[k] - f * full[k]));
            scale = std::max(scale, fabs(f * full[k]));
        }
    free(out);
    return err / scale;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s gemm|chol N NB [noref]\n", argv[0]);
        return 2;
    }
    bool gemm = !strcmp(argv[1], "gemm");
    N = atoi(argv[2]);
    NB = atoi(argv[3]);
    bool ref = !(argc > 4 && !strcmp(argv[4], "noref"));
    T = N / NB;
    N = T * NB;
    int ndev = dag_cuda_device_count();
    if (!ndev) {
        printf("SKIPPED: no CUDA device\n");
        return 0;
    }
    size_t mbytes = (size_t)N * N * 8;
    int nmat = gemm ? 3 : 1;
    double *A = (double *)dag_cuda_malloc_host(mbytes);
    double *B = gemm ? (double *)dag_cuda_malloc_host(mbytes) : nullptr;
    double *C = gemm ? (double *)dag_cuda_malloc_host(mbytes) : nullptr;
    unsigned s = 1;
    for (size_t i = 0; i < (size_t)N * N; i++) {
        s = s * 1664525u + 1013904223u;
        A[i] = (s >> 8) * (1.0 / 16777216.0) - 0.5;
        if (gemm) {
            B[i] = A[i] * 0.5 + 0.25;
            C[i] = 0;
        }
    }
    if (!gemm) { // symmetric positive definite: (A + A^T)/2 + N I, in tile layout
        for (int j = 0; j < T; j++)
            for (int i = j; i < T; i++)
                for (int c = 0; c < NB; c++)
                    for (int r = 0; r < NB; r++) {
                        double *x = tile(A, i, j) + (size_t)c * NB + r, *y = tile(A, j, i) + (size_t)r * NB + c;
                        double v = (*x + *y) * 0.5 + (i == j && r == c ? N : 0);
                        *x = *y = v;
                    }
    }
    const char *tv = getenv("BENCH_TRSM"), *cv = getenv("BENCH_CHOL");
    chol_col = !gemm && cv && !strcmp(cv, "col");
    trsm_inv = !gemm && ((tv && !strcmp(tv, "inv")) || chol_col);
    if (trsm_inv) {
        Inv = (double *)dag_cuda_malloc_host((size_t)T * tbytes());
        if (!Inv) {
            fprintf(stderr, "no memory for the inverses\n");
            return 1;
        }
        for (int k = 0; k < T; k++)
            dag_cuda_register(Inv + (size_t)k * NB * NB, tbytes()); // kept on the device
        printf("TRSM as DGEMM with the inverted diagonal tile (BENCH_TRSM=inv)%s\n",
               chol_col ? ", a task per tile column (BENCH_CHOL=col)" : "");
    }
    double *full = nullptr;
    if (ref) {
        full = (double *)malloc(mbytes);
        if (!full)
            ref = false;
    }
    // the library's reference, on a copy of the input in full layout
    double lib_dev = 0, lib_all = 0;
    double *dA = nullptr, *dB = nullptr, *dC = nullptr;
    if (ref) {
        cublasHandle_t h;
        cusolverDnHandle_t sh;
        cublasCreate(&h);
        cusolverDnCreate(&sh);
        CK(cudaMalloc(&dA, mbytes));
        if (gemm) {
            CK(cudaMalloc(&dB, mbytes));
            CK(cudaMalloc(&dC, mbytes));
        }
        double *hfull;
        CK(cudaMallocHost(&hfull, mbytes));
        for (int rep = 0; rep < 2; rep++) { // the first run warms the libraries up
            double copies = 0, t0;
            to_full(A, hfull);
            t0 = now_s();
            CK(cudaMemcpy(dA, hfull, mbytes, cudaMemcpyHostToDevice));
            copies += now_s() - t0;
            if (gemm) {
                to_full(B, hfull);
                t0 = now_s();
                CK(cudaMemcpy(dB, hfull, mbytes, cudaMemcpyHostToDevice));
                copies += now_s() - t0;
                CK(cudaMemset(dC, 0, mbytes));
            }
            CK(cudaDeviceSynchronize());
            double t1 = now_s();
            if (gemm) {
                const double one = 1, zero = 0;
                cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one, dA, N, dB, N, &zero, dC, N);
            } else {
                double *w;
                int *info;
                int lwork = potrf_alloc(sh, N, dA, N, &w, &info);
                cusolverDnDpotrf(sh, CUBLAS_FILL_MODE_LOWER, N, dA, N, w, lwork, info);
                CK(cudaDeviceSynchronize());
                cudaFree(w);
                cudaFree(info);
            }
            CK(cudaDeviceSynchronize());
            lib_dev = now_s() - t1;
            t0 = now_s();
            CK(cudaMemcpy(hfull, gemm ? dC : dA, mbytes, cudaMemcpyDeviceToHost));
            copies += now_s() - t0;
            lib_all = lib_dev + copies;
        }
        memcpy(full, hfull, mbytes);
        cudaFreeHost(hfull);
        cudaFree(dA);
        cudaFree(dB);
        cudaFree(dC);
        cublasDestroy(h);
        cusolverDnDestroy(sh);
    }

    double *keep = nullptr; // the dag runs twice (warm-up, timed): keep the input
    if (!gemm) {
        keep = (double *)malloc(mbytes);
        memcpy(keep, A, mbytes);
    }
    double t = 0;
    for (int rep = 0; rep < 2; rep++) {
        if (gemm) {
            memset(C, 0, mbytes);
        } else {
            memcpy(A, keep, mbytes);
        }
        dag_cuda_stats_reset();
        t = gemm ? gemm_dag(A, B, C) : chol_dag(A);
    }
    dag_cuda_stats_t st;
    dag_cuda_stats(&st);
    double flops = gemm ? 2.0 * N * N * (double)N : (double)N * N * (double)N / 3.0;

    double err = -1;
    if (ref)
        err = rel_err(gemm ? C : A, full, gemm, 1);
    // device-resident (ref runs only: the out-of-core runs have no room for it)
    const int runs = 2;
    double tres = 0, err_res = -1;
    dag_cuda_stats_t st_res = {};
    if (ref) {
        double *K = gemm ? nullptr : (double *)dag_cuda_malloc_host(mbytes);
        if (K)
            memcpy(K, keep, mbytes);
        tres = resident(gemm, A, B, C, K, runs, &st_res);
        err_res = rel_err(gemm ? C : A, full, gemm, gemm ? runs + 2 : 1);
        dag_cuda_free_host(K);
    }
    // the hand-written tiled anchor (BENCH_HAND=S streams for the updates, default 4;
    // 0: not run): the best of two runs, checked like the dag runs
    double thand = 0, err_hand = -1;
    const char *hv = getenv("BENCH_HAND");
    int hs = hv ? atoi(hv) : 4;
    if (!gemm && ref && hs > 0) {
        double *o = (double *)malloc(mbytes);
        if (o) {
            for (int rep = 0; rep < 2; rep++) {
                double th = chol_hand(keep, o, hs);
                thand = rep ? std::min(thand, th) : th;
            }
            err_hand = rel_err(o, full, false, 1);
            free(o);
        }
    }
    const char *mem = getenv("DAG_CUDA_MEM_MB");
    printf("%s N=%d NB=%d (%d tiles, %.1f GiB of matrices) on %d GPU(s)%s%s\n",
           gemm ? "DGEMM" : "Cholesky", N, NB, T * T * nmat, nmat * mbytes / 1073741824.0, ndev,
           mem ? ", device memory capped at MiB " : "", mem ? mem : "");
    printf("  dag tiles (incl. transfers)   %8.1f ms %7.2f TFLOP/s\n", t * 1e3, flops / t / 1e12);
    if (ref) {
        printf("  library on device data        %8.1f ms %7.2f TFLOP/s\n", lib_dev * 1e3,
               flops / lib_dev / 1e12);
        printf("  library incl. copies in/out   %8.1f ms %7.2f TFLOP/s\n", lib_all * 1e3,
               flops / lib_all / 1e12);
        printf("  dag / library: %.2fx of on-device speed, %.2fx incl. copies; max rel. diff %.2e %s\n",
               lib_dev / t, lib_all / t, err, err < 1e-9 ? "OK" : "MISMATCH");
    }
    if (ref) {
        printf("  dag tiles, device-resident     %8.1f ms %7.2f TFLOP/s (%.2f GiB in, %.2f GiB out)\n",
               tres * 1e3, flops / tres / 1e12, st_res.h2d_bytes / 1073741824.0,
               st_res.d2h_bytes / 1073741824.0);
        printf("  resident dag / library on device data: %.2fx; max rel. diff %.2e %s\n",
               lib_dev / tres, err_res, err_res < 1e-9 ? "OK" : "MISMATCH");
    }
    if (thand > 0)
        printf("  hand-written tiles (%d update streams + 1 panel stream, events) on device "
               "data %8.1f ms: %.2fx cuSOLVER; resident dag / hand-written %.2fx; max rel. diff "
               "%.2e %s\n", hs, thand * 1e3, lib_dev / thand, thand / tres, err_hand,
               err_hand < 1e-9 ? "OK" : "MISMATCH");
    printf("  runtime: %.1f GiB in, %.1f GiB out, %.1f GiB peer, %llu evictions (%llu written back), %llu cudaMalloc, %llu early write-backs\n",
           st.h2d_bytes / 1073741824.0, st.d2h_bytes / 1073741824.0, st.p2p_bytes / 1073741824.0,
           st.evictions, st.writebacks, st.device_allocs, st.early_writebacks);
    const char *chain = getenv("DAG_CUDA_CHAIN");
    printf("  chaining: DAG_CUDA_CHAIN=%s, %llu tasks started behind a launched predecessor "
           "(first run), %llu (resident runs)\n", chain ? chain : "1 (default)", st.chained,
           st_res.chained);
    if (ndev > 1) {
        printf("  tasks per device:");
        for (int d = 0; d < ndev && d < DAG_CUDA_MAX_STAT_DEVICES; d++)
            printf(" %llu", st.tasks_on[d]);
        printf("\n");
    }
    return err > 1e-9 || err_res > 1e-9 || err_hand > 1e-9 ? 1 : 0;
}
