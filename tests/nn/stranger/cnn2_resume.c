/* cnn2_resume.c: written from docs/nn.md alone, as a user would. Two convolution layers,
 * SGD with momentum and weight decay, dropout, Fashion-MNIST, data-parallel over the ranks;
 * a run that stops after a checkpoint and a new process that resumes it must print the
 * same losses as the run that never stopped.
 *   cnn2_resume DATA_DIR full   EPOCHS LIMIT CKPT   train every epoch, print each loss
 *   cnn2_resume DATA_DIR first  EPOCHS LIMIT CKPT   train epoch 0, save CKPT, stop
 *   cnn2_resume DATA_DIR resume EPOCHS LIMIT CKPT   load CKPT, train epochs 1..EPOCHS-1
 * LIMIT: samples per epoch (0: all). Prints "epoch E loss L acc A" (%.9g) on rank 0. */
#include <dag/nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 128

static void check(dag_status_t st, const char *what)
{
    if (st != DAG_OK) {
        fprintf(stderr, "rank %d: %s failed (status %d)\n", dag_rank(), what, (int)st);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s DATA_DIR full|first|resume EPOCHS LIMIT CKPT\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *mode = argv[2], *ckpt = argv[5];
    int epochs = atoi(argv[3]), limit = atoi(argv[4]);
    char img[512], lab[512];
    dag_nn_dataset_t train, test;
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    check(dag_nn_load_idx(&train, img, lab), "loading the training set");
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    check(dag_nn_load_idx(&test, img, lab), "loading the test set");
    int n = limit > 0 && limit < train.n ? limit : train.n;

    dag_nn_config_t cfg = {.batch = BATCH, .c = 1, .h = 28, .w = 28, .seed = 7,
                           .opt = {.kind = DAG_NN_SGD, .lr = 0.05f, .momentum = 0.9f,
                                   .weight_decay = 1e-4f}};
    dag_nn_model_t *m;
    check(dag_nn_model_create(&m, &cfg), "dag_nn_model_create");
    check(dag_nn_add_conv2d(m, 16, 3, 1, 1), "conv1");
    check(dag_nn_add_relu(m), "relu1");
    check(dag_nn_add_maxpool(m, 2), "pool1");
    check(dag_nn_add_conv2d(m, 32, 3, 1, 1), "conv2");
    check(dag_nn_add_relu(m), "relu2");
    check(dag_nn_add_maxpool(m, 2), "pool2");
    check(dag_nn_add_dense(m, 64), "dense1");
    check(dag_nn_add_relu(m), "relu3");
    check(dag_nn_add_dropout(m, 0.2f), "dropout");
    check(dag_nn_add_dense(m, 10), "dense2");
    check(dag_nn_model_build(m), "dag_nn_model_build");
    if (dag_rank() == 0)
        printf("cnn2_resume: %zu parameters, %d rank(s), batch %d, %d samples per epoch, %s\n",
               dag_nn_model_params(m), dag_nranks(), BATCH, n, mode);

    int first = 0, last = epochs;
    if (!strcmp(mode, "first")) {
        last = 1;
    } else if (!strcmp(mode, "resume")) {
        check(dag_nn_load(m, ckpt), "dag_nn_load");
        first = 1;
    } else if (strcmp(mode, "full")) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    int32_t *idx = malloc(sizeof(int32_t) * train.n);
    if (!idx)
        return 1;
    int steps = n / BATCH;
    for (int e = first; e < last; e++) {
        dag_nn_shuffle(idx, n, 99, e); /* the permutation of the epoch, whoever runs it */
        for (int s = 0; s < steps; s++)
            check(dag_nn_train_step(m, train.x, train.labels, idx + (size_t)s * BATCH),
                  "dag_nn_train_step");
        double loss, acc;
        check(dag_nn_train_metrics(m, &loss, &acc), "dag_nn_train_metrics");
        if (dag_rank() == 0)
            printf("epoch %d loss %.9g acc %.9g\n", e, loss, acc);
    }
    if (!strcmp(mode, "first"))
        check(dag_nn_save(m, ckpt), "dag_nn_save");
    double tl, ta;
    check(dag_nn_evaluate(m, test.x, test.labels, test.n, &tl, &ta), "dag_nn_evaluate");
    if (dag_rank() == 0)
        printf("test loss %.6f accuracy %.4f after step %ld\n", tl, ta, dag_nn_model_step(m));
    free(idx);
    dag_nn_model_destroy(m);
    dag_nn_dataset_free(&train);
    dag_nn_dataset_free(&test);
    dag_finalize();
    return 0;
}
