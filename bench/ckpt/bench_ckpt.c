/* bench_ckpt.c: the workload of the checkpoint benchmark (run.sh runs the anchors): a
 * distributed tiled Cholesky (dag_matrix_create, 2D block-cyclic; LAPACKE/CBLAS tile
 * kernels) whose lower tiles are registered with dag_checkpoint_register. Checkpointing
 * is whatever the environment says (DAG_CHECKPOINT_DIR, DAG_CHECKPOINT_EVERY,
 * DAG_RESTART), so run.sh compares runs of this one program.
 *   mpirun -np 2 bench_ckpt [tiles] [tile size]       (default 16 x 256)
 * Rank 0 prints: "time <s> run <s> digest <hex> residual <r>"; `time` is the factorisation
 * from the first task to the final wait, `run` the whole process from dag_init on
 * (restart: loading and verifying the checkpoint included). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dag.h>
#include <dag/dist.h>

void openblas_set_num_threads(int n);

struct kargs {
    double *a, *b, *c;
    int nb;
    int i, j;
    int n;
};

static int k_init(void *p)
{
    struct kargs *k = p;
    for (int c = 0; c < k->nb; c++)
        for (int r = 0; r < k->nb; r++) {
            int gr = k->i * k->nb + r, gc = k->j * k->nb + c;
            k->c[(size_t)c * k->nb + r] = (gr == gc ? k->n : 0) + 1.0 / (1.0 + gr + gc);
        }
    return 0;
}

static int k_potrf(void *p)
{
    struct kargs *k = p;
    return LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', k->nb, k->c, k->nb) ? 1 : 0;
}

static int k_trsm(void *p)
{
    struct kargs *k = p;
    cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, k->nb, k->nb,
                1.0, k->a, k->nb, k->c, k->nb);
    return 0;
}

static int k_syrk(void *p)
{
    struct kargs *k = p;
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, k->nb, k->nb, -1.0, k->a, k->nb, 1.0,
                k->c, k->nb);
    return 0;
}

static int k_gemm(void *p)
{
    struct kargs *k = p;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, k->nb, k->nb, k->nb, -1.0, k->a, k->nb,
                k->b, k->nb, 1.0, k->c, k->nb);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check(dag_status_t st, const char *what)
{
    if (!st)
        return;
    fprintf(stderr, "bench_ckpt: %s: %s\n", what, dag_strerror(st));
    exit(1);
}

static dag_matrix_t *M;
static int NB;
#define TILE(i, j) ((double *)dag_tile(M, (i), (j)))

static void submit(dag_task_fn fn, const char *label, double *a, double *b, double *c, int i,
                   int j, int n)
{
    struct kargs k = {a, b, c, NB, i, j, n};
    dag_dep_t d[3];
    size_t nd = 0, bytes = (size_t)NB * NB * sizeof(double);
    if (a)
        d[nd++] = (dag_dep_t){a, bytes, DAG_IN};
    if (b)
        d[nd++] = (dag_dep_t){b, bytes, DAG_IN};
    d[nd++] = (dag_dep_t){c, bytes, fn == k_init ? DAG_OUT : DAG_INOUT};
    dag_task_attr_t at = {.label = label, .file = __FILE__, .line = __LINE__,
                          .priority = fn == k_potrf ? 2 : fn == k_trsm ? 1 : 0};
    check(dag_submit(fn, &k, sizeof k, d, nd, &at), label);
}

int main(int argc, char **argv)
{
    double t_start = now();
    int nt = argc > 1 ? atoi(argv[1]) : 16;
    NB = argc > 2 ? atoi(argv[2]) : 256;
    int n = nt * NB;
    openblas_set_num_threads(1);
    dag_dist_t dist = {.kind = DAG_DIST_2D};
    size_t bytes = (size_t)NB * NB * sizeof(double);
    check(dag_matrix_create(&M, nt, nt, bytes, &dist), "dag_matrix_create");
    int me = dag_rank();
    for (int i = 0; i < nt; i++)
        for (int j = 0; j <= i; j++)
            check(dag_checkpoint_register(TILE(i, j), bytes), "dag_checkpoint_register");
    double t0 = now();
    for (int i = 0; i < nt; i++)
        for (int j = 0; j <= i; j++)
            submit(k_init, "init", NULL, NULL, TILE(i, j), i, j, n);
    for (int k = 0; k < nt; k++) {
        submit(k_potrf, "potrf", NULL, NULL, TILE(k, k), k, k, n);
        for (int i = k + 1; i < nt; i++)
            submit(k_trsm, "trsm", TILE(k, k), NULL, TILE(i, k), i, k, n);
        for (int i = k + 1; i < nt; i++) {
            for (int j = k + 1; j < i; j++)
                submit(k_gemm, "gemm", TILE(i, k), TILE(j, k), TILE(i, j), i, j, n);
            submit(k_syrk, "syrk", TILE(i, k), NULL, TILE(i, i), i, i, n);
        }
    }
    for (int i = 0; i < nt; i++)
        for (int j = 0; j <= i; j++)
            check(dag_dist_fetch(TILE(i, j), bytes, 0), "dag_dist_fetch");
    check(dag_taskwait(), "dag_taskwait");
    double t1 = now();
    if (me == 0) {
        /* digest of L, and max |A - L L^T| / max |A| over a sample of rows */
        uint64_t h = 1469598103934665603ull;
        for (int i = 0; i < nt; i++)
            for (int j = 0; j <= i; j++) {
                const unsigned char *p = (const unsigned char *)TILE(i, j);
                for (size_t x = 0; x < bytes; x += 8) {
                    uint64_t w;
                    memcpy(&w, p + x, 8);
                    h = (h ^ w) * 1099511628211ull;
                }
            }
        double err = 0, amax = 0;
        for (int r = 0; r < n; r += n / 16 > 0 ? n / 16 : 1)
            for (int c = 0; c <= r; c += 7) {
                double sum = 0;
                for (int k = 0; k <= c; k++)
                    sum += TILE(r / NB, k / NB)[(size_t)(k % NB) * NB + r % NB] *
                           TILE(c / NB, k / NB)[(size_t)(k % NB) * NB + c % NB];
                double a = (r == c ? n : 0) + 1.0 / (1.0 + r + c);
                err = fmax(err, fabs(sum - a));
                amax = fmax(amax, fabs(a));
            }
        printf("time %.4f run %.4f digest %016llx residual %.2e\n", t1 - t0, now() - t_start,
               (unsigned long long)h, err / amax);
    }
    check(dag_matrix_destroy(M), "dag_matrix_destroy");
    return 0;
}
