/* bench_moe.c: MoE training steps (forward + backward + SGD of one layer) with routing
 * skewed by a Zipf law, dynamic scheduling (chunk tasks, stealing, priorities, hot
 * experts' chunks moved to idle ranks) against static expert placement (expert
 * parallelism: expert e pinned to rank e mod R and worker (e/R) mod W, one task per
 * worker, no chunks) in the same runtime and the same run, steps interleaved. Prints
 * tokens/s, median and p99 step time of each and the ratios, the CPU-seconds of each
 * (summed over ranks, and the busiest rank's), a critical-path estimate that holds however
 * many cores the run really had (per step, the largest over ranks of the rank's task
 * CPU-s over its workers or its longest forward + backward expert tasks: the step with one
 * core per worker, waits left out), and the placement's imbalance (the busiest (rank, worker) slot's expert rows
 * over the mean: the most any scheduler can gain on the expert work over this static
 * placement). No capacity limit (a capacity factor cf caps the imbalance near cf).
 * Usage: bench_moe [s=1.0] [steps=40] [tokens=1024] [experts=16] [d_model=128]
 *                  [d_hidden=256] [top_k=2] [chunk=0: adaptive]  (DAG_NUM_THREADS: workers;
 *        MOE_BENCH_ONLY=dynamic|static runs one variant, for profiling: no ratios) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <dag.h>
#include <dag/dist.h>
#include <dag/moe.h>
#ifdef BENCH_MOE_CUDA /* built with CUDA: count the chunks that ran on a GPU */
#include <dag/cuda.h>
static unsigned long long gpu_tasks(void)
{
    dag_cuda_stats_t c;
    return dag_cuda_stats(&c) == DAG_OK ? c.gpu_tasks : 0;
}
#else
static unsigned long long gpu_tasks(void) { return 0; }
#endif

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

static double cpu_now(void) /* CPU-seconds of this process (all its threads) */
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
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
    double imb = 0;   /* mean over steps of busiest static slot / mean slot */
    int R = dag_nranks(), W = dag_num_threads(), P = R * W;
    double slot[P];
    /* this rank's figures, gathered on rank 0 at the end: per variant v the process's
     * CPU-s (cs[v]), the task CPU-s of all workers (cs[2 + v]), and per step this rank's
     * lower bound of the step with one core per worker (cs[4 + v * steps + step]): its
     * task CPU-s over its workers, or its longest forward + backward expert tasks (a
     * chunk; under static placement a worker slot's experts), whichever is more */
    size_t ncs = 4 + 2 * (size_t)steps;
    double *cs = calloc(ncs, sizeof *cs), bw[2][W], b0[W], b1[W];
    memset(bw, 0, sizeof bw);
    unsigned long long gpu[2] = {0, 0}; /* tasks run on a GPU, per variant */
    for (int it = 0; it < warm + steps; it++) {
        zipf_route(route, n, K, E, zs, &s);
        for (int v = 0; v < 2; v++) { /* alternate which variant goes first */
            int which = (it + v) % 2;
            if (only >= 0 && which != only) /* profiling one variant (MOE_BENCH_ONLY) */
                continue;
            dag_moe_t *m = which ? st : dyn;
            ok(dag_moe_worker_busy(m, b0, W), "busy");
            unsigned long long g0 = gpu_tasks();
            double t0 = now(), c0 = cpu_now();
            ok(dag_moe_forward(m, x, n, route, y), "forward");
            ok(dag_moe_backward(m, dy, dx), "backward");
            ok(dag_moe_sgd(m, 1e-3f), "sgd");
            double dt = now() - t0;
            if (it >= warm) {
                t[which][it - warm] = dt;
                cs[which] += cpu_now() - c0;
                gpu[which] += gpu_tasks() - g0;
                ok(dag_moe_worker_busy(m, b1, W), "busy");
                double stp = 0;
                for (int w = 0; w < W; w++) {
                    bw[which][w] += b1[w] - b0[w];
                    stp += b1[w] - b0[w];
                }
                cs[2 + which] += stp;
                dag_moe_stats_t ms;
                ok(dag_moe_stats(m, &ms), "stats");
                double unit = ms.last_longest_fwd_s + ms.last_longest_bwd_s;
                cs[4 + (size_t)which * steps + (it - warm)] = unit > stp / W ? unit : stp / W;
            }
        }
        if (it >= warm) {
            dag_moe_expert_load(only == 1 ? st : dyn, load, NULL);
            long mx = 0, tot = 0;
            for (int e = 0; e < E; e++) {
                mx = load[e] > mx ? load[e] : mx;
                tot += load[e];
            }
            share += (double)mx / (tot ? tot : 1) / steps;
            /* the static rule of DAG_MOE_STATIC: slot (e mod R, (e / R) mod W) */
            double smax = 0;
            for (int i = 0; i < P; i++)
                slot[i] = 0;
            for (int e = 0; e < E; e++)
                slot[(e % R) * W + (e / R) % W] += load[e];
            for (int i = 0; i < P; i++)
                smax = slot[i] > smax ? slot[i] : smax;
            imb += smax / ((double)(tot ? tot : 1) / P) / steps;
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
    if (getenv("MOE_BENCH_WORKERS")) /* each worker's task CPU ms per step, this rank */
        for (int v = 0; v < 2; v++) {
            fprintf(stderr, "rank %d %s task CPU ms/step per worker:", dag_rank(),
                    v ? "static " : "dynamic");
            for (int w = 0; w < W; w++)
                fprintf(stderr, " %.1f", 1e3 * bw[v][w] / steps);
            fprintf(stderr, "\n");
        }
    /* to rank 0 (a registered 1 x R array, one tile per rank): sums over ranks, the
     * busiest rank's process CPU-s, and per step the largest bound of all ranks: the
     * critical-path estimate (the step time with one core per worker, waits left out;
     * a rank's tasks are fixed by the plan, its workers share them as they like) */
    double csum[4], cmax[2], cp[2] = {0, 0};
    memcpy(csum, cs, sizeof csum);
    memcpy(cmax, cs, sizeof cmax);
    dag_matrix_t *cm = NULL;
    if (R > 1) {
        dag_dist_t dd = {.kind = DAG_DIST_2D, .p = 1, .q = R};
        ok(dag_matrix_create(&cm, 1, R, ncs * sizeof *cs, &dd), "matrix");
        memcpy(dag_tile(cm, 0, dag_rank()), cs, ncs * sizeof *cs);
        for (int r = 0; r < R; r++)
            ok(dag_dist_fetch(dag_tile(cm, 0, r), ncs * sizeof *cs, 0), "fetch");
        ok(dag_taskwait(), "taskwait");
    }
    if (dag_rank() == 0)
        for (int v = 0; v < 2; v++)
            for (int i = 0; i < steps; i++) {
                double mx = 0;
                for (int r = 0; r < R; r++) {
                    const double *c = R > 1 ? dag_tile(cm, 0, r) : cs;
                    mx = c[4 + (size_t)v * steps + i] > mx ? c[4 + (size_t)v * steps + i] : mx;
                    if (i == 0 && r > 0) {
                        csum[v] += c[v];
                        csum[2 + v] += c[2 + v];
                        cmax[v] = c[v] > cmax[v] ? c[v] : cmax[v];
                    }
                }
                cp[v] += mx;
            }
    if (R > 1) {
        ok(dag_dist_barrier(), "barrier");
        dag_matrix_destroy(cm);
    }
    free(cs);
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
    printf("  CPU-s per step: dynamic %.1f ms, static %.1f ms (all ranks); busiest rank "
           "dynamic %.1f ms, static %.1f ms\n", 1e3 * csum[0] / steps, 1e3 * csum[1] / steps,
           1e3 * cmax[0] / steps, 1e3 * cmax[1] / steps);
    printf("  task CPU-s per step: dynamic %.1f ms, static %.1f ms; critical-path estimate (one "
           "core per worker) dynamic %.1f ms, static %.1f ms: %.2fx\n",
           1e3 * csum[2] / steps, 1e3 * csum[3] / steps, 1e3 * cp[0] / steps,
           1e3 * cp[1] / steps, cp[1] / cp[0]);
    if (gpu[0] + gpu[1])
        printf("  tasks on the GPU per step (rank 0): dynamic %.1f, static %.1f\n",
               (double)gpu[0] / steps, (double)gpu[1] / steps);
    printf("  static placement imbalance over %d slots (ceiling of the expert-work gain): "
           "%.2fx\n", P, imb);
    printf("RESULT s=%.2f dyn_tps=%.0f dyn_p99_ms=%.2f st_tps=%.0f st_p99_ms=%.2f "
           "ratio=%.2f p99_ratio=%.2f paired=%.2f cpu_dyn_ms=%.1f cpu_st_ms=%.1f "
           "cpumax_dyn_ms=%.1f cpumax_st_ms=%.1f cp_dyn_ms=%.1f cp_st_ms=%.1f cp_ratio=%.2f "
           "ceiling=%.2f gpu_dyn=%.1f gpu_st=%.1f\n", zs, tput[0], 1e3 * p99[0],
           tput[1], 1e3 * p99[1], tput[0] / tput[1], p99[1] / p99[0], paired,
           1e3 * csum[0] / steps, 1e3 * csum[1] / steps, 1e3 * cmax[0] / steps,
           1e3 * cmax[1] / steps, 1e3 * cp[0] / steps, 1e3 * cp[1] / steps, cp[1] / cp[0],
           imb, (double)gpu[0] / steps, (double)gpu[1] / steps);
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
