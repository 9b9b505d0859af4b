/* expert_cuda.cu: the CUDA implementation of an MoE expert chunk's forward (attr.cuda of
 * the "moe_expert" tasks, same argument block as kernels.c: moe_expert_fwd). Gathers the
 * chunk's rows (device copies of its dependencies) into stream workspace, two cuBLAS
 * SGEMMs with bias + GELU kernels between, scatters the output and pre-activation rows.
 * The runtime copies the rows and weights in and the results back (docs/cuda.md) and
 * chooses per task between this and the CPU body. Built when CUDA is found. */
#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include <dag/cuda.h>

#include "moe_int.h"
}

namespace {

__global__ void bias_gelu(float *hp, float *ha, const float *b, int n, int h)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)n * h)
        return;
    float v = hp[i] + b[i % h];
    hp[i] = v;
    ha[i] = 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

__global__ void bias_add(float *y, const float *b, int n, int d)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)n * d)
        y[i] += b[i % d];
}

/* copy the chunk's rows of matrix t between the tiles' device copies and buf */
int rows(const struct dag_moe *m, const struct moe_chunk *c, dag_matrix_t *t, float *buf,
         int width, int scatter, struct dag_cuda_ctx *ctx)
{
    cudaStream_t st = dag_cuda_stream(ctx);
    int r = 0;
    for (int s = 0; s < c->nseg; s++) {
        const struct moe_seg *sg = &m->plan.seg[c->seg0 + s];
        float *dev = (float *)dag_cuda_ptr(ctx, moe_tile_row(m, t, sg->b, c->x, sg->row, width));
        if (!dev)
            return -1;
        size_t bytes = sizeof(float) * (size_t)sg->n * width;
        float *mine = buf + (size_t)r * width;
        if (cudaMemcpyAsync(scatter ? dev : mine, scatter ? mine : dev, bytes,
                            cudaMemcpyDeviceToDevice, st) != cudaSuccess)
            return -1;
        r += sg->n;
    }
    return 0;
}

} // namespace

extern "C" int moe_expert_fwd_cuda(void *arg, struct dag_cuda_ctx *ctx)
{
    struct moe_targs *a = (struct moe_targs *)arg;
    struct dag_moe *m = a->m;
    const struct moe_plan *p = &m->plan;
    int D = m->D, H = m->H, mx = 0;
    for (int c = p->task0[a->i]; c < p->task0[a->i + 1]; c++)
        mx = p->chunk[c].n > mx ? p->chunk[c].n : mx;
    float *xc = (float *)dag_cuda_workspace(ctx, sizeof(float) * (size_t)mx * (2 * D + 2 * H));
    cublasHandle_t h = (cublasHandle_t)dag_cuda_cublas(ctx);
    if (!xc || !h)
        return DAG_ERR_NOMEM;
    float *hp = xc + (size_t)mx * D, *ha = hp + (size_t)mx * H, *yc = ha + (size_t)mx * H;
    const float one = 1.f, zero = 0.f;
    cudaStream_t st = dag_cuda_stream(ctx);
    for (int c = p->task0[a->i]; c < p->task0[a->i + 1]; c++) {
        const struct moe_chunk *ch = &p->chunk[c];
        int n = ch->n;
        float *w1 = (float *)dag_cuda_ptr(ctx, dag_tile(m->P, ch->e, 0));
        if (!w1)
            return DAG_ERR_DEVICE;
        float *b1 = w1 + (size_t)D * H, *w2 = b1 + H, *b2 = w2 + (size_t)H * D;
        if (rows(m, ch, m->DISP, xc, D, 0, ctx))
            return DAG_ERR_DEVICE;
        /* row-major hp[n x H] = xc[n x D] W1[D x H], i.e. column-major hp^T = W1^T xc^T */
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, H, n, D, &one, w1, H, xc, D, &zero, hp,
                        H) != CUBLAS_STATUS_SUCCESS)
            return DAG_ERR_DEVICE;
        int th = 256;
        bias_gelu<<<(unsigned)(((size_t)n * H + th - 1) / th), th, 0, st>>>(hp, ha, b1, n, H);
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, D, n, H, &one, w2, D, ha, H, &zero, yc,
                        D) != CUBLAS_STATUS_SUCCESS)
            return DAG_ERR_DEVICE;
        bias_add<<<(unsigned)(((size_t)n * D + th - 1) / th), th, 0, st>>>(yc, b2, n, D);
        if (rows(m, ch, m->OUT, yc, D, 1, ctx) || rows(m, ch, m->HS, hp, H, 1, ctx))
            return DAG_ERR_DEVICE;
    }
    return cudaGetLastError() != cudaSuccess ? DAG_ERR_DEVICE : 0;
}
