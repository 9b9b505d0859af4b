/* test_fail.c: failure behaviour. Mode "kill": the last rank dies (SIGKILL) inside a task
 * in the middle of a chain that hops between ranks; the others must stop within seconds
 * with a message naming the dead rank and the task waiting for it, and dag_last_error
 * must name that task and the cause (run under mpirun --enable-recovery, else mpirun
 * itself ends the job first). Mode "stuck": the last rank's task body never returns
 * there; the distributed watchdog must name the rank, the task and since when. Mode
 * "mismatch": the last rank submits one task more than the others (no data of its own)
 * in the middle of the chain: the next transfer's envelope reports it; "mismatch_end":
 * the same after the chain, which only the flow checkpoints can report. Each rank prints
 * what its taskwait returned. */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpitest.h"

struct step_args {
    uint64_t *in, *out;
    int die, hang;
};

static int step(void *a)
{
    struct step_args *p = a;
    p->out[0] = p->in[0] + 1;
    if (p->die)
        raise(SIGKILL);
    while (p->hang) { /* a body that never returns (a deadlock in user code) */
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
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
    int stuck_mode = argc > 1 && !strcmp(argv[1], "stuck");
    int end_mode = argc > 1 && !strcmp(argv[1], "mismatch_end");
    int n = dag_nranks(), me = dag_rank();
    struct timespec ts0, ts1;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    dag_matrix_t *x;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    CHECK_OK(dag_matrix_create(&x, 200, 1, 8, &cyc));
    for (int i = 1; i < 200; i++) {
        if (!kill_mode && !stuck_mode && !end_mode && i == 50 && me == n - 1)
            dag_submit(nothing, NULL, 0, NULL, 0, NULL); /* the user bug */
        /* the victim: the last rank, at a tile it owns in the middle of the chain */
        int victim = i == 40 - 40 % n + n - 1;
        struct step_args p = {dag_tile(x, i - 1, 0), dag_tile(x, i, 0), kill_mode && victim,
                              stuck_mode && victim};
        dag_dep_t d[2] = {{p.in, 8, DAG_IN}, {p.out, 8, DAG_OUT}};
        dag_task_attr_t at = {.label = "step", .file = __FILE__, .line = __LINE__};
        CHECK_OK(dag_submit(step, &p, sizeof p, d, 2, &at));
    }
    if (end_mode && me == n - 1) /* after every transfer: only the flow checkpoints see it */
        dag_submit(nothing, NULL, 0, NULL, 0, NULL);
    dag_status_t st = dag_taskwait();
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    dag_error_t e;
    char msg[512] = "-";
    if (st && dag_last_error(&e) == DAG_OK)
        dag_error_format(&e, msg, sizeof msg);
    fprintf(stderr, "rank %d: taskwait returned '%s' after %.2f s: %s\n", me,
            dag_strerror(st),
            (double)(ts1.tv_sec - ts0.tv_sec) + 1e-9 * (double)(ts1.tv_nsec - ts0.tv_nsec), msg);
    return st == DAG_OK ? 0 : 3;
}
