/* warmup.c: written from docs/nn.md alone, as a user who trains with a learning-rate
 * schedule would: a linear warm-up over the first steps, then a cosine decay, set before
 * every step with dag_nn_set_lr; Adam; dropout after both hidden layers; a last batch of
 * the epoch smaller than the others is skipped, as a loader that drops the remainder does;
 * the training set declared to the model. Prints each epoch's loss and accuracy (the
 * model's own metrics) and the test loss. tests/nn/stranger/warmup.sh runs it with the
 * steps chained and not, with and without CUDA-graph replay and with the completion token
 * apart, and wants the same numbers: a schedule changes the learning rate at every step,
 * which a replayed step must read afresh.
 * Usage: warmup DATA_DIR LIMIT EPOCHS BATCH */
#include <dag/nn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CK(x)                                                                              \
    do {                                                                                   \
        dag_status_t s_ = (x);                                                             \
        if (s_ != DAG_OK) {                                                                \
            fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, #x, (int)s_);     \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s DATA_DIR LIMIT EPOCHS BATCH\n", argv[0]);
        return 2;
    }
    char ip[512], lp[512];
    dag_nn_dataset_t data, test;
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", argv[1]);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", argv[1]);
    CK(dag_nn_load_idx(&data, ip, lp));
    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte.gz", argv[1]);
    snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", argv[1]);
    CK(dag_nn_load_idx(&test, ip, lp));
    int n = atoi(argv[2]) > 0 && atoi(argv[2]) < data.n ? atoi(argv[2]) : data.n;
    int epochs = atoi(argv[3]), batch = atoi(argv[4]);
    if (batch < 1 || batch > n) return 2;
    dag_nn_config_t cfg = {.batch = batch, .c = 1, .h = 28, .w = 28, .seed = 2026,
                           .opt = {.kind = DAG_NN_ADAM, .lr = 1e-3f}};
    dag_nn_model_t *m;
    CK(dag_nn_model_create(&m, &cfg));
    CK(dag_nn_add_dense(m, 256));
    CK(dag_nn_add_relu(m));
    CK(dag_nn_add_dropout(m, 0.3f));
    CK(dag_nn_add_dense(m, 128));
    CK(dag_nn_add_relu(m));
    CK(dag_nn_add_dropout(m, 0.2f));
    CK(dag_nn_add_dense(m, 10));
    CK(dag_nn_model_build(m));
    CK(dag_nn_train_data(m, data.x, data.labels, n));
    printf("fused %d chained %d\n", dag_nn_model_fused(m), dag_nn_model_chained(m));
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
    if (!idx) return 1;
    int steps = n / batch, total = steps * epochs, warm = total / 10 + 1;
    const double peak = 2e-3;
    for (int e = 0, t = 0; e < epochs; e++) {
        dag_nn_shuffle(idx, n, 99, e);
        for (int s = 0; s < steps; s++, t++) {
            double lr = t < warm ? peak * (t + 1) / warm
                                 : 0.5 * peak * (1 + cos(M_PI * (t - warm) / (total - warm)));
            CK(dag_nn_set_lr(m, (float)lr));
            CK(dag_nn_train_step(m, data.x, data.labels, idx + (size_t)s * batch));
        }
        double loss, acc;
        CK(dag_nn_train_metrics(m, &loss, &acc));
        printf("epoch %d loss %.9f accuracy %.6f\n", e, loss, acc);
    }
    double tl, ta;
    CK(dag_nn_evaluate(m, test.x, test.labels, test.n, &tl, &ta));
    printf("test loss %.9f accuracy %.6f\n", tl, ta);
    CK(dag_nn_train_data(m, NULL, NULL, 0));
    dag_nn_model_destroy(m);
    free(idx);
    dag_nn_dataset_free(&data);
    dag_nn_dataset_free(&test);
    CK(dag_finalize());
    return ta > 0.75 ? 0 : 1;
}
