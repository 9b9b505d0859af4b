/* bench_detect.c: how long the distributed layer takes to notice a failed rank, as the
 * program sees it: from the failure to the moment the survivors' dag_taskwait returns.
 *   bench_detect kill FILE:  the last rank dies (SIGKILL) inside a task of a chain that
 *                            hops between the ranks; it writes the time of its death
 *                            (CLOCK_REALTIME) to FILE first;
 *   bench_detect stuck FILE: the last rank's task body never returns; it writes the time
 *                            the body started to FILE.
 * Every survivor prints "detect_ms <rank> <ms>" (one node: one clock). Run under
 * `mpirun --enable-recovery` (else mpirun ends the job itself); bench/mpi/run-detect.sh
 * runs it per transport and reports medians. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dag.h>
#include <dag/dist.h>

static const char *mark_file;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void mark(void)
{
    FILE *f = fopen(mark_file, "w");
    if (f) {
        fprintf(f, "%.6f\n", now());
        fclose(f);
    }
}

struct step_args {
    uint64_t *in, *out;
    int fail; /* 1 die, 2 hang */
};

static int step(void *a)
{
    struct step_args *p = a;
    p->out[0] = p->in[0] + 1;
    if (p->fail == 1) {
        mark();
        raise(SIGKILL);
    }
    if (p->fail == 2) {
        mark();
        for (;;)
            pause();
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "kill") && strcmp(argv[1], "stuck"))) {
        fprintf(stderr, "usage: bench_detect kill|stuck FILE\n");
        return 2;
    }
    int mode = strcmp(argv[1], "kill") ? 2 : 1;
    mark_file = argv[2];
    int n = dag_nranks(), me = dag_rank();
    if (n < 2) {
        fprintf(stderr, "bench_detect: run with mpirun -np 2 or more\n");
        return 2;
    }
    if (me == 0)
        unlink(mark_file);
    dag_matrix_t *x;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    if (dag_matrix_create(&x, 400, 1, 8, &cyc) || dag_dist_barrier())
        return 2;
    int victim = 100 - 100 % n + n - 1; /* a tile of the last rank, mid-chain */
    for (int i = 1; i < 400; i++) {
        struct step_args p = {dag_tile(x, i - 1, 0), dag_tile(x, i, 0), i == victim ? mode : 0};
        dag_dep_t d[2] = {{p.in, 8, DAG_IN}, {p.out, 8, DAG_OUT}};
        dag_task_attr_t at = {.label = "step", .file = __FILE__, .line = __LINE__};
        if (dag_submit(step, &p, sizeof p, d, 2, &at))
            return 2;
    }
    dag_status_t st = dag_taskwait();
    double t = now();
    FILE *f = fopen(mark_file, "r");
    double t0 = 0;
    if (!f || fscanf(f, "%lf", &t0) != 1)
        t0 = 0;
    if (f)
        fclose(f);
    if (st == DAG_OK || t0 == 0)
        printf("rank %d: no failure seen (%s)\n", me, dag_strerror(st));
    else
        printf("detect_ms %d %.1f\n", me, (t - t0) * 1e3);
    fflush(stdout);
    return st == DAG_OK ? 0 : 1;
}
