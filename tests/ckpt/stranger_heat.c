/* stranger_heat.c: a program written from docs/fault-tolerance.md alone, as a new user
 * would (issue 14): a distributed 1D heat iteration over big tiles (a row of tiles of
 * `mib` MiB each, block-distributed over the ranks, plus a small halo tile per tile),
 * thousands of tasks, every tile registered for checkpointing. stranger.sh runs it
 * uninterrupted, then with checkpoints, kills one rank with SIGKILL halfway, restarts it
 * with DAG_RESTART=1 and compares the digests bit for bit.
 *   mpirun -np 2 stranger_heat [tiles] [MiB per tile] [steps]     (default 8 16 300)
 * Rank 0 prints "digest <hex> time <s>"; every rank prints "rank <r> pid <pid>" first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dag.h>
#include <dag/dist.h>

static size_t NX;       /* doubles per tile */
#define HALO 2          /* halo tile: the first and the last value of a tile */

struct args {
    double *x;              /* the tile */
    double *halo;           /* its halo tile (written) */
    const double *left;     /* the neighbours' halos of the previous step, or NULL */
    const double *right;
    int i, step;
};

static int init(void *p)
{
    struct args *a = p;
    for (size_t k = 0; k < NX; k++)
        a->x[k] = (double)((a->i * 7919 + k * 31) % 1000) / 1000.0;
    a->halo[0] = a->x[0];
    a->halo[1] = a->x[NX - 1];
    return 0;
}

/* One explicit step of u_t = u_xx on the tile, with the neighbours' edge values (fixed
 * zero outside the first and last tile). In place, left to right, keeping the old left
 * value: deterministic, so the result is the same bit for bit in every run. */
static int step(void *p)
{
    struct args *a = p;
    double *x = a->x;
    double prev = a->left ? a->left[1] : 0.0;
    double right_edge = a->right ? a->right[0] : 0.0;
    for (size_t k = 0; k < NX; k++) {
        double next = k + 1 < NX ? x[k + 1] : right_edge;
        double cur = x[k];
        x[k] = cur + 0.25 * (prev - 2.0 * cur + next);
        prev = cur;
    }
    a->halo[0] = x[0];
    a->halo[1] = x[NX - 1];
    return 0;
}

static void check(dag_status_t st, const char *what)
{
    if (!st)
        return;
    dag_error_t e;
    char msg[256];
    if (st == DAG_ERR_TASK_FAILED && dag_last_error(&e) == DAG_OK)
        fprintf(stderr, "stranger_heat: %s: %s\n", what, dag_error_format(&e, msg, sizeof msg));
    else
        fprintf(stderr, "stranger_heat: %s: %s\n", what, dag_strerror(st));
    exit(1);
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 8;
    int mib = argc > 2 ? atoi(argv[2]) : 16;
    int steps = argc > 3 ? atoi(argv[3]) : 300;
    if (nt < 1 || mib < 1 || steps < 1) {
        fprintf(stderr, "usage: stranger_heat [tiles] [MiB per tile] [steps]\n");
        return 2;
    }
    NX = (size_t)mib << 17; /* doubles */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dag_matrix_t *X, *H;
    dag_dist_t dist = {.kind = DAG_DIST_BLOCK};
    check(dag_matrix_create(&X, nt, 1, NX * sizeof(double), &dist), "dag_matrix_create");
    check(dag_matrix_create(&H, nt, 1, HALO * sizeof(double), &dist), "dag_matrix_create");
    int me = dag_rank();
    fprintf(stderr, "rank %d pid %d\n", me, (int)getpid());
    for (int i = 0; i < nt; i++) {
        check(dag_checkpoint_register(dag_tile(X, i, 0), NX * sizeof(double)), "register");
        check(dag_checkpoint_register(dag_tile(H, i, 0), HALO * sizeof(double)), "register");
    }
    for (int i = 0; i < nt; i++) {
        struct args a = {dag_tile(X, i, 0), dag_tile(H, i, 0), NULL, NULL, i, 0};
        dag_dep_t d[2] = {{a.x, NX * sizeof(double), DAG_OUT},
                          {a.halo, HALO * sizeof(double), DAG_OUT}};
        dag_task_attr_t at = {.label = "init", .file = __FILE__, .line = __LINE__};
        check(dag_submit(init, &a, sizeof a, d, 2, &at), "submit init");
    }
    /* Step s of tile i reads the halos of its neighbours as the flow left them: the left
     * one's of step s (submitted just before), the right one's of step s-1. The flow
     * fixes the order, so every run computes the same values. */
    for (int s = 1; s <= steps; s++) {
        for (int i = 0; i < nt; i++) {
            struct args a = {dag_tile(X, i, 0), dag_tile(H, i, 0),
                             i > 0 ? dag_tile(H, i - 1, 0) : NULL,
                             i + 1 < nt ? dag_tile(H, i + 1, 0) : NULL, i, s};
            dag_dep_t d[4];
            size_t nd = 0;
            d[nd++] = (dag_dep_t){a.x, NX * sizeof(double), DAG_INOUT};
            d[nd++] = (dag_dep_t){a.halo, HALO * sizeof(double), DAG_INOUT};
            if (a.left)
                d[nd++] = (dag_dep_t){(void *)a.left, HALO * sizeof(double), DAG_IN};
            if (a.right)
                d[nd++] = (dag_dep_t){(void *)a.right, HALO * sizeof(double), DAG_IN};
            dag_task_attr_t at = {.label = "step", .file = __FILE__, .line = __LINE__};
            check(dag_submit(step, &a, sizeof a, d, nd, &at), "submit step");
        }
    }
    for (int i = 0; i < nt; i++)
        check(dag_dist_fetch(dag_tile(X, i, 0), NX * sizeof(double), 0), "fetch");
    check(dag_taskwait(), "dag_taskwait");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (me == 0) {
        uint64_t h = 1469598103934665603ull;
        for (int i = 0; i < nt; i++) {
            const unsigned char *p = dag_tile(X, i, 0);
            for (size_t k = 0; k < NX * sizeof(double); k += 8) {
                uint64_t w;
                memcpy(&w, p + k, 8);
                h = (h ^ w) * 1099511628211ull;
            }
        }
        printf("digest %016llx time %.2f\n", (unsigned long long)h,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
    check(dag_matrix_destroy(X), "destroy");
    check(dag_matrix_destroy(H), "destroy");
    return 0;
}
