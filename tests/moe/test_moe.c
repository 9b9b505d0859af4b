/* test_moe.c: Check suite of the MoE layer (libdagmoe) on one process: gradients against
 * central finite differences, randomised differential tests (dynamic chunks, static
 * placement, random sizes, worker counts, capacity, priorities) against the sequential
 * double-precision reference (ref.h), drop counting, the load-balancing loss, and errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>
#include <dag/moe.h>

#include "ref.h"
#include "testrand.h"

static void fill(float *v, size_t n, float a, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(a * (2 * urand(s) - 1));
}

static double loss(dag_moe_t *m, const float *x, int n, const int *route, const float *r, int D)
{
    float *y = malloc(sizeof *y * n * D), aux;
    ck_assert_int_eq(dag_moe_forward(m, x, n, route, y), DAG_OK);
    ck_assert_int_eq(dag_moe_aux_loss(m, &aux), DAG_OK);
    double l = aux;
    for (int i = 0; i < n * D; i++)
        l += (double)r[i] * y[i];
    free(y);
    return l;
}

/* Central differences of L = sum(r . y) + aux against backward, on sampled parameters
 * and inputs. Forced routing (smooth in every parameter) or the gate's top-k (samples
 * whose perturbation changes the routing are skipped: L jumps there). */
static void grad_check(int forced, unsigned flags, uint64_t seed)
{
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = 3}), DAG_OK);
    uint64_t s = seed;
    int D = 6, H = 10, E = 5, K = 2, n = 41;
    dag_moe_config_t cfg = {.d_model = D, .d_hidden = H, .n_experts = E, .top_k = K,
                            .max_tokens = n, .capacity_factor = 1.1f, .chunk_tokens = 3,
                            .block_tokens = 7, .aux_coef = 0.5f, .flags = flags, .seed = seed};
    dag_moe_t *m;
    ck_assert_int_eq(dag_moe_create(&m, &cfg), DAG_OK);
    size_t np = dag_moe_num_params(m);
    float *p = malloc(sizeof *p * np), *gr = malloc(sizeof *gr * np);
    float *x = malloc(sizeof *x * n * D), *r = malloc(sizeof *r * n * D);
    float *dx = malloc(sizeof *dx * n * D), *y = malloc(sizeof *y * n * D);
    int *route = malloc(sizeof *route * n * K);
    fill(x, n * D, 1.f, &s);
    fill(r, n * D, 1.f, &s);
    make_route(route, n, K, E, 3.0, &s);
    const int *rt = forced ? route : NULL;
    ck_assert_int_eq(dag_moe_get_params(m, p), DAG_OK);
    for (size_t i = 0; i < np; i++) /* non-zero biases too */
        p[i] += (float)(0.2 * (2 * urand(&s) - 1));
    ck_assert_int_eq(dag_moe_set_params(m, p), DAG_OK);
    ck_assert_int_eq(dag_moe_forward(m, x, n, rt, y), DAG_OK);
    dag_moe_stats_t st;
    dag_moe_stats(m, &st);
    ck_assert_int_gt(st.last_dropped, 0); /* the capacity limit is exercised */
    int c0[16], r0[16], c1[16], r1[16];
    dag_moe_expert_load(m, c0, r0);
    ck_assert_int_eq(dag_moe_backward(m, r, dx), DAG_OK);
    ck_assert_int_eq(dag_moe_get_grads(m, gr), DAG_OK);
    const double h = 1e-2, l0 = loss(m, x, n, rt, r, D);
    int checked = 0;
    for (int it = 0; it < 160; it++) {
        int onx = it % 4 == 0;
        size_t i = onx ? rng(&s) % (size_t)(n * D) : rng(&s) % np;
        if (it % 8 == 1)
            i = rng(&s) % ((size_t)D * E + E); /* the gate */
        float *v = onx ? &x[i] : &p[i], v0 = *v;
        double lp, lm;
        *v = v0 + (float)h;
        if (!onx)
            ck_assert_int_eq(dag_moe_set_params(m, p), DAG_OK);
        lp = loss(m, x, n, rt, r, D);
        dag_moe_expert_load(m, c1, r1);
        int same = !memcmp(c0, c1, sizeof(int) * E) && !memcmp(r0, r1, sizeof(int) * E);
        *v = v0 - (float)h;
        if (!onx)
            ck_assert_int_eq(dag_moe_set_params(m, p), DAG_OK);
        lm = loss(m, x, n, rt, r, D);
        dag_moe_expert_load(m, c1, r1);
        same &= !memcmp(c0, c1, sizeof(int) * E) && !memcmp(r0, r1, sizeof(int) * E);
        *v = v0;
        if (!onx)
            ck_assert_int_eq(dag_moe_set_params(m, p), DAG_OK);
        /* a routing change (a token swapping experts keeps the counts) is a jump: the
         * two one-sided differences disagree far beyond the curvature term */
        same &= fabs(lp + lm - 2 * l0) < 1e-3;
        if (!same) {
            ck_assert(!forced); /* forced routing never changes */
            continue;
        }
        double num = (lp - lm) / (2 * h), ana = onx ? dx[i] : gr[i];
        if (fabs(num - ana) > 5e-3 + 1e-2 * fabs(ana))
            ck_abort_msg("%s %zu: finite difference %.6f, backward %.6f", onx ? "dx" : "param",
                         i, num, ana);
        checked++;
    }
    ck_assert_int_ge(checked, 120);
    dag_moe_destroy(m);
    free(p);
    free(gr);
    free(x);
    free(r);
    free(dx);
    free(y);
    free(route);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}

START_TEST(test_grad_forced) { grad_check(1, 0, 11 + _i); }
END_TEST
START_TEST(test_grad_topk) { grad_check(0, 0, 21 + _i); }
END_TEST
START_TEST(test_grad_static) { grad_check(1, DAG_MOE_STATIC, 31); }
END_TEST

/* One random configuration against the reference; returns the layer's drop count. */
static void differential(uint64_t seed, int big)
{
    uint64_t s = seed * 7919 + 1;
    int D = big ? 256 : irand(&s, 1, 48), H = big ? 512 : irand(&s, 1, 80);
    int E = big ? 16 : irand(&s, 1, 12), K = irand(&s, 1, E < 3 ? E : 3);
    int n = big ? 1024 : irand(&s, 1, 400), maxn = n + irand(&s, 0, 50);
    int threads = irand(&s, 1, 4), forced = irand(&s, 0, 2) > 0;
    dag_moe_config_t cfg = {
        .d_model = D, .d_hidden = H, .n_experts = E, .top_k = K, .max_tokens = maxn,
        .capacity_factor = irand(&s, 0, 1) ? 0.f : (float)(0.3 + 1.7 * urand(&s)),
        .chunk_tokens = irand(&s, 1, 64), .block_tokens = irand(&s, 1, 160),
        .aux_coef = (float)urand(&s), .seed = seed};
    int fl = irand(&s, 0, 3);
    cfg.flags = (fl == 1 ? DAG_MOE_STATIC : 0) | (fl == 2 ? DAG_MOE_NO_PRIORITY : 0);
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = threads}), DAG_OK);
    dag_moe_t *m;
    ck_assert_int_eq(dag_moe_create(&m, &cfg), DAG_OK);
    size_t np = dag_moe_num_params(m);
    float *p = malloc(sizeof *p * np), *gr = malloc(sizeof *gr * np);
    float *x = malloc(sizeof *x * n * D), *dy = malloc(sizeof *dy * n * D);
    float *y = malloc(sizeof *y * n * D), *dx = malloc(sizeof *dx * n * D);
    int *route = malloc(sizeof *route * n * K);
    struct ref_cfg rc = {D, H, E, K, cfg.capacity_factor, cfg.aux_coef};
    struct ref_out o = ref_out_alloc(n, D, np, E);
    ck_assert_uint_eq(np, ref_nparams(&rc));
    ck_assert_int_eq(dag_moe_get_params(m, p), DAG_OK);
    for (int step = 0; step < 2; step++) { /* two steps: the second after an SGD update */
        fill(x, (size_t)n * D, 1.f, &s);
        fill(dy, (size_t)n * D, 1.f, &s);
        make_route(route, n, K, E, irand(&s, 0, 1) ? 3.0 : 0, &s);
        const int *rt = forced ? route : NULL;
        ck_assert_int_eq(dag_moe_forward(m, x, n, rt, y), DAG_OK);
        ck_assert_int_eq(dag_moe_backward(m, dy, dx), DAG_OK);
        ck_assert_int_eq(dag_moe_get_grads(m, gr), DAG_OK);
        ref_run(&rc, p, x, n, rt, dy, &o);
        size_t w = 0;
        float aux;
        dag_moe_aux_loss(m, &aux);
        dag_moe_stats_t st;
        dag_moe_stats(m, &st);
        int cnt[64];
        dag_moe_expert_load(m, cnt, NULL);
        ck_assert_msg(ref_close(y, o.y, (size_t)n * D, 1e-4, 1e-5, &w),
                      "seed %llu: y[%zu] %g vs %g", (unsigned long long)seed, w, y[w], o.y[w]);
        ck_assert_msg(ref_close(dx, o.dx, (size_t)n * D, 1e-4, 1e-5, &w),
                      "seed %llu: dx[%zu] %g vs %g", (unsigned long long)seed, w, dx[w], o.dx[w]);
        ck_assert_msg(ref_close(gr, o.grad, np, 1e-4, 1e-5, &w), "seed %llu: grad[%zu] %g vs %g",
                      (unsigned long long)seed, w, gr[w], o.grad[w]);
        ck_assert_msg(fabs(aux - o.aux) <= 1e-5 + 1e-4 * fabs(o.aux), "aux %g vs %g", aux, o.aux);
        ck_assert_int_eq(st.last_dropped, o.dropped);
        ck_assert_int_eq(memcmp(cnt, o.count, sizeof(int) * E), 0);
        float lr = 0.05f;
        ck_assert_int_eq(dag_moe_sgd(m, lr), DAG_OK);
        for (size_t i = 0; i < np; i++)
            p[i] -= lr * gr[i];
        float *q = malloc(sizeof *q * np);
        ck_assert_int_eq(dag_moe_get_params(m, q), DAG_OK);
        for (size_t i = 0; i < np; i++)
            ck_assert(fabsf(q[i] - p[i]) <= 1e-6f * (1 + fabsf(p[i])));
        free(q);
    }
    dag_moe_destroy(m);
    free(p);
    free(gr);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(route);
    ref_out_free(&o);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}

START_TEST(test_random)
{
    const char *e = getenv("DAG_TEST_SEEDS");
    int seeds = e ? atoi(e) : 40;
    for (int i = 0; i < seeds; i++)
        differential((uint64_t)i + 1000 * _i, 0);
}
END_TEST

START_TEST(test_large) { differential(77, 1); }
END_TEST

/* every token forced to expert 0 with a capacity: exactly n*K - cap assignments dropped */
START_TEST(test_drops)
{
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = 2}), DAG_OK);
    int D = 4, n = 100;
    dag_moe_config_t cfg = {.d_model = D, .d_hidden = 3, .n_experts = 4, .top_k = 1,
                            .max_tokens = n, .capacity_factor = 1.0f, .seed = 1};
    dag_moe_t *m;
    ck_assert_int_eq(dag_moe_create(&m, &cfg), DAG_OK);
    float *x = calloc(n * D, sizeof *x), *y = malloc(sizeof *y * n * D);
    int *route = calloc(n, sizeof *route), cnt[4], routed[4];
    ck_assert_int_eq(dag_moe_forward(m, x, n, route, y), DAG_OK);
    dag_moe_stats_t st;
    dag_moe_stats(m, &st);
    ck_assert_int_eq(st.capacity, 25);
    ck_assert_int_eq(st.last_dropped, 75);
    dag_moe_expert_load(m, cnt, routed);
    ck_assert_int_eq(cnt[0], 25);
    ck_assert_int_eq(routed[0], 100);
    for (int t = 25; t < n; t++) /* dropped tokens get nothing from the layer */
        for (int d = 0; d < D; d++)
            ck_assert(y[t * D + d] == 0.f);
    ck_assert_int_eq(dag_moe_forward(m, x, n, route, y), DAG_OK);
    dag_moe_stats(m, &st);
    ck_assert_uint_eq(st.dropped, 150);
    ck_assert_uint_eq(st.forwards, 2);
    dag_moe_destroy(m);
    free(x);
    free(y);
    free(route);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = 2}), DAG_OK);
    dag_moe_t *m = NULL;
    dag_moe_config_t cfg = {.d_model = 4, .d_hidden = 3, .n_experts = 4, .top_k = 5,
                            .max_tokens = 8};
    ck_assert_int_eq(dag_moe_create(&m, &cfg), DAG_ERR_INVALID); /* top_k > experts */
    cfg.top_k = 2;
    cfg.flags = 0x80;
    ck_assert_int_eq(dag_moe_create(&m, &cfg), DAG_ERR_INVALID);
    cfg.flags = 0;
    ck_assert_int_eq(dag_moe_create(&m, &cfg), DAG_OK);
    float x[40] = {0}, y[40];
    int route[20] = {0};
    ck_assert_int_eq(dag_moe_backward(m, x, NULL), DAG_ERR_STATE); /* no forward yet */
    ck_assert_int_eq(dag_moe_forward(m, x, 9, NULL, y), DAG_ERR_INVALID); /* > max_tokens */
    route[3] = 4;
    ck_assert_int_eq(dag_moe_forward(m, x, 8, route, y), DAG_ERR_INVALID); /* no expert 4 */
    route[3] = 1;
    ck_assert_int_eq(dag_moe_forward(m, x, 8, route, y), DAG_OK);
    ck_assert_int_eq(dag_moe_backward(m, x, NULL), DAG_OK);
    dag_moe_destroy(m);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("moe");
    TCase *tc = tcase_create("grad");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_grad_forced, 0, 2);
    tcase_add_loop_test(tc, test_grad_topk, 0, 2);
    tcase_add_test(tc, test_grad_static);
    suite_add_tcase(s, tc);
    tc = tcase_create("random");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_random, 0, 2);
    tcase_add_test(tc, test_large);
    tcase_add_test(tc, test_drops);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
