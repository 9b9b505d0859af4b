/* cholesky_hand.c: tests/translator/omp/cholesky.c's parallel region written by hand
 * against dag.h (one dag_submit per task, the same dependences with DAG_DEP_BASEADDR, the
 * same kernels). run.sh compares it with the dagcc -fopenmp build of cholesky.c: equal
 * times mean the translated code costs nothing over the API. Built with the same -D sizes;
 * prints `TIME <s>` for the factorisation, then checks it against a sequential run. */
#include <dag.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/translator/omp/bench.h"

#ifndef NT
#define NT 8
#endif
#ifndef TS
#define TS 32
#endif
#define N (NT * TS)

typedef double tile_t[TS][TS];

static void potrf(tile_t a)
{
    for (int j = 0; j < TS; j++) {
        for (int k = 0; k < j; k++)
            a[j][j] -= a[j][k] * a[j][k];
        a[j][j] = sqrt(a[j][j]);
        for (int i = j + 1; i < TS; i++) {
            for (int k = 0; k < j; k++)
                a[i][j] -= a[i][k] * a[j][k];
            a[i][j] /= a[j][j];
        }
        for (int i = 0; i < j; i++)
            a[i][j] = 0;
    }
}

static void trsm(tile_t l, tile_t b)
{
    for (int i = 0; i < TS; i++)
        for (int j = 0; j < TS; j++) {
            for (int k = 0; k < j; k++)
                b[i][j] -= b[i][k] * l[j][k];
            b[i][j] /= l[j][j];
        }
}

static void syrk(tile_t a, tile_t c)
{
    for (int i = 0; i < TS; i++)
        for (int j = 0; j < TS; j++)
            for (int k = 0; k < TS; k++)
                c[i][j] -= a[i][k] * a[j][k];
}

static void gemm(tile_t a, tile_t b, tile_t c)
{
    for (int i = 0; i < TS; i++)
        for (int j = 0; j < TS; j++)
            for (int k = 0; k < TS; k++)
                c[i][j] -= a[i][k] * b[j][k];
}

struct targs {
    tile_t *a, *b, *c;
};

static int potrf_task(void *p)
{
    potrf(*((struct targs *)p)->c);
    return 0;
}

static int trsm_task(void *p)
{
    struct targs *t = p;
    trsm(*t->a, *t->c);
    return 0;
}

static int syrk_task(void *p)
{
    struct targs *t = p;
    syrk(*t->a, *t->c);
    return 0;
}

static int gemm_task(void *p)
{
    struct targs *t = p;
    gemm(*t->a, *t->b, *t->c);
    return 0;
}

static void submit(dag_task_fn fn, tile_t *a, tile_t *b, tile_t *c)
{
    struct targs t = {a, b, c};
    dag_dep_t d[3];
    size_t n = 0;
    if (a)
        d[n++] = (dag_dep_t){&(*a)[0][0], sizeof(double), DAG_IN | DAG_DEP_BASEADDR};
    if (b)
        d[n++] = (dag_dep_t){&(*b)[0][0], sizeof(double), DAG_IN | DAG_DEP_BASEADDR};
    d[n++] = (dag_dep_t){&(*c)[0][0], sizeof(double), DAG_INOUT | DAG_DEP_BASEADDR};
    if (dag_submit(fn, &t, sizeof t, d, n, NULL) != DAG_OK)
        exit(1);
}

static void cholesky(tile_t *A[NT][NT], int par)
{
    for (int k = 0; k < NT; k++) {
        if (par)
            submit(potrf_task, NULL, NULL, A[k][k]);
        else
            potrf(*A[k][k]);
        for (int i = k + 1; i < NT; i++) {
            if (par)
                submit(trsm_task, A[k][k], NULL, A[i][k]);
            else
                trsm(*A[k][k], *A[i][k]);
        }
        for (int i = k + 1; i < NT; i++) {
            for (int j = k + 1; j < i; j++) {
                if (par)
                    submit(gemm_task, A[i][k], A[j][k], A[i][j]);
                else
                    gemm(*A[i][k], *A[j][k], *A[i][j]);
            }
            if (par)
                submit(syrk_task, A[i][k], NULL, A[i][i]);
            else
                syrk(*A[i][k], *A[i][i]);
        }
    }
    if (par && dag_taskwait() != DAG_OK)
        exit(1);
}

static void fill(tile_t *A[NT][NT])
{
    for (int bi = 0; bi < NT; bi++)
        for (int bj = 0; bj < NT; bj++)
            for (int i = 0; i < TS; i++)
                for (int j = 0; j < TS; j++) {
                    int gi = bi * TS + i, gj = bj * TS + j;
                    (*A[bi][bj])[i][j] = (gi == gj ? N : 0) + 1.0 / (1 + gi + gj);
                }
}

int main(int argc, char **argv)
{
    static tile_t *A[NT][NT], *B[NT][NT];
    for (int i = 0; i < NT; i++)
        for (int j = 0; j < NT; j++) {
            A[i][j] = malloc(sizeof(tile_t));
            B[i][j] = malloc(sizeof(tile_t));
        }
    fill(A);
    fill(B);
    double t0 = bench_now();
    cholesky(A, 1);
    bench_report(t0, bench_now());
    if (!bench_check(argc, argv)) {
        puts("unchecked");
        return 0;
    }
    cholesky(B, 0);
    double diff = 0;
    for (int bi = 0; bi < NT; bi++)
        for (int bj = 0; bj <= bi; bj++)
            for (int i = 0; i < TS; i++)
                for (int j = 0; j < TS; j++)
                    diff = fmax(diff, fabs((*A[bi][bj])[i][j] - (*B[bi][bj])[i][j]));
    printf("cholesky max diff vs sequential: %g\n", diff);
    if (diff != 0) {
        puts("FAIL");
        return 1;
    }
    puts("OK");
    return 0;
}
