/* kernels.c: the task bodies of an MoE layer (OpenBLAS sgemm, one thread per task): gate
 * forward and backward per token block, dispatch packing, expert chunks forward and
 * backward (2-layer MLP with GELU), combine, gradient reductions and SGD. Which rank runs
 * each body, and on which tiles, is decided in moe.c from the plan (plan.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "moe_int.h"

#define GELU_C 0.7978845608028654f /* sqrt(2 / pi) */

/* tanh as a rational function (Eigen's float tanh: |error| < 4e-7), 4x faster than tanhf
 * here: the GELU of every hidden unit was a seventh of an expert task's time */
static inline float fast_tanh(float x)
{
    const float c = 7.90531110763549805f;
    x = x > c ? c : (x < -c ? -c : x);
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return x * p / q;
}

static inline float gelu(float v)
{
    return 0.5f * v * (1.f + fast_tanh(GELU_C * (v + 0.044715f * v * v * v)));
}

static inline float gelu_grad(float v)
{
    float th = fast_tanh(GELU_C * (v + 0.044715f * v * v * v));
    return 0.5f * (1.f + th) + 0.5f * v * (1.f - th * th) * GELU_C * (1.f + 0.134145f * v * v);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill_uniform(float *p, size_t n, float a, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        p[i] = a * (2.f * (float)((splitmix(s) >> 40) * (1.0 / 16777216.0)) - 1.f);
}

void moe_init_expert(const struct dag_moe *m, int e, float *p)
{
    uint64_t s = m->cfg.seed * 0x2545f4914f6cdd1dull + (uint64_t)(e + 1) * 0x9e3779b9ull;
    size_t D = m->D, H = m->H;
    fill_uniform(p, D * H, 1.f / sqrtf((float)D), &s);
    memset(p + D * H, 0, H * sizeof *p);
    fill_uniform(p + D * H + H, H * D, 1.f / sqrtf((float)H), &s);
    memset(p + 2 * D * H + H, 0, D * sizeof *p);
}

void moe_init_gate(const struct dag_moe *m, float *p)
{
    uint64_t s = m->cfg.seed * 0x2545f4914f6cdd1dull;
    fill_uniform(p, (size_t)m->D * m->E, 1.f / sqrtf((float)m->D), &s);
    memset(p + (size_t)m->D * m->E, 0, m->E * sizeof *p);
}

/* the tile row of assignment j of token t in block b (and the rank that processes it, *x),
 * or -1 if the assignment was dropped */
static int kept_row(const struct dag_moe *m, int b, int t, int j, int *x)
{
    size_t as = ((size_t)b * m->bt + t) * m->K + j;
    *x = m->plan.xof[as];
    return m->plan.row[as];
}

/* ---- gate ---- */

int moe_gate_fwd(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    int b = a->i, nt = moe_ntok(m, b, a->n), D = m->D, E = m->E, K = m->K;
    const float *x = a->user + (size_t)b * m->bt * D;
    float *xt = dag_tile(m->XT, b, 0);
    memcpy(xt, x, sizeof *x * nt * D);
    const float *wg = dag_tile(m->GW, 0, 0), *bg = wg + (size_t)D * E;
    float *lg = malloc(sizeof *lg * nt * E);
    if (!lg)
        return DAG_ERR_NOMEM;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nt, E, D, 1.f, xt, D, wg, E, 0.f,
                lg, E);
    for (int t = 0; t < nt; t++) {
        float *l = lg + (size_t)t * E, *p = moe_rt_p(m, b, t), mx = -INFINITY, sum = 0;
        for (int e = 0; e < E; e++) {
            l[e] += bg[e];
            mx = l[e] > mx ? l[e] : mx;
        }
        for (int e = 0; e < E; e++)
            sum += (p[e] = expf(l[e] - mx));
        for (int e = 0; e < E; e++)
            p[e] /= sum;
        int *idx = moe_rt_idx(m, b, t);
        float *w = moe_rt_w(m, b, t);
        if (m->route) {
            memcpy(idx, m->route + ((size_t)b * m->bt + t) * K, sizeof *idx * K);
        } else { /* top-k, ties to the lower index */
            for (int j = 0; j < K; j++) {
                int best = -1;
                for (int e = 0; e < E; e++) {
                    int taken = 0;
                    for (int i = 0; i < j; i++)
                        taken |= idx[i] == e;
                    if (!taken && (best < 0 || p[e] > p[best]))
                        best = e;
                }
                idx[j] = best;
            }
        }
        for (int j = 0; j < K; j++)
            w[j] = p[idx[j]];
    }
    free(lg);
    return 0;
}

/* copy each kept assignment's token row to the tile of the rank that processes it */
int moe_pack(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    int b = a->i, nt = moe_ntok(m, b, a->n), D = m->D, K = m->K;
    const float *xt = dag_tile(m->XT, b, 0);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < K; j++) {
            int x, row = kept_row(m, b, t, j, &x);
            if (row >= 0)
                memcpy(moe_tile_row(m, m->DISP, b, x, row, D),
                       xt + (size_t)t * D, sizeof *xt * D);
        }
    return 0;
}

/* gather (dir 0) or scatter (dir 1) the rows of chunk c in tiles of matrix t */
static void chunk_rows(const struct dag_moe *m, const struct moe_chunk *c, dag_matrix_t *t,
                       float *buf, int width, int dir)
{
    int r = 0;
    for (int s = 0; s < c->nseg; s++) {
        const struct moe_seg *sg = &m->plan.seg[c->seg0 + s];
        float *rows = moe_tile_row(m, t, sg->b, c->x, sg->row, width);
        size_t bytes = sizeof *buf * (size_t)sg->n * width;
        if (dir)
            memcpy(rows, buf + (size_t)r * width, bytes);
        else
            memcpy(buf + (size_t)r * width, rows, bytes);
        r += sg->n;
    }
}

static void expert_parts(const struct dag_moe *m, float *p, float **w1, float **b1,
                         float **w2, float **b2)
{
    *w1 = p;
    *b1 = p + (size_t)m->D * m->H;
    *w2 = *b1 + m->H;
    *b2 = *w2 + (size_t)m->H * m->D;
}

/* the most rows of any chunk of expert task i */
static int task_max_rows(const struct moe_plan *p, int i)
{
    int mx = 0;
    for (int c = p->task0[i]; c < p->task0[i + 1]; c++)
        mx = p->chunk[c].n > mx ? p->chunk[c].n : mx;
    return mx;
}

/* each of the n rows (width w) of out set to bias */
static void bias_rows(float *out, const float *bias, int n, int w)
{
    for (int r = 0; r < n; r++)
        memcpy(out + (size_t)r * w, bias, sizeof *bias * w);
}

/* the n rows (width w) of in summed into acc */
static void add_rows(float *acc, const float *in, int n, int w)
{
    for (int r = 0; r < n; r++)
        cblas_saxpy(w, 1.f, in + (size_t)r * w, 1, acc, 1);
}

static void gelu_all(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = gelu(in[i]);
}

int moe_expert_fwd(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    const struct moe_plan *p = &m->plan;
    int D = m->D, H = m->H, mx = task_max_rows(p, a->i);
    float *xc = malloc(sizeof *xc * (size_t)mx * (2 * D + 2 * H));
    if (!xc)
        return DAG_ERR_NOMEM;
    float *hp = xc + (size_t)mx * D, *ha = hp + (size_t)mx * H, *yc = ha + (size_t)mx * H;
    for (int c = p->task0[a->i]; c < p->task0[a->i + 1]; c++) {
        const struct moe_chunk *ch = &p->chunk[c];
        int n = ch->n;
        float *w1, *b1, *w2, *b2;
        expert_parts(m, dag_tile(m->P, ch->e, 0), &w1, &b1, &w2, &b2);
        chunk_rows(m, ch, m->DISP, xc, D, 0);
        bias_rows(hp, b1, n, H);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, D, 1.f, xc, D, w1, H,
                    1.f, hp, H);
        gelu_all(ha, hp, (size_t)n * H);
        bias_rows(yc, b2, n, D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, D, H, 1.f, ha, H, w2, D,
                    1.f, yc, D);
        chunk_rows(m, ch, m->OUT, yc, D, 1);
        chunk_rows(m, ch, m->HS, hp, H, 1);
    }
    free(xc);
    return 0;
}

/* y = sum over a token's kept assignments of weight * expert output */
int moe_combine(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    int b = a->i, nt = moe_ntok(m, b, a->n), D = m->D, K = m->K;
    float *y = dag_tile(m->YT, b, 0);
    memset(y, 0, sizeof *y * nt * D);
    for (int t = 0; t < nt; t++) {
        const float *w = moe_rt_w(m, b, t);
        for (int j = 0; j < K; j++) {
            int x, row = kept_row(m, b, t, j, &x);
            if (row >= 0)
                cblas_saxpy(D, w[j], moe_tile_row(m, m->OUT, b, x, row, D), 1,
                            y + (size_t)t * D, 1);
        }
    }
    return 0;
}

/* Per block: weights' gradients dw = dy . expert output, the rows w * dy sent back to the
 * experts, the softmax backward (plus the load-balancing loss), the gate's gradient part
 * and the gate's share of dx. */
int moe_gate_bwd(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    const struct moe_plan *p = &m->plan;
    int b = a->i, nt = moe_ntok(m, b, a->n), D = m->D, E = m->E, K = m->K;
    const float *dy = a->user + (size_t)b * m->bt * D;
    float *dl = malloc(sizeof *dl * (size_t)nt * E);
    if (!dl)
        return DAG_ERR_NOMEM;
    for (int t = 0; t < nt; t++) {
        const float *pr = moe_rt_p(m, b, t), *w = moe_rt_w(m, b, t);
        const int *idx = moe_rt_idx(m, b, t);
        const float *dyt = dy + (size_t)t * D;
        float *g = dl + (size_t)t * E;
        memcpy(g, p->auxg, sizeof *g * E);
        for (int j = 0; j < K; j++) {
            int x, row = kept_row(m, b, t, j, &x);
            if (row < 0)
                continue;
            g[idx[j]] += cblas_sdot(D, dyt, 1, moe_tile_row(m, m->OUT, b, x, row, D), 1);
            float *gd = moe_tile_row(m, m->GDISP, b, x, row, D);
            for (int d = 0; d < D; d++)
                gd[d] = w[j] * dyt[d];
        }
        float s = 0;
        for (int e = 0; e < E; e++)
            s += pr[e] * g[e];
        for (int e = 0; e < E; e++)
            g[e] = pr[e] * (g[e] - s);
    }
    const float *xt = dag_tile(m->XT, b, 0), *wg = dag_tile(m->GW, 0, 0);
    float *gp = dag_tile(m->GWP, b, 0), *gb = gp + (size_t)D * E;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, E, nt, 1.f, xt, D, dl, E, 0.f,
                gp, E);
    memset(gb, 0, sizeof *gb * E);
    for (int t = 0; t < nt; t++)
        for (int e = 0; e < E; e++)
            gb[e] += dl[(size_t)t * E + e];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nt, D, E, 1.f, dl, E, wg, E, 0.f,
                dag_tile(m->DXT, b, 0), D);
    free(dl);
    return 0;
}

/* this worker's weight-gradient accumulator for expert e, zeroed once per backward */
static float *accumulator(struct dag_moe *m, int e)
{
    int w = dag_worker_id();
    if (w < 0 || w >= m->W)
        w = m->W;
    size_t i = (size_t)e * (m->W + 1) + w;
    if (!m->acc[i] && !(m->acc[i] = malloc(sizeof(float) * m->pe)))
        return NULL;
    if (m->acc_gen[i] != m->gen) {
        memset(m->acc[i], 0, sizeof(float) * m->pe);
        m->acc_gen[i] = m->gen;
    }
    return m->acc[i];
}

int moe_expert_bwd(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    const struct moe_plan *p = &m->plan;
    int D = m->D, H = m->H, mx = task_max_rows(p, a->i);
    float *xc = malloc(sizeof *xc * (size_t)mx * (3 * D + 3 * H));
    if (!xc)
        return DAG_ERR_NOMEM;
    float *dyc = xc + (size_t)mx * D, *dxc = dyc + (size_t)mx * D, *hp = dxc + (size_t)mx * D;
    float *ha = hp + (size_t)mx * H, *dh = ha + (size_t)mx * H;
    for (int c = p->task0[a->i]; c < p->task0[a->i + 1]; c++) {
        const struct moe_chunk *ch = &p->chunk[c];
        int n = ch->n;
        float *w1, *b1, *w2, *b2, *g1, *gb1, *g2, *gb2;
        float *acc = accumulator(m, ch->e);
        if (!acc) {
            free(xc);
            return DAG_ERR_NOMEM;
        }
        expert_parts(m, dag_tile(m->P, ch->e, 0), &w1, &b1, &w2, &b2);
        expert_parts(m, acc, &g1, &gb1, &g2, &gb2);
        chunk_rows(m, ch, m->DISP, xc, D, 0);
        chunk_rows(m, ch, m->GDISP, dyc, D, 0);
        chunk_rows(m, ch, m->HS, hp, H, 0);
        gelu_all(ha, hp, (size_t)n * H);
        /* dW2 += A^T dY, db2 += sum dY, dA = dY W2^T */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, D, n, 1.f, ha, H, dyc, D,
                    1.f, g2, D);
        add_rows(gb2, dyc, n, D);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, D, 1.f, dyc, D, w2, D,
                    0.f, dh, H);
        for (size_t i = 0; i < (size_t)n * H; i++)
            dh[i] *= gelu_grad(hp[i]);
        /* dW1 += X^T dH, db1 += sum dH, dX = dH W1^T */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, H, n, 1.f, xc, D, dh, H, 1.f,
                    g1, H);
        add_rows(gb1, dh, n, H);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, D, H, 1.f, dh, H, w1, H, 0.f,
                    dxc, D);
        chunk_rows(m, ch, m->GRET, dxc, D, 1);
    }
    free(xc);
    return 0;
}

/* sum this rank's worker accumulators of expert a->i into its gradient (part) */
int moe_grad_reduce(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    int e = a->i;
    float *g = m->R > 1 ? dag_tile(m->GP, e, m->rank) : dag_tile(m->G, e, 0);
    memset(g, 0, sizeof *g * m->pe);
    for (int w = 0; w <= m->W; w++) {
        size_t i = (size_t)e * (m->W + 1) + w;
        if (m->acc[i] && m->acc_gen[i] == m->gen)
            cblas_saxpy((int)m->pe, 1.f, m->acc[i], 1, g, 1);
    }
    return 0;
}

/* on the expert's home rank: the sum of the parts of the ranks that ran its chunks */
int moe_grad_home(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    int e = a->i;
    float *g = dag_tile(m->G, e, 0);
    memset(g, 0, sizeof *g * m->pe);
    for (int x = 0; x < m->R; x++)
        if (m->plan.eused[e * m->R + x])
            cblas_saxpy((int)m->pe, 1.f, dag_tile(m->GP, e, x), 1, g, 1);
    return 0;
}

int moe_dx_combine(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    int b = a->i, nt = moe_ntok(m, b, a->n), D = m->D, K = m->K;
    float *dx = dag_tile(m->DXT, b, 0);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < K; j++) {
            int x, row = kept_row(m, b, t, j, &x);
            if (row >= 0)
                cblas_saxpy(D, 1.f, moe_tile_row(m, m->GRET, b, x, row, D), 1,
                            dx + (size_t)t * D, 1);
        }
    return 0;
}

int moe_gate_grad(void *arg)
{
    struct moe_targs *a = arg;
    struct dag_moe *m = a->m;
    float *g = dag_tile(m->GWG, 0, 0);
    memset(g, 0, sizeof *g * m->pg);
    for (int b = 0; b < a->i; b++)
        cblas_saxpy((int)m->pg, 1.f, dag_tile(m->GWP, b, 0), 1, g, 1);
    return 0;
}

int moe_sgd_expert(void *arg)
{
    struct moe_targs *a = arg;
    cblas_saxpy((int)a->m->pe, -a->lr, dag_tile(a->m->G, a->i, 0), 1,
                dag_tile(a->m->P, a->i, 0), 1);
    return 0;
}

int moe_sgd_gate(void *arg)
{
    struct moe_targs *a = arg;
    cblas_saxpy((int)a->m->pg, -a->lr, dag_tile(a->m->GWG, 0, 0), 1,
                dag_tile(a->m->GW, 0, 0), 1);
    return 0;
}
