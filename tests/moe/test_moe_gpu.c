/* test_moe_gpu.c: the MoE layer with its CUDA expert chunks (runtime/moe/expert_cuda.cu)
 * on a GPU machine: random configurations, forward chunks placed by the runtime
 * (DAG_SCHED as set by the caller; ctest uses eager and random), backward on the CPU;
 * outputs, dx and gradients against the sequential reference (ref.h), and the chunks must
 * have run on a device. Exits 77 (skipped) without a device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <dag.h>
#include <dag/cuda.h>
#include <dag/moe.h>

#include "ref.h"
#include "testrand.h"

#define FAIL(...)                                                                         \
    do {                                                                                  \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fprintf(stderr, "\n");                                                            \
        exit(1);                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    int nconf = argc > 1 ? atoi(argv[1]) : 20;
    if (dag_init(NULL) != DAG_OK)
        FAIL("init");
    if (dag_cuda_device_count() == 0) {
        printf("no CUDA device: skipped\n");
        dag_finalize();
        return 77;
    }
    for (int c = 0; c < nconf; c++) {
        uint64_t s = (uint64_t)c * 7717 + 5;
        int D = irand(&s, 1, 300), H = irand(&s, 1, 600), E = irand(&s, 1, 16);
        int K = irand(&s, 1, E < 2 ? E : 2), n = irand(&s, 1, 2000);
        dag_moe_config_t cfg = {.d_model = D, .d_hidden = H, .n_experts = E, .top_k = K,
                                .max_tokens = n, .capacity_factor = irand(&s, 0, 1) ? 0 : 1.3f,
                                .chunk_tokens = irand(&s, 0, 1) ? 0 : irand(&s, 1, 300),
                                .aux_coef = 0.1f, .seed = (unsigned long long)c};
        dag_moe_t *m;
        if (dag_moe_create(&m, &cfg) != DAG_OK)
            FAIL("create");
        size_t np = dag_moe_num_params(m);
        float *p = malloc(sizeof *p * np), *gr = malloc(sizeof *gr * np);
        float *x = malloc(sizeof *x * n * D), *dy = malloc(sizeof *dy * n * D);
        float *y = malloc(sizeof *y * n * D), *dx = malloc(sizeof *dx * n * D);
        struct ref_cfg rc = {D, H, E, K, cfg.capacity_factor, cfg.aux_coef};
        struct ref_out o = ref_out_alloc(n, D, np, E);
        for (int i = 0; i < n * D; i++) {
            x[i] = (float)(2 * urand(&s) - 1);
            dy[i] = (float)(2 * urand(&s) - 1);
        }
        if (dag_moe_get_params(m, p) || dag_moe_forward(m, x, n, NULL, y) ||
            dag_moe_backward(m, dy, dx) || dag_moe_get_grads(m, gr))
            FAIL("config %d: a layer call failed", c);
        ref_run(&rc, p, x, n, NULL, dy, &o);
        size_t w = 0;
        if (!ref_close(y, o.y, (size_t)n * D, 2e-4, 1e-5, &w))
            FAIL("config %d: y[%zu] %g vs %g", c, w, y[w], o.y[w]);
        if (!ref_close(dx, o.dx, (size_t)n * D, 2e-4, 1e-5, &w))
            FAIL("config %d: dx[%zu] %g vs %g", c, w, dx[w], o.dx[w]);
        if (!ref_close(gr, o.grad, np, 2e-4, 1e-5, &w))
            FAIL("config %d: grad[%zu] %g vs %g", c, w, gr[w], o.grad[w]);
        dag_moe_destroy(m);
        free(p), free(gr), free(x), free(dy), free(y), free(dx);
        ref_out_free(&o);
    }
    dag_cuda_stats_t cs;
    dag_cuda_stats(&cs);
    printf("moe gpu: %d configurations passed, %llu tasks on GPUs, %llu on CPUs\n", nconf,
           cs.gpu_tasks, cs.cpu_tasks);
    if (cs.gpu_tasks == 0)
        FAIL("no expert chunk ran on a GPU");
    return dag_finalize() == DAG_OK ? 0 : 1;
}
