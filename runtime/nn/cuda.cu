/* cuda.cu: libdagnn's CUDA variants. Each takes the same argument block as its CPU body
 * (nn_internal.h), translates the host pointers of its dependencies with dag_cuda_ptr and
 * only enqueues work on the task's stream: GEMMs on cuBLAS (row-major operands passed as
 * their column-major transposes), the rest in the small kernels below. Compiled when
 * CUDA is found; the runtime picks these variants for tasks placed on a GPU. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <float.h>

#include "dag/cuda.h"
#include "nn_internal.h"

#define P(x) ((float *)dag_cuda_ptr(ctx, (x)))
#define CP(x) ((const float *)dag_cuda_ptr(ctx, (x)))
#define GRID(n) (unsigned)(((n) + 255) / 256), 256, 0, dag_cuda_stream(ctx)

static cublasHandle_t blas(struct dag_cuda_ctx *ctx) {
    return (cublasHandle_t)dag_cuda_cublas(ctx);
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
    k_bias_rows<<<GRID((long)a->rows * a->out)>>>(y, CP(a->b), a->rows, a->out);
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

__global__ void k_colsum(float *db, const float *dy, int batch, int out, int o0, int no, int acc) {
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= no) return;
    float s = 0;
    for (int r = 0; r < batch; r++) s += dy[(long)r * out + o0 + o];
    db[o] = acc ? db[o] + s : s;
}

static int dense_bwd_w(void *p, struct dag_cuda_ctx *ctx) {
    nn_dense_bwd_w_t *a = (nn_dense_bwd_w_t *)p;
    int no = a->o1 - a->o0;
    if (no <= 0) return 0;
    const float *dy = CP(a->dy);
    int st = rm_gemm(ctx, true, false, no, a->in, a->batch, 1.0f, dy + a->o0, a->out, CP(a->x),
                     a->in, a->accumulate ? 1.0f : 0.0f, P(a->dw + (size_t)a->o0 * a->in), a->in);
    if (st) return st;
    k_colsum<<<GRID(no)>>>(P(a->db + a->o0), dy, a->batch, a->out, a->o0, no, a->accumulate);
    return launched();
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
    float *col = (float *)dag_cuda_workspace(ctx, sizeof(float) * (size_t)ncol);
    if (!col) return DAG_ERR_NOMEM;
    float *y = P(a->y);
    k_im2col<<<GRID(ncol)>>>(CP(a->x), col, s, a->rows);
    k_bias_chw<<<GRID((long)a->rows * s.cout * hw)>>>(y, CP(a->b), a->rows, s.cout, hw);
    if (launched()) return DAG_ERR_DEVICE;
    /* y_n[cout, hw] = W[cout, ckk] col_n[ckk, hw], for every n: column-major batched */
    float one = 1.0f;
    cublasStatus_t st = cublasSgemmStridedBatched(
        blas(ctx), CUBLAS_OP_N, CUBLAS_OP_N, hw, s.cout, ckk, &one, col, hw, (long long)ckk * hw,
        CP(a->w), ckk, 0, &one, y, hw, (long long)s.cout * hw, a->rows);
    return st == CUBLAS_STATUS_SUCCESS ? 0 : DAG_ERR_DEVICE;
}

/* partial[nw + o] = sum over the tile's samples and positions of dy[n][o][.] */
__global__ void k_chansum(float *out, const float *dy, int rows, int cout, int hw) {
    __shared__ float sh[256];
    int o = blockIdx.x;
    float acc = 0;
    for (long i = threadIdx.x; i < (long)rows * hw; i += blockDim.x)
        acc += dy[((i / hw) * cout + o) * hw + i % hw];
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[o] = sh[0];
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
    float *col = (float *)dag_cuda_workspace(ctx, sizeof(float) * (size_t)ncol * 2);
    if (!col) return DAG_ERR_NOMEM;
    float *dcol = col + ncol;
    const float *dy = CP(a->dy), *w = CP(a->w);
    k_im2col<<<GRID(ncol)>>>(CP(a->x), col, s, a->rows);
    k_chansum<<<s.cout, 256, 0, dag_cuda_stream(ctx)>>>(part + nw, dy, a->rows, s.cout, hw);
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
    k_col2im<<<GRID((long)a->rows * s.cin * s.h * s.w)>>>(dcol, P(a->dx), s, a->rows);
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
    k_sum<<<GRID(n)>>>(P(a->dw), P(a->db), CP(a->partial), a->tiles, (long)a->nw, (long)a->nb,
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
    k_pool<<<GRID(n)>>>(CP(a->x), NULL, NULL, P(a->y), planes, a->h, a->w, a->k, 0);
    return launched();
}

static int pool_bwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_pool_t *a = (nn_pool_t *)p;
    long planes = (long)a->rows * a->c, n = planes * (a->h / a->k) * (a->w / a->k);
    k_pool<<<GRID(n)>>>(CP(a->x), CP(a->y), CP(a->dy), P(a->dx), planes, a->h, a->w, a->k, 1);
    return launched();
}

__global__ void k_relu(const float *a, const float *b, float *out, long n) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] > 0 ? (b ? b[i] : a[i]) : 0.0f;
}

static int relu_fwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_ew_t *a = (nn_ew_t *)p;
    k_relu<<<GRID((long)a->n)>>>(CP(a->a), NULL, P(a->out), (long)a->n);
    return launched();
}

static int relu_bwd(void *p, struct dag_cuda_ctx *ctx) {
    nn_ew_t *a = (nn_ew_t *)p;
    k_relu<<<GRID((long)a->n)>>>(CP(a->a), CP(a->b), P(a->out), (long)a->n);
    return launched();
}

__global__ void k_dropout(const float *x, float *y, long cols, int rows, float p, uint64_t seed,
                          long first) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= rows * cols) return;
    uint64_t row = (uint64_t)(first + i / cols);
    /* nn_uniform of nn_internal.h, the same mask as the CPU body */
    uint64_t z = row * (uint64_t)cols + (uint64_t)(i % cols);
    uint64_t h = z + 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h = seed ^ (h ^ (h >> 31));
    h += 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    float u = (float)(h >> 40) * (1.0f / 16777216.0f);
    y[i] = u >= p ? x[i] * (1.0f / (1.0f - p)) : 0.0f;
}

static int dropout(void *p, struct dag_cuda_ctx *ctx) {
    nn_dropout_t *a = (nn_dropout_t *)p;
    k_dropout<<<GRID((long)a->rows * (long)a->cols)>>>(CP(a->x), P(a->y), (long)a->cols, a->rows,
                                                      a->p, a->seed, a->first);
    return launched();
}

/* one thread per row; the row sums of loss and correct predictions are added by thread 0 */
__global__ void k_xent(const float *z, const int32_t *lab, float *d, float *stats, int n,
                       int rows, int classes, float scale) {
    __shared__ float sl[256], sc[256];
    float loss = 0, corr = 0;
    for (int r = threadIdx.x; r < n; r += blockDim.x) {
        const float *zr = z + (long)r * classes;
        float *dr = d + (long)r * classes;
        if (r >= rows) {
            for (int c = 0; c < classes; c++) dr[c] = 0;
            continue;
        }
        int best = 0;
        float mx = zr[0];
        for (int c = 1; c < classes; c++)
            if (zr[c] > mx) mx = zr[c], best = c;
        double s = 0;
        for (int c = 0; c < classes; c++) s += exp((double)(zr[c] - mx));
        int y = lab[r];
        loss += (float)(log(s) - (double)(zr[y] - mx));
        corr += best == y;
        for (int c = 0; c < classes; c++)
            dr[c] = (float)((exp((double)(zr[c] - mx)) / s - (c == y)) * scale);
    }
    sl[threadIdx.x] = loss, sc[threadIdx.x] = corr;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int t = 1; t < (int)blockDim.x; t++) loss += sl[t], corr += sc[t];
        stats[0] += loss, stats[1] += corr;
    }
}

static int xent(void *p, struct dag_cuda_ctx *ctx) {
    nn_xent_t *a = (nn_xent_t *)p;
    k_xent<<<1, 256, 0, dag_cuda_stream(ctx)>>>(CP(a->logits),
                                                (const int32_t *)dag_cuda_ptr(ctx, a->labels),
                                                P(a->dlogits), P(a->stats), a->n, a->rows,
                                                a->classes, a->scale);
    return launched();
}

__global__ void k_opt(float *p, const float *g, float *m, float *v, long n, dag_nn_opt_t o,
                      float step, float epsc) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= n) return;
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
    const dag_nn_opt_t o = a->opt;
    float step = o.lr, epsc = 0;
    if (o.kind == DAG_NN_ADAM) {
        float c1 = 1.0f - powf(o.beta1, (float)a->t), c2 = 1.0f - powf(o.beta2, (float)a->t);
        step = o.lr * sqrtf(c2) / c1;
        epsc = o.eps * sqrtf(c2);
    }
    k_opt<<<GRID((long)a->n)>>>(P(a->p), CP(a->g), P(a->m), a->v ? P(a->v) : NULL, (long)a->n, o,
                                step, epsc);
    return launched();
}

extern "C" const nn_cuda_table_t nn_cuda = {dense_fwd, dense_bwd_data, dense_bwd_w, conv_fwd,
                                            conv_bwd,  sum,            pool_fwd,    pool_bwd,
                                            relu_fwd,  relu_bwd,       dropout,     xent,
                                            opt};
