/* test_train.c: training is the same computation however it is distributed. Run as a
 * plain program on 1 rank and under mpirun -np 2 / 4: on synthetic data (a random teacher
 * network's labels, generated identically on every rank) it trains
 *   - a data-parallel MLP with dropout and a data-parallel CNN (batch split over ranks,
 *     gradients all-reduced in several buckets),
 *   - the same MLP as a 1F1B pipeline (stages on ranks, micro-batches),
 * and compares each loss curve, step by step, with the same model trained by every rank
 * alone on the whole batch (cfg.local). Then a checkpoint taken half-way and resumed in a
 * new model must continue the curve exactly, and evaluation must agree with the local
 * model. Exit status 0 is a pass. Arguments: [steps] [batch]. */
#include <dag/dist.h>
#include <dag/nn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teacher.h"

#define C 1
#define H 8
#define W 8
#define FEAT (C * H * W)
#define NS 4096

static float *X;
static int32_t *Y;
static int rank, fails;

static void make_data(void) { teacher_data(&X, &Y, NS, FEAT, 12345ull); }

static dag_nn_model_t *make(int cnn, dag_nn_parallel_t par, int local, int batch, size_t bucket) {
    dag_nn_config_t cfg = {0};
    cfg.batch = batch;
    cfg.c = C, cfg.h = H, cfg.w = W;
    cfg.seed = 7;
    cfg.opt = (dag_nn_opt_t){DAG_NN_ADAM, 2e-3f, 0, 0, 0, 0, 1e-4f};
    cfg.parallel = par;
    cfg.local = local;
    cfg.bucket_bytes = bucket;
    cfg.microbatches = 4;
    cfg.stages = dag_nranks() < 2 ? 2 : dag_nranks();
    dag_nn_model_t *m;
    CHECK(dag_nn_model_create(&m, &cfg));
    if (cnn) {
        CHECK(dag_nn_add_conv2d(m, 6, 3, 1, 1));
        CHECK(dag_nn_add_relu(m));
        CHECK(dag_nn_add_maxpool(m, 2));
        CHECK(dag_nn_add_conv2d(m, 8, 3, 1, 0));
        CHECK(dag_nn_add_relu(m));
    }
    CHECK(dag_nn_add_dense(m, 48));
    CHECK(dag_nn_add_relu(m));
    CHECK(dag_nn_add_dropout(m, 0.2f));
    CHECK(dag_nn_add_dense(m, 32));
    CHECK(dag_nn_add_relu(m));
    CHECK(dag_nn_add_dense(m, 10));
    CHECK(dag_nn_model_build(m));
    return m;
}

/* losses of steps [from, to) of m, one metrics call per step */
static void curve(dag_nn_model_t *m, int from, int to, int batch, double *loss) {
    int32_t *idx = malloc(sizeof(int32_t) * NS);
    long epoch = -1;
    for (int s = from; s < to; s++) {
        int per = NS / batch;
        if (s / per != epoch) dag_nn_shuffle(idx, NS, 99, epoch = s / per);
        CHECK(dag_nn_train_step(m, X, Y, idx + (size_t)(s % per) * batch));
        CHECK(dag_nn_train_metrics(m, &loss[s], NULL));
    }
    free(idx);
}

static void compare(const char *what, const double *a, const double *b, int n, double tol) {
    double worst = 0;
    for (int s = 0; s < n; s++) {
        double d = fabs(a[s] - b[s]) / fmax(1e-3, fabs(b[s]));
        if (!(d <= worst)) worst = d;
    }
    if (rank == 0)
        printf("%-28s %d steps, loss %.4f -> %.4f, largest relative difference %.2e\n", what, n,
               b[0], b[n - 1], worst);
    if (!(worst <= tol)) {
        fprintf(stderr, "rank %d: %s: the loss curve differs from the local one (%.3e > %.1e)\n",
                rank, what, worst, tol);
        fails++;
    }
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 40, batch = argc > 2 ? atoi(argv[2]) : 64;
    rank = dag_rank();
    int nranks = dag_nranks();
    /* the reference models run a task per layer and tile even where a GPU would make the
     * default fused blocks; the fused ones set DAG_NN_FUSE=1 below */
    setenv("DAG_NN_FUSE", "0", 1);
    make_data();
    double *ref = calloc((size_t)steps, sizeof(double)), *got = calloc((size_t)steps, sizeof(double));

    for (int cnn = 0; cnn < 2; cnn++) {
        dag_nn_model_t *l = make(cnn, DAG_NN_DATA_PARALLEL, 1, batch, 0);
        curve(l, 0, steps, batch, ref);
        /* small buckets: several all-reduces per step, overlapping the backward pass */
        dag_nn_model_t *d = make(cnn, DAG_NN_DATA_PARALLEL, 0, batch, 4096);
        curve(d, 0, steps, batch, got);
        compare(cnn ? "data-parallel CNN" : "data-parallel MLP", got, ref, steps, 2e-3);
        if (!(ref[steps - 1] < 0.8 * ref[0])) {
            fprintf(stderr, "rank %d: the loss does not fall (%f -> %f)\n", rank, ref[0],
                    ref[steps - 1]);
            fails++;
        }
        /* fused blocks (the GPU path; here their CPU bodies): the same curve, alone and
         * data-parallel */
        setenv("DAG_NN_FUSE", "1", 1);
        setenv("DAG_NN_CHAIN", "0", 1);
        dag_nn_model_t *fl = make(cnn, DAG_NN_DATA_PARALLEL, 1, batch, 0);
        dag_nn_model_t *fd = make(cnn, DAG_NN_DATA_PARALLEL, 0, batch, 4096);
        /* and a step as one task (chain.c; the GPU default with nothing to exchange) */
        setenv("DAG_NN_CHAIN", "1", 1);
        dag_nn_model_t *fc = make(cnn, DAG_NN_DATA_PARALLEL, 1, batch, 0);
        unsetenv("DAG_NN_CHAIN");
        setenv("DAG_NN_FUSE", "0", 1);
        if (!dag_nn_model_fused(fl) || !dag_nn_model_fused(fd) || dag_nn_model_fused(l)) {
            fprintf(stderr, "rank %d: DAG_NN_FUSE=1 did not fuse, or =0 did\n", rank);
            fails++;
        }
        if (!dag_nn_model_chained(fc) || dag_nn_model_chained(fl) ||
            (nranks > 1 && dag_nn_model_chained(fd))) {
            fprintf(stderr, "rank %d: DAG_NN_CHAIN=1 did not chain, or =0 did\n", rank);
            fails++;
        }
        curve(fl, 0, steps, batch, got);
        compare(cnn ? "fused CNN, local" : "fused MLP, local", got, ref, steps, 1e-5);
        curve(fc, 0, steps, batch, got);
        compare(cnn ? "chained CNN, local" : "chained MLP, local", got, ref, steps, 1e-5);
        double lc, ac;
        CHECK(dag_nn_evaluate(fc, X, Y, 1000, &lc, &ac));
        dag_nn_model_destroy(fc);
        curve(fd, 0, steps, batch, got);
        compare(cnn ? "fused CNN, data-parallel" : "fused MLP, data-parallel", got, ref, steps,
                2e-3);
        double lf, af;
        CHECK(dag_nn_evaluate(fd, X, Y, 1000, &lf, &af));
        dag_nn_model_destroy(fl), dag_nn_model_destroy(fd);
        dag_nn_comm_stats_t cs;
        CHECK(dag_nn_comm_stats(d, &cs));
        if (cs.buckets < 2 || (nranks > 1 && cs.steps != steps)) {
            fprintf(stderr, "rank %d: %d buckets, %ld timed exchanges for %d steps\n", rank,
                    cs.buckets, cs.steps, steps);
            fails++;
        }
        double la, aa, ld, ad;
        CHECK(dag_nn_evaluate(l, X, Y, 1000, &la, &aa));
        CHECK(dag_nn_evaluate(d, X, Y, 1000, &ld, &ad));
        if (fabs(aa - ad) > 0.01 || fabs(la - ld) > 1e-2 * la || fabs(aa - af) > 0.01 ||
            fabs(la - lf) > 1e-2 * la || fabs(aa - ac) > 0.01 || fabs(la - lc) > 1e-2 * la) {
            fprintf(stderr, "rank %d: evaluation differs: %f/%f vs %f/%f, fused %f/%f\n", rank,
                    la, aa, ld, ad, lf, af);
            fails++;
        }
        if (!cnn) {
            /* checkpoint half-way, resume in a new model: the same second half */
            const char *ck = "nn_test_train.ck";
            int half = steps / 2;
            dag_nn_model_t *a = make(0, DAG_NN_DATA_PARALLEL, 0, batch, 0);
            double *first = calloc((size_t)steps, sizeof(double));
            curve(a, 0, half, batch, first);
            CHECK(dag_nn_save(a, ck));
            curve(a, half, steps, batch, first);
            dag_nn_model_t *b = make(0, DAG_NN_DATA_PARALLEL, 0, batch, 0);
            CHECK(dag_nn_load(b, ck));
            if (dag_nn_model_step(b) != half) fails++;
            double *second = calloc((size_t)steps, sizeof(double));
            curve(b, half, steps, batch, second);
            compare("checkpoint resumed", second + half, first + half, steps - half, 1e-6);
            /* a checkpoint of another model is refused */
            dag_nn_model_t *c = make(1, DAG_NN_DATA_PARALLEL, 0, batch, 0);
            if (dag_nn_load(c, ck) != DAG_ERR_MISMATCH) {
                fprintf(stderr, "rank %d: a CNN loaded an MLP checkpoint\n", rank);
                fails++;
            }
            dag_nn_model_destroy(a), dag_nn_model_destroy(b), dag_nn_model_destroy(c);
            free(first), free(second);
            CHECK(dag_dist_barrier()); /* every rank has read ck before it goes */
            if (rank == 0) remove(ck);
        }
        dag_nn_model_destroy(l);
        dag_nn_model_destroy(d);

        if (!cnn) {
            /* 1F1B pipeline: one stage per rank (two stages on one rank) */
            dag_nn_model_t *p = make(0, DAG_NN_PIPELINE, 0, batch, 0);
            curve(p, 0, steps, batch, got);
            compare("pipeline MLP (1F1B)", got, ref, steps, 2e-3);
            dag_nn_model_destroy(p);
            setenv("DAG_NN_FUSE", "1", 1);
            p = make(0, DAG_NN_PIPELINE, 0, batch, 0);
            setenv("DAG_NN_FUSE", "0", 1);
            curve(p, 0, steps, batch, got);
            compare("fused pipeline MLP (1F1B)", got, ref, steps, 2e-3);
            dag_nn_model_destroy(p);
        }
    }
    dag_dist_stats_t ds;
    CHECK(dag_dist_stats(&ds));
    if (nranks > 1 && ds.recvs == 0) {
        fprintf(stderr, "rank %d: the pipeline moved no activations\n", rank);
        fails++;
    }
    free(ref), free(got), free(X), free(Y);
    dag_status_t st = dag_finalize();
    if (rank == 0) printf("%s on %d rank(s)\n", fails || st ? "FAILED" : "passed", nranks);
    return fails || st ? 1 : 0;
}
