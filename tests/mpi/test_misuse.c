/* test_misuse.c: misuse of distributed data gets a message that says what and why.
 *   grid_big:   a 2D grid of 2N ranks on an N-rank job: dag_matrix_create fails and says
 *               how many ranks the grid needs;
 *   grid_small: a 1 x 1 grid on N ranks: a warning names the idle ranks, the run works;
 *   read:       (DAG_CHECK=1) the last rank reads a tile of rank 0 without dag_dist_fetch:
 *               the access faults with a message naming the tile, its owner and the fix;
 *   write:      (DAG_CHECK=1) the last rank fetches the tile, then writes its copy outside
 *               a task: the write faults;
 *   ok:         (DAG_CHECK=1) a random correct program (node clauses, fetches, flushes,
 *               reads after fetches) never faults and matches a sequential run.
 * The ctest entries check the messages and the exit status. */
#include <string.h>

#include "mpitest.h"

#define TB 4096 /* a page: DAG_CHECK guards tiles of whole pages */

struct upd_args {
    double *dst;
    const double *src;
    double v;
};

static int upd(void *a)
{
    struct upd_args *p = a;
    for (int k = 0; k < TB / 8; k++)
        p->dst[k] = p->dst[k] * 0.5 + (p->src ? p->src[k] : 0) + p->v + k;
    return 0;
}

static void seq_upd(double *dst, const double *src, double v)
{
    for (int k = 0; k < TB / 8; k++)
        dst[k] = dst[k] * 0.5 + (src ? src[k] : 0) + v + k;
}

static int random_ok(int n)
{
    int nt = 3 * n;
    dag_matrix_t *x;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    CHECK_OK(dag_matrix_create(&x, nt, 1, TB, &cyc));
    double *ref = calloc((size_t)nt * TB / 8, sizeof(double));
    CHECK(ref);
    uint64_t rng = 42;
    for (int step = 0; step < 300; step++) {
        int d = rng_int(&rng, nt), s = rng_int(&rng, nt), node = rng_int(&rng, n + 1) - 1;
        double v = rng_int(&rng, 100);
        struct upd_args a = {dag_tile(x, d, 0), s == d ? NULL : dag_tile(x, s, 0), v};
        dag_dep_t deps[2] = {{a.dst, TB, DAG_INOUT}, {(void *)a.src, TB, DAG_IN}};
        dag_task_attr_t at = {.label = "upd", .file = __FILE__, .line = __LINE__,
                              .flags = node >= 0 ? DAG_TASK_ON_NODE : 0, .node = node};
        CHECK_OK(dag_submit(upd, &a, sizeof a, deps, s == d ? 1 : 2, &at));
        seq_upd(ref + (size_t)d * TB / 8, s == d ? NULL : ref + (size_t)s * TB / 8, v);
        if (step % 97 == 96)
            CHECK_OK(dag_dist_flush(x));
    }
    for (int t = 0; t < nt; t++)
        CHECK_OK(dag_dist_fetch(dag_tile(x, t, 0), TB, -1));
    CHECK_OK(dag_taskwait());
    for (int t = 0; t < nt; t++)
        CHECK(!memcmp(dag_tile(x, t, 0), ref + (size_t)t * TB / 8, TB));
    free(ref);
    CHECK_OK(dag_matrix_destroy(x));
    fprintf(stderr, "rank %d: ok\n", dag_rank());
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    int n = dag_nranks(), me = dag_rank();
    check_transport();
    CHECK(n >= 2);
    dag_matrix_t *x;
    if (!strcmp(mode, "grid_big")) {
        dag_dist_t d = {.kind = DAG_DIST_2D, .p = n, .q = 2};
        dag_status_t st = dag_matrix_create(&x, 4, 4, TB, &d);
        CHECK(st == DAG_ERR_INVALID);
        fprintf(stderr, "rank %d: dag_matrix_create returned '%s'\n", me, dag_strerror(st));
        return 0;
    }
    if (!strcmp(mode, "grid_small")) {
        dag_dist_t d = {.kind = DAG_DIST_2D, .p = 1, .q = 1};
        CHECK_OK(dag_matrix_create(&x, 2, 2, TB, &d));
        CHECK(dag_tile_owner(x, 1, 1) == 0);
        CHECK_OK(dag_matrix_destroy(x));
        return 0;
    }
    if (!strcmp(mode, "ok"))
        return random_ok(n);
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    CHECK_OK(dag_matrix_create(&x, n, 1, TB, &cyc));
    double *t0 = dag_tile(x, 0, 0);
    struct upd_args a = {t0, NULL, 1};
    dag_dep_t d = {t0, TB, DAG_INOUT};
    CHECK_OK(dag_submit(upd, &a, sizeof a, &d, 1, NULL));
    if (!strcmp(mode, "write"))
        CHECK_OK(dag_dist_fetch(t0, TB, n - 1));
    CHECK_OK(dag_taskwait());
    if (me == n - 1) {
        if (!strcmp(mode, "read")) {
            volatile double v = t0[3]; /* the bug: tile 0 lives on rank 0 */
            fprintf(stderr, "rank %d: read %g without a fault\n", me, v);
        } else {
            CHECK(t0[3] == 0.5 * 0 + 1 + 3); /* the fetched copy is readable */
            t0[3] = 7;                       /* the bug: a write outside a task */
            fprintf(stderr, "rank %d: wrote without a fault\n", me);
        }
    }
    CHECK_OK(dag_dist_barrier());
    return 0;
}
