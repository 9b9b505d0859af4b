/* tiled_common.h: the tiled dense linear algebra benchmark (issue 18 item 3: locality
 * of the scheduler) shared by its binaries (tiled_dagcc, tiled_libgomp, tiled_libomp) and
 * its driver (tiled). Cholesky (lower), LU without pivoting (on a diagonally dominant
 * matrix, where partial pivoting would not swap either) and GEMM on a matrix of NB x NB
 * tiles, each tile contiguous and column-major; every tile kernel is one OpenBLAS call
 * (CBLAS, or LAPACK's dpotrf / dgetrf), run single-threaded inside the tasks. */
#ifndef TILED_COMMON_H
#define TILED_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum { TL_CHOLESKY = 0, TL_LU = 1, TL_GEMM = 2, TL_NALGS = 3 };
#define TL_MAX_REPS 50

struct tl_args {
    int alg, threads, reps, n, nb, nt; /* nt = n / nb tiles per dimension */
};
extern struct tl_args tl;
/* Tile (i, j) of A, B, C: tl_a[i * nt + j] (B and C only for GEMM). */
extern double **tl_a, **tl_b, **tl_c;

static inline double *tl_tile(double **m, int i, int j) { return m[(size_t)i * tl.nt + j]; }
static inline size_t tl_tile_bytes(void) { return sizeof(double) * (size_t)tl.nb * tl.nb; }

/* Parse `argv[0] ALG THREADS REPS N NB`; exits 2 on error. */
void tl_parse(int argc, char **argv);
const char *tl_alg_name(int alg);
/* Allocate and fill the operands (keeps a copy of what the run overwrites). */
void tl_init(void);
/* Restore the overwritten operand before a repetition (not timed). */
void tl_reset(void);
/* Check the last repetition against the original operands with random vectors
 * (y = A x computed two ways); prints the relative error on failure. 1 if right. */
int tl_check(void);
double tl_flops(void);
uint64_t tl_now_ns(void);
/* The shared timing loop (bench_harness.h): tl_reset, run() timed (it creates the
 * algorithm's tasks and waits for them; 1 on success), tl_check, for the warm-up and
 * tl.reps repetitions; ns[rep] per timed one. 1 when every repetition ran and checked. */
int tl_time_reps(int (*run)(void), uint64_t *ns);
/* RESULT impl=.. alg=.. n=.. nb=.. threads=.. reps=.. gflops=MEDIAN min_s=.. */
void tl_report(const char *impl, const uint64_t *ns);

/* Tile kernels (nb x nb, column-major, leading dimension nb). */
void tl_potrf(double *akk);                          /* akk = L, lower */
void tl_trsm_chol(const double *akk, double *aik);   /* aik = aik L^-T */
void tl_syrk(const double *aik, double *aii);        /* aii -= aik aik^T (lower) */
void tl_gemm_nt(const double *a, const double *b, double *c); /* c -= a b^T */
int tl_getrf(double *akk);                           /* akk = L U (no row exchange) */
void tl_trsm_l(const double *akk, double *akj);      /* akj = L^-1 akj (unit lower) */
void tl_trsm_u(const double *akk, double *aik);      /* aik = aik U^-1 */
void tl_gemm_nn_sub(const double *a, const double *b, double *c); /* c -= a b */
void tl_gemm_nn_add(const double *a, const double *b, double *c); /* c += a b */

#endif
