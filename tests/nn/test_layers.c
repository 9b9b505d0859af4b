/* test_layers.c: libdagnn's layer operations. Every backward pass is checked against
 * central finite differences of the forward pass (L = sum(y * r) for a random r, so
 * dL/dy = r) on random shapes; results must not depend on the number of tiles (tasks);
 * the optimisers match their textbook formulas; the IDX loader rejects bad files. */
#include <check.h>
#include <dag/nn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned long long rng = 88172645463325252ull;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}
static int irand(int lo, int hi) { return lo + (int)(urand() * (hi - lo + 1)); }

static void fill(dag_nn_tensor_t *t, double lo, double hi) {
    for (size_t i = 0; i < dag_nn_tensor_numel(t); i++) t->data[i] = (float)(lo + (hi - lo) * urand());
}
static dag_nn_tensor_t T(int n, int c, int h, int w) {
    dag_nn_tensor_t t;
    ck_assert_int_eq(dag_nn_tensor_alloc(&t, n, c, h, w, -1), DAG_OK);
    return t;
}
static double dot(const dag_nn_tensor_t *a, const dag_nn_tensor_t *b) {
    double s = 0;
    for (size_t i = 0; i < dag_nn_tensor_numel(a); i++) s += (double)a->data[i] * b->data[i];
    return s;
}

/* the forward pass of the operation under test: y from the current inputs */
typedef void (*fwd_fn)(void *ctx);
typedef struct {
    fwd_fn fwd;
    void *ctx;
    dag_nn_tensor_t *y, *r;
} probe_t;

static double loss_of(probe_t *p) {
    p->fwd(p->ctx);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    return dot(p->y, p->r);
}

/* compare analytic gradient g of input t with finite differences at `samples` entries */
static void check_grad(probe_t *p, dag_nn_tensor_t *t, const dag_nn_tensor_t *g, int samples,
                       const char *what) {
    size_t n = dag_nn_tensor_numel(t);
    for (int k = 0; k < samples; k++) {
        size_t i = (size_t)(urand() * (double)n);
        float keep = t->data[i];
        float h = 1e-2f * fmaxf(1.0f, fabsf(keep));
        t->data[i] = keep + h;
        double lp = loss_of(p);
        t->data[i] = keep - h;
        double lm = loss_of(p);
        t->data[i] = keep;
        double fd = (lp - lm) / (2.0 * h), an = g->data[i];
        double tol = 2e-2 * fmax(1.0, fabs(fd)) + 1e-3;
        ck_assert_msg(fabs(fd - an) <= tol, "%s: d/d[%zu] analytic %.6f, finite differences %.6f",
                      what, i, an, fd);
    }
}

typedef struct {
    dag_nn_tensor_t *x, *w, *b, *y, *scratch;
    int stride, pad, k, tiles;
    float p;
} op_t;

static dag_nn_exec_t exec_of(int tiles) { return (dag_nn_exec_t){tiles, DAG_DEVICE_CPU, 0}; }

static void dense_fwd(void *c) {
    op_t *o = c;
    dag_nn_exec_t ex = exec_of(o->tiles);
    ck_assert_int_eq(dag_nn_dense_forward(&ex, o->x, o->w, o->b, o->y), DAG_OK);
}

START_TEST(grad_dense) {
    for (int rep = 0; rep < 4; rep++) {
        int n = irand(1, 9), in = irand(1, 40), out = irand(1, 17);
        dag_nn_tensor_t x = T(n, in, 1, 1), w = T(out, in, 1, 1), b = T(1, out, 1, 1),
                        y = T(n, out, 1, 1), r = T(n, out, 1, 1), dx = T(n, in, 1, 1),
                        dw = T(out, in, 1, 1), db = T(1, out, 1, 1);
        fill(&x, -1, 1), fill(&w, -1, 1), fill(&b, -1, 1), fill(&r, -1, 1);
        op_t o = {&x, &w, &b, &y, NULL, 0, 0, 0, irand(1, 4), 0};
        probe_t p = {dense_fwd, &o, &y, &r};
        dag_nn_exec_t ex = exec_of(o.tiles);
        ck_assert_int_eq(dag_nn_dense_backward(&ex, &x, &w, &r, &dx, &dw, &db, 0), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        check_grad(&p, &x, &dx, 6, "dense x");
        check_grad(&p, &w, &dw, 6, "dense w");
        check_grad(&p, &b, &db, 4, "dense b");
        /* accumulate adds a second copy */
        ck_assert_int_eq(dag_nn_dense_backward(&ex, &x, &w, &r, NULL, &dw, &db, 1), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        dag_nn_tensor_t dw1 = T(out, in, 1, 1), db1 = T(1, out, 1, 1);
        ck_assert_int_eq(dag_nn_dense_backward(NULL, &x, &w, &r, NULL, &dw1, &db1, 0), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        for (size_t i = 0; i < dag_nn_tensor_numel(&dw); i++)
            ck_assert(fabsf(dw.data[i] - 2 * dw1.data[i]) <= 1e-4f * (1 + fabsf(dw.data[i])));
        dag_nn_tensor_t *all[] = {&x, &w, &b, &y, &r, &dx, &dw, &db, &dw1, &db1};
        for (int i = 0; i < 10; i++) dag_nn_tensor_free(all[i]);
    }
}
END_TEST

static void conv_fwd(void *c) {
    op_t *o = c;
    dag_nn_exec_t ex = exec_of(o->tiles);
    ck_assert_int_eq(dag_nn_conv2d_forward(&ex, o->x, o->w, o->b, o->y, o->stride, o->pad),
                     DAG_OK);
}

START_TEST(grad_conv2d) {
    for (int rep = 0; rep < 5; rep++) {
        int n = irand(1, 5), cin = irand(1, 4), cout = irand(1, 5), k = irand(1, 4);
        int h = irand(k, 9), w_ = irand(k, 9), stride = irand(1, 2), pad = irand(0, k - 1);
        int ho = (h + 2 * pad - k) / stride + 1, wo = (w_ + 2 * pad - k) / stride + 1;
        dag_nn_tensor_t x = T(n, cin, h, w_), w = T(cout, cin, k, k), b = T(1, cout, 1, 1),
                        y = T(n, cout, ho, wo), r = T(n, cout, ho, wo), dx = T(n, cin, h, w_),
                        dw = T(cout, cin, k, k), db = T(1, cout, 1, 1), scratch;
        fill(&x, -1, 1), fill(&w, -1, 1), fill(&b, -1, 1), fill(&r, -1, 1);
        op_t o = {&x, &w, &b, &y, NULL, stride, pad, k, irand(1, 3), 0};
        dag_nn_exec_t ex = exec_of(o.tiles);
        ck_assert_int_eq(dag_nn_conv2d_scratch(&scratch, &ex, &x, &w, -1), DAG_OK);
        probe_t p = {conv_fwd, &o, &y, &r};
        ck_assert_int_eq(dag_nn_conv2d_backward(&ex, &x, &w, &r, &dx, &dw, &db, &scratch, stride,
                                                pad, 0),
                         DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        check_grad(&p, &x, &dx, 6, "conv x");
        check_grad(&p, &w, &dw, 6, "conv w");
        check_grad(&p, &b, &db, 3, "conv b");
        dag_nn_tensor_t *all[] = {&x, &w, &b, &y, &r, &dx, &dw, &db, &scratch};
        for (int i = 0; i < 9; i++) dag_nn_tensor_free(all[i]);
    }
}
END_TEST

static void pool_fwd(void *c) {
    op_t *o = c;
    dag_nn_exec_t ex = exec_of(o->tiles);
    ck_assert_int_eq(dag_nn_maxpool_forward(&ex, o->x, o->y, o->k), DAG_OK);
}
static void relu_fwd(void *c) {
    op_t *o = c;
    dag_nn_exec_t ex = exec_of(o->tiles);
    ck_assert_int_eq(dag_nn_relu_forward(&ex, o->x, o->y), DAG_OK);
}
static void drop_fwd(void *c) {
    op_t *o = c;
    dag_nn_exec_t ex = exec_of(o->tiles);
    ck_assert_int_eq(dag_nn_dropout_forward(&ex, o->x, o->y, o->p, 77, 1000), DAG_OK);
}

START_TEST(grad_pool_relu_dropout) {
    for (int rep = 0; rep < 4; rep++) {
        int k = irand(1, 3), n = irand(1, 4), c = irand(1, 3), h = k * irand(1, 4),
            w = k * irand(1, 4);
        dag_nn_tensor_t x = T(n, c, h, w), y = T(n, c, h / k, w / k), r = T(n, c, h / k, w / k),
                        dx = T(n, c, h, w);
        /* distinct values, far apart: no ties, finite steps never change the maximum */
        size_t nx = dag_nn_tensor_numel(&x);
        for (size_t i = 0; i < nx; i++) x.data[i] = (float)i * 0.5f;
        for (size_t i = nx - 1; i > 0; i--) {
            size_t j = (size_t)(urand() * (double)(i + 1));
            float t = x.data[i];
            x.data[i] = x.data[j], x.data[j] = t;
        }
        fill(&r, -1, 1);
        op_t o = {&x, NULL, NULL, &y, NULL, 0, 0, k, irand(1, 3), 0};
        dag_nn_exec_t ex = exec_of(o.tiles);
        probe_t p = {pool_fwd, &o, &y, &r};
        ck_assert_int_eq(dag_nn_maxpool_forward(&ex, &x, &y, k), DAG_OK);
        ck_assert_int_eq(dag_nn_maxpool_backward(&ex, &x, &y, &r, &dx, k), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        check_grad(&p, &x, &dx, 8, "maxpool x");
        dag_nn_tensor_free(&y), dag_nn_tensor_free(&r);

        /* relu: inputs away from 0 */
        y = T(n, c, h, w), r = T(n, c, h, w);
        for (size_t i = 0; i < nx; i++) x.data[i] = (urand() < 0.5 ? -1.0f : 1.0f) * (float)(0.1 + urand());
        fill(&r, -1, 1);
        p = (probe_t){relu_fwd, &o, &y, &r};
        ck_assert_int_eq(dag_nn_relu_forward(&ex, &x, &y), DAG_OK);
        ck_assert_int_eq(dag_nn_relu_backward(&ex, &y, &r, &dx), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        check_grad(&p, &x, &dx, 8, "relu x");

        /* dropout: a fixed mask, about p of it zero, the rest scaled */
        o.p = (float)(0.1 + 0.5 * urand());
        p = (probe_t){drop_fwd, &o, &y, &r};
        ck_assert_int_eq(dag_nn_dropout_forward(&ex, &x, &y, o.p, 77, 1000), DAG_OK);
        ck_assert_int_eq(dag_nn_dropout_backward(&ex, &r, &dx, o.p, 77, 1000), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        check_grad(&p, &x, &dx, 8, "dropout x");
        loss_of(&p); /* y of the unperturbed x */
        for (size_t i = 0; i < nx; i++)
            ck_assert(y.data[i] == 0.0f ||
                      fabsf(y.data[i] - x.data[i] / (1 - o.p)) <= 1e-5f * (1 + fabsf(y.data[i])));
        dag_nn_tensor_free(&x), dag_nn_tensor_free(&y), dag_nn_tensor_free(&r),
            dag_nn_tensor_free(&dx);
    }
    /* the mask over many elements drops about p */
    dag_nn_tensor_t x = T(64, 1000, 1, 1), y = T(64, 1000, 1, 1);
    for (size_t i = 0; i < dag_nn_tensor_numel(&x); i++) x.data[i] = 1.0f;
    ck_assert_int_eq(dag_nn_dropout_forward(NULL, &x, &y, 0.3f, 5, 0), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    size_t zeros = 0;
    for (size_t i = 0; i < dag_nn_tensor_numel(&y); i++) zeros += y.data[i] == 0.0f;
    ck_assert(fabs((double)zeros / 64000.0 - 0.3) < 0.01);
    dag_nn_tensor_free(&x), dag_nn_tensor_free(&y);
}
END_TEST

typedef struct {
    dag_nn_tensor_t *z, *d;
    int32_t *lab;
    float *stats;
    int rows;
} xent_ctx_t;

START_TEST(grad_softmax_xent) {
    for (int rep = 0; rep < 4; rep++) {
        int n = irand(1, 12), c = irand(2, 11), rows = irand(0, n);
        dag_nn_tensor_t z = T(n, c, 1, 1), d = T(n, c, 1, 1);
        int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) lab[i] = irand(0, c - 1);
        fill(&z, -3, 3);
        float stats[2] = {0, 0};
        float scale = (float)(0.5 + urand());
        ck_assert_int_eq(dag_nn_softmax_xent(NULL, &z, lab, rows, scale, &d, stats), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        /* reference in double */
        double loss = 0;
        int correct = 0;
        for (int r = 0; r < n; r++) {
            const float *zr = z.data + (size_t)r * c;
            double mx = zr[0], s = 0;
            int best = 0;
            for (int j = 1; j < c; j++)
                if (zr[j] > mx) mx = zr[j], best = j;
            for (int j = 0; j < c; j++) s += exp(zr[j] - mx);
            for (int j = 0; j < c; j++) {
                double want = r < rows ? (exp(zr[j] - mx) / s - (j == lab[r])) * scale : 0;
                ck_assert(fabs(d.data[(size_t)r * c + j] - want) < 1e-5);
            }
            if (r < rows) loss += log(s) - (zr[lab[r]] - mx), correct += best == lab[r];
        }
        ck_assert(fabs(stats[0] - loss) < 1e-4 * (1 + loss));
        ck_assert_int_eq((int)stats[1], correct);
        /* d(scale * loss)/dz by finite differences */
        for (int k = 0; k < 5 && rows > 0; k++) {
            int r = irand(0, rows - 1), j = irand(0, c - 1);
            float keep = z.data[(size_t)r * c + j], h = 1e-2f;
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                z.data[(size_t)r * c + j] = keep + (sgn ? -h : h);
                float st[2] = {0, 0};
                ck_assert_int_eq(dag_nn_softmax_xent(NULL, &z, lab, rows, scale, &d, st), DAG_OK);
                ck_assert_int_eq(dag_taskwait(), DAG_OK);
                l[sgn] = st[0] * scale;
            }
            z.data[(size_t)r * c + j] = keep;
            ck_assert_int_eq(dag_nn_softmax_xent(NULL, &z, lab, rows, scale, &d, stats), DAG_OK);
            ck_assert_int_eq(dag_taskwait(), DAG_OK);
            double fd = (l[0] - l[1]) / (2 * h);
            ck_assert_msg(fabs(fd - d.data[(size_t)r * c + j]) < 2e-2 * fmax(1, fabs(fd)) + 1e-3,
                          "xent: analytic %f fd %f", d.data[(size_t)r * c + j], fd);
        }
        free(lab);
        dag_nn_tensor_free(&z), dag_nn_tensor_free(&d);
    }
}
END_TEST

/* results do not depend on the number of tiles (tasks) */
START_TEST(tiles_invariant) {
    for (int rep = 0; rep < 3; rep++) {
        int n = irand(16, 96), cin = irand(1, 8), cout = irand(4, 32), h = 2 * irand(4, 16);
        dag_nn_tensor_t x = T(n, cin, h, h), w = T(cout, cin, 3, 3), b = T(1, cout, 1, 1);
        fill(&x, -1, 1), fill(&w, -1, 1), fill(&b, -1, 1);
        dag_nn_tensor_t y1 = T(n, cout, h, h), y2 = T(n, cout, h, h), dw1 = T(cout, cin, 3, 3),
                        dw2 = T(cout, cin, 3, 3), db1 = T(1, cout, 1, 1), db2 = T(1, cout, 1, 1),
                        s1, s2;
        dag_nn_exec_t e1 = exec_of(1), e2 = exec_of(irand(2, 13));
        ck_assert_int_eq(dag_nn_conv2d_scratch(&s1, &e1, &x, &w, -1), DAG_OK);
        ck_assert_int_eq(dag_nn_conv2d_scratch(&s2, &e2, &x, &w, -1), DAG_OK);
        ck_assert_int_eq(dag_nn_conv2d_forward(&e1, &x, &w, &b, &y1, 1, 1), DAG_OK);
        ck_assert_int_eq(dag_nn_conv2d_forward(&e2, &x, &w, &b, &y2, 1, 1), DAG_OK);
        ck_assert_int_eq(dag_nn_conv2d_backward(&e1, &x, &w, &y1, NULL, &dw1, &db1, &s1, 1, 1, 0),
                         DAG_OK);
        ck_assert_int_eq(dag_nn_conv2d_backward(&e2, &x, &w, &y2, NULL, &dw2, &db2, &s2, 1, 1, 0),
                         DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        /* equal up to GEMM rounding (the blocking depends on the tile's width) */
        for (size_t i = 0; i < dag_nn_tensor_numel(&y1); i++)
            ck_assert(fabsf(y1.data[i] - y2.data[i]) <= 1e-5f * (1 + fabsf(y1.data[i])));
        for (size_t i = 0; i < dag_nn_tensor_numel(&dw1); i++)
            ck_assert(fabsf(dw1.data[i] - dw2.data[i]) <= 1e-3f * (1 + fabsf(dw1.data[i])));
        dag_nn_tensor_t *all[] = {&x, &w, &b, &y1, &y2, &dw1, &dw2, &db1, &db2, &s1, &s2};
        for (int i = 0; i < 11; i++) dag_nn_tensor_free(all[i]);
    }
}
END_TEST

START_TEST(optimisers) {
    size_t n = 200000; /* several update tasks */
    float *p = malloc(n * 4), *g = malloc(n * 4), *m = calloc(n, 4), *v = calloc(n, 4);
    float *rp = malloc(n * 4), *rm = calloc(n, 4), *rv = calloc(n, 4);
    for (size_t i = 0; i < n; i++) rp[i] = p[i] = (float)(urand() - 0.5), g[i] = (float)(urand() - 0.5);
    dag_nn_opt_t adam = {DAG_NN_ADAM, 0.01f, 0, 0.9f, 0.999f, 1e-8f, 0.01f};
    dag_nn_opt_t sgd = {DAG_NN_SGD, 0.1f, 0.9f, 0, 0, 0, 0};
    for (long t = 1; t <= 3; t++) {
        ck_assert_int_eq(dag_nn_opt_update(NULL, &adam, p, g, m, v, n, t), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        for (size_t i = 0; i < n; i++) {
            double gi = g[i] + 0.01 * rp[i];
            rm[i] = (float)(0.9 * rm[i] + 0.1 * gi);
            rv[i] = (float)(0.999 * rv[i] + 0.001 * gi * gi);
            double mh = rm[i] / (1 - pow(0.9, (double)t)), vh = rv[i] / (1 - pow(0.999, (double)t));
            rp[i] = (float)(rp[i] - 0.01 * mh / (sqrt(vh) + 1e-8));
        }
    }
    for (size_t i = 0; i < n; i++) ck_assert(fabsf(p[i] - rp[i]) < 1e-5f);
    memset(m, 0, n * 4);
    memcpy(rp, p, n * 4);
    for (long t = 1; t <= 2; t++) ck_assert_int_eq(dag_nn_opt_update(NULL, &sgd, p, g, m, NULL, n, t), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t i = 0; i < n; i++) /* m1 = g, m2 = 1.9 g: p -= 0.1 * 2.9 g */
        ck_assert(fabsf(p[i] - (rp[i] - 0.29f * g[i])) < 1e-5f);
    dag_nn_opt_t bad = {7, 0.1f, 0, 0, 0, 0, 0};
    ck_assert_int_eq(dag_nn_opt_update(NULL, &bad, p, g, m, v, n, 1), DAG_ERR_INVALID);
    free(p), free(g), free(m), free(v), free(rp), free(rm), free(rv);
}
END_TEST

START_TEST(bad_shapes) {
    dag_nn_tensor_t x = T(4, 10, 1, 1), w = T(3, 11, 1, 1), b = T(1, 3, 1, 1), y = T(4, 3, 1, 1);
    ck_assert_int_eq(dag_nn_dense_forward(NULL, &x, &w, &b, &y), DAG_ERR_INVALID);
    dag_nn_tensor_t p = T(4, 10, 1, 1);
    ck_assert_int_eq(dag_nn_maxpool_forward(NULL, &x, &p, 2), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_nn_dropout_forward(NULL, &x, &p, 1.0f, 1, 0), DAG_ERR_INVALID);
    dag_nn_tensor_free(&p);
    ck_assert_int_eq(dag_nn_tensor_alloc(&p, 0, 1, 1, 1, -1), DAG_ERR_INVALID);
    dag_nn_tensor_free(&x), dag_nn_tensor_free(&w), dag_nn_tensor_free(&b), dag_nn_tensor_free(&y);
}
END_TEST

static void write_gz(const char *path, const unsigned char *b, size_t n) {
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, b, (unsigned)n), (int)n);
    gzclose(f);
}

START_TEST(idx_loader) {
    unsigned char im[16 + 3 * 4] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
    for (int i = 0; i < 12; i++) im[16 + i] = (unsigned char)(i * 20);
    unsigned char lb[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9};
    write_gz("nn_test_im.gz", im, sizeof im);
    write_gz("nn_test_lb.gz", lb, sizeof lb);
    dag_nn_dataset_t d;
    ck_assert_int_eq(dag_nn_load_idx(&d, "nn_test_im.gz", "nn_test_lb.gz"), DAG_OK);
    ck_assert_int_eq(d.n, 3);
    ck_assert_int_eq(d.rows, 2);
    ck_assert_int_eq(d.labels[2], 9);
    ck_assert(fabsf(d.x[5] - 100.0f / 255) < 1e-6f);
    dag_nn_dataset_free(&d);
    /* truncated image data, labels as images, missing file */
    write_gz("nn_test_im.gz", im, sizeof im - 1);
    ck_assert_int_eq(dag_nn_load_idx(&d, "nn_test_im.gz", "nn_test_lb.gz"), DAG_ERR_IO);
    ck_assert_int_eq(dag_nn_load_idx(&d, "nn_test_lb.gz", "nn_test_lb.gz"), DAG_ERR_IO);
    ck_assert_int_eq(dag_nn_load_idx(&d, "nn_test_none.gz", "nn_test_lb.gz"), DAG_ERR_IO);
    remove("nn_test_im.gz"), remove("nn_test_lb.gz");
}
END_TEST

int main(void) {
    Suite *s = suite_create("nn.layers");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, grad_dense);
    tcase_add_test(tc, grad_conv2d);
    tcase_add_test(tc, grad_pool_relu_dropout);
    tcase_add_test(tc, grad_softmax_xent);
    tcase_add_test(tc, tiles_invariant);
    tcase_add_test(tc, optimisers);
    tcase_add_test(tc, bad_shapes);
    tcase_add_test(tc, idx_loader);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
