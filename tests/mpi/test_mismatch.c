/* test_mismatch.c: ranks whose task flows diverge must get an error naming both tasks,
 * never another tile's data. Modes:
 *   extra: the last rank submits one task more than the others, which reads a tile of
 *          rank 0 (user bug as a new user wrote it): its receive would match the message
 *          of the next transfer from rank 0, a tile holding 9859 where 100 was written.
 *   size:  the last rank registers its matrix with a different tile size.
 * A task that reads a wrong value prints "WRONG"; the ctest entries require the mismatch
 * message with both tasks' labels and lines, no "WRONG" line, and a non-zero exit status. */
#include <string.h>

#include "mpitest.h"

struct put_args {
    int *dst, v;
};

static int put(void *a)
{
    struct put_args *p = a;
    p->dst[0] = p->v;
    return 0;
}

struct use_args {
    const int *src;
    int *dst, expect;
    const char *what;
};

static int use(void *a)
{
    struct use_args *p = a;
    if (p->src[0] != p->expect)
        printf("rank %d: WRONG: %s read %d where %d was written\n", dag_rank(), p->what,
               p->src[0], p->expect);
    if (p->dst)
        p->dst[0] = p->src[0];
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "extra";
    int n = dag_nranks(), me = dag_rank();
    check_transport();
    CHECK(n >= 2);
    size_t tb = 400;
    if (!strcmp(mode, "size") && me == n - 1)
        tb = 800; /* the user bug: one rank's matrix has other tile sizes */
    dag_matrix_t *x;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    CHECK_OK(dag_matrix_create(&x, 2 * n, 1, tb, &cyc));
    int *a = dag_tile(x, 0, 0), *b = dag_tile(x, n, 0), *out = dag_tile(x, n - 1, 0);
    /* rank 0 writes A = 100 and B = 9859 */
    struct put_args pa = {a, 100}, pb = {b, 9859};
    dag_dep_t da = {a, tb, DAG_OUT}, db = {b, tb, DAG_OUT};
    dag_task_attr_t at = {.label = "init", .file = __FILE__, .line = __LINE__};
    CHECK_OK(dag_submit(put, &pa, sizeof pa, &da, 1, &at));
    CHECK_OK(dag_submit(put, &pb, sizeof pb, &db, 1, &at));
    if (!strcmp(mode, "extra") && me == n - 1) { /* the user bug: only this rank has it */
        struct use_args u = {a, NULL, 100, "task 'extra'"};
        dag_dep_t d = {a, tb, DAG_IN};
        dag_task_attr_t ex = {.label = "extra", .file = __FILE__, .line = __LINE__,
                              .flags = DAG_TASK_ON_NODE, .node = n - 1};
        CHECK_OK(dag_submit(use, &u, sizeof u, &d, 1, &ex));
    }
    /* every rank: the last rank reads B into its own tile */
    struct use_args u = {b, out, 9859, "task 'use_b'"};
    dag_dep_t d[2] = {{b, tb, DAG_IN}, {out, tb, DAG_OUT}};
    dag_task_attr_t ub = {.label = "use_b", .file = __FILE__, .line = __LINE__};
    CHECK_OK(dag_submit(use, &u, sizeof u, d, 2, &ub));
    dag_status_t st = dag_taskwait();
    dag_error_t e;
    char msg[512] = "-";
    if (st && dag_last_error(&e) == DAG_OK)
        dag_error_format(&e, msg, sizeof msg);
    fprintf(stderr, "rank %d: taskwait returned '%s': %s\n", me, dag_strerror(st), msg);
    if (me == n - 1 && st == DAG_OK)
        printf("rank %d: value %d\n", me, out[0]);
    return st == DAG_OK ? 0 : 3;
}
