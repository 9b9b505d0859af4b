/* ref.h: a sequential double-precision reference of the MoE layer (include/dag/moe.h),
 * written independently of runtime/moe/ from the header's definitions: gate softmax, top-k
 * or forced routing, capacity (first choices before second choices, tokens in order),
 * 2-layer GELU experts, soft combine, load-balancing loss, and the backward pass. Shared
 * by the one-process and the distributed tests. */
#ifndef DAG_MOE_REF_H
#define DAG_MOE_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ref_cfg {
    int D, H, E, K;
    double cf, aux_coef;
};

struct ref_out {
    double *y, *dx, *grad; /* n*D, n*D, nparams */
    double aux;
    int dropped;
    int *count; /* E: kept per expert */
};

static inline double ref_gelu(double v)
{
    const double c = 0.7978845608028654;
    return 0.5 * v * (1 + tanh(c * (v + 0.044715 * v * v * v)));
}

static inline double ref_gelu_grad(double v)
{
    const double c = 0.7978845608028654;
    double th = tanh(c * (v + 0.044715 * v * v * v));
    return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * c * (1 + 3 * 0.044715 * v * v);
}

static inline size_t ref_nparams(const struct ref_cfg *c)
{
    return (size_t)c->D * c->E + c->E + (size_t)c->E * (2 * c->D * c->H + c->H + c->D);
}

/* The reference's results for n tokens of width D, np parameters and E experts. */
static inline struct ref_out ref_out_alloc(int n, int D, size_t np, int E)
{
    struct ref_out o = {malloc(sizeof(double) * n * D), malloc(sizeof(double) * n * D),
                        malloc(sizeof(double) * np), 0, 0, malloc(sizeof(int) * E)};
    return o;
}

static inline void ref_out_free(struct ref_out *o)
{
    free(o->y);
    free(o->dx);
    free(o->grad);
    free(o->count);
}

/* Runs forward and backward (dy) with parameters `p` (flat layout of dag_moe_get_params). */
static inline void ref_run(const struct ref_cfg *c, const float *p, const float *x, int n,
                           const int *route, const float *dy, struct ref_out *o)
{
    int D = c->D, H = c->H, E = c->E, K = c->K;
    size_t pe = (size_t)2 * D * H + H + D, pg = (size_t)D * E + E;
    const float *wg = p, *bg = p + (size_t)D * E;
    double *pr = calloc((size_t)n * E, sizeof *pr), *g = calloc((size_t)n * E, sizeof *g);
    int *idx = calloc((size_t)n * K, sizeof *idx), *keep = calloc((size_t)n * K, sizeof *keep);
    int *routed = calloc(E, sizeof *routed);
    double *h = malloc(sizeof *h * H), *a = malloc(sizeof *a * H), *out = malloc(sizeof *out * D);
    double *da = malloc(sizeof *da * H);
    memset(o->y, 0, sizeof *o->y * n * D);
    memset(o->dx, 0, sizeof *o->dx * n * D);
    memset(o->grad, 0, sizeof *o->grad * (pg + E * pe));
    memset(o->count, 0, sizeof *o->count * E);
    for (int t = 0; t < n; t++) {
        double mx = -1e300, s = 0, *q = pr + (size_t)t * E;
        for (int e = 0; e < E; e++) {
            double l = bg[e];
            for (int d = 0; d < D; d++)
                l += (double)x[(size_t)t * D + d] * wg[(size_t)d * E + e];
            q[e] = l;
            mx = l > mx ? l : mx;
        }
        for (int e = 0; e < E; e++)
            s += (q[e] = exp(q[e] - mx));
        for (int e = 0; e < E; e++)
            q[e] /= s;
        for (int j = 0; j < K; j++) {
            int best = -1;
            if (route) {
                best = route[(size_t)t * K + j];
            } else {
                for (int e = 0; e < E; e++) {
                    int taken = 0;
                    for (int i = 0; i < j; i++)
                        taken |= idx[(size_t)t * K + i] == e;
                    if (!taken && (best < 0 || q[e] > q[best]))
                        best = e;
                }
            }
            idx[(size_t)t * K + j] = best;
            routed[best]++;
        }
    }
    int cap = c->cf > 0 ? (int)ceil(c->cf * n * K / E) : 0;
    o->dropped = 0;
    for (int j = 0; j < K; j++)
        for (int t = 0; t < n; t++) {
            int e = idx[(size_t)t * K + j];
            if (cap && o->count[e] >= cap) {
                o->dropped++;
            } else {
                keep[(size_t)t * K + j] = 1;
                o->count[e]++;
            }
        }
    o->aux = 0;
    for (int e = 0; e < E; e++) {
        double f = (double)routed[e] / ((double)n * K), pm = 0;
        for (int t = 0; t < n; t++)
            pm += pr[(size_t)t * E + e];
        o->aux += f * pm / n;
        for (int t = 0; t < n; t++)
            g[(size_t)t * E + e] = c->aux_coef * E * f / n;
    }
    o->aux *= c->aux_coef * E;
    for (int t = 0; t < n; t++)
        for (int j = 0; j < K; j++) {
            if (!keep[(size_t)t * K + j])
                continue;
            int e = idx[(size_t)t * K + j];
            const float *w1 = p + pg + e * pe, *b1 = w1 + (size_t)D * H, *w2 = b1 + H,
                        *b2 = w2 + (size_t)H * D;
            double *g1 = o->grad + pg + e * pe, *gb1 = g1 + (size_t)D * H, *g2 = gb1 + H,
                   *gb2 = g2 + (size_t)H * D;
            const float *xt = x + (size_t)t * D, *dyt = dy + (size_t)t * D;
            double w = pr[(size_t)t * E + e], dw = 0;
            for (int k = 0; k < H; k++) {
                h[k] = b1[k];
                for (int d = 0; d < D; d++)
                    h[k] += (double)xt[d] * w1[(size_t)d * H + k];
                a[k] = ref_gelu(h[k]);
            }
            for (int d = 0; d < D; d++) {
                out[d] = b2[d];
                for (int k = 0; k < H; k++)
                    out[d] += a[k] * w2[(size_t)k * D + d];
                o->y[(size_t)t * D + d] += w * out[d];
                dw += dyt[d] * out[d];
            }
            g[(size_t)t * E + e] += dw;
            for (int k = 0; k < H; k++) {
                da[k] = 0;
                for (int d = 0; d < D; d++) {
                    double dod = w * dyt[d];
                    da[k] += dod * w2[(size_t)k * D + d];
                    g2[(size_t)k * D + d] += a[k] * dod;
                }
                da[k] *= ref_gelu_grad(h[k]);
                gb1[k] += da[k];
            }
            for (int d = 0; d < D; d++) {
                gb2[d] += w * dyt[d];
                for (int k = 0; k < H; k++) {
                    g1[(size_t)d * H + k] += xt[d] * da[k];
                    o->dx[(size_t)t * D + d] += da[k] * w1[(size_t)d * H + k];
                }
            }
        }
    for (int t = 0; t < n; t++) { /* softmax backward, gate gradient, gate share of dx */
        double s = 0, *q = pr + (size_t)t * E, *gt = g + (size_t)t * E;
        for (int e = 0; e < E; e++)
            s += q[e] * gt[e];
        for (int e = 0; e < E; e++) {
            double dl = q[e] * (gt[e] - s);
            o->grad[(size_t)D * E + e] += dl;
            for (int d = 0; d < D; d++) {
                o->grad[(size_t)d * E + e] += x[(size_t)t * D + d] * dl;
                o->dx[(size_t)t * D + d] += dl * wg[(size_t)d * E + e];
            }
        }
    }
    free(pr);
    free(g);
    free(idx);
    free(keep);
    free(routed);
    free(h);
    free(a);
    free(out);
    free(da);
}

/* |a - b| <= atol + rtol * max|b| over the array (scale-aware comparison) */
static inline int ref_close(const float *a, const double *b, size_t n, double rtol, double atol,
                            size_t *where)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= atol + rtol * mx)) {
            if (where)
                *where = i;
            return 0;
        }
    return 1;
}

#endif /* DAG_MOE_REF_H */
