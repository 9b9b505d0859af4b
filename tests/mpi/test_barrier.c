/* test_barrier.c: dag_dist_barrier() returns on no rank before every rank's tasks
 * submitted before it completed. Each rank runs tasks of a different, random length
 * (tens of ms, the last rank's the longest), records when its last task finished and when
 * its barrier returned, then the ranks exchange the times (MPI, same node: one clock).
 * Repeated with random phases; also checks the data the phases exchanged. */
#include <mpi.h>
#include <time.h>

#include "mpitest.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct work_args {
    long *tile;
    int ms;
    double *done_at;
};

static int work(void *a)
{
    struct work_args *p = a;
    struct timespec ts = {0, (long)p->ms * 1000000L};
    nanosleep(&ts, NULL);
    p->tile[0]++;
    double t = now();
    if (t > *p->done_at)
        *p->done_at = t;
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    int n = dag_nranks(), me = dag_rank();
    check_transport();
    dag_matrix_t *x;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    CHECK_OK(dag_matrix_create(&x, n, 1, 64, &cyc));
    uint64_t rng = 7;
    double *done = calloc((size_t)n, sizeof *done), *ret = calloc((size_t)n, sizeof *ret);
    CHECK(done && ret);
    for (int r = 0; r < rounds; r++) {
        double done_at = 0;
        for (int k = 0; k < n; k++) { /* the same flow everywhere; rank k runs tile k's */
            int ms = 5 + rng_int(&rng, 20) + (k == n - 1 ? 60 : 0);
            struct work_args a = {dag_tile(x, k, 0), ms, &done_at};
            dag_dep_t d = {a.tile, 64, DAG_INOUT};
            dag_task_attr_t at = {.label = "work", .file = __FILE__, .line = __LINE__};
            CHECK_OK(dag_submit(work, &a, sizeof a, &d, 1, &at));
        }
        CHECK_OK(dag_dist_barrier());
        double back = now();
        MPI_Allgather(&done_at, 1, MPI_DOUBLE, done, 1, MPI_DOUBLE, MPI_COMM_WORLD);
        MPI_Allgather(&back, 1, MPI_DOUBLE, ret, 1, MPI_DOUBLE, MPI_COMM_WORLD);
        for (int s = 0; s < n; s++)
            for (int q = 0; q < n; q++)
                if (ret[s] < done[q]) {
                    fprintf(stderr, "rank %d: round %d: rank %d left the barrier %.3f s before "
                            "rank %d's task finished\n", me, r, s, done[q] - ret[s], q);
                    return 1;
                }
        CHECK(((long *)dag_tile(x, me, 0))[0] == r + 1);
    }
    free(done);
    free(ret);
    CHECK_OK(dag_matrix_destroy(x));
    fprintf(stderr, "rank %d: %d barriers ok\n", me, rounds);
    return 0;
}
