/* logdet.c: a program written from docs/linalg.md and docs/pragmas.md alone, as a user
 * would: a distributed Cholesky by the library, then the user's own function tasks on
 * the factor's tiles (dag_la_tile), declared with `#pragma dag task ... status(*st)`, to
 * get log det(A) = 2 sum log L(i,i) and the trace of L on every rank; checked against
 * LAPACK's dpotrf of the gathered matrix on rank 0. Built by dagcc.
 * usage: logdet N NB [--device cpu|any] (the device the user tasks ask for); prints the
 * result and "ok". */
#include <dag/linalg.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double elem(int i, int j, void *u)
{
    int n = *(int *)u;
    double v = 1.0 / (1.0 + abs(i - j)) + sin(0.37 * i + 0.11 * j) * 1e-3;
    return i == j ? v + n * 0.5 : v;
}

/* The sums over the diagonal of one diagonal tile (nk x nk of an nb x nb tile), into
 * acc[0] (log) and acc[1] (trace); device(dev) as the caller picks, CPU body only. */
#pragma dag task depend(in: l[0:(size_t)nb * nb]) depend(inout: acc[0:2]) device(dev) \
    status(*st) label("logdet_tile")
void diag_sums(const double *l, int nb, int nk, double *acc, int dev, dag_status_t *st);
void diag_sums(const double *l, int nb, int nk, double *acc, int dev, dag_status_t *st)
{
    (void)dev, (void)st;
    for (int i = 0; i < nk; i++) {
        acc[0] += 2.0 * log(l[(size_t)i * nb + i]);
        acc[1] += l[(size_t)i * nb + i];
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4100, nb = argc > 2 ? atoi(argv[2]) : 1024;
    int dev = DAG_DEVICE_ANY;
    if (argc > 4 && !strcmp(argv[3], "--device"))
        dev = !strcmp(argv[4], "cpu") ? DAG_DEVICE_CPU : DAG_DEVICE_ANY;
    if (n < 1 || nb < 1) {
        fprintf(stderr, "usage: logdet N NB [--device cpu|any]\n");
        return 2;
    }
    dag_dist_t d = {.kind = DAG_DIST_2D};
    dag_la_t *A;
    if (dag_la_create(&A, DAG_LA_DOUBLE, n, n, nb, nb, &d) || dag_la_fill(A, elem, &n)) {
        fprintf(stderr, "create/fill: %s\n", dag_la_error());
        return 1;
    }
    int info = 0;
    if (dag_la_potrf('L', A, &info)) {
        fprintf(stderr, "potrf: %s (info %d)\n", dag_la_error(), info);
        return 1;
    }
    double acc[2] = {0, 0};
    dag_status_t st = DAG_OK;
    int nt = (n + nb - 1) / nb;
    for (int k = 0; k < nt; k++)
        diag_sums(dag_la_tile(A, k, k), nb, k == nt - 1 ? n - k * nb : nb, acc, dev, &st);
    dag_status_t w = dag_taskwait();
    if (st || w) {
        fprintf(stderr, "tasks: %s\n", dag_strerror(st ? st : w));
        return 1;
    }
    int rank = dag_rank(), bad = 0;
    if (rank == 0) { /* the reference: LAPACK on the whole matrix */
        double *M = malloc(sizeof(double) * (size_t)n * n);
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                M[(size_t)j * n + i] = elem(i, j, &n);
        int r = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, M, n);
        double ld = 0, tr = 0;
        for (int i = 0; i < n; i++)
            ld += 2.0 * log(M[(size_t)i * n + i]), tr += M[(size_t)i * n + i];
        bad = r != 0 || fabs(ld - acc[0]) > 1e-10 * fabs(ld) || fabs(tr - acc[1]) > 1e-10 * tr;
        printf("logdet N=%d nb=%d ranks=%d: log det %.12g (LAPACK %.12g), trace(L) %.12g "
               "(LAPACK %.12g): %s\n", n, nb, dag_nranks(), acc[0], ld, acc[1], tr,
               bad ? "MISMATCH" : "ok");
        free(M);
    }
    dag_la_destroy(A);
    return bad;
}
