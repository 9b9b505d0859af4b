/* test_fail.c: failure behaviour. Mode "kill": the last rank dies (SIGKILL) inside a task
 * in the middle of a chain that hops between ranks; the others must stop within seconds
 * with a message naming the dead rank and the task waiting for it (run under mpirun
 * --enable-recovery, else mpirun itself ends the job first). Mode "mismatch": the last
 * rank submits one task more than the others; the difference must be reported.
 * The ctest entries match the messages; the exit status is not the criterion. */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpitest.h"

struct step_args {
    uint64_t *in, *out;
    int die;
};

static int step(void *a)
{
    struct step_args *p = a;
    p->out[0] = p->in[0] + 1;
    if (p->die)
        raise(SIGKILL);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    return 0;
}

static int nothing(void *a)
{
    (void)a;
    return 0;
}

int main(int argc, char **argv)
{
    int kill_mode = argc > 1 && !strcmp(argv[1], "kill");
    int n = dag_nranks(), me = dag_rank();
    double t0 = (double)time(NULL);
    dag_matrix_t *x;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    CHECK_OK(dag_matrix_create(&x, 200, 1, 8, &cyc));
    for (int i = 1; i < 200; i++) {
        if (!kill_mode && i == 50 && me == n - 1)
            dag_submit(nothing, NULL, 0, NULL, 0, NULL); /* the user bug */
        /* the victim: the last rank, at a tile it owns in the middle of the chain */
        struct step_args p = {dag_tile(x, i - 1, 0), dag_tile(x, i, 0),
                              kill_mode && i == 40 - 40 % n + n - 1};
        dag_dep_t d[2] = {{p.in, 8, DAG_IN}, {p.out, 8, DAG_OUT}};
        dag_task_attr_t at = {.label = "step", .file = __FILE__, .line = __LINE__};
        CHECK_OK(dag_submit(step, &p, sizeof p, d, 2, &at));
    }
    dag_status_t st = dag_taskwait();
    fprintf(stderr, "rank %d: taskwait returned '%s' after %.0f s\n", me, dag_strerror(st),
            (double)time(NULL) - t0);
    return st == DAG_OK ? 0 : 3;
}
