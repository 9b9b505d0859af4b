/* gemm3d.c: C = A B with C on DAG_DIST_3D (2.5D: `layers` copies, each summing its share
 * of the inner dimension, then reduced) against the same product with C 2D-distributed
 * over all ranks; runnable with mpirun. Prints GFLOP/s, the words (doubles) received per
 * rank by each variant, and the difference between the two results.
 * usage: gemm3d [n] [nb] [p] [q] [device] [layers]   (default 2000 200 0 0 any 2 (1 on odd ranks); the
 * 3D grid is p x q per layer, so ranks = p q layers; 0 0 picks it) */
#include <math.h>

#include "common.h"

static double rnd(int i, int j, void *u)
{
    return sin(0.01 * i * (*(int *)u) + 0.7 * j) + cos(0.3 * j - 0.2 * i);
}

static unsigned long long recv_bytes(void)
{
    dag_dist_stats_t s;
    dag_dist_stats(&s);
    return s.bytes_recv;
}

int main(int argc, char **argv)
{
    struct args a = parse(argc, argv, 2000, 200);
    int np = dag_nranks(), sa = 1, sb = 2;
    int layers = argc > 6 ? atoi(argv[6]) : np % 2 ? 1 : 2;
    if (layers < 1 || np % layers) {
        if (dag_rank() == 0)
            fprintf(stderr, "gemm3d: %d ranks cannot hold %d layers\n", np, layers);
        dag_finalize();
        return 2;
    }
    dag_dist_t d2 = {.kind = DAG_DIST_2D};
    dag_dist_t d3 = {.kind = DAG_DIST_3D, .p = a.p, .q = a.q, .layers = layers};
    dag_la_t *A, *B, *C2, *C3;
    CHECK(dag_la_create(&A, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d2));
    CHECK(dag_la_create(&B, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d2));
    CHECK(dag_la_create(&C2, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d2));
    CHECK(dag_la_create(&C3, DAG_LA_DOUBLE, a.n, a.n, a.nb, a.nb, &d3));
    CHECK(dag_la_fill(A, rnd, &sa));
    CHECK(dag_la_fill(B, rnd, &sb));
    double flops = 2.0 * a.n * a.n * a.n;
    unsigned long long r0 = recv_bytes();
    double t = now();
    CHECK(dag_la_gemm('N', 'N', 1.0, A, B, 0.0, C2));
    double s2 = now() - t;
    unsigned long long r1 = recv_bytes();
    t = now();
    CHECK(dag_la_gemm('N', 'N', 1.0, A, B, 0.0, C3));
    double s3 = now() - t;
    unsigned long long r2 = recv_bytes();
    CHECK(dag_la_gemm('N', 'N', -1.0, A, B, 1.0, C2)); /* C2 := C2 - A B: ~0 */
    double nd, nc;
    CHECK(dag_la_norm(C2, 'F', &nd));
    CHECK(dag_la_norm(C3, 'F', &nc));
    if (dag_rank() == 0)
        printf("gemm3d n=%d nb=%d ranks=%d layers=%d: 2D %.3f s %.2f GFLOP/s, words received "
               "by rank 0 %.3g; 2.5D %.3f s %.2f GFLOP/s, words %.3g (%.2fx of 2D); "
               "||C2D - AB||/||C|| %.1e\n", a.n, a.nb, np, layers, s2, flops / s2 * 1e-9,
               (r1 - r0) / 8.0, s3, flops / s3 * 1e-9, (r2 - r1) / 8.0,
               (r1 - r0) ? (double)(r2 - r1) / (r1 - r0) : 0.0, nd / nc);
    dag_la_destroy(A), dag_la_destroy(B), dag_la_destroy(C2), dag_la_destroy(C3);
    dag_finalize();
    return nd / nc < 1e-12 ? 0 : 1;
}
