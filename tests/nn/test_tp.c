/* test_tp.c: the tensor-parallel dense layer against a plain double-precision reference.
 * Run on 1 rank and under mpirun -np 2 / 4 with 3 parts (parts and ranks differ): x lives
 * on rank 0 and dy on the last rank, so every move (x to the parts, slices of y to rank 0,
 * slices of dy to the parts, partial dx to rank 0) is an inferred transfer. Exit 0: pass. */
#include <dag/dist.h>
#include <dag/nn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                             \
    do {                                                                                     \
        dag_status_t s_ = (c);                                                               \
        if (s_) {                                                                            \
            fprintf(stderr, "%s: %s\n", #c, dag_strerror(s_));                               \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

static int fetch(dag_nn_tensor_t *t) {
    return dag_dist_fetch(t->data, sizeof(float) * dag_nn_tensor_numel(t), -1);
}

int main(void) {
    int nr = dag_nranks(), rank = dag_rank(), bad = 0;
    const int parts = 3, B = 24, IN = 70, OUT = 50;
    dag_nn_tp_dense_t t;
    dag_nn_tensor_t x, dy, y, dx;
    CHECK(dag_nn_tp_dense_create(&t, parts, B, IN, OUT, 5));
    CHECK(dag_nn_tensor_alloc(&x, B, IN, 1, 1, 0));
    CHECK(dag_nn_tensor_alloc(&dy, B, OUT, 1, 1, nr - 1));
    CHECK(dag_nn_tensor_alloc(&y, B, OUT, 1, 1, 0));
    CHECK(dag_nn_tensor_alloc(&dx, B, IN, 1, 1, 0));
    CHECK(dag_nn_tensor_init(&x, DAG_NN_INIT_HE_UNIFORM, 1, 11));
    CHECK(dag_nn_tensor_init(&dy, DAG_NN_INIT_HE_UNIFORM, 1, 12));
    for (int rep = 0; rep < 2; rep++) { /* the second pass reuses every cached copy */
        CHECK(dag_nn_tp_dense_forward(NULL, &t, &x, &y));
        CHECK(dag_nn_tp_dense_backward(NULL, &t, &x, &dy, &dx));
    }
    CHECK(fetch(&x));
    CHECK(fetch(&dy));
    CHECK(fetch(&y));
    CHECK(fetch(&dx));
    for (int p = 0; p < parts; p++) {
        CHECK(fetch(&t.w[p]));
        CHECK(fetch(&t.dw[p]));
    }
    CHECK(dag_taskwait());
    double *W = calloc((size_t)OUT * IN, sizeof(double));
    int *owner = malloc(sizeof(int) * OUT);
    for (int p = 0, o = 0; p < parts; p++)
        for (int r = 0; r < t.w[p].n; r++, o++) {
            owner[o] = p;
            for (int i = 0; i < IN; i++) W[(size_t)o * IN + i] = t.w[p].data[(size_t)r * IN + i];
        }
    double worst = 0;
#define CMP(got, want)                                                                       \
    do {                                                                                     \
        double d_ = fabs((got) - (want)) / (1 + fabs(want));                                 \
        if (!(d_ <= worst)) worst = d_;                                                      \
    } while (0)
    for (int b = 0; b < B; b++)
        for (int o = 0; o < OUT; o++) {
            double s = 0;
            for (int i = 0; i < IN; i++) s += x.data[(size_t)b * IN + i] * W[(size_t)o * IN + i];
            CMP(y.data[(size_t)b * OUT + o], s);
        }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < IN; i++) {
            double s = 0;
            for (int o = 0; o < OUT; o++) s += dy.data[(size_t)b * OUT + o] * W[(size_t)o * IN + i];
            CMP(dx.data[(size_t)b * IN + i], s);
        }
    for (int p = 0, o = 0; p < parts; p++)
        for (int r = 0; r < t.w[p].n; r++, o++)
            for (int i = 0; i < IN; i++) {
                double s = 0;
                for (int b = 0; b < B; b++) s += dy.data[(size_t)b * OUT + o] * x.data[(size_t)b * IN + i];
                CMP(t.dw[p].data[(size_t)r * IN + i], s);
            }
    if (!(worst < 1e-4)) {
        fprintf(stderr, "rank %d: tensor-parallel dense differs from the reference (%.3e)\n", rank, worst);
        bad = 1;
    }
    dag_dist_stats_t ds;
    CHECK(dag_dist_stats(&ds));
    if (nr > 1 && ds.sends + ds.recvs == 0) {
        fprintf(stderr, "rank %d: no transfers\n", rank);
        bad = 1;
    }
    if (rank == 0)
        printf("tensor-parallel dense, %d parts on %d rank(s): largest relative error %.2e, %s\n",
               parts, nr, worst, bad ? "FAILED" : "passed");
    dag_nn_tp_dense_destroy(&t);
    dag_nn_tensor_free(&x), dag_nn_tensor_free(&dy), dag_nn_tensor_free(&y), dag_nn_tensor_free(&dx);
    free(W), free(owner);
    return dag_finalize() || bad;
}
