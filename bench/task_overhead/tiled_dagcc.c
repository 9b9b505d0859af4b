/* tiled_dagcc.c: the tiled Cholesky, LU and GEMM of tiled_common.h with the dagcc runtime
 * API: one dag_submit per tile kernel, dependencies on whole tiles.
 * Usage: tiled_dagcc ALG THREADS REPS N NB. */
#include "tiled_common.h"

#include <cblas.h>
#include <stdio.h>

#include "dag.h"

struct kargs {
    const double *a, *b;
    double *c;
};

static int potrf_fn(void *p) { tl_potrf(((struct kargs *)p)->c); return 0; }
static int trsm_chol_fn(void *p) { struct kargs *k = p; tl_trsm_chol(k->a, k->c); return 0; }
static int syrk_fn(void *p) { struct kargs *k = p; tl_syrk(k->a, k->c); return 0; }
static int gemm_nt_fn(void *p) { struct kargs *k = p; tl_gemm_nt(k->a, k->b, k->c); return 0; }
static int getrf_fn(void *p) { return tl_getrf(((struct kargs *)p)->c) ? 1 : 0; }
static int trsm_l_fn(void *p) { struct kargs *k = p; tl_trsm_l(k->a, k->c); return 0; }
static int trsm_u_fn(void *p) { struct kargs *k = p; tl_trsm_u(k->a, k->c); return 0; }
static int gemm_sub_fn(void *p) { struct kargs *k = p; tl_gemm_nn_sub(k->a, k->b, k->c); return 0; }
static int gemm_add_fn(void *p) { struct kargs *k = p; tl_gemm_nn_add(k->a, k->b, k->c); return 0; }

static int ok = 1;

/* c: inout; a, b: in (either may be NULL) */
static void task(dag_task_fn fn, const double *a, const double *b, double *c)
{
    dag_dep_t d[3];
    size_t n = 0, bytes = tl_tile_bytes();
    if (a)
        d[n++] = (dag_dep_t){(void *)a, bytes, DAG_IN};
    if (b)
        d[n++] = (dag_dep_t){(void *)b, bytes, DAG_IN};
    d[n++] = (dag_dep_t){c, bytes, DAG_INOUT};
    struct kargs k = {a, b, c};
    dag_status_t st = dag_submit(fn, &k, sizeof k, d, n, NULL);
    if (st) {
        fprintf(stderr, "dagcc: dag_submit: %s\n", dag_strerror(st));
        ok = 0;
    }
}

#define T(m, i, j) tl_tile(m, i, j)

static void cholesky(void)
{
    int nt = tl.nt;
    for (int k = 0; k < nt; k++) {
        task(potrf_fn, NULL, NULL, T(tl_a, k, k));
        for (int i = k + 1; i < nt; i++)
            task(trsm_chol_fn, T(tl_a, k, k), NULL, T(tl_a, i, k));
        for (int i = k + 1; i < nt; i++) {
            for (int j = k + 1; j < i; j++)
                task(gemm_nt_fn, T(tl_a, i, k), T(tl_a, j, k), T(tl_a, i, j));
            task(syrk_fn, T(tl_a, i, k), NULL, T(tl_a, i, i));
        }
    }
}

static void lu(void)
{
    int nt = tl.nt;
    for (int k = 0; k < nt; k++) {
        task(getrf_fn, NULL, NULL, T(tl_a, k, k));
        for (int j = k + 1; j < nt; j++)
            task(trsm_l_fn, T(tl_a, k, k), NULL, T(tl_a, k, j));
        for (int i = k + 1; i < nt; i++)
            task(trsm_u_fn, T(tl_a, k, k), NULL, T(tl_a, i, k));
        for (int i = k + 1; i < nt; i++)
            for (int j = k + 1; j < nt; j++)
                task(gemm_sub_fn, T(tl_a, i, k), T(tl_a, k, j), T(tl_a, i, j));
    }
}

static void gemm(void)
{
    int nt = tl.nt;
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nt; j++)
            for (int k = 0; k < nt; k++)
                task(gemm_add_fn, T(tl_a, i, k), T(tl_b, k, j), T(tl_c, i, j));
}

/* One repetition: the algorithm's tasks, then the wait. */
static int run(void)
{
    if (tl.alg == TL_CHOLESKY)
        cholesky();
    else if (tl.alg == TL_LU)
        lu();
    else
        gemm();
    dag_status_t st = dag_taskwait();
    if (st) {
        fprintf(stderr, "dagcc: dag_taskwait: %s\n", dag_strerror(st));
        return 0;
    }
    return ok;
}

int main(int argc, char **argv)
{
    uint64_t ns[TL_MAX_REPS];
    tl_parse(argc, argv);
    openblas_set_num_threads(1);
    tl_init();
    if (dag_init(&(dag_config_t){.nthreads = tl.threads}) != DAG_OK)
        return 3;
    ok = ok && tl_time_reps(run, ns);
    if (dag_finalize() != DAG_OK || !ok)
        return 1;
    tl_report("dagcc", ns);
    return 0;
}
