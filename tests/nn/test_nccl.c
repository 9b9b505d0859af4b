/* test_nccl.c: the data-parallel exchange through NCCL (DAG_NN_ALLREDUCE=nccl). Without a
 * GPU it checks that the choice is refused with a clear error (and that a bad value of
 * DAG_NN_ALLREDUCE is), then exits 77 (skipped). With a GPU per rank it trains an MLP with
 * small buckets (several ncclAllReduce per step, on the tasks' CUDA streams) and compares
 * its loss curve, step by step, with the same model trained alone on the whole batch
 * (cfg.local, no exchange); the backend must be "nccl" and every step's exchange must
 * have completed on the device (the timing callbacks). One GPU allows one rank only (NCCL
 * refuses two ranks on one device): there the communicator has one rank and the test
 * checks the path (tasks, order token, copies) rather than the sum; under mpirun on a
 * machine with a GPU per rank it checks the sum too. A checkpoint's rank
 * synchronisation goes through the same exchange. Plain C (no Check): bench/nn/device.sh
 * builds and runs it on the GPU host. Arguments: [steps] [batch]. */
#include <dag/cuda.h>
#include <dag/dist.h>
#include <dag/nn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teacher.h"

#define FEAT 64
#define NS 4096

static float *X;
static int32_t *Y;
static int rank, fails;

static void make_data(void) { teacher_data(&X, &Y, NS, FEAT, 777ull); }

/* a model, or NULL and *st when dag_nn_model_build refuses it */
static dag_nn_model_t *make(int local, int device, int batch, size_t bucket, dag_status_t *st) {
    dag_nn_config_t cfg = {0};
    cfg.batch = batch;
    cfg.c = 1, cfg.h = 8, cfg.w = 8;
    cfg.seed = 11;
    cfg.opt = (dag_nn_opt_t){DAG_NN_ADAM, 2e-3f, 0, 0, 0, 0, 0};
    cfg.local = local;
    cfg.bucket_bytes = bucket;
    cfg.device = device;
    dag_nn_model_t *m;
    CHECK(dag_nn_model_create(&m, &cfg));
    CHECK(dag_nn_add_dense(m, 256));
    CHECK(dag_nn_add_relu(m));
    CHECK(dag_nn_add_dropout(m, 0.1f));
    CHECK(dag_nn_add_dense(m, 128));
    CHECK(dag_nn_add_relu(m));
    CHECK(dag_nn_add_dense(m, 10));
    *st = dag_nn_model_build(m);
    if (*st != DAG_OK) {
        dag_nn_model_destroy(m);
        return NULL;
    }
    return m;
}

static void curve(dag_nn_model_t *m, int steps, int batch, double *loss) {
    int32_t *idx = malloc(sizeof(int32_t) * NS);
    long epoch = -1;
    int per = NS / batch;
    for (int s = 0; s < steps; s++) {
        if (s / per != epoch) dag_nn_shuffle(idx, NS, 5, epoch = s / per);
        CHECK(dag_nn_train_step(m, X, Y, idx + (size_t)(s % per) * batch));
        CHECK(dag_nn_train_metrics(m, &loss[s], NULL));
    }
    free(idx);
}

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "rank %d: %s\n", rank, what);
        fails++;
    }
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 40, batch = argc > 2 ? atoi(argv[2]) : 64;
    rank = dag_rank();
    int nranks = dag_nranks(), gpus = dag_cuda_device_count();
    make_data();
    dag_status_t st;

    setenv("DAG_NN_ALLREDUCE", "bogus", 1);
    expect(!make(0, DAG_DEVICE_ANY, batch, 0, &st) && st == DAG_ERR_INVALID,
           "DAG_NN_ALLREDUCE=bogus was accepted");
    setenv("DAG_NN_ALLREDUCE", "nccl", 1);
    if (gpus == 0) {
        expect(!make(0, DAG_DEVICE_ANY, batch, 0, &st) && st == DAG_ERR_UNSUPPORTED,
               "DAG_NN_ALLREDUCE=nccl without a GPU was not refused as unsupported");
        setenv("DAG_NN_ALLREDUCE", "auto", 1);
        dag_nn_model_t *m = make(0, DAG_DEVICE_ANY, batch, 0, &st);
        expect(m && !strcmp(dag_nn_allreduce_backend(m), nranks > 1 ? "mpi" : "none"),
               "auto without a GPU did not choose MPI");
        dag_nn_model_destroy(m);
        st = dag_finalize();
        if (rank == 0) printf("%s; no GPU, the NCCL training part skipped\n",
                              fails || st ? "FAILED" : "errors as expected");
        return fails || st ? 1 : 77;
    }

    double *ref = calloc((size_t)steps, sizeof(double)), *got = calloc((size_t)steps, sizeof(double));
    dag_nn_model_t *l = make(1, DAG_DEVICE_CUDA, batch, 0, &st);
    CHECK(st);
    curve(l, steps, batch, ref);
    for (int dev = 0; dev < 2; dev++) {
        /* 4 KiB buckets: several collectives per step, issued in order by the token */
        dag_nn_model_t *d = make(0, dev ? DAG_DEVICE_ANY : DAG_DEVICE_CUDA, batch, 4096, &st);
        CHECK(st);
        expect(!strcmp(dag_nn_allreduce_backend(d), "nccl"), "the backend is not NCCL");
        curve(d, steps, batch, got);
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            double e = fabs(got[s] - ref[s]) / fmax(1e-3, fabs(ref[s]));
            if (!(e <= worst)) worst = e;
        }
        if (rank == 0)
            printf("NCCL data-parallel MLP (%s), %d rank(s): loss %.4f -> %.4f, largest relative "
                   "difference from the local model %.2e\n",
                   dev ? "device any" : "device cuda", nranks, ref[0], ref[steps - 1], worst);
        expect(worst <= 2e-3, "the loss curve differs from the local model's");
        expect(ref[steps - 1] < 0.8 * ref[0], "the loss does not fall");
        dag_nn_comm_stats_t cs;
        CHECK(dag_nn_comm_stats(d, &cs));
        if (rank == 0)
            printf("  %d buckets, %ld timed exchanges, exposed %.3f ms/step\n", cs.buckets,
                   cs.steps, cs.exposed_ms);
        expect(cs.buckets >= 2 && cs.steps == steps, "not every step's exchange completed");
        if (dev == 0) {
            expect(dag_nn_save(d, "nn_test_nccl.ck") == DAG_OK, "save through NCCL failed");
            CHECK(dag_dist_barrier());
            if (rank == 0) remove("nn_test_nccl.ck");
        }
        dag_nn_model_destroy(d);
    }
    dag_nn_model_destroy(l);
    free(ref), free(got), free(X), free(Y);
    st = dag_finalize();
    if (rank == 0) printf("%s on %d rank(s)\n", fails || st ? "FAILED" : "passed", nranks);
    return fails || st ? 1 : 0;
}
