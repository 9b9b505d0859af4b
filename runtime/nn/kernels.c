/* kernels.c: libdagnn's CPU task bodies. Dense and convolution layers run on OpenBLAS
 * SGEMM (single-threaded: the parallelism comes from the tiles' tasks); the rest are
 * plain loops. Each body works on the argument block of nn_internal.h. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

int nn_k_dense_fwd(void *p) {
    nn_dense_fwd_t *a = p;
    if (a->rows <= 0) return 0;
    for (int r = 0; r < a->rows; r++)
        memcpy(a->y + (size_t)r * a->out, a->b, sizeof(float) * (size_t)a->out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->rows, a->out, a->in, 1.0f, a->x,
                a->in, a->w, a->in, 1.0f, a->y, a->out);
    return 0;
}

int nn_k_dense_bwd_data(void *p) {
    nn_dense_bwd_data_t *a = p;
    if (a->rows <= 0) return 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->rows, a->in, a->out, 1.0f, a->dy,
                a->out, a->w, a->in, 0.0f, a->dx, a->in);
    return 0;
}

int nn_k_dense_bwd_w(void *p) {
    nn_dense_bwd_w_t *a = p;
    int no = a->o1 - a->o0;
    if (no <= 0) return 0;
    float beta = a->accumulate ? 1.0f : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, a->in, a->batch, 1.0f,
                a->dy + a->o0, a->out, a->x, a->in, beta, a->dw + (size_t)a->o0 * a->in, a->in);
    float *db = a->db + a->o0;
    if (!a->accumulate) memset(db, 0, sizeof(float) * (size_t)no);
    for (int r = 0; r < a->batch; r++) {
        const float *d = a->dy + (size_t)r * a->out + a->o0;
        for (int o = 0; o < no; o++) db[o] += d[o];
    }
    return 0;
}

/* im2col of one sample: col[(c*k + i)*k + j][oy*wo + ox] */
static void im2col(const float *x, const nn_conv_shape_t *s, float *col) {
    int hw = s->ho * s->wo;
    for (int c = 0; c < s->cin; c++)
        for (int i = 0; i < s->k; i++)
            for (int j = 0; j < s->k; j++) {
                float *out = col + (size_t)((c * s->k + i) * s->k + j) * hw;
                for (int oy = 0; oy < s->ho; oy++) {
                    int iy = oy * s->stride - s->pad + i;
                    float *o = out + oy * s->wo;
                    if (iy < 0 || iy >= s->h) {
                        memset(o, 0, sizeof(float) * (size_t)s->wo);
                        continue;
                    }
                    const float *xr = x + ((size_t)c * s->h + iy) * s->w;
                    for (int ox = 0; ox < s->wo; ox++) {
                        int ix = ox * s->stride - s->pad + j;
                        o[ox] = (ix >= 0 && ix < s->w) ? xr[ix] : 0.0f;
                    }
                }
            }
}

static void col2im(const float *col, const nn_conv_shape_t *s, float *x) {
    int hw = s->ho * s->wo;
    memset(x, 0, sizeof(float) * (size_t)s->cin * s->h * s->w);
    for (int c = 0; c < s->cin; c++)
        for (int i = 0; i < s->k; i++)
            for (int j = 0; j < s->k; j++) {
                const float *in = col + (size_t)((c * s->k + i) * s->k + j) * hw;
                for (int oy = 0; oy < s->ho; oy++) {
                    int iy = oy * s->stride - s->pad + i;
                    if (iy < 0 || iy >= s->h) continue;
                    float *xr = x + ((size_t)c * s->h + iy) * s->w;
                    const float *o = in + oy * s->wo;
                    for (int ox = 0; ox < s->wo; ox++) {
                        int ix = ox * s->stride - s->pad + j;
                        if (ix >= 0 && ix < s->w) xr[ix] += o[ox];
                    }
                }
            }
}

int nn_k_conv_fwd(void *p) {
    nn_conv_fwd_t *a = p;
    const nn_conv_shape_t *s = &a->s;
    int hw = s->ho * s->wo, ckk = s->cin * s->k * s->k;
    float *col = malloc(sizeof(float) * (size_t)ckk * hw);
    if (!col) return DAG_ERR_NOMEM;
    for (int n = 0; n < a->rows; n++) {
        const float *x = a->x + (size_t)n * s->cin * s->h * s->w;
        float *y = a->y + (size_t)n * s->cout * hw;
        im2col(x, s, col);
        for (int o = 0; o < s->cout; o++)
            for (int q = 0; q < hw; q++) y[(size_t)o * hw + q] = a->b[o];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, hw, ckk, 1.0f, a->w,
                    ckk, col, hw, 1.0f, y, hw);
    }
    free(col);
    return 0;
}

int nn_k_conv_bwd(void *p) {
    nn_conv_bwd_t *a = p;
    const nn_conv_shape_t *s = &a->s;
    int hw = s->ho * s->wo, ckk = s->cin * s->k * s->k;
    size_t nw = (size_t)s->cout * ckk;
    float *col = malloc(sizeof(float) * (size_t)ckk * hw * 2);
    if (!col) return DAG_ERR_NOMEM;
    float *dcol = col + (size_t)ckk * hw;
    memset(a->partial, 0, sizeof(float) * (nw + (size_t)s->cout));
    for (int n = 0; n < a->rows; n++) {
        const float *x = a->x + (size_t)n * s->cin * s->h * s->w;
        const float *dy = a->dy + (size_t)n * s->cout * hw;
        im2col(x, s, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, ckk, hw, 1.0f, dy, hw,
                    col, hw, 1.0f, a->partial, ckk);
        for (int o = 0; o < s->cout; o++) {
            float acc = 0;
            for (int q = 0; q < hw; q++) acc += dy[(size_t)o * hw + q];
            a->partial[nw + o] += acc;
        }
        if (a->dx) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ckk, hw, s->cout, 1.0f, a->w,
                        ckk, dy, hw, 0.0f, dcol, hw);
            col2im(dcol, s, a->dx + (size_t)n * s->cin * s->h * s->w);
        }
    }
    free(col);
    return 0;
}

int nn_k_sum(void *p) {
    nn_sum_t *a = p;
    if (!a->accumulate) {
        memset(a->dw, 0, sizeof(float) * a->nw);
        memset(a->db, 0, sizeof(float) * a->nb);
    }
    for (int t = 0; t < a->tiles; t++) {
        const float *q = a->partial + (size_t)t * a->stride;
        for (size_t i = 0; i < a->nw; i++) a->dw[i] += q[i];
        for (size_t i = 0; i < a->nb; i++) a->db[i] += q[a->nw + i];
    }
    return 0;
}

int nn_k_pool_fwd(void *p) {
    nn_pool_t *a = p;
    int ho = a->h / a->k, wo = a->w / a->k;
    for (int n = 0; n < a->rows; n++)
        for (int c = 0; c < a->c; c++) {
            const float *x = a->x + ((size_t)n * a->c + c) * a->h * a->w;
            float *y = (float *)a->y + ((size_t)n * a->c + c) * ho * wo;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float m = -FLT_MAX;
                    for (int i = 0; i < a->k; i++)
                        for (int j = 0; j < a->k; j++) {
                            float v = x[(oy * a->k + i) * a->w + ox * a->k + j];
                            if (v > m) m = v;
                        }
                    y[oy * wo + ox] = m;
                }
        }
    return 0;
}

int nn_k_pool_bwd(void *p) {
    nn_pool_t *a = p;
    int ho = a->h / a->k, wo = a->w / a->k;
    memset(a->dx, 0, sizeof(float) * (size_t)a->rows * a->c * a->h * a->w);
    for (int n = 0; n < a->rows; n++)
        for (int c = 0; c < a->c; c++) {
            size_t pl = (size_t)n * a->c + c;
            const float *x = a->x + pl * a->h * a->w;
            float *dx = a->dx + pl * a->h * a->w;
            const float *y = a->y + pl * ho * wo, *dy = a->dy + pl * ho * wo;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float m = y[oy * wo + ox];
                    int done = 0;
                    for (int i = 0; i < a->k && !done; i++)
                        for (int j = 0; j < a->k && !done; j++) {
                            int q = (oy * a->k + i) * a->w + ox * a->k + j;
                            if (x[q] == m) {
                                dx[q] = dy[oy * wo + ox];
                                done = 1;
                            }
                        }
                }
        }
    return 0;
}

int nn_k_relu_fwd(void *p) {
    nn_ew_t *a = p;
    const float *restrict x = a->a;
    float *restrict y = a->out;
    for (size_t i = 0; i < a->n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
    return 0;
}

/* a = y (the forward output), b = dy */
int nn_k_relu_bwd(void *p) {
    nn_ew_t *a = p;
    const float *restrict y = a->a, *restrict dy = a->b;
    float *restrict dx = a->out;
    for (size_t i = 0; i < a->n; i++) dx[i] = y[i] > 0 ? dy[i] : 0.0f;
    return 0;
}

/* forward and backward alike: y = x * mask / (1 - p) */
int nn_k_dropout(void *p) {
    nn_dropout_t *a = p;
    float scale = 1.0f / (1.0f - a->p);
    for (int r = 0; r < a->rows; r++) {
        uint64_t row = (uint64_t)(a->first + r);
        const float *x = a->x + (size_t)r * a->cols;
        float *y = a->y + (size_t)r * a->cols;
        for (size_t c = 0; c < a->cols; c++) {
            float u = nn_uniform(a->seed, row * a->cols + c);
            y[c] = u >= a->p ? x[c] * scale : 0.0f;
        }
    }
    return 0;
}

int nn_k_xent(void *p) {
    nn_xent_t *a = p;
    double loss = 0;
    int correct = 0;
    for (int r = 0; r < a->n; r++) {
        const float *z = a->logits + (size_t)r * a->classes;
        float *d = a->dlogits + (size_t)r * a->classes;
        if (r >= a->rows) {
            memset(d, 0, sizeof(float) * (size_t)a->classes);
            continue;
        }
        int best = 0;
        float mx = z[0];
        for (int c = 1; c < a->classes; c++)
            if (z[c] > mx) mx = z[c], best = c;
        double sum = 0;
        for (int c = 0; c < a->classes; c++) sum += exp((double)(z[c] - mx));
        int y = a->labels[r];
        loss += log(sum) - (double)(z[y] - mx);
        correct += best == y;
        for (int c = 0; c < a->classes; c++) {
            double pr = exp((double)(z[c] - mx)) / sum;
            d[c] = (float)((pr - (c == y)) * a->scale);
        }
    }
    a->stats[0] += (float)loss;
    a->stats[1] += (float)correct;
    return 0;
}

void nn_opt_defaults(dag_nn_opt_t *o) {
    if (o->kind != DAG_NN_ADAM) return;
    if (o->beta1 == 0) o->beta1 = 0.9f;
    if (o->beta2 == 0) o->beta2 = 0.999f;
    if (o->eps == 0) o->eps = 1e-8f;
}

int nn_k_opt(void *p) {
    nn_opt_t *a = p;
    const dag_nn_opt_t *o = &a->opt;
    if (o->kind == DAG_NN_SGD) {
        for (size_t i = 0; i < a->n; i++) {
            float g = a->g[i] + o->weight_decay * a->p[i];
            a->m[i] = o->momentum * a->m[i] + g;
            a->p[i] -= o->lr * a->m[i];
        }
        return 0;
    }
    float b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay;
    float c1 = 1.0f - powf(b1, (float)a->t), c2 = 1.0f - powf(b2, (float)a->t);
    float step = o->lr * sqrtf(c2) / c1, eps = o->eps * sqrtf(c2);
    float *restrict pp = a->p, *restrict m = a->m, *restrict v = a->v;
    const float *restrict gg = a->g;
    for (size_t i = 0; i < a->n; i++) { /* vectorised (kernels.c: -O3, no math errno) */
        float g = gg[i] + wd * pp[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        pp[i] -= step * m[i] / (sqrtf(v[i]) + eps);
    }
    return 0;
}

int nn_k_init(void *p) {
    nn_init_t *a = p;
    if (a->kind == DAG_NN_INIT_ZERO) {
        memset(a->out, 0, sizeof(float) * a->n);
        return 0;
    }
    float lim = sqrtf(6.0f / (float)(a->fan_in > 0 ? a->fan_in : 1));
    for (size_t i = 0; i < a->n; i++) a->out[i] = (2.0f * nn_uniform(a->seed, i) - 1.0f) * lim;
    return 0;
}

/* fused blocks (nn_blk_t): the same arithmetic as the layer bodies above, in one task */
int nn_k_blk_fwd(void *p) {
    nn_blk_t *a = p;
    size_t n;
    int rc;
    if (a->conv) {
        nn_conv_fwd_t c = {a->x, a->w, a->b, a->a, a->rows, a->s};
        rc = nn_k_conv_fwd(&c);
        n = (size_t)a->rows * a->s.cout * a->s.ho * a->s.wo;
    } else {
        nn_dense_fwd_t d = {a->x, a->w, a->b, a->a, a->rows, a->in, a->out};
        rc = nn_k_dense_fwd(&d);
        n = (size_t)a->rows * a->out;
    }
    if (rc) return rc;
    if (a->relu)
        for (size_t i = 0; i < n; i++) a->a[i] = a->a[i] > 0 ? a->a[i] : 0.0f;
    if (a->tail == NN_TAIL_DROPOUT) {
        nn_dropout_t d = {a->a, a->o, (size_t)a->out, a->rows, a->p, a->seed, a->first};
        return nn_k_dropout(&d);
    }
    if (a->tail == NN_TAIL_POOL) {
        nn_pool_t q = {a->a, a->o, NULL, NULL, a->rows, a->s.cout, a->s.ho, a->s.wo, a->pool_k};
        return nn_k_pool_fwd(&q);
    }
    return 0;
}

static int blk_bwd_grad(nn_blk_t *a) {
    const float *g = a->dout;
    size_t n = a->conv ? (size_t)a->rows * a->s.cout * a->s.ho * a->s.wo
                       : (size_t)a->rows * a->out;
    if (a->tail == NN_TAIL_DROPOUT) {
        nn_dropout_t d = {a->dout, a->dz, (size_t)a->out, a->rows, a->p, a->seed, a->first};
        nn_k_dropout(&d);
        g = a->dz;
    } else if (a->tail == NN_TAIL_POOL) {
        nn_pool_t q = {a->a, a->o, a->dout, a->dz, a->rows, a->s.cout, a->s.ho, a->s.wo,
                       a->pool_k};
        nn_k_pool_bwd(&q);
        g = a->dz;
    }
    if (a->relu) {
        for (size_t i = 0; i < n; i++) a->dz[i] = a->a[i] > 0 ? g[i] : 0.0f;
        g = a->dz;
    }
    if (!a->conv) {
        nn_dense_bwd_w_t w = {g, a->x, a->dw, a->db, a->rows, a->in, a->out, 0, a->out,
                              a->accumulate};
        nn_k_dense_bwd_w(&w);
        if (!a->dx) return 0;
        nn_dense_bwd_data_t d = {g, a->w, a->dx, a->rows, a->in, a->out};
        return nn_k_dense_bwd_data(&d);
    }
    size_t nw = (size_t)a->s.cout * a->s.cin * a->s.k * a->s.k;
    float *part = malloc(sizeof(float) * (nw + (size_t)a->s.cout));
    if (!part) return DAG_ERR_NOMEM;
    nn_conv_bwd_t c = {a->x, a->w, g, a->dx, part, a->rows, a->s};
    int rc = nn_k_conv_bwd(&c);
    nn_sum_t s = {part, a->dw, a->db, 1, nw, (size_t)a->s.cout, 0, a->accumulate};
    if (!rc) rc = nn_k_sum(&s);
    free(part);
    return rc;
}

int nn_k_blk_bwd(void *p) {
    nn_blk_t *a = p;
    int rc = blk_bwd_grad(a);
    return rc || !a->update ? rc : nn_k_opt(&a->upd);
}

/* a step's batch gathered on the host (the model's gather tasks) */
int nn_k_gather_x(void *p) {
    nn_gather_t *a = p;
    for (int r = 0; r < a->rows; r++)
        memcpy(a->xin + (size_t)r * a->feat, a->x + (size_t)a->idx[r] * a->feat,
               sizeof(float) * a->feat);
    return 0;
}
int nn_k_gather_y(void *p) {
    nn_gather_t *a = p;
    for (int r = 0; r < a->rows; r++) a->lab[r] = a->labels[a->idx[r]];
    return 0;
}
int nn_k_gather(void *p) {
    nn_k_gather_x(p);
    return nn_k_gather_y(p);
}
