/* bench_moe.c: MoE training steps (forward + backward + SGD of one layer) with routing
 * skewed by a Zipf law, dynamic scheduling (chunk tasks, stealing, priorities) against
 * static expert placement (contiguous expert groups, one task per worker, no chunks) in
 * the same runtime and the same run, steps interleaved. Prints tokens/s, median and p99
 * step time of each and the ratios.
 * Usage: bench_moe [s=1.0] [steps=40] [tokens=1024] [experts=16] [d_model=128]
 *                  [d_hidden=256] [top_k=2] [chunk=0: adaptive]  (DAG_NUM_THREADS: workers;
 *        MOE_BENCH_ONLY=dynamic|static runs one variant, for profiling: no ratios) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dag.h>
#include <dag/dist.h>
#include <dag/moe.h>

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double urand(uint64_t *s) { return (rng(s) >> 11) * (1.0 / 9007199254740992.0); }

/* top_k distinct experts per token, expert i drawn with probability ~ 1 / (i+1)^s */
static void zipf_route(int *route, int n, int K, int E, double zs, uint64_t *s)
{
    double cdf[E];
    double tot = 0;
    for (int e = 0; e < E; e++)
        cdf[e] = (tot += pow(e + 1, -zs));
    for (int t = 0; t < n; t++)
        for (int j = 0; j < K; j++) {
            int e, dup;
            do {
                double u = urand(s) * tot;
                e = 0;
                while (e < E - 1 && cdf[e] < u)
                    e++;
                dup = 0;
                for (int i = 0; i < j; i++)
                    dup |= route[t * K + i] == e;
            } while (dup);
            route[t * K + j] = e;
        }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void ok(dag_status_t st, const char *what)
{
    if (st) {
        fprintf(stderr, "%s: %s\n", what, dag_strerror(st));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    double zs = argc > 1 ? atof(argv[1]) : 1.0;
    int steps = argc > 2 ? atoi(argv[2]) : 40, n = argc > 3 ? atoi(argv[3]) : 1024;
    int E = argc > 4 ? atoi(argv[4]) : 16, D = argc > 5 ? atoi(argv[5]) : 128;
    int H = argc > 6 ? atoi(argv[6]) : 256, K = argc > 7 ? atoi(argv[7]) : 2;
    int chunk = argc > 8 ? atoi(argv[8]) : 0; /* 0: adaptive */
    if (steps < 1 || n < 1 || E < 1 || D < 1 || H < 1 || K < 1 || K > E || chunk < 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    ok(dag_init(NULL), "init");
    dag_moe_config_t cfg = {.d_model = D, .d_hidden = H, .n_experts = E, .top_k = K,
                            .max_tokens = n, .chunk_tokens = chunk, .block_tokens = 64,
                            .aux_coef = 0.01f, .seed = 1};
    dag_moe_t *dyn, *st;
    ok(dag_moe_create(&dyn, &cfg), "create");
    cfg.flags = DAG_MOE_STATIC;
    ok(dag_moe_create(&st, &cfg), "create");
    float *x = malloc(sizeof *x * n * D), *y = malloc(sizeof *y * n * D);
    float *dy = malloc(sizeof *dy * n * D), *dx = malloc(sizeof *dx * n * D);
    int *route = malloc(sizeof *route * n * K);
    uint64_t s = 99;
    for (int i = 0; i < n * D; i++) {
        x[i] = (float)(2 * urand(&s) - 1);
        dy[i] = (float)(2 * urand(&s) - 1) / n;
    }
    const int warm = 3;
    const char *on = getenv("MOE_BENCH_ONLY"); /* "dynamic" or "static": profile one */
    int only = on ? (!strcmp(on, "static") ? 1 : !strcmp(on, "dynamic") ? 0 : -1) : -1;
    double *t[2];
    t[0] = calloc(steps, sizeof(double));
    t[1] = calloc(steps, sizeof(double));
    int load[E];
    double share = 0; /* mean share of the hottest expert in a step */
    for (int it = 0; it < warm + steps; it++) {
        zipf_route(route, n, K, E, zs, &s);
        for (int v = 0; v < 2; v++) { /* alternate which variant goes first */
            int which = (it + v) % 2;
            if (only >= 0 && which != only) /* profiling one variant (MOE_BENCH_ONLY) */
                continue;
            dag_moe_t *m = which ? st : dyn;
            double t0 = now();
            ok(dag_moe_forward(m, x, n, route, y), "forward");
            ok(dag_moe_backward(m, dy, dx), "backward");
            ok(dag_moe_sgd(m, 1e-3f), "sgd");
            double dt = now() - t0;
            if (it >= warm)
                t[which][it - warm] = dt;
        }
        if (it >= warm) {
            dag_moe_expert_load(dyn, load, NULL);
            long mx = 0, tot = 0;
            for (int e = 0; e < E; e++) {
                mx = load[e] > mx ? load[e] : mx;
                tot += load[e];
            }
            share += (double)mx / (tot ? tot : 1) / steps;
        }
    }
    /* on a shared machine load bursts hit whole steps: the median over iterations of
     * static time / dynamic time (both variants ran back to back) resists them */
    double *pr = malloc(sizeof(double) * steps);
    for (int i = 0; i < steps; i++)
        pr[i] = t[1][i] / t[0][i];
    qsort(pr, steps, sizeof(double), cmpd);
    double paired = pr[steps / 2];
    free(pr);
    double med[2], p99[2], tput[2];
    for (int v = 0; v < 2; v++) {
        double sum = 0;
        for (int i = 0; i < steps; i++)
            sum += t[v][i];
        qsort(t[v], steps, sizeof(double), cmpd);
        med[v] = t[v][steps / 2];
        int i99 = (int)ceil(0.99 * steps) - 1;
        p99[v] = t[v][i99 < 0 ? 0 : i99];
        tput[v] = (double)n * steps / sum;
    }
    if (dag_rank() != 0)
        goto done;
    printf("moe s=%.2f tokens=%d experts=%d top_k=%d d=%d h=%d chunk=%d workers=%d "
           "hottest_expert_share=%.3f\n", zs, n, E, K, D, H, chunk, dag_num_threads(), share);
    if (dag_nranks() > 1)
        printf("  (%d ranks)\n", dag_nranks());
    printf("  dynamic: %9.0f tokens/s  median %.2f ms  p99 %.2f ms\n", tput[0], 1e3 * med[0],
           1e3 * p99[0]);
    printf("  static : %9.0f tokens/s  median %.2f ms  p99 %.2f ms\n", tput[1], 1e3 * med[1],
           1e3 * p99[1]);
    printf("  dynamic/static throughput %.2fx, p99 static/dynamic %.2fx, paired median %.2fx\n",
           tput[0] / tput[1], p99[1] / p99[0], paired);
    printf("RESULT s=%.2f dyn_tps=%.0f dyn_p99_ms=%.2f st_tps=%.0f st_p99_ms=%.2f "
           "ratio=%.2f p99_ratio=%.2f paired=%.2f\n", zs, tput[0], 1e3 * p99[0], tput[1],
           1e3 * p99[1], tput[0] / tput[1], p99[1] / p99[0], paired);
done:
    dag_moe_destroy(dyn);
    dag_moe_destroy(st);
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(route);
    free(t[0]);
    free(t[1]);
    return dag_finalize() == DAG_OK ? 0 : 1;
}
