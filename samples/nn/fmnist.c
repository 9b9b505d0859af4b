/* fmnist.c: trains an MLP or a small CNN on Fashion-MNIST with libdagnn (dag/nn.h).
 * The same binary runs on one process or under mpirun -np N (data-parallel replicas, or
 * a pipeline of stages with --pipeline). Prints the loss per epoch, samples/s and the
 * test accuracy; --save / --resume write and continue from a checkpoint.
 *
 *   fmnist --model cnn --epochs 3 --batch 64
 *   mpirun -np 2 fmnist --model mlp --epochs 10
 * --lr-decay F multiplies the learning rate by F after every epoch (epochs counted from
 * the start of training, also after --resume).
 */
#include <dag/dist.h>
#include <dag/nn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef FMNIST_CUDA_STATS /* CUDA builds: what the GPU did per step (dag_cuda_stats) */
#include <dag/cuda.h>
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(void) {
    fprintf(stderr,
            "usage: fmnist [--model mlp|cnn] [--epochs N] [--batch B] [--lr X] [--lr-decay F]\n"
            "              [--opt adam|sgd]\n"
            "              [--momentum X] [--seed S] [--data DIR] [--limit N] [--device cpu|cuda|any]\n"
            "              [--pipeline] [--stages S] [--micro M] [--bucket-kb K] [--tiles T]\n"
            "              [--save FILE] [--resume FILE] [--ranks N]\n");
    exit(2);
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        dag_status_t st_ = (call);                                                           \
        if (st_ != DAG_OK) {                                                                 \
            fprintf(stderr, "fmnist: %s failed: %s\n", #call, dag_strerror(st_));            \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

int main(int argc, char **argv) {
    const char *model = "mlp", *dir = "/usr/share/datasets/fashion-mnist", *save = NULL,
               *resume = NULL;
    int epochs = 10, batch = 64, limit = 0, pipeline = 0, stages = 0, micro = 0, tiles = 0,
        ranks = 0, device = DAG_DEVICE_ANY, bucket_kb = 0;
    double lr = 1e-3, momentum = 0.9, decay = 1.0;
    unsigned long long seed = 42;
    int sgd = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--pipeline")) {
            pipeline = 1;
            continue;
        }
        if (!v) usage();
        i++;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--momentum")) momentum = atof(v);
        else if (!strcmp(a, "--lr-decay")) decay = atof(v);
        else if (!strcmp(a, "--opt")) sgd = !strcmp(v, "sgd");
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--limit")) limit = atoi(v);
        else if (!strcmp(a, "--stages")) stages = atoi(v);
        else if (!strcmp(a, "--micro")) micro = atoi(v);
        else if (!strcmp(a, "--tiles")) tiles = atoi(v);
        else if (!strcmp(a, "--bucket-kb")) bucket_kb = atoi(v);
        else if (!strcmp(a, "--ranks")) ranks = atoi(v);
        else if (!strcmp(a, "--save")) save = v;
        else if (!strcmp(a, "--resume")) resume = v;
        else if (!strcmp(a, "--device"))
            device = !strcmp(v, "cpu") ? DAG_DEVICE_CPU
                     : !strcmp(v, "cuda") ? DAG_DEVICE_CUDA : DAG_DEVICE_ANY;
        else usage();
    }
    int cnn = !strcmp(model, "cnn");
    if ((!cnn && strcmp(model, "mlp")) || epochs < 0 || batch <= 0) usage();
    int rank = dag_rank(), nranks = dag_nranks();
    if (ranks && ranks != nranks) {
        fprintf(stderr, "fmnist: --ranks %d but running on %d (start with mpirun -np %d)\n",
                ranks, nranks, ranks);
        return 2;
    }

    char ip[4096], lp[4096];
    dag_nn_dataset_t train, test;
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", dir);
    CHECK(dag_nn_load_idx(&train, ip, lp));
    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", dir);
    CHECK(dag_nn_load_idx(&test, ip, lp));
    int ntrain = limit > 0 && limit < train.n ? limit : train.n;

    dag_nn_config_t cfg = {0};
    cfg.batch = batch;
    cfg.c = 1, cfg.h = train.rows, cfg.w = train.cols;
    cfg.seed = seed;
    cfg.opt.kind = sgd ? DAG_NN_SGD : DAG_NN_ADAM;
    cfg.opt.lr = (float)lr;
    cfg.opt.momentum = (float)momentum;
    cfg.parallel = pipeline ? DAG_NN_PIPELINE : DAG_NN_DATA_PARALLEL;
    cfg.stages = stages;
    cfg.microbatches = micro;
    cfg.tiles = tiles;
    cfg.device = device;
    cfg.bucket_bytes = (size_t)bucket_kb * 1024;
    dag_nn_model_t *m;
    CHECK(dag_nn_model_create(&m, &cfg));
    if (cnn) {
        CHECK(dag_nn_add_conv2d(m, 16, 3, 1, 1));
        CHECK(dag_nn_add_relu(m));
        CHECK(dag_nn_add_maxpool(m, 2));
        CHECK(dag_nn_add_conv2d(m, 32, 3, 1, 1));
        CHECK(dag_nn_add_relu(m));
        CHECK(dag_nn_add_maxpool(m, 2));
        CHECK(dag_nn_add_dense(m, 128));
        CHECK(dag_nn_add_relu(m));
        CHECK(dag_nn_add_dropout(m, 0.25f));
        CHECK(dag_nn_add_dense(m, 10));
    } else {
        CHECK(dag_nn_add_dense(m, 512));
        CHECK(dag_nn_add_relu(m));
        CHECK(dag_nn_add_dropout(m, 0.2f));
        CHECK(dag_nn_add_dense(m, 256));
        CHECK(dag_nn_add_relu(m));
        CHECK(dag_nn_add_dropout(m, 0.2f));
        CHECK(dag_nn_add_dense(m, 10));
    }
    CHECK(dag_nn_model_build(m));
    int steps = ntrain / batch;
    long start_epoch = 0;
    if (resume) {
        CHECK(dag_nn_load(m, resume));
        start_epoch = steps ? dag_nn_model_step(m) / steps : 0;
    }
    /* the training set stays on the GPU, if the model runs there (DAG_NN_DEVICE_DATA=0: no) */
    const char *dd = getenv("DAG_NN_DEVICE_DATA");
    if (!dd || strcmp(dd, "0"))
        CHECK(dag_nn_train_data(m, train.x, train.labels, ntrain));
    if (rank == 0)
        printf("fmnist: %s, %zu parameters, %s on %d rank(s) x %d thread(s), batch %d, %s lr %g,"
               " %d steps/epoch, all-reduce %s, %s%s\n",
               model, dag_nn_model_params(m), pipeline ? "pipeline" : "data-parallel", nranks,
               dag_num_threads(), batch, sgd ? "SGD" : "Adam", lr, steps,
               dag_nn_allreduce_backend(m),
               dag_nn_model_fused(m) ? "fused blocks" : "a task per layer and tile",
               resume ? ", resumed" : "");
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)ntrain);
    if (!idx) return 1;
    double total_time = 0, total_samples = 0, test_acc = 0, test_loss = 0;
    for (long e = start_epoch; e < start_epoch + epochs; e++) {
        dag_nn_shuffle(idx, ntrain, seed, e);
        CHECK(dag_nn_set_lr(m, (float)(lr * pow(decay, (double)e)))); /* lr x decay^epoch */
#ifdef FMNIST_CUDA_STATS
        dag_cuda_stats_t c0, c1;
        dag_cuda_stats(&c0);
#endif
        double t0 = now();
        for (int s = 0; s < steps; s++)
            CHECK(dag_nn_train_step(m, train.x, train.labels, idx + (size_t)s * batch));
        double loss, acc;
        CHECK(dag_nn_train_metrics(m, &loss, &acc));
#ifdef FMNIST_CUDA_STATS
        dag_cuda_stats(&c1); /* the epoch's steps (and its final wait's copies) */
#endif
        double dt = now() - t0;
        total_time += dt, total_samples += (double)steps * batch;
        dag_nn_comm_stats_t cs;
        CHECK(dag_nn_comm_stats(m, &cs));
        CHECK(dag_nn_evaluate(m, test.x, test.labels, test.n, &test_loss, &test_acc));
        if (rank == 0) {
            printf("epoch %ld  loss %.4f  train acc %.4f  test acc %.4f  %.1f s  %.0f samples/s",
                   e + 1, loss, acc, test_acc, dt, steps * batch / dt);
            if (cs.steps) printf("  all-reduce exposed %.3f ms/step (%d buckets)", cs.exposed_ms,
                                 cs.buckets);
            printf("\n");
#ifdef FMNIST_CUDA_STATS
            double k = steps ? 1.0 / steps : 0;
            if (c1.gpu_tasks > c0.gpu_tasks)
                printf("gpu per step: %.1f GPU tasks, %.1f CPU tasks, %.3f MB in, %.3f MB out, "
                       "%.1f early write-backs, %.2f device allocations\n",
                       (double)(c1.gpu_tasks - c0.gpu_tasks) * k,
                       (double)(c1.cpu_tasks - c0.cpu_tasks) * k,
                       (double)(c1.h2d_bytes - c0.h2d_bytes) * k / 1e6,
                       (double)(c1.d2h_bytes - c0.d2h_bytes) * k / 1e6,
                       (double)(c1.early_writebacks - c0.early_writebacks) * k,
                       (double)(c1.device_allocs - c0.device_allocs) * k);
#endif
            fflush(stdout);
        }
    }
    if (epochs == 0) CHECK(dag_nn_evaluate(m, test.x, test.labels, test.n, &test_loss, &test_acc));
    if (rank == 0)
        printf("final: test accuracy %.4f  test loss %.4f  training %.1f s  %.0f samples/s\n",
               test_acc, test_loss, total_time,
               total_time > 0 ? total_samples / total_time : 0.0);
    if (save) CHECK(dag_nn_save(m, save));
    free(idx);
    dag_nn_model_destroy(m);
    dag_nn_dataset_free(&train);
    dag_nn_dataset_free(&test);
    return dag_finalize() == DAG_OK ? 0 : 1;
}
