/* test_cuda_emu.c: libdagnn's CUDA variants (runtime/nn/cuda.cu) against its CPU bodies
 * (kernels.c) without a GPU: cuda.cu is compiled as C++ on tests/nn/cuda_emu.h, which runs
 * every kernel thread by thread and cuBLAS calls as column-major reference loops with
 * cuBLAS's argument conventions, so the kernels' index arithmetic and the GEMMs' layouts
 * and transposes are checked exactly as written (not their speed, nor stream ordering).
 * Random shapes of the fused blocks (dense with ReLU and dropout, conv with stride,
 * padding, ReLU and pooling; forward, backward, accumulation), up to fmnist's sizes, and
 * the loss, optimiser, unfused dense weight-gradient and convolution variants. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) * (1.0 / 9007199254740992.0);
}
static int irand(int lo, int hi) { return lo + (int)(urand() * (hi - lo + 1)); }

static float *vec(size_t n, double lo, double hi) {
    float *v = malloc(sizeof(float) * (n ? n : 1));
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++) v[i] = (float)(lo + (hi - lo) * urand());
    return v;
}
static float *dup(const float *v, size_t n) {
    float *d = malloc(sizeof(float) * (n ? n : 1));
    ck_assert_ptr_nonnull(d);
    memcpy(d, v, sizeof(float) * n);
    return d;
}

/* every element within rel * (largest magnitude of the reference) + 1e-6 */
static void same(const float *got, const float *want, size_t n, double rel, const char *what) {
    double big = 0;
    for (size_t i = 0; i < n; i++) big = fmax(big, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= rel * big + 1e-6,
                      "%s[%zu]: CUDA variant %.7g, CPU body %.7g (largest %.3g)", what, i,
                      got[i], want[i], big);
}

/* Run a CUDA body as a replayed graph step does (runtime/nn/graph.cu): on a copy of its
 * arguments whose changing fields hold another step's values (`stale` changes them), the
 * kernels reading the right ones from the "device copy" of the block (args itself here)
 * through nn_cuda_dyn; and the two copies must make the same graph key (nn_cuda_mask).
 * Directly when replay is 0. */
static int replay;
static int body(nn_cuda_fn cu, void *args, size_t size, void (*stale)(void *)) {
    if (!replay) return cu(args, NULL);
    char *old = malloc(size), *k1 = malloc(size), *k2 = malloc(size);
    ck_assert_ptr_nonnull(old);
    ck_assert_ptr_nonnull(k1);
    ck_assert_ptr_nonnull(k2);
    memcpy(old, args, size);
    stale(old);
    memcpy(k1, args, size), memcpy(k2, old, size);
    ck_assert_int_eq(nn_cuda_mask(cu, k1), 0);
    ck_assert_int_eq(nn_cuda_mask(cu, k2), 0);
    ck_assert_msg(!memcmp(k1, k2, size), "a changing field is part of the graph key");
    ck_assert_msg(memcmp(old, args, size), "stale changed nothing");
    nn_cuda_dyn(old, args, size);
    int rc = cu(old, NULL);
    nn_cuda_dyn(NULL, NULL, 0);
    free(old), free(k1), free(k2);
    return rc;
}
static void stale_opt(void *p) {
    nn_opt_t *a = p;
    a->t += 3, a->opt.lr = a->opt.lr * 2 + 1e-3f;
}
static void stale_blk(void *p) {
    nn_blk_t *A = p;
    A->seed ^= 0x5a5a5a5aull, A->first += 17;
    stale_opt(&A->upd);
}
static void stale_gather(void *p) {
    nn_gather_t *a = p;
    for (int r = 0; r < a->rows; r++) a->idx[r] = 0;
}
static void stale_dropout(void *p) {
    nn_dropout_t *a = p;
    a->seed ^= 0x77ull, a->first += 5;
}

typedef struct {
    int conv, relu, tail, rows, in, out, pool_k, acc, with_dx, zero_x, update;
    nn_conv_shape_t s;
    float p;
} shape_t;

/* one block forward and backward through both implementations */
static void check_block(const shape_t *sh) {
    nn_blk_t A = {0};
    A.conv = sh->conv, A.relu = sh->relu, A.tail = sh->tail, A.rows = sh->rows;
    A.in = sh->in, A.out = sh->out, A.s = sh->s, A.pool_k = sh->pool_k, A.p = sh->p;
    A.seed = 0x1234 + (uint64_t)irand(0, 1000), A.first = irand(0, 5000);
    A.accumulate = sh->acc;
    size_t nx, nw, nb, na, no = 0;
    if (sh->conv) {
        const nn_conv_shape_t *s = &sh->s;
        nx = (size_t)sh->rows * s->cin * s->h * s->w;
        nw = (size_t)s->cout * s->cin * s->k * s->k, nb = (size_t)s->cout;
        na = (size_t)sh->rows * s->cout * s->ho * s->wo;
        if (sh->tail == NN_TAIL_POOL) no = na / ((size_t)sh->pool_k * sh->pool_k);
    } else {
        nx = (size_t)sh->rows * sh->in, nw = (size_t)sh->out * sh->in, nb = (size_t)sh->out;
        na = (size_t)sh->rows * sh->out;
        if (sh->tail == NN_TAIL_DROPOUT) no = na;
    }
    float *x = vec(nx, sh->zero_x ? 0 : -1, sh->zero_x ? 0 : 1);
    float *w = vec(nw, -0.5, 0.5), *b = vec(nb, -0.3, 0.3);
    A.x = x, A.w = w, A.b = b;
    /* forward */
    float *a_c = vec(na, 0, 0), *o_c = vec(no, 0, 0), *a_g = vec(na, 9, 9), *o_g = vec(no, 9, 9);
    A.a = a_c, A.o = no ? o_c : NULL;
    ck_assert_int_eq(nn_k_blk_fwd(&A), 0);
    A.a = a_g, A.o = no ? o_g : NULL;
    ck_assert_int_eq(body(nn_cuda.blk_fwd, &A, sizeof A, stale_blk), 0);
    same(a_g, a_c, na, 1e-5, "forward a");
    same(o_g, o_c, no, 1e-5, "forward o");
    /* backward, from the CPU forward's activations */
    size_t nd = no ? no : na;
    float *dout = vec(nd, -1, 1), *dw0 = vec(nw, -1, 1), *db0 = vec(nb, -1, 1);
    float *dw_c = dup(dw0, nw), *db_c = dup(db0, nb), *dw_g = dup(dw0, nw), *db_g = dup(db0, nb);
    float *dx_c = vec(nx, 7, 7), *dx_g = vec(nx, 8, 8);
    float *dz_c = vec(na, 7, 7), *dz_g = vec(na, 8, 8);
    int k = 1 + sh->relu + (sh->tail != NN_TAIL_NONE);
    /* with update: then an optimiser step over a "bucket" of the weight gradients */
    float *p_c = vec(nw, -1, 1), *m_c = vec(nw, -0.1, 0.1), *v_c = vec(nw, 0, 0.1);
    float *p_g = dup(p_c, nw), *m_g = dup(m_c, nw), *v_g = dup(v_c, nw);
    dag_nn_opt_t opt = irand(0, 1) ? (dag_nn_opt_t){DAG_NN_ADAM, 1e-3f, 0, 0, 0, 0, 1e-4f}
                                   : (dag_nn_opt_t){DAG_NN_SGD, 1e-2f, 0.9f, 0, 0, 0, 0};
    nn_opt_defaults(&opt);
    long t = irand(1, 50);
    A.update = sh->update;
    A.a = a_c, A.o = no ? o_c : NULL, A.dout = dout;
    A.dw = dw_c, A.db = db_c, A.dx = sh->with_dx ? dx_c : NULL, A.dz = k > 1 ? dz_c : NULL;
    A.upd = (nn_opt_t){p_c, dw_c, m_c, v_c, nw, t, opt};
    ck_assert_int_eq(nn_k_blk_bwd(&A), 0);
    A.dw = dw_g, A.db = db_g, A.dx = sh->with_dx ? dx_g : NULL, A.dz = k > 1 ? dz_g : NULL;
    A.upd = (nn_opt_t){p_g, dw_g, m_g, v_g, nw, t, opt};
    ck_assert_int_eq(body(nn_cuda.blk_bwd, &A, sizeof A, stale_blk), 0);
    if (sh->update) {
        same(p_g, p_c, nw, 1e-5, "update p");
        same(m_g, m_c, nw, 1e-5, "update m");
        same(v_g, v_c, nw, 1e-5, "update v");
    }
    same(dw_g, dw_c, nw, 2e-5, "backward dw");
    same(db_g, db_c, nb, 2e-5, "backward db");
    if (sh->with_dx) same(dx_g, dx_c, nx, 2e-5, "backward dx");
    if (k > 1) same(dz_g, dz_c, na, 1e-6, "backward dz");
    float *all[] = {x, w, b, a_c, o_c, a_g, o_g, dout, dw0, db0, dw_c, db_c, dw_g, db_g,
                    dx_c, dx_g, dz_c, dz_g, p_c, m_c, v_c, p_g, m_g, v_g};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
}

START_TEST(fused_dense) {
    for (int rep = 0; rep < 40; rep++) {
        shape_t sh = {0};
        sh.rows = irand(1, 9), sh.in = irand(1, 40), sh.out = irand(1, 20);
        sh.relu = irand(0, 1), sh.tail = irand(0, 1) ? NN_TAIL_DROPOUT : NN_TAIL_NONE;
        sh.p = irand(0, 1) ? (float)(0.5 * urand()) : 0.0f;
        sh.acc = irand(0, 1), sh.with_dx = irand(0, 1), sh.update = irand(0, 1);
        check_block(&sh);
    }
    /* fmnist's MLP layers, batch 64 */
    shape_t big[] = {{.rows = 64, .in = 784, .out = 512, .relu = 1, .tail = NN_TAIL_DROPOUT,
                      .p = 0.2f},
                     {.rows = 64, .in = 512, .out = 256, .relu = 1, .tail = NN_TAIL_DROPOUT,
                      .p = 0.2f, .with_dx = 1},
                     {.rows = 64, .in = 256, .out = 10, .with_dx = 1}};
    for (int i = 0; i < 3; i++) check_block(&big[i]);
}
END_TEST

static nn_conv_shape_t conv_shape(int cin, int h, int w, int cout, int k, int stride, int pad) {
    nn_conv_shape_t s = {cin, h, w, cout, k, stride, pad, 0, 0};
    s.ho = (h + 2 * pad - k) / stride + 1, s.wo = (w + 2 * pad - k) / stride + 1;
    return s;
}

START_TEST(fused_conv) {
    for (int rep = 0; rep < 40; rep++) {
        shape_t sh = {0};
        sh.conv = 1, sh.rows = irand(1, 4), sh.relu = irand(0, 1);
        sh.tail = irand(0, 1) ? NN_TAIL_POOL : NN_TAIL_NONE;
        sh.acc = irand(0, 1), sh.with_dx = irand(0, 1), sh.update = irand(0, 1);
        int k = irand(1, 4), stride = irand(1, 2), pad = irand(0, k - 1);
        sh.pool_k = irand(1, 3);
        for (;;) { /* a conv output the pooling window divides */
            sh.s = conv_shape(irand(1, 3), irand(k, 11), irand(k, 11), irand(1, 5), k, stride, pad);
            if (sh.tail != NN_TAIL_POOL || (sh.s.ho % sh.pool_k == 0 && sh.s.wo % sh.pool_k == 0))
                break;
        }
        check_block(&sh);
    }
    /* fmnist's CNN layers, batch 64 */
    shape_t big[] = {{.conv = 1, .rows = 64, .relu = 1, .tail = NN_TAIL_POOL, .pool_k = 2,
                      .s = conv_shape(1, 28, 28, 16, 3, 1, 1)},
                     {.conv = 1, .rows = 64, .relu = 1, .tail = NN_TAIL_POOL, .pool_k = 2,
                      .with_dx = 1, .s = conv_shape(16, 14, 14, 32, 3, 1, 1)}};
    for (int i = 0; i < 2; i++) check_block(&big[i]);
}
END_TEST

/* pooling ties: with x = 0 every plane is relu(bias), a constant, so every window is a
 * tie (and the negative biases' planes are ReLU's zeros); the gradient goes to the first
 * maximum in both implementations */
START_TEST(fused_conv_ties) {
    for (int rep = 0; rep < 4; rep++) {
        shape_t sh = {.conv = 1, .rows = 3, .relu = rep % 2, .tail = NN_TAIL_POOL,
                      .pool_k = 2, .with_dx = 1, .zero_x = 1,
                      .s = conv_shape(2, 8, 8, 5, 3, 1, 1)};
        check_block(&sh);
    }
}
END_TEST

START_TEST(loss_opt_conv) {
    for (int rep = 0; rep < 10; rep++) {
        /* softmax cross-entropy, padded rows */
        int n = irand(1, 70), rows = irand(0, n), classes = irand(2, 12);
        float *z = vec((size_t)n * classes, -3, 3), *d_c = vec((size_t)n * classes, 5, 5);
        float *d_g = vec((size_t)n * classes, 6, 6), st_c[2] = {1, 2}, st_g[2] = {1, 2};
        int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) lab[i] = irand(0, classes - 1);
        nn_xent_t x = {z, lab, d_c, st_c, n, rows, classes, 1.0f / (float)n};
        ck_assert_int_eq(nn_k_xent(&x), 0);
        x.dlogits = d_g, x.stats = st_g;
        ck_assert_int_eq(nn_cuda.xent(&x, NULL), 0);
        same(d_g, d_c, (size_t)n * classes, 1e-6, "xent dlogits");
        same(st_g, st_c, 2, 1e-5, "xent stats");
        free(z), free(d_c), free(d_g), free(lab);
        /* Adam and SGD with momentum */
        size_t np = (size_t)irand(1, 3000);
        float *p = vec(np, -1, 1), *g = vec(np, -1, 1), *m = vec(np, -0.1, 0.1),
              *v = vec(np, 0, 0.1);
        float *p2 = dup(p, np), *m2 = dup(m, np), *v2 = dup(v, np);
        dag_nn_opt_t o = rep % 2 ? (dag_nn_opt_t){DAG_NN_ADAM, 1e-3f, 0, 0.9f, 0.999f, 1e-8f, 1e-4f}
                                 : (dag_nn_opt_t){DAG_NN_SGD, 1e-2f, 0.9f, 0, 0, 0, 0};
        nn_opt_t a = {p, g, m, v, np, irand(1, 100), o};
        ck_assert_int_eq(nn_k_opt(&a), 0);
        a.p = p2, a.m = m2, a.v = v2;
        replay = (rep / 2) % 2; /* Adam and SGD both ways */
        ck_assert_int_eq(body(nn_cuda.opt, &a, sizeof a, stale_opt), 0);
        replay = 0;
        same(p2, p, np, 1e-6, "opt p");
        same(m2, m, np, 1e-6, "opt m");
        free(p), free(g), free(m), free(v), free(p2), free(m2), free(v2);
        /* the unfused dense weight gradient over a slice of the outputs (dW, and db as
         * column sums), fresh and accumulated */
        int bt = irand(1, 300), in = irand(1, 40), out = irand(1, 40), o0 = irand(0, out - 1),
            o1 = irand(o0, out), acc = rep % 2;
        float *dyd = vec((size_t)bt * out, -1, 1), *xd = vec((size_t)bt * in, -1, 1),
              *dwc = vec((size_t)out * in, -1, 1), *dbc = vec((size_t)out, -1, 1);
        float *dwg = dup(dwc, (size_t)out * in), *dbg = dup(dbc, (size_t)out);
        nn_dense_bwd_w_t bw = {dyd, xd, dwc, dbc, bt, in, out, o0, o1, acc};
        ck_assert_int_eq(nn_k_dense_bwd_w(&bw), 0);
        bw.dw = dwg, bw.db = dbg;
        ck_assert_int_eq(nn_cuda.dense_bwd_w(&bw, NULL), 0);
        same(dwg, dwc, (size_t)out * in, 2e-5, "dense_bwd_w dw");
        same(dbg, dbc, (size_t)out, 2e-5, "dense_bwd_w db");
        free(dyd), free(xd), free(dwc), free(dbc), free(dwg), free(dbg);
        /* the unfused convolution backward (per-tile partial sums) */
        nn_conv_shape_t s = conv_shape(irand(1, 3), irand(3, 9), irand(3, 9), irand(1, 4), 3,
                                       irand(1, 2), irand(0, 2));
        int r = irand(1, 4);
        size_t nx = (size_t)r * s.cin * s.h * s.w, ny = (size_t)r * s.cout * s.ho * s.wo;
        size_t npart = (size_t)s.cout * s.cin * 9 + (size_t)s.cout;
        float *xx = vec(nx, -1, 1), *ww = vec((size_t)s.cout * s.cin * 9, -1, 1),
              *dy = vec(ny, -1, 1), *dx_c = vec(nx, 0, 0), *dx_g = vec(nx, 0, 0),
              *pc = vec(npart, 0, 0), *pg = vec(npart, 0, 0);
        nn_conv_bwd_t cb = {xx, ww, dy, dx_c, pc, r, s};
        ck_assert_int_eq(nn_k_conv_bwd(&cb), 0);
        cb.dx = dx_g, cb.partial = pg;
        ck_assert_int_eq(nn_cuda.conv_bwd(&cb, NULL), 0);
        same(pg, pc, npart, 2e-5, "conv_bwd partial");
        same(dx_g, dx_c, nx, 2e-5, "conv_bwd dx");
        free(xx), free(ww), free(dy), free(dx_c), free(dx_g), free(pc), free(pg);
    }
}
END_TEST

/* a step's batch gathered from the data set: more rows than one launch takes (512), and
 * the host body for reference */
START_TEST(gather_batch) {
    for (int rep = 0; rep < 6; rep++) {
        int n = irand(1, 3000), rows = irand(1, 1300), feat = irand(1, 800);
        float *x = vec((size_t)n * feat, -1, 1);
        int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) lab[i] = irand(0, 9);
        size_t sz = sizeof(nn_gather_t) + sizeof(int32_t) * (size_t)rows;
        nn_gather_t *a = malloc(sz);
        float *xc = vec((size_t)rows * feat, 0, 0), *xg = vec((size_t)rows * feat, 7, 7);
        int32_t *lc = calloc((size_t)rows, sizeof(int32_t)), *lg = calloc((size_t)rows, 4);
        *a = (nn_gather_t){xc, x, lc, lab, (size_t)feat, rows};
        for (int r = 0; r < rows; r++) a->idx[r] = irand(0, n - 1);
        ck_assert_int_eq(nn_k_gather(a), 0);
        a->xin = xg, a->lab = lg;
        replay = rep % 2;
        ck_assert_int_eq(body(nn_cuda.gather, a, sz, stale_gather), 0);
        replay = 0;
        ck_assert_msg(!memcmp(xg, xc, sizeof(float) * (size_t)rows * feat), "gather x");
        for (int r = 0; r < rows; r++) ck_assert_int_eq(lg[r], lc[r]);
        free(x), free(lab), free(a), free(xc), free(xg), free(lc), free(lg);
    }
}
END_TEST

/* the unfused dropout, forward */
START_TEST(dropout_rows) {
    for (int rep = 0; rep < 10; rep++) {
        int rows = irand(1, 70), cols = irand(1, 300);
        size_t n = (size_t)rows * cols;
        float *x = vec(n, -1, 1), *yc = vec(n, 5, 5), *yg = vec(n, 6, 6);
        nn_dropout_t a = {x, yc, (size_t)cols, rows, (float)(0.6 * urand()),
                          0x1000 + (uint64_t)irand(0, 99), irand(0, 4000)};
        ck_assert_int_eq(nn_k_dropout(&a), 0);
        a.y = yg;
        ck_assert_int_eq(body(nn_cuda.dropout, &a, sizeof a, stale_dropout), 0);
        same(yg, yc, n, 1e-6, "dropout y");
        free(x), free(yc), free(yg);
    }
}
END_TEST

/* the replayed variants of the bodies whose fields change between steps */
START_TEST(replayed) {
    replay = 1;
    shape_t sh[] = {{.rows = 64, .in = 784, .out = 128, .relu = 1, .tail = NN_TAIL_DROPOUT,
                     .p = 0.2f, .update = 1},
                    {.rows = 7, .in = 33, .out = 12, .relu = 1, .tail = NN_TAIL_DROPOUT,
                     .p = 0.4f, .with_dx = 1, .acc = 1, .update = 1},
                    {.rows = 5, .in = 20, .out = 10, .with_dx = 1, .update = 1}};
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 3; i++) check_block(&sh[i]);
    nn_conv_shape_t cs = conv_shape(1, 12, 12, 4, 3, 1, 1);
    shape_t c = {.conv = 1, .relu = 1, .tail = NN_TAIL_POOL, .pool_k = 2, .rows = 3,
                 .update = 1, .with_dx = 1, .s = cs};
    check_block(&c);
    replay = 0;
}
END_TEST

int main(void) {
    Suite *s = suite_create("nn.cuda_emu");
    TCase *tc = tcase_create("variants");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, fused_dense);
    tcase_add_test(tc, fused_conv);
    tcase_add_test(tc, fused_conv_ties);
    tcase_add_test(tc, loss_opt_conv);
    tcase_add_test(tc, gather_batch);
    tcase_add_test(tc, dropout_rows);
    tcase_add_test(tc, replayed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
