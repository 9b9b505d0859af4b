/* tiled_omp.c: the tiled Cholesky, LU and GEMM of tiled_common.h with `#pragma omp task
 * depend(...)` on each tile's first element, built by gcc -fopenmp (tiled_libgomp) and by
 * clang-14 -fopenmp (tiled_libomp). Usage: tiled_libgomp ALG THREADS REPS N NB. */
#include "tiled_common.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>

#ifndef TL_IMPL
#if defined(__clang__)
#define TL_IMPL "libomp"
#else
#define TL_IMPL "libgomp"
#endif
#endif

#define T(m, i, j) tl_tile(m, i, j)

static int failed;

static void cholesky(void)
{
    int nt = tl.nt;
    for (int k = 0; k < nt; k++) {
        double *akk = T(tl_a, k, k);
#pragma omp task depend(inout : akk[0])
        tl_potrf(akk);
        for (int i = k + 1; i < nt; i++) {
            double *aik = T(tl_a, i, k);
#pragma omp task depend(in : akk[0]) depend(inout : aik[0])
            tl_trsm_chol(akk, aik);
        }
        for (int i = k + 1; i < nt; i++) {
            double *aik = T(tl_a, i, k), *aii = T(tl_a, i, i);
            for (int j = k + 1; j < i; j++) {
                double *ajk = T(tl_a, j, k), *aij = T(tl_a, i, j);
#pragma omp task depend(in : aik[0], ajk[0]) depend(inout : aij[0])
                tl_gemm_nt(aik, ajk, aij);
            }
#pragma omp task depend(in : aik[0]) depend(inout : aii[0])
            tl_syrk(aik, aii);
        }
    }
}

static void lu(void)
{
    int nt = tl.nt;
    for (int k = 0; k < nt; k++) {
        double *akk = T(tl_a, k, k);
#pragma omp task depend(inout : akk[0])
        if (tl_getrf(akk))
            failed = 1;
        for (int j = k + 1; j < nt; j++) {
            double *akj = T(tl_a, k, j);
#pragma omp task depend(in : akk[0]) depend(inout : akj[0])
            tl_trsm_l(akk, akj);
        }
        for (int i = k + 1; i < nt; i++) {
            double *aik = T(tl_a, i, k);
#pragma omp task depend(in : akk[0]) depend(inout : aik[0])
            tl_trsm_u(akk, aik);
        }
        for (int i = k + 1; i < nt; i++)
            for (int j = k + 1; j < nt; j++) {
                double *aik = T(tl_a, i, k), *akj = T(tl_a, k, j), *aij = T(tl_a, i, j);
#pragma omp task depend(in : aik[0], akj[0]) depend(inout : aij[0])
                tl_gemm_nn_sub(aik, akj, aij);
            }
    }
}

static void gemm(void)
{
    int nt = tl.nt;
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nt; j++)
            for (int k = 0; k < nt; k++) {
                double *a = T(tl_a, i, k), *b = T(tl_b, k, j), *c = T(tl_c, i, j);
#pragma omp task depend(in : a[0], b[0]) depend(inout : c[0])
                tl_gemm_nn_add(a, b, c);
            }
}

/* One repetition inside `single`: the algorithm's tasks, then the wait. */
static int run(void)
{
    if (tl.alg == TL_CHOLESKY)
        cholesky();
    else if (tl.alg == TL_LU)
        lu();
    else
        gemm();
#pragma omp taskwait
    return !failed;
}

int main(int argc, char **argv)
{
    uint64_t ns[TL_MAX_REPS];
    int ok = 1, got = 0;
    tl_parse(argc, argv);
    openblas_set_num_threads(1);
    tl_init();
#pragma omp parallel num_threads(tl.threads) shared(ok, got, ns)
#pragma omp single
    {
        got = omp_get_num_threads();
        ok = tl_time_reps(run, ns);
    }
    if (!ok || got != tl.threads) {
        fprintf(stderr, "%s: %s failed\n", TL_IMPL, tl_alg_name(tl.alg));
        return 1;
    }
    tl_report(TL_IMPL, ns);
    return 0;
}
