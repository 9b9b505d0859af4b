/* fashion.c: trains a small Mixture-of-Experts classifier on Fashion-MNIST with the MoE
 * layer of libdagmoe (include/dag/moe.h), whose expert chunks are tasks the dagcc runtime
 * schedules at run time.
 *
 *   image (784) -> dense 784xD + ReLU -> a -> a + MoE(a) -> dense Dx10 -> softmax
 *
 * The dense layers run on the calling thread (OpenBLAS); the loss is cross-entropy plus
 * the MoE layer's load-balancing loss; plain SGD. Data: the gzipped IDX files in
 * $FASHION_MNIST (default /usr/share/datasets/fashion-mnist), read with libdagnn's
 * dag_nn_load_idx (include/dag/nn.h).
 * Usage: moe_fashion [epochs=3] [train images=60000] [min accuracy=0] [experts=8]
 * Exits 1 if the test accuracy is below the minimum, 77 if the data set is missing.
 * Runs unchanged under mpirun (experts spread over the ranks). */
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
#include <dag/nn.h>

enum { PIX = 784, CLS = 10, DM = 64, DH = 128, BATCH = 64 };

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void uniform(float *w, size_t n, float a, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        w[i] = a * (2.f * (float)((rng(s) >> 40) / 16777216.0) - 1.f);
}

struct model {
    dag_moe_t *moe;
    float w0[PIX * DM], b0[DM], wc[DM * CLS], bc[CLS];
    float gw0[PIX * DM], gb0[DM], gwc[DM * CLS], gbc[CLS];
    /* activations of one batch */
    float h0[BATCH * DM], a[BATCH * DM], my[BATCH * DM], h1[BATCH * DM], lg[BATCH * CLS];
    float dlg[BATCH * CLS], dh1[BATCH * DM], dmx[BATCH * DM];
};

static void check(dag_status_t st, const char *what)
{
    if (st != DAG_OK) {
        fprintf(stderr, "%s: %s\n", what, dag_strerror(st));
        exit(2);
    }
}

/* forward of n images; returns the number classified correctly, adds the loss */
static int forward(struct model *m, const float *x, const int32_t *y, int n, double *loss)
{
    for (int i = 0; i < n; i++)
        memcpy(m->h0 + i * DM, m->b0, sizeof m->b0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, DM, PIX, 1.f, x, PIX, m->w0, DM,
                1.f, m->h0, DM);
    for (int i = 0; i < n * DM; i++)
        m->a[i] = m->h0[i] > 0 ? m->h0[i] : 0;
    check(dag_moe_forward(m->moe, m->a, n, NULL, m->my), "moe forward");
    for (int i = 0; i < n * DM; i++)
        m->h1[i] = m->a[i] + m->my[i];
    for (int i = 0; i < n; i++)
        memcpy(m->lg + i * CLS, m->bc, sizeof m->bc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, CLS, DM, 1.f, m->h1, DM, m->wc,
                CLS, 1.f, m->lg, CLS);
    int good = 0;
    for (int i = 0; i < n; i++) {
        float *l = m->lg + i * CLS, mx = l[0], s = 0;
        int best = 0;
        for (int c = 1; c < CLS; c++)
            if (l[c] > mx) {
                mx = l[c];
                best = c;
            }
        for (int c = 0; c < CLS; c++)
            s += (m->dlg[i * CLS + c] = expf(l[c] - mx));
        for (int c = 0; c < CLS; c++)
            m->dlg[i * CLS + c] /= s;
        *loss -= log(m->dlg[i * CLS + y[i]] + 1e-12);
        good += best == y[i];
    }
    return good;
}

static void train_step(struct model *m, const float *x, const int32_t *y, int n, float lr)
{
    for (int i = 0; i < n; i++) { /* d loss / d logits, mean over the batch */
        m->dlg[i * CLS + y[i]] -= 1.f;
        for (int c = 0; c < CLS; c++)
            m->dlg[i * CLS + c] /= n;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, DM, CLS, n, 1.f, m->h1, DM, m->dlg,
                CLS, 0.f, m->gwc, CLS);
    memset(m->gbc, 0, sizeof m->gbc);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < CLS; c++)
            m->gbc[c] += m->dlg[i * CLS + c];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, DM, CLS, 1.f, m->dlg, CLS, m->wc,
                CLS, 0.f, m->dh1, DM);
    check(dag_moe_backward(m->moe, m->dh1, m->dmx), "moe backward");
    for (int i = 0; i < n * DM; i++) /* residual + MoE input, through the ReLU */
        m->dh1[i] = m->h0[i] > 0 ? m->dh1[i] + m->dmx[i] : 0;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, PIX, DM, n, 1.f, x, PIX, m->dh1, DM,
                0.f, m->gw0, DM);
    memset(m->gb0, 0, sizeof m->gb0);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < DM; d++)
            m->gb0[d] += m->dh1[i * DM + d];
    cblas_saxpy(PIX * DM, -lr, m->gw0, 1, m->w0, 1);
    cblas_saxpy(DM, -lr, m->gb0, 1, m->b0, 1);
    cblas_saxpy(DM * CLS, -lr, m->gwc, 1, m->wc, 1);
    cblas_saxpy(CLS, -lr, m->gbc, 1, m->bc, 1);
    check(dag_moe_sgd(m->moe, lr), "moe sgd");
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 3;
    int ntrain = argc > 2 ? atoi(argv[2]) : 60000;
    double minacc = argc > 3 ? atof(argv[3]) : 0;
    int experts = argc > 4 ? atoi(argv[4]) : 8;
    const char *dir = getenv("FASHION_MNIST");
    dir = dir ? dir : "/usr/share/datasets/fashion-mnist";
    char ptr[2][1024], pte[2][1024];
    snprintf(ptr[0], sizeof ptr[0], "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(ptr[1], sizeof ptr[1], "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(pte[0], sizeof pte[0], "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(pte[1], sizeof pte[1], "%s/t10k-labels-idx1-ubyte.gz", dir);
    dag_nn_dataset_t tr, te;
    if (dag_nn_load_idx(&tr, ptr[0], ptr[1]) != DAG_OK) {
        fprintf(stderr, "Fashion-MNIST not found in %s (set FASHION_MNIST)\n", dir);
        return 77;
    }
    if (dag_nn_load_idx(&te, pte[0], pte[1]) != DAG_OK) {
        fprintf(stderr, "Fashion-MNIST not found in %s (set FASHION_MNIST)\n", dir);
        dag_nn_dataset_free(&tr);
        return 77;
    }
    if (tr.rows * tr.cols != PIX || te.rows * te.cols != PIX || epochs < 1 || experts < 1) {
        fprintf(stderr, "bad data set or arguments\n");
        return 2;
    }
    const float *xtr = tr.x, *xte = te.x;
    const int32_t *ytr = tr.labels, *yte = te.labels;
    int n1 = tr.n, n3 = te.n;
    ntrain = ntrain > 0 && ntrain < n1 ? ntrain : n1;
    struct model *m = calloc(1, sizeof *m);
    dag_moe_config_t cfg = {.d_model = DM, .d_hidden = DH, .n_experts = experts,
                            .top_k = experts > 1 ? 2 : 1, .max_tokens = BATCH,
                            .capacity_factor = 1.5f, .chunk_tokens = 16, .block_tokens = 32,
                            .aux_coef = 0.01f, .seed = 42};
    check(dag_moe_create(&m->moe, &cfg), "moe create");
    uint64_t s = 7;
    uniform(m->w0, PIX * DM, sqrtf(6.f / PIX), &s);
    uniform(m->wc, DM * CLS, sqrtf(6.f / DM), &s);
    int *perm = malloc(sizeof *perm * ntrain);
    float *xb = malloc(sizeof *xb * BATCH * PIX);
    int32_t yb[BATCH];
    int root = dag_rank() == 0;
    if (root)
        printf("Fashion-MNIST: %d training / %d test images, MoE %d experts (top-%d), "
               "%d ranks x %d workers\n", ntrain, n3, experts, cfg.top_k, dag_nranks(),
               dag_num_threads());
    double acc = 0;
    for (int ep = 0; ep < epochs; ep++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < ntrain; i++)
            perm[i] = i;
        for (int i = ntrain - 1; i > 0; i--) { /* same shuffle on every rank */
            int j = (int)(rng(&s) % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        double loss = 0;
        int good = 0;
        float lr = ep < 2 ? 0.1f : 0.05f;
        for (int b0 = 0; b0 + BATCH <= ntrain; b0 += BATCH) {
            for (int i = 0; i < BATCH; i++) {
                memcpy(xb + i * PIX, xtr + (size_t)perm[b0 + i] * PIX, sizeof *xb * PIX);
                yb[i] = ytr[perm[b0 + i]];
            }
            good += forward(m, xb, yb, BATCH, &loss);
            train_step(m, xb, yb, BATCH, lr);
        }
        int seen = ntrain / BATCH * BATCH, tgood = 0;
        double tloss = 0;
        for (int b0 = 0; b0 < n3; b0 += BATCH) {
            int nb = n3 - b0 < BATCH ? n3 - b0 : BATCH;
            tgood += forward(m, xte + (size_t)b0 * PIX, yte + b0, nb, &tloss);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        acc = (double)tgood / n3;
        dag_moe_stats_t st;
        dag_moe_stats(m->moe, &st);
        int cnt[256];
        dag_moe_expert_load(m->moe, cnt, NULL);
        if (root) {
            printf("epoch %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.1f s | "
                   "dropped %.2f%% of assignments, %llu expert tasks\n", ep + 1, loss / seen,
                   (double)good / seen, tloss / n3, acc,
                   (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec),
                   100.0 * st.dropped / (st.assignments ? st.assignments : 1), st.chunks);
            printf("  last batch's expert load:");
            for (int e = 0; e < experts && e < 256; e++)
                printf(" %d", cnt[e]);
            printf("\n");
        }
    }
    if (root)
        printf("test accuracy %.4f (required %.4f): %s\n", acc, minacc,
               acc >= minacc ? "ok" : "BELOW");
    dag_moe_destroy(m->moe);
    free(m);
    free(perm);
    free(xb);
    dag_nn_dataset_free(&tr);
    dag_nn_dataset_free(&te);
    dag_finalize();
    return acc >= minacc ? 0 : 1;
}
