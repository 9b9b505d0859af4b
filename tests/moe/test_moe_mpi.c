/* test_moe_mpi.c: the MoE layer under mpirun (1, 2, 4 ranks): experts spread over the
 * ranks, token blocks too, dispatch and combine as inferred transfers, hot experts'
 * chunks replicated on less loaded ranks. Random configurations (every rank draws the
 * same) run forward, backward and SGD; outputs, dx, gradients and updated parameters must
 * match the sequential double-precision reference (ref.h) on every rank.
 * Usage: test_moe_mpi [configurations]. Exit status 0 is a pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>
#include <dag/dist.h>
#include <dag/moe.h>

#include "ref.h"
#include "testrand.h"

#define CHECK(c, ...)                                                                     \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", dag_rank(), __FILE__,   \
                    __LINE__, #c);                                                        \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fprintf(stderr, "\n");                                                        \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)
#define OK(x)                                                                             \
    do {                                                                                  \
        dag_status_t st_ = (x);                                                           \
        CHECK(st_ == DAG_OK, "%s", dag_strerror(st_));                                    \
    } while (0)

static unsigned long long run(uint64_t seed)
{
    uint64_t s = seed * 104729 + 3;
    int D = irand(&s, 1, 40), H = irand(&s, 1, 64), E = irand(&s, 1, 12);
    int K = irand(&s, 1, E < 3 ? E : 3), n = irand(&s, 1, 300);
    int forced = irand(&s, 0, 3) > 0, skew = irand(&s, 0, 1);
    dag_moe_config_t cfg = {
        .d_model = D, .d_hidden = H, .n_experts = E, .top_k = K, .max_tokens = n,
        .capacity_factor = irand(&s, 0, 1) ? 0.f : (float)(0.5 + 1.5 * urand(&s)),
        .chunk_tokens = irand(&s, 1, 40), .block_tokens = irand(&s, 1, 100),
        .aux_coef = (float)urand(&s), .seed = seed};
    int fl = irand(&s, 0, 3);
    cfg.flags = fl == 1 ? DAG_MOE_STATIC : fl == 2 ? DAG_MOE_NO_REPLICATE : 0;
    dag_moe_t *m;
    OK(dag_moe_create(&m, &cfg));
    size_t np = dag_moe_num_params(m);
    float *p = malloc(sizeof *p * np), *gr = malloc(sizeof *gr * np), *q = malloc(sizeof *q * np);
    float *x = malloc(sizeof *x * n * D), *dy = malloc(sizeof *dy * n * D);
    float *y = malloc(sizeof *y * n * D), *dx = malloc(sizeof *dx * n * D);
    int *route = malloc(sizeof *route * n * K);
    struct ref_cfg rc = {D, H, E, K, cfg.capacity_factor, cfg.aux_coef};
    struct ref_out o = ref_out_alloc(n, D, np, E);
    OK(dag_moe_get_params(m, p));
    for (int step = 0; step < 2; step++) {
        for (int i = 0; i < n * D; i++) {
            x[i] = (float)(2 * urand(&s) - 1);
            dy[i] = (float)(2 * urand(&s) - 1);
        }
        /* skew: most tokens on the first experts (one rank's) */
        make_route(route, n, K, E, skew ? 4.0 : 0, &s);
        const int *rt = forced ? route : NULL;
        OK(dag_moe_forward(m, x, n, rt, y));
        OK(dag_moe_backward(m, dy, dx));
        OK(dag_moe_get_grads(m, gr));
        ref_run(&rc, p, x, n, rt, dy, &o);
        size_t w = 0;
        CHECK(ref_close(y, o.y, (size_t)n * D, 1e-4, 1e-5, &w), "seed %llu y[%zu] %g vs %g",
              (unsigned long long)seed, w, y[w], o.y[w]);
        CHECK(ref_close(dx, o.dx, (size_t)n * D, 1e-4, 1e-5, &w), "seed %llu dx[%zu] %g vs %g",
              (unsigned long long)seed, w, dx[w], o.dx[w]);
        CHECK(ref_close(gr, o.grad, np, 1e-4, 1e-5, &w), "seed %llu grad[%zu] %g vs %g",
              (unsigned long long)seed, w, gr[w], o.grad[w]);
        float aux;
        OK(dag_moe_aux_loss(m, &aux));
        CHECK(fabs(aux - o.aux) <= 1e-5 + 1e-4 * fabs(o.aux), "aux %g vs %g", aux, o.aux);
        dag_moe_stats_t st;
        OK(dag_moe_stats(m, &st));
        CHECK(st.last_dropped == o.dropped, "dropped %d vs %d", st.last_dropped, o.dropped);
        OK(dag_moe_sgd(m, 0.1f));
        for (size_t i = 0; i < np; i++)
            p[i] -= 0.1f * gr[i];
        OK(dag_moe_get_params(m, q));
        for (size_t i = 0; i < np; i++)
            CHECK(fabsf(q[i] - p[i]) <= 1e-6f * (1 + fabsf(p[i])), "param %zu", i);
    }
    dag_moe_stats_t st;
    OK(dag_moe_stats(m, &st));
    OK(dag_moe_destroy(m));
    free(p);
    free(gr);
    free(q);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(route);
    ref_out_free(&o);
    return st.replicated;
}

int main(int argc, char **argv)
{
    int nconf = argc > 1 ? atoi(argv[1]) : 12;
    OK(dag_init(NULL));
    int R = dag_nranks();
    unsigned long long repl = 0;
    for (int i = 0; i < nconf; i++)
        repl += run((uint64_t)i + 1);
    /* a skewed, dynamic layer on several ranks must run chunks away from home */
    dag_moe_config_t cfg = {.d_model = 16, .d_hidden = 24, .n_experts = 2 * R, .top_k = 1,
                            .max_tokens = 256, .chunk_tokens = 8, .seed = 5};
    dag_moe_t *m;
    OK(dag_moe_create(&m, &cfg));
    float *x = calloc(256 * 16, sizeof *x), *y = malloc(sizeof *y * 256 * 16);
    int *route = calloc(256, sizeof *route); /* every token to expert 0 (rank 0) */
    OK(dag_moe_forward(m, x, 256, route, y));
    dag_moe_stats_t st;
    OK(dag_moe_stats(m, &st));
    CHECK(R == 1 ? st.replicated == 0 : st.replicated >= (unsigned long long)(32 - 32 / R),
          "%llu chunks replicated on %d ranks", st.replicated, R);
    dag_dist_stats_t ds;
    OK(dag_dist_stats(&ds));
    CHECK(R == 1 || ds.sends + ds.recvs > 0, "no transfers on %d ranks", R);
    OK(dag_moe_destroy(m));
    free(x);
    free(y);
    free(route);
    if (dag_rank() == 0)
        printf("moe mpi: %d configurations on %d ranks passed (%llu chunks replicated)\n",
               nconf, R, repl);
    return dag_finalize() == DAG_OK ? 0 : 1;
}
