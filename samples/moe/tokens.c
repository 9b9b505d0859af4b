/* tokens.c: a small token model with one MoE layer at a realistic step size, written from
 * docs/moe.md alone (the "stranger" program of issue 17): embedding (vocab 256, width
 * 128) -> residual MoE layer (32 experts, top-2, hidden 512, capacity 1.25, the gate
 * routes) -> output projection -> softmax cross-entropy, 8192 tokens per step, SGD. The
 * task: predict a fixed random function of the token and its left neighbour's parity, so
 * the experts have to learn something the embedding alone cannot hold. Runs alone or under
 * mpirun (every rank makes the same calls with the same data, as docs/moe.md says).
 * Usage: moe_tokens [steps=30] [tokens=8192] [experts=32] [min accuracy=0]
 * Prints per step the loss, accuracy, dropped assignments, aux loss and step time; exits
 * 1 when the last steps' accuracy is below the minimum. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <dag.h>
#include <dag/dist.h>
#include <dag/moe.h>

#define V 256 /* vocabulary */
#define D 128  /* model width */

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float unif(uint64_t *s) { return (float)((next(s) >> 40) * (1.0 / 16777216.0)); }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define OK(call)                                                                          \
    do {                                                                                  \
        dag_status_t st_ = (call);                                                        \
        if (st_ != DAG_OK) {                                                              \
            fprintf(stderr, "%s: %s\n", #call, dag_strerror(st_));                        \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 30, n = argc > 2 ? atoi(argv[2]) : 8192;
    int E = argc > 3 ? atoi(argv[3]) : 32;
    double minacc = argc > 4 ? atof(argv[4]) : 0;
    if (steps < 1 || n < 2 || E < 2) {
        fprintf(stderr, "usage: moe_tokens [steps] [tokens >= 2] [experts >= 2] [min acc]\n");
        return 2;
    }
    dag_moe_config_t cfg = {.d_model = D, .d_hidden = 512, .n_experts = E, .top_k = 2,
                            .max_tokens = n, .capacity_factor = 1.25f, .aux_coef = 0.01f,
                            .seed = 7};
    dag_moe_t *moe;
    OK(dag_moe_create(&moe, &cfg)); /* starts the runtime */
    int rank = dag_rank();
    openblas_set_num_threads(1);

    /* the model's own parameters, replicated (every rank computes the same) */
    uint64_t s = 12345;
    float *emb = malloc(sizeof *emb * V * D), *wo = malloc(sizeof *wo * D * V);
    for (int i = 0; i < V * D; i++) {
        emb[i] = 0.5f * (2 * unif(&s) - 1);
        wo[i] = (2 * unif(&s) - 1) / sqrtf(D);
    }
    int *target_of = malloc(sizeof *target_of * V * 2); /* (token, parity of left) -> class */
    for (int i = 0; i < 2 * V; i++)
        target_of[i] = (int)(next(&s) % V);
    int *tok = malloc(sizeof *tok * n), *tgt = malloc(sizeof *tgt * n);
    float *x = malloc(sizeof *x * n * D), *y = malloc(sizeof *y * n * D);
    float *h = malloc(sizeof *h * n * D), *dh = malloc(sizeof *dh * n * D);
    float *dx = malloc(sizeof *dx * n * D), *logit = malloc(sizeof *logit * (size_t)n * V);
    float *gwo = malloc(sizeof *gwo * D * V);
    const float lr = 1.f, lr_emb = lr * V / 4; /* a row sees about n / V of the tokens */
    double acc_tail = 0;
    int tail = steps < 5 ? steps : 5;
    for (int step = 0; step < steps; step++) {
        double t0 = now();
        for (int t = 0; t < n; t++)
            tok[t] = (int)(next(&s) % V);
        /* the left neighbour's parity goes into the input: a second embedding channel */
        for (int t = 0; t < n; t++) {
            int par = t ? tok[t - 1] & 1 : 0;
            tgt[t] = target_of[tok[t] * 2 + par];
            memcpy(x + (size_t)t * D, emb + (size_t)tok[t] * D, sizeof *x * D);
            x[(size_t)t * D] += par ? 1.f : -1.f;
        }
        OK(dag_moe_forward(moe, x, n, NULL, y));
        for (size_t i = 0; i < (size_t)n * D; i++)
            h[i] = x[i] + y[i]; /* residual */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, V, D, 1.f, h, D, wo, V, 0.f,
                    logit, V);
        double loss = 0;
        int right = 0;
        for (int t = 0; t < n; t++) { /* softmax cross-entropy; logit becomes d loss/d logit */
            float *l = logit + (size_t)t * V, mx = l[0];
            int arg = 0;
            for (int c = 1; c < V; c++)
                if (l[c] > mx)
                    mx = l[c], arg = c;
            double z = 0;
            for (int c = 0; c < V; c++)
                z += exp(l[c] - mx);
            loss += log(z) - (l[tgt[t]] - mx);
            right += arg == tgt[t];
            for (int c = 0; c < V; c++)
                l[c] = (float)(exp(l[c] - mx) / z / n);
            l[tgt[t]] -= 1.f / n;
        }
        loss /= n;
        float aux;
        OK(dag_moe_aux_loss(moe, &aux));
        /* backward: output layer, MoE (its gradient includes aux), residual, embedding */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, V, n, 1.f, h, D, logit, V, 0.f,
                    gwo, V);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, D, V, 1.f, logit, V, wo, V,
                    0.f, dh, D);
        OK(dag_moe_backward(moe, dh, dx));
        OK(dag_moe_sgd(moe, lr));
        for (int i = 0; i < D * V; i++)
            wo[i] -= lr * gwo[i];
        for (int t = 0; t < n; t++) {
            float *e = emb + (size_t)tok[t] * D;
            for (int j = 0; j < D; j++)
                e[j] -= lr_emb * (dh[(size_t)t * D + j] + dx[(size_t)t * D + j]);
        }
        dag_moe_stats_t st;
        OK(dag_moe_stats(moe, &st));
        double acc = (double)right / n;
        if (step >= steps - tail)
            acc_tail += acc / tail;
        if (rank == 0)
            printf("step %3d  loss %.4f  acc %.4f  aux %.4f  dropped %5.2f%%  replicated %d  "
                   "%.0f ms\n", step, loss, acc, aux, 100.0 * st.last_dropped / (2.0 * n),
                   st.last_replicated, 1e3 * (now() - t0));
    }
    int load[64], routed[64];
    if (E <= 64 && dag_moe_expert_load(moe, load, routed) == DAG_OK && rank == 0) {
        printf("last step's assignments per expert (kept/routed):");
        for (int e = 0; e < E; e++)
            printf(" %d/%d", load[e], routed[e]);
        printf("\n");
    }
    if (rank == 0)
        printf("accuracy over the last %d steps: %.4f (%d ranks, %d workers each)\n", tail,
               acc_tail, dag_nranks(), dag_num_threads());
    OK(dag_moe_destroy(moe));
    free(emb), free(wo), free(target_of), free(tok), free(tgt), free(x), free(y), free(h);
    free(dh), free(dx), free(logit), free(gwo);
    OK(dag_finalize());
    return acc_tail >= minacc ? 0 : 1;
}
