/* mlp_adam.c: a program written from docs/nn.md alone, as a user new to libdagnn would
 * (issue 16's "use it as a stranger would"): a 3-layer MLP (784-300-100-10, ReLU) on
 * Fashion-MNIST with Adam, the same binary alone or under `mpirun -np 2`. It trains for
 * the given epochs and prints the loss, the test accuracy and the gradient exchange used.
 *
 *   mlp_adam [epochs] [data-dir]          mpirun -np 2 mlp_adam 5
 */
#include <dag/nn.h>
#include <stdio.h>
#include <stdlib.h>

#define TRY(x)                                                                               \
    do {                                                                                     \
        dag_status_t s_ = (x);                                                               \
        if (s_ != DAG_OK) {                                                                  \
            fprintf(stderr, "mlp_adam: %s: %s\n", #x, dag_strerror(s_));                     \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 3;
    const char *dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
    char img[1024], lab[1024];
    dag_nn_dataset_t train, test;
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    TRY(dag_nn_load_idx(&train, img, lab));
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    TRY(dag_nn_load_idx(&test, img, lab));

    const int batch = 128;
    dag_nn_config_t cfg = {.batch = batch, .c = 1, .h = 28, .w = 28, .seed = 1,
                           .opt = {.kind = DAG_NN_ADAM, .lr = 1e-3f}};
    dag_nn_model_t *m;
    TRY(dag_nn_model_create(&m, &cfg));
    TRY(dag_nn_add_dense(m, 300));
    TRY(dag_nn_add_relu(m));
    TRY(dag_nn_add_dense(m, 100));
    TRY(dag_nn_add_relu(m));
    TRY(dag_nn_add_dense(m, 10));
    TRY(dag_nn_model_build(m));

    int steps = train.n / batch;
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)train.n);
    if (!idx) return 1;
    double loss = 0, acc = 0, tloss = 0, tacc = 0;
    for (int e = 0; e < epochs; e++) {
        dag_nn_shuffle(idx, train.n, 7, e); /* the same permutation on every rank */
        for (int s = 0; s < steps; s++)
            TRY(dag_nn_train_step(m, train.x, train.labels, idx + (size_t)s * batch));
        TRY(dag_nn_train_metrics(m, &loss, &acc));
        TRY(dag_nn_evaluate(m, test.x, test.labels, test.n, &tloss, &tacc));
        if (dag_rank() == 0)
            printf("epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f\n", e + 1, loss,
                   acc, tacc);
    }
    if (dag_rank() == 0)
        printf("%d rank(s), gradient exchange %s, %zu parameters: test accuracy %.4f\n",
               dag_nranks(), dag_nn_allreduce_backend(m), dag_nn_model_params(m), tacc);
    free(idx);
    dag_nn_model_destroy(m);
    dag_nn_dataset_free(&train);
    dag_nn_dataset_free(&test);
    return dag_finalize() == DAG_OK ? 0 : 1;
}
