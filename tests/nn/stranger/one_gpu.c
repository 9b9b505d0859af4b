/* one_gpu.c: written from docs/nn.md alone, as a user with one GPU would: the MLP of the
 * quick start's shape trained on Fashion-MNIST with the training set declared to the model
 * (dag_nn_train_data: kept on the device, each batch gathered there) or not, printing
 * each epoch's loss and accuracy and the test accuracy. Whether the steps are chained
 * (one task per step) and fused comes from the environment (DAG_NN_CHAIN, DAG_NN_FUSE);
 * tests/nn/stranger/one_gpu.sh runs it several ways and wants the same numbers.
 * Usage: one_gpu DATA_DIR LIMIT EPOCHS DECLARE(0|1) */
#include <dag/nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        fprintf(stderr, "usage: %s DATA_DIR LIMIT EPOCHS DECLARE\n", argv[0]);
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
    int epochs = atoi(argv[3]), declare = atoi(argv[4]), batch = 128;
    dag_nn_config_t cfg = {.batch = batch, .c = 1, .h = 28, .w = 28, .seed = 7,
                           .opt = {.kind = DAG_NN_ADAM, .lr = 1e-3f}};
    dag_nn_model_t *m;
    CK(dag_nn_model_create(&m, &cfg));
    CK(dag_nn_add_dense(m, 300));
    CK(dag_nn_add_relu(m));
    CK(dag_nn_add_dropout(m, 0.1f));
    CK(dag_nn_add_dense(m, 100));
    CK(dag_nn_add_relu(m));
    CK(dag_nn_add_dense(m, 10));
    CK(dag_nn_model_build(m));
    if (declare) CK(dag_nn_train_data(m, data.x, data.labels, n));
    printf("fused %d chained %d declared %d\n", dag_nn_model_fused(m), dag_nn_model_chained(m),
           declare);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
    if (!idx) return 1;
    int steps = n / batch;
    for (int e = 0; e < epochs; e++) {
        dag_nn_shuffle(idx, n, 7, e);
        for (int s = 0; s < steps; s++) CK(dag_nn_train_step(m, data.x, data.labels, idx + s * batch));
        double loss, acc;
        CK(dag_nn_train_metrics(m, &loss, &acc));
        printf("epoch %d loss %.9f accuracy %.6f\n", e, loss, acc);
    }
    double tl, ta;
    CK(dag_nn_evaluate(m, test.x, test.labels, test.n, &tl, &ta));
    printf("test loss %.9f accuracy %.6f\n", tl, ta);
    if (declare) CK(dag_nn_train_data(m, NULL, NULL, 0)); /* forget the set, then free it */
    dag_nn_model_destroy(m);
    free(idx);
    dag_nn_dataset_free(&data);
    dag_nn_dataset_free(&test);
    CK(dag_finalize());
    return ta > 0.75 ? 0 : 1;
}
