/* cuda.cu: libdagnn's CUDA variants. Each takes the same argument block as its CPU body
 * (nn_internal.h), translates the host pointers of its dependencies with dag_cuda_ptr and
 * only enqueues work on the task's stream: GEMMs on cuBLAS (row-major operands passed as
 * their column-major transposes), the rest in the small kernels below. Compiled when
 * CUDA is found; the runtime picks these variants for tasks placed on a GPU. */
#include <float.h>
#include <stddef.h>
#include <string.h>
#ifndef NN_CUDA_EMU /* tests/nn/cuda_emu.h runs this file on the CPU (tests/nn/test_cuda_emu.c) */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "dag/cuda.h"
#define LAUNCH_(k, g, b, s, ...) k<<<g, b, 0, s>>>(__VA_ARGS__)
#endif
#include "nn_internal.h"

/* LAUNCH(kernel, GRID(n), args...): n threads in blocks of 256 on the task's stream */
#define LAUNCH(k, cfg, ...) LAUNCH_(k, cfg, __VA_ARGS__)
#define P(x) ((float *)dag_cuda_ptr(ctx, (x)))
#define CP(x) ((const float *)dag_cuda_ptr(ctx, (x)))
#define GRID(n) (unsigned)(((n) + 255) / 256), 256, dag_cuda_stream(ctx)

static cublasHandle_t blas(struct dag_cuda_ctx *ctx) {
    return (cublasHandle_t)dag_cuda_cublas(ctx);
}

/* While a chained step is captured into a CUDA graph (graph.cu), the kernels read the
 * fields that change from one step to the next (the batch's indices, the optimiser's step
 * count and rate, the dropout seed and first row) from the device copy of the argument
 * block, which the replay refreshes before each launch; DYN(&field) is that copy's
 * address, NULL when no capture is open (the value is then passed by value). Every
 * field read this way is one that nn_cuda_mask leaves out of the graph's key. */
static thread_local const char *dyn_host, *dyn_dev;
static thread_local size_t dyn_len, ws_most;
extern "C" void nn_cuda_dyn(const void *host, const void *dev, size_t len) {
    dyn_host = (const char *)host, dyn_dev = (const char *)dev, dyn_len = len;
}
template <class T> static const T *DYN(const T *field) {
    if (!dyn_dev) return NULL;
    size_t off = (size_t)((const char *)field - dyn_host);
    return off < dyn_len ? (const T *)(dyn_dev + off) : NULL;
}
/* the per-stream scratch; the largest request since the last nn_cuda_ws_take is kept, so
 * that a capture can size it beforehand (growing it synchronises the stream) */
static void *workspace(struct dag_cuda_ctx *ctx, size_t bytes) {
    if (bytes > ws_most) ws_most = bytes;
    return dag_cuda_workspace(ctx, bytes);
}
extern "C" size_t nn_cuda_ws_take(void) {
    size_t n = ws_most;
    ws_most = 0;
    return n;
}

/* C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C, all row-major */
static int rm_gemm(struct dag_cuda_ctx *ctx, bool ta, bool tb, int M, int N, int K, float alpha,
                   const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    cublasStatus_t s = cublasSgemm(blas(ctx), tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A,
                                   lda, &beta, C, ldc);
    return s == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

static int launched(void) { return cudaGetLastError() == cudaSuccess ? 0 : DAG_ERR_DEVICE; }

__global__ void k_ones(float *v, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) v[i] = 1.0f;
}

/* db[0..cols) (+)= the column sums of the row-major g[rows][ld] (from column 0 of g): one
 * SGEMV by a vector of ones, as the bias gradients of the cuBLAS loops do. A thread per
 * column looping over the rows (the first version) kept a few warps waiting on memory
 * for every row: at batch 256, tens of microseconds per layer. ones: `rows` floats set to
 * 1 on this stream (k_ones, or by a kernel that also writes them) */
static int colsum(struct dag_cuda_ctx *ctx, const float *g, int ld, int rows, int cols,
                  const float *ones, float *db, int acc) {
    const float one = 1.0f, beta = acc ? 1.0f : 0.0f;
    return cublasSgemv(blas(ctx), CUBLAS_OP_N, cols, rows, &one, g, ld, ones, 1, &beta, db,
                       1) == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

__global__ void k_bias_rows(float *y, const float *b, long rows, int out) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < rows * out) y[i] = b[i % out];
}
__global__ void k_bias_chw(float *y, const float *b, long n, int c, int hw) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n * c * hw) y[i] = b[(i / hw) % c];
}

static int dense_fwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_dense_fwd_t *a = (nn_dense_fwd_t *)p;
    if (a->rows <= 0) return 0;
    float *y = P(a->y);
    LAUNCH(k_bias_rows, GRID((long)a->rows * a->out), y, CP(a->b), a->rows, a->out);
    if (launched()) return DAG_ERR_DEVICE;
    return rm_gemm(ctx, false, true, a->rows, a->out, a->in, 1.0f, CP(a->x), a->in, CP(a->w),
                   a->in, 1.0f, y, a->out);
}

static int dense_bwd_data(void *p, struct dag_cuda_ctx *ctx) {
    nn_dense_bwd_data_t *a = (nn_dense_bwd_data_t *)p;
    if (a->rows <= 0) return 0;
    return rm_gemm(ctx, false, false, a->rows, a->in, a->out, 1.0f, CP(a->dy), a->out, CP(a->w),
                   a->in, 0.0f, P(a->dx), a->in);
}

static int dense_bwd_w(void *p, struct dag_cuda_ctx *ctx) {
    nn_dense_bwd_w_t *a = (nn_dense_bwd_w_t *)p;
    int no = a->o1 - a->o0;
    if (no <= 0) return 0;
    const float *dy = CP(a->dy);
    int st = rm_gemm(ctx, true, false, no, a->in, a->batch, 1.0f, dy + a->o0, a->out, CP(a->x),
                     a->in, a->accumulate ? 1.0f : 0.0f, P(a->dw + (size_t)a->o0 * a->in), a->in);
    if (st) return st;
    float *ones = (float *)workspace(ctx, sizeof(float) * (size_t)a->batch);
    if (!ones) return DAG_ERR_NOMEM;
    LAUNCH(k_ones, GRID(a->batch), ones, a->batch);
    if (launched()) return DAG_ERR_DEVICE;
    return colsum(ctx, dy + a->o0, a->out, a->batch, no, ones, P(a->db + a->o0), a->accumulate);
}

/* col[n][(c*k+i)*k+j][oy*wo+ox] for every sample of the tile */
__global__ void k_im2col(const float *x, float *col, nn_conv_shape_t s, int rows) {
    long hw = (long)s.ho * s.wo, ckk = (long)s.cin * s.k * s.k;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= rows * ckk * hw) return;
    long q = i % hw, r = (i / hw) % ckk, n = i / (hw * ckk);
    int oy = (int)(q / s.wo), ox = (int)(q % s.wo);
    int j = (int)(r % s.k), ii = (int)((r / s.k) % s.k), c = (int)(r / (s.k * s.k));
    int iy = oy * s.stride - s.pad + ii, ix = ox * s.stride - s.pad + j;
    col[i] = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
                 ? x[((n * s.cin + c) * s.h + iy) * (long)s.w + ix]
                 : 0.0f;
}
/* the transpose: every input element gathers the columns that read it */
__global__ void k_col2im(const float *col, float *x, nn_conv_shape_t s, int rows) {
    long hw = (long)s.ho * s.wo, ckk = (long)s.cin * s.k * s.k;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= (long)rows * s.cin * s.h * s.w) return;
    int ix = (int)(i % s.w), iy = (int)((i / s.w) % s.h);
    long c = (i / ((long)s.w * s.h)) % s.cin, n = i / ((long)s.w * s.h * s.cin);
    float acc = 0;
    for (int ii = 0; ii < s.k; ii++) {
        int ty = iy + s.pad - ii;
        if (ty < 0 || ty % s.stride) continue;
        int oy = ty / s.stride;
        if (oy >= s.ho) continue;
        for (int j = 0; j < s.k; j++) {
            int tx = ix + s.pad - j;
            if (tx < 0 || tx % s.stride) continue;
            int ox = tx / s.stride;
            if (ox >= s.wo) continue;
            acc += col[(n * ckk + (c * s.k + ii) * s.k + j) * hw + oy * s.wo + ox];
        }
    }
    x[i] = acc;
}

static int conv_fwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_conv_fwd_t *a = (nn_conv_fwd_t *)p;
    const nn_conv_shape_t s = a->s;
    if (a->rows <= 0) return 0;
    int hw = s.ho * s.wo, ckk = s.cin * s.k * s.k;
    long ncol = (long)a->rows * ckk * hw;
    float *col = (float *)workspace(ctx, sizeof(float) * (size_t)ncol);
    if (!col) return DAG_ERR_NOMEM;
    float *y = P(a->y);
    LAUNCH(k_im2col, GRID(ncol), CP(a->x), col, s, a->rows);
    LAUNCH(k_bias_chw, GRID((long)a->rows * s.cout * hw), y, CP(a->b), a->rows, s.cout, hw);
    if (launched()) return DAG_ERR_DEVICE;
    /* y_n[cout, hw] = W[cout, ckk] col_n[ckk, hw], for every n: column-major batched */
    float one = 1.0f;
    cublasStatus_t st = cublasSgemmStridedBatched(
        blas(ctx), CUBLAS_OP_N, CUBLAS_OP_N, hw, s.cout, ckk, &one, col, hw, (long long)ckk * hw,
        CP(a->w), ckk, 0, &one, y, hw, (long long)s.cout * hw, a->rows);
    return st == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

/* channel sums of dy [rows][cout][hw] in two passes (no block-wide synchronisation):
 * part[o * rows + n] = sum over hw of dy[n][o][.], then out[o] (+)= sum over n */
__global__ void k_chan_part(const float *dy, float *part, int rows, int cout, int hw) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= (long)rows * cout) return;
    long o = i / rows, n = i % rows;
    const float *d = dy + (n * cout + o) * hw;
    float acc = 0;
    for (int q = 0; q < hw; q++) acc += d[q];
    part[i] = acc;
}
__global__ void k_chan_sum(const float *part, float *out, int rows, int cout, int acc) {
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= cout) return;
    float s = 0;
    for (int n = 0; n < rows; n++) s += part[(long)o * rows + n];
    out[o] = acc ? out[o] + s : s;
}

static int conv_bwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_conv_bwd_t *a = (nn_conv_bwd_t *)p;
    const nn_conv_shape_t s = a->s;
    int hw = s.ho * s.wo, ckk = s.cin * s.k * s.k;
    size_t nw = (size_t)s.cout * ckk;
    float *part = P(a->partial);
    if (a->rows <= 0) return cudaMemsetAsync(part, 0, sizeof(float) * (nw + s.cout),
                                             dag_cuda_stream(ctx)) == cudaSuccess ? 0 : DAG_ERR_DEVICE;
    long ncol = (long)a->rows * ckk * hw;
    float *col = (float *)workspace(
        ctx, sizeof(float) * ((size_t)ncol * 2 + (size_t)a->rows * s.cout));
    if (!col) return DAG_ERR_NOMEM;
    float *dcol = col + ncol, *cpart = col + 2 * ncol;
    const float *dy = CP(a->dy), *w = CP(a->w);
    LAUNCH(k_im2col, GRID(ncol), CP(a->x), col, s, a->rows);
    LAUNCH(k_chan_part, GRID((long)a->rows * s.cout), dy, cpart, a->rows, s.cout, hw);
    LAUNCH(k_chan_sum, GRID(s.cout), cpart, part + nw, a->rows, s.cout, 0);
    if (launched()) return DAG_ERR_DEVICE;
    /* dW = sum_n dy_n[cout, hw] col_n[ckk, hw]^T */
    for (int n = 0; n < a->rows; n++) {
        int st = rm_gemm(ctx, false, true, s.cout, ckk, hw, 1.0f, dy + (size_t)n * s.cout * hw, hw,
                         col + (size_t)n * ckk * hw, hw, n ? 1.0f : 0.0f, part, ckk);
        if (st) return st;
    }
    if (!a->dx) return 0;
    /* dcol_n[ckk, hw] = W^T[ckk, cout] dy_n[cout, hw] */
    float one = 1.0f, zero = 0.0f;
    cublasStatus_t st = cublasSgemmStridedBatched(
        blas(ctx), CUBLAS_OP_N, CUBLAS_OP_T, hw, ckk, s.cout, &one, dy, hw, (long long)s.cout * hw,
        w, ckk, 0, &zero, dcol, hw, (long long)ckk * hw, a->rows);
    if (st != CUBLAS_STATUS_SUCCESS) return DAG_ERR_DEVICE;
    LAUNCH(k_col2im, GRID((long)a->rows * s.cin * s.h * s.w), dcol, P(a->dx), s, a->rows);
    return launched();
}

__global__ void k_sum(float *dw, float *db, const float *part, int tiles, long nw, long nb,
                      long stride, int acc) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= nw + nb) return;
    float s = 0;
    for (int t = 0; t < tiles; t++) s += part[t * stride + i];
    float *o = i < nw ? dw + i : db + (i - nw);
    *o = acc ? *o + s : s;
}

static int sum(void *p, struct dag_cuda_ctx *ctx) {
    nn_sum_t *a = (nn_sum_t *)p;
    long n = (long)(a->nw + a->nb);
    LAUNCH(k_sum, GRID(n), P(a->dw), P(a->db), CP(a->partial), a->tiles, (long)a->nw, (long)a->nb,
                       (long)a->stride, a->accumulate);
    return launched();
}

__global__ void k_pool(const float *x, const float *y, const float *dy, float *out, long planes,
                       int h, int w, int k, int bwd) {
    int ho = h / k, wo = w / k;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= planes * ho * wo) return;
    long pl = i / ((long)ho * wo);
    int q = (int)(i % ((long)ho * wo)), oy = q / wo, ox = q % wo;
    const float *xp = x + pl * h * w;
    if (!bwd) {
        float m = -FLT_MAX;
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++) m = fmaxf(m, xp[(oy * k + a) * w + ox * k + b]);
        out[i] = m;
        return;
    }
    /* windows do not overlap (stride k): each output owns its k x k inputs */
    float m = y[i];
    int done = 0;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            long o = pl * h * w + (oy * k + a) * w + ox * k + b;
            out[o] = (!done && xp[(oy * k + a) * w + ox * k + b] == m) ? (done = 1, dy[i]) : 0.0f;
        }
}

static int pool_fwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_pool_t *a = (nn_pool_t *)p;
    long planes = (long)a->rows * a->c, n = planes * (a->h / a->k) * (a->w / a->k);
    LAUNCH(k_pool, GRID(n), CP(a->x), NULL, NULL, P(a->y), planes, a->h, a->w, a->k, 0);
    return launched();
}

static int pool_bwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_pool_t *a = (nn_pool_t *)p;
    long planes = (long)a->rows * a->c, n = planes * (a->h / a->k) * (a->w / a->k);
    LAUNCH(k_pool, GRID(n), CP(a->x), CP(a->y), CP(a->dy), P(a->dx), planes, a->h, a->w, a->k, 1);
    return launched();
}

__global__ void k_relu(const float *a, const float *b, float *out, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] > 0 ? (b ? b[i] : a[i]) : 0.0f;
}

static int relu_fwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_ew_t *a = (nn_ew_t *)p;
    LAUNCH(k_relu, GRID((long)a->n), CP(a->a), NULL, P(a->out), (long)a->n);
    return launched();
}

static int relu_bwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_ew_t *a = (nn_ew_t *)p;
    LAUNCH(k_relu, GRID((long)a->n), CP(a->a), CP(a->b), P(a->out), (long)a->n);
    return launched();
}

__global__ void k_dropout(const float *x, float *y, long cols, int rows, float p, uint64_t seed,
                          long first, const uint64_t *dseed, const long *dfirst) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= rows * cols) return;
    if (dseed) seed = *dseed, first = *dfirst;
    uint64_t row = (uint64_t)(first + i / cols);
    /* the same mask as the CPU body */
    float u = nn_uniform(seed, row * (uint64_t)cols + (uint64_t)(i % cols));
    y[i] = u >= p ? x[i] * (1.0f / (1.0f - p)) : 0.0f;
}

static int dropout(void *p, struct dag_cuda_ctx *ctx) {
    nn_dropout_t *a = (nn_dropout_t *)p;
    LAUNCH(k_dropout, GRID((long)a->rows * (long)a->cols), CP(a->x), P(a->y), (long)a->cols,
           a->rows, a->p, a->seed, a->first, DYN(&a->seed), DYN(&a->first));
    return launched();
}

/* one thread per row; its loss and correct prediction are added to stats */
__global__ void k_xent(const float *z, const int32_t *lab, float *d, float *stats, int n,
                       int rows, int classes, float scale) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n) return;
    const float *zr = z + (long)r * classes;
    float *dr = d + (long)r * classes;
    if (r >= rows) {
        for (int c = 0; c < classes; c++) dr[c] = 0;
        return;
    }
    int best = 0;
    float mx = zr[0];
    for (int c = 1; c < classes; c++)
        if (zr[c] > mx) mx = zr[c], best = c;
    double s = 0;
    for (int c = 0; c < classes; c++) s += exp((double)(zr[c] - mx));
    int y = lab[r];
    for (int c = 0; c < classes; c++)
        dr[c] = (float)((exp((double)(zr[c] - mx)) / s - (c == y)) * scale);
    atomicAdd(&stats[0], (float)(log(s) - (double)(zr[y] - mx)));
    atomicAdd(&stats[1], best == y ? 1.0f : 0.0f);
}

static int xent(void *p, struct dag_cuda_ctx *ctx) {
    nn_xent_t *a = (nn_xent_t *)p;
    LAUNCH(k_xent, GRID(a->n), CP(a->logits), (const int32_t *)dag_cuda_ptr(ctx, a->labels),
           P(a->dlogits), P(a->stats), a->n, a->rows, a->classes, a->scale);
    return launched();
}

/* Adam's bias corrections folded into the step size and epsilon */
NN_HD static inline void opt_coef(const dag_nn_opt_t *o, long t, float *step, float *epsc) {
    *step = o->lr, *epsc = 0;
    if (o->kind == DAG_NN_ADAM) {
        float c1 = 1.0f - powf(o->beta1, (float)t), c2 = 1.0f - powf(o->beta2, (float)t);
        *step = o->lr * sqrtf(c2) / c1;
        *epsc = o->eps * sqrtf(c2);
    }
}
/* dyn: the device copy of the task's nn_opt_t (a replayed step), whose optimiser and step
 * count replace o, step and epsc */
__global__ void k_opt(float *p, const float *g, float *m, float *v, long n, dag_nn_opt_t o,
                      float step, float epsc, const nn_opt_t *dyn) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (dyn) o = dyn->opt, opt_coef(&o, dyn->t, &step, &epsc);
    float gi = g[i] + o.weight_decay * p[i];
    if (o.kind == DAG_NN_SGD) {
        m[i] = o.momentum * m[i] + gi;
        p[i] -= o.lr * m[i];
        return;
    }
    m[i] = o.beta1 * m[i] + (1.0f - o.beta1) * gi;
    v[i] = o.beta2 * v[i] + (1.0f - o.beta2) * gi * gi;
    p[i] -= step * m[i] / (sqrtf(v[i]) + epsc);
}

static int opt(void *p, struct dag_cuda_ctx *ctx) {
    nn_opt_t *a = (nn_opt_t *)p;
    float step, epsc;
    opt_coef(&a->opt, a->t, &step, &epsc);
    LAUNCH(k_opt, GRID((long)a->n), P(a->p), CP(a->g), P(a->m), a->v ? P(a->v) : NULL,
           (long)a->n, a->opt, step, epsc, DYN(a));
    return launched();
}

/* ---- fused blocks (nn_blk_t, blocks.c): a few kernels per task ---------------------- */

/* dense epilogue: a = relu?(a + b) and, with o, o = dropout(a) (the CPU body's mask) */
__global__ void k_epi_rows(float *a, const float *b, float *o, long n, int out, int relu,
                           float p, uint64_t seed, long first, const uint64_t *dseed,
                           const long *dfirst) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (dseed) seed = *dseed, first = *dfirst;
    int c = (int)(i % out);
    float v = a[i] + b[c];
    if (relu) v = v > 0 ? v : 0.0f;
    a[i] = v;
    if (o) {
        float u = nn_uniform(seed, (uint64_t)(first + i / out) * (uint64_t)out + (uint64_t)c);
        o[i] = u >= p ? v * (1.0f / (1.0f - p)) : 0.0f;
    }
}
/* conv epilogue without pooling: a = relu?(a + b[channel]) */
__global__ void k_epi_chw(float *a, const float *b, long n, int c, int hw, int relu) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = a[i] + b[(i / hw) % c];
    a[i] = relu ? (v > 0 ? v : 0.0f) : v;
}
/* conv epilogue with k x k max-pooling, one thread per pooled output: its window of a
 * gets relu?(a + b), o the window's maximum */
__global__ void k_epi_pool(float *a, const float *b, float *o, long planes, int c, int h, int w,
                           int k, int relu) {
    int ho = h / k, wo = w / k;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= planes * ho * wo) return;
    long pl = i / ((long)ho * wo);
    int q = (int)(i % ((long)ho * wo)), oy = q / wo, ox = q % wo;
    float bias = b[pl % c], m = -FLT_MAX;
    for (int ii = 0; ii < k; ii++)
        for (int jj = 0; jj < k; jj++) {
            long idx = pl * h * w + (long)(oy * k + ii) * w + ox * k + jj;
            float v = a[idx] + bias;
            if (relu) v = v > 0 ? v : 0.0f;
            a[idx] = v;
            if (v > m) m = v;
        }
    o[i] = m;
}

static int blk_fwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_blk_t *A = (nn_blk_t *)p;
    if (A->rows <= 0) return 0;
    float *a = P(A->a), *o = A->o ? P(A->o) : NULL;
    const float *b = CP(A->b);
    if (!A->conv) { /* a = x W^T, then the epilogue */
        int st = rm_gemm(ctx, false, true, A->rows, A->out, A->in, 1.0f, CP(A->x), A->in,
                         CP(A->w), A->in, 0.0f, a, A->out);
        if (st) return st;
        long n = (long)A->rows * A->out;
        LAUNCH(k_epi_rows, GRID(n), a, b, A->tail == NN_TAIL_DROPOUT ? o : NULL, n, A->out,
               A->relu, A->p, A->seed, A->first, DYN(&A->seed), DYN(&A->first));
        return launched();
    }
    const nn_conv_shape_t s = A->s;
    int hw = s.ho * s.wo, ckk = s.cin * s.k * s.k;
    long ncol = (long)A->rows * ckk * hw;
    float *col = (float *)workspace(ctx, sizeof(float) * (size_t)ncol);
    if (!col) return DAG_ERR_NOMEM;
    LAUNCH(k_im2col, GRID(ncol), CP(A->x), col, s, A->rows);
    if (launched()) return DAG_ERR_DEVICE;
    /* a_n[cout, hw] = W[cout, ckk] col_n[ckk, hw] for every sample n (as conv_fwd) */
    float one = 1.0f, zero = 0.0f;
    cublasStatus_t cs = cublasSgemmStridedBatched(
        blas(ctx), CUBLAS_OP_N, CUBLAS_OP_N, hw, s.cout, ckk, &one, col, hw, (long long)ckk * hw,
        CP(A->w), ckk, 0, &zero, a, hw, (long long)s.cout * hw, A->rows);
    if (cs != CUBLAS_STATUS_SUCCESS) return DAG_ERR_DEVICE;
    if (A->tail == NN_TAIL_POOL) {
        int k = A->pool_k;
        long planes = (long)A->rows * s.cout, n = planes * (s.ho / k) * (s.wo / k);
        LAUNCH(k_epi_pool, GRID(n), a, b, o, planes, s.cout, s.ho, s.wo, k, A->relu);
    } else {
        long n = (long)A->rows * s.cout * hw;
        LAUNCH(k_epi_chw, GRID(n), a, b, n, s.cout, hw, A->relu);
    }
    return launched();
}

/* dense: dout back through the dropout and the ReLU, a thread per element, into g (dz, or
 * scratch when the block keeps no dz); the threads past the n = rows x out elements set
 * `rows` ones for the column sums that follow (colsum). Without a g to write, k_ones. */
__global__ void k_pre_rows(const float *dout, const float *a, float *g, float *ones, int rows,
                           int out, int relu, int dropout, float p, uint64_t seed, long first,
                           const uint64_t *dseed, const long *dfirst) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x, n = (long)rows * out;
    if (dseed) seed = *dseed, first = *dfirst;
    if (i >= n) {
        if (i < n + rows) ones[i - n] = 1.0f;
        return;
    }
    float v = dout[i];
    if (dropout) {
        long r = i / out, c = i - r * out;
        v = nn_uniform(seed, (uint64_t)(first + r) * (uint64_t)out + (uint64_t)c) >= p
                ? v * (1.0f / (1.0f - p)) : 0.0f;
    }
    if (relu) v = a[i] > 0 ? v : 0.0f;
    g[i] = v;
}
/* conv with pooling, one thread per pooled output: the gradient goes to the window's
 * first maximum (as the CPU body), through the ReLU, into dz (NCHW, when given) and dzc
 * (channel-major [c][rows][h*w], for one GEMM over the batch) */
__global__ void k_pre_pool(const float *dout, const float *a, const float *o, float *dz,
                           float *dzc, long planes, int rows, int c, int h, int w, int k,
                           int relu) {
    int ho = h / k, wo = w / k;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= planes * ho * wo) return;
    long pl = i / ((long)ho * wo), n = pl / c, ch = pl % c;
    int q = (int)(i % ((long)ho * wo)), oy = q / wo, ox = q % wo, found = 0;
    float m = o[i], g = dout[i];
    for (int ii = 0; ii < k; ii++)
        for (int jj = 0; jj < k; jj++) {
            long pos = (long)(oy * k + ii) * w + ox * k + jj;
            float v = a[pl * h * w + pos], gv = 0.0f;
            if (!found && v == m) found = 1, gv = g;
            if (relu && !(v > 0)) gv = 0.0f;
            if (dz) dz[pl * h * w + pos] = gv;
            dzc[(ch * rows + n) * h * w + pos] = gv;
        }
}
/* conv without pooling: through the ReLU (a != NULL) into dz and dzc */
__global__ void k_pre_chw(const float *dout, const float *a, float *dz, float *dzc, int rows,
                          int c, int hw, int relu) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= (long)rows * c * hw) return;
    long n = i / ((long)c * hw), ch = (i / hw) % c, q = i % hw;
    float g = dout[i];
    if (relu && !(a[i] > 0)) g = 0.0f;
    if (dz) dz[i] = g;
    dzc[(ch * rows + n) * hw + q] = g;
}
/* im2col for the whole batch, channel-major: cols[(c*k+i)*k+j][n*hw + oy*wo + ox], then
 * a row of ones (cols[ckk][.]: db as one GEMV) */
__global__ void k_im2col_cm(const float *x, float *cols, nn_conv_shape_t s, int rows) {
    long hw = (long)s.ho * s.wo, nhw = rows * hw, ckk = (long)s.cin * s.k * s.k;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= (ckk + 1) * nhw) return;
    if (i >= ckk * nhw) {
        cols[i] = 1.0f;
        return;
    }
    long col = i % nhw, r = i / nhw, n = col / hw, q = col % hw;
    int oy = (int)(q / s.wo), ox = (int)(q % s.wo);
    int j = (int)(r % s.k), ii = (int)((r / s.k) % s.k), c = (int)(r / (s.k * s.k));
    int iy = oy * s.stride - s.pad + ii, ix = ox * s.stride - s.pad + j;
    cols[i] = (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w)
                  ? x[((n * s.cin + c) * s.h + iy) * (long)s.w + ix]
                  : 0.0f;
}
/* its transpose into dx (NCHW): every input element gathers the columns that read it */
__global__ void k_col2im_cm(const float *dcols, float *dx, nn_conv_shape_t s, int rows) {
    long hw = (long)s.ho * s.wo, nhw = rows * hw;
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= (long)rows * s.cin * s.h * s.w) return;
    int ix = (int)(i % s.w), iy = (int)((i / s.w) % s.h);
    long c = (i / ((long)s.w * s.h)) % s.cin, n = i / ((long)s.w * s.h * s.cin);
    float acc = 0;
    for (int ii = 0; ii < s.k; ii++) {
        int ty = iy + s.pad - ii;
        if (ty < 0 || ty % s.stride) continue;
        int oy = ty / s.stride;
        if (oy >= s.ho) continue;
        for (int j = 0; j < s.k; j++) {
            int tx = ix + s.pad - j;
            if (tx < 0 || tx % s.stride) continue;
            int ox = tx / s.stride;
            if (ox >= s.wo) continue;
            acc += dcols[((c * s.k + ii) * s.k + j) * nhw + n * hw + oy * s.wo + ox];
        }
    }
    dx[i] = acc;
}

static int blk_bwd_grad(nn_blk_t *A, struct dag_cuda_ctx *ctx) {
    if (A->rows <= 0) return 0;
    const float *dout = CP(A->dout), *x = CP(A->x), *w = CP(A->w);
    const float *a = A->relu || A->tail == NN_TAIL_POOL ? CP(A->a) : NULL;
    float *dz = A->dz ? P(A->dz) : NULL, *dw = P(A->dw), *db = P(A->db);
    float *dx = A->dx ? P(A->dx) : NULL;
    float one = 1.0f, zero = 0.0f, beta = A->accumulate ? 1.0f : 0.0f;
    if (!A->conv) {
        int mask = A->relu || A->tail == NN_TAIL_DROPOUT;
        long n = (long)A->rows * A->out;
        /* scratch: the ones, and the masked gradient when the block keeps no dz */
        float *ws = (float *)workspace(
            ctx, sizeof(float) * ((size_t)A->rows + (!dz && mask ? (size_t)n : 0)));
        if (!ws) return DAG_ERR_NOMEM;
        float *ones = ws, *gm = dz ? dz : mask ? ws + A->rows : NULL;
        if (gm)
            LAUNCH(k_pre_rows, GRID(n + A->rows), dout, a, gm, ones, A->rows, A->out, A->relu,
                   A->tail == NN_TAIL_DROPOUT, A->p, A->seed, A->first, DYN(&A->seed),
                   DYN(&A->first));
        else
            LAUNCH(k_ones, GRID(A->rows), ones, A->rows);
        if (launched()) return DAG_ERR_DEVICE;
        int st0 = colsum(ctx, gm ? gm : dout, A->out, A->rows, A->out, ones, db, A->accumulate);
        if (st0) return st0;
        const float *g = dz ? dz : dout;
        /* dW[out, in] (+)= dz^T x ; dx = dz W */
        int st = rm_gemm(ctx, true, false, A->out, A->in, A->rows, 1.0f, g, A->out, x, A->in,
                         beta, dw, A->in);
        if (st || !dx) return st;
        return rm_gemm(ctx, false, false, A->rows, A->in, A->out, 1.0f, g, A->out, w, A->in,
                       0.0f, dx, A->in);
    }
    const nn_conv_shape_t s = A->s;
    int hw = s.ho * s.wo, ckk = s.cin * s.k * s.k;
    long nhw = (long)A->rows * hw, ncol = nhw * ckk;
    size_t need = (size_t)nhw * s.cout + (size_t)(ncol + nhw) + (size_t)(dx ? ncol : 0);
    float *dzc = (float *)workspace(ctx, sizeof(float) * need);
    if (!dzc) return DAG_ERR_NOMEM;
    float *cols = dzc + nhw * s.cout, *ones = cols + ncol, *dcols = ones + nhw;
    if (A->tail == NN_TAIL_POOL) {
        int k = A->pool_k;
        long planes = (long)A->rows * s.cout, n = planes * (s.ho / k) * (s.wo / k);
        LAUNCH(k_pre_pool, GRID(n), dout, a, CP(A->o), dz, dzc, planes, A->rows, s.cout, s.ho,
               s.wo, k, A->relu);
    } else {
        LAUNCH(k_pre_chw, GRID(nhw * s.cout), dout, a, dz, dzc, A->rows, s.cout, hw, A->relu);
    }
    LAUNCH(k_im2col_cm, GRID(ncol + nhw), x, cols, s, A->rows);
    if (launched()) return DAG_ERR_DEVICE;
    /* db[cout] (+)= dzc[cout, nhw] ones */
    if (cublasSgemv(blas(ctx), CUBLAS_OP_T, (int)nhw, s.cout, &one, dzc, (int)nhw, ones, 1,
                    &beta, db, 1) != CUBLAS_STATUS_SUCCESS)
        return DAG_ERR_DEVICE;
    /* dW[cout, ckk] (+)= dzc[cout, nhw] cols[ckk, nhw]^T: column-major, one GEMM */
    if (cublasSgemm(blas(ctx), CUBLAS_OP_T, CUBLAS_OP_N, ckk, s.cout, (int)nhw, &one, cols,
                    (int)nhw, dzc, (int)nhw, &beta, dw, ckk) != CUBLAS_STATUS_SUCCESS)
        return DAG_ERR_DEVICE;
    if (!dx) return 0;
    /* dcols[ckk, nhw] = W^T dzc, then back to the input's layout */
    if (cublasSgemm(blas(ctx), CUBLAS_OP_N, CUBLAS_OP_T, (int)nhw, ckk, s.cout, &one, dzc,
                    (int)nhw, w, ckk, &zero, dcols, (int)nhw) != CUBLAS_STATUS_SUCCESS)
        return DAG_ERR_DEVICE;
    LAUNCH(k_col2im_cm, GRID((long)A->rows * s.cin * s.h * s.w), dcols, dx, s, A->rows);
    return launched();
}

static int blk_bwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_blk_t *A = (nn_blk_t *)p;
    int rc = blk_bwd_grad(A, ctx);
    return rc || !A->update ? rc : opt(&A->upd, ctx); /* the bucket's update, same stream */
}

/* the step's batch gathered on the device from the data set kept there (its indices
 * passed by value, NN_GATHER_CHUNK rows a launch), as the cuBLAS loops do */
#define NN_GATHER_CHUNK 512
struct nn_gidx {
    int32_t i[NN_GATHER_CHUNK];
};
__global__ void k_gather(const float *x, const int32_t *lab, float *xb, int32_t *yb,
                         nn_gidx g, int rows, long feat) {
    long t = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (t >= rows * feat) return;
    long r = t / feat, f = t % feat;
    xb[t] = x[(long)g.i[r] * feat + f];
    if (f == 0) yb[r] = lab[g.i[r]];
}
/* a replayed step's: the indices read from the device copy of the argument block */
__global__ void k_gather_dyn(const float *x, const int32_t *lab, float *xb, int32_t *yb,
                             const int32_t *gi, int rows, long feat) {
    long t = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (t >= rows * feat) return;
    long r = t / feat, f = t % feat;
    xb[t] = x[(long)gi[r] * feat + f];
    if (f == 0) yb[r] = lab[gi[r]];
}
static int gather(void *p, struct dag_cuda_ctx *ctx) {
    nn_gather_t *a = (nn_gather_t *)p;
    const float *x = CP(a->x);
    const int32_t *lab = (const int32_t *)dag_cuda_ptr(ctx, a->labels);
    float *xb = P(a->xin);
    int32_t *yb = (int32_t *)dag_cuda_ptr(ctx, a->lab);
    if (DYN(a->idx) && a->rows > 0) {
        LAUNCH(k_gather_dyn, GRID((size_t)a->rows * a->feat), x, lab, xb, yb, DYN(a->idx),
               a->rows, (long)a->feat);
        return launched();
    }
    for (int r0 = 0; r0 < a->rows; r0 += NN_GATHER_CHUNK) {
        int n = a->rows - r0 < NN_GATHER_CHUNK ? a->rows - r0 : NN_GATHER_CHUNK;
        nn_gidx g;
        memset(&g, 0, sizeof g);
        memcpy(g.i, a->idx + r0, sizeof(int32_t) * (size_t)n);
        LAUNCH(k_gather, GRID((size_t)n * a->feat), x, lab, xb + (size_t)r0 * a->feat, yb + r0,
               g, n, (long)a->feat);
    }
    return launched();
}

/* a task that only orders (the step's completion token): nothing to enqueue */
static int noop(void *p, struct dag_cuda_ctx *ctx) {
    (void)p, (void)ctx;
    return 0;
}
static int devices(void) { return dag_cuda_device_count(); }
static int pin(void *p, size_t n, int on) {
    return on ? dag_cuda_register(p, n) : dag_cuda_unregister(p, n);
}

/* A graph's key (graph.cu) is a copy of the step's argument block with nn_cuda_mask
 * applied to each operation's arguments: the fields a captured kernel reads through DYN
 * are zeroed, so two steps that differ only there share the graph. -1: not one of this
 * file's bodies (the step is then run directly). */
/* padding too: a block's bytes are compared whole, and an initialiser need not zero it */
#define NN_GAP(T, a, f1, f2)                                                                \
    memset((char *)(a) + offsetof(T, f1) + sizeof((a)->f1), 0,                              \
           offsetof(T, f2) - offsetof(T, f1) - sizeof((a)->f1))
static void mask_opt(nn_opt_t *a) {
    a->t = 0, a->opt.lr = 0;
    memset((char *)a + offsetof(nn_opt_t, opt) + sizeof a->opt, 0,
           sizeof *a - offsetof(nn_opt_t, opt) - sizeof a->opt);
}
extern "C" int nn_cuda_mask(nn_cuda_fn cu, void *p) {
    if (cu == gather) {
        nn_gather_t *a = (nn_gather_t *)p;
        if (a->rows > 0) memset(a->idx, 0, sizeof(int32_t) * (size_t)a->rows);
    } else if (cu == opt) {
        mask_opt((nn_opt_t *)p);
    } else if (cu == blk_fwd || cu == blk_bwd) {
        nn_blk_t *A = (nn_blk_t *)p;
        A->seed = 0, A->first = 0;
        NN_GAP(nn_blk_t, A, p, seed);
        mask_opt(&A->upd);
    } else if (cu == dropout) {
        nn_dropout_t *a = (nn_dropout_t *)p;
        a->seed = 0, a->first = 0;
        NN_GAP(nn_dropout_t, a, p, seed);
    } else if (cu != dense_fwd && cu != dense_bwd_data && cu != dense_bwd_w && cu != conv_fwd &&
               cu != conv_bwd && cu != sum && cu != pool_fwd && cu != pool_bwd &&
               cu != relu_fwd && cu != relu_bwd && cu != xent && cu != noop) {
        return -1;
    }
    return 0;
}

#ifdef NN_CUDA_EMU /* no graphs without CUDA */
#define nn_graphs_new NULL
#define nn_graphs_free NULL
#define nn_graphs_run NULL
#endif
extern "C" const nn_cuda_table_t nn_cuda = {
    dense_fwd, dense_bwd_data, dense_bwd_w, conv_fwd, conv_bwd, sum,     pool_fwd, pool_bwd,
    relu_fwd,  relu_bwd,       dropout,     xent,     opt,      blk_fwd, blk_bwd,  noop,
    gather,    devices,        pin,         nn_graphs_new, nn_graphs_free, nn_graphs_run};
