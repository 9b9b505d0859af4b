/* bench_mpi.c: distributed benchmarks with their raw-MPI anchors in the same run.
 *   latency   a task on rank 0 -> a dependent task on rank 1, per hop, against half an
 *             MPI ping-pong round trip (8 B), and the same as bandwidth at 4 MiB
 *   cholesky  the panel broadcasts of a tiled Cholesky (dummy kernels) on all ranks:
 *             run it with DAG_COMM_BCAST=tree and =p2p (and DAG_COMM=rma) to compare;
 *             args: tiles per side, tile side, process grid PxQ (default: near-square;
 *             1xN, column-cyclic, makes every panel tile read by all ranks)
 *   compute   compute-bound tasks with the engine running, against the same kernel in
 *             a plain loop: the communication thread's cost
 *   hop       the 8 B latency part alone, with longer chains (for profiling)
 * Usage: mpirun -np 2 bench_mpi [latency|cholesky|compute|all|hop] */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dag.h>
#include <dag/dist.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* a failed call ends the run (every rank) with its status: a timing of failed tasks
 * would read as a fast one */
static void ok(dag_status_t rc, const char *what)
{
    if (rc == DAG_OK)
        return;
    fprintf(stderr, "bench_mpi[rank %d]: %s: %s\n", dag_rank(), what, dag_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* one-way time of a raw MPI ping-pong between ranks 0 and 1 */
static double raw_pingpong(size_t bytes, int iters)
{
    int me;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    char *buf = calloc(1, bytes);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = now();
        for (int i = 0; i < iters && me < 2; i++) {
            if (me == 0) {
                MPI_Send(buf, (int)bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
                MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else {
                MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
            }
        }
        double t = (now() - t0) / (2.0 * iters);
        MPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (t < best)
            best = t;
    }
    free(buf);
    return best;
}

static int bump(void *a)
{
    unsigned char *p = *(unsigned char **)a;
    p[0]++;
    return 0;
}

static int nop(void *a)
{
    (void)a;
    return 0;
}

/* per-hop time of a chain of tasks alternating between ranks 0 and 1 on one tile: the
 * whole chain is submitted first behind a gate (a detached task on rank 0), so the time
 * is that of the dependency hops themselves; *with_submit gets the time per hop when the
 * submission is counted too (the flow submitted and run at once, as a program does) */
static double dag_hops(size_t bytes, int hops, double *with_submit)
{
    dag_matrix_t *m;
    dag_dist_t d = {.kind = DAG_DIST_OWNER, .owner = 0};
    ok(dag_matrix_create(&m, 1, 1, bytes, &d), "dag_matrix_create");
    void *t = dag_tile(m, 0, 0);
    dag_dep_t dep = {t, bytes, DAG_INOUT};
    int me;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    double best = 1e30, best_all = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        int gated = rep % 2 == 0;
        ok(dag_taskwait(), "dag_taskwait");
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = now();
        dag_event_t gate = {0};
        if (gated) {
            dag_task_attr_t g = {.label = "gate", .flags = DAG_TASK_ON_NODE | DAG_TASK_DETACHABLE,
                                 .node = 0, .event = &gate};
            ok(dag_submit(nop, NULL, 0, &dep, 1, &g), "dag_submit");
        }
        for (int i = 0; i < hops; i++) {
            dag_task_attr_t a = {.label = "hop", .flags = DAG_TASK_ON_NODE, .node = i % 2};
            ok(dag_submit(bump, &t, sizeof t, &dep, 1, &a), "dag_submit");
        }
        if (gated) {
            MPI_Barrier(MPI_COMM_WORLD); /* every rank has submitted the chain */
            t0 = now();
            if (me == 0)
                ok(dag_event_fulfill(gate, 0), "dag_event_fulfill");
        }
        ok(dag_taskwait(), "dag_taskwait");
        /* the last hop's rank finishes last: take its time */
        double tt = (now() - t0) / hops;
        MPI_Bcast(&tt, 1, MPI_DOUBLE, (hops - 1) % 2, MPI_COMM_WORLD);
        double *b = gated ? &best : &best_all;
        if (tt < *b)
            *b = tt;
    }
    dag_matrix_destroy(m);
    if (with_submit)
        *with_submit = best_all;
    return best;
}

static void latency(int me)
{
    double sub8, subb;
    double raw8 = raw_pingpong(8, 20000), dag8 = dag_hops(8, 20000, &sub8);
    size_t big = 4u << 20;
    double rawb = raw_pingpong(big, 200), dagb = dag_hops(big, 200, &subb);
    if (me == 0) {
        printf("latency 8 B: raw MPI one-way %.2f us, dagrt task->task hop %.2f us, ratio "
               "%.2fx (bar: <= 2x); counting the submission of the flow: %.2f us, %.2fx\n",
               raw8 * 1e6, dag8 * 1e6, dag8 / raw8, sub8 * 1e6, sub8 / raw8);
        printf("bandwidth 4 MiB: raw MPI %.2f GB/s, dagrt %.2f GB/s, ratio %.2fx (bar: >= "
               "0.9x)\n", (double)big / rawb / 1e9, (double)big / dagb / 1e9, rawb / dagb);
    }
}

/* ---- broadcast-heavy: tiled Cholesky data flow with dummy kernels ---- */

struct kargs {
    double *out;
    const double *a, *b;
    int nb;
};

static int kernel(void *p)
{
    struct kargs *k = p;
    int n = k->nb * k->nb;
    for (int i = 0; i < n; i++)
        k->out[i] = 0.5 * k->out[i] + (k->a ? 1e-3 * k->a[i] : 0) + (k->b ? 1e-3 * k->b[i] : 0);
    return 0;
}

static void cholesky(int me, int nt, int nb, const char *grid)
{
    dag_matrix_t *A;
    dag_dist_t d = {.kind = DAG_DIST_2D};
    if (grid && sscanf(grid, "%dx%d", &d.p, &d.q) != 2)
        d.p = d.q = 0;
    ok(dag_matrix_create(&A, nt, nt, (size_t)nb * nb * sizeof(double), &d), "dag_matrix_create");
    size_t tb = (size_t)nb * nb * sizeof(double);
    ok(dag_taskwait(), "dag_taskwait");
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    for (int k = 0; k < nt; k++) {
        struct kargs p = {dag_tile(A, k, k), NULL, NULL, nb};
        dag_dep_t dp = {p.out, tb, DAG_INOUT};
        ok(dag_submit(kernel, &p, sizeof p, &dp, 1, NULL), "dag_submit");
        for (int i = k + 1; i < nt; i++) {
            struct kargs t = {dag_tile(A, i, k), dag_tile(A, k, k), NULL, nb};
            dag_dep_t dt[2] = {{t.out, tb, DAG_INOUT}, {(void *)t.a, tb, DAG_IN}};
            ok(dag_submit(kernel, &t, sizeof t, dt, 2, NULL), "dag_submit");
        }
        for (int j = k + 1; j < nt; j++)
            for (int i = j; i < nt; i++) {
                struct kargs g = {dag_tile(A, i, j), dag_tile(A, i, k), dag_tile(A, j, k), nb};
                dag_dep_t dg[3] = {{g.out, tb, DAG_INOUT}, {(void *)g.a, tb, DAG_IN},
                                   {(void *)g.b, tb, DAG_IN}};
                ok(dag_submit(kernel, &g, sizeof g, dg, 3, NULL), "dag_submit");
            }
    }
    ok(dag_taskwait(), "dag_taskwait");
    double t = now() - t0, tmax;
    MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    dag_dist_stats_t s;
    dag_dist_stats(&s);
    unsigned long long sends = s.sends, msum;
    MPI_Reduce(&sends, &msum, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    unsigned long long smax, hits = s.cache_hits, hsum;
    MPI_Reduce(&sends, &smax, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&hits, &hsum, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    const char *mode = getenv("DAG_COMM_BCAST"), *tr = getenv("DAG_COMM");
    if (me == 0)
        printf("cholesky flow %dx%d tiles of %d^2 doubles, grid %s, comm=%s bcast=%s: %.3f s, "
               "%llu messages (busiest rank sent %llu), %llu cache hits\n", nt, nt, nb,
               grid ? grid : "auto", tr ? tr : "mpi", mode ? mode : "tree", tmax, msum, smax,
               hsum);
    dag_matrix_destroy(A);
}

/* ---- the engine's cost on compute-bound tasks ---- */

static volatile double sink;

static int spin(void *p)
{
    int n = *(int *)p;
    double x = 1.0;
    for (int i = 0; i < n; i++)
        x = x * 1.0000001 + 1e-9;
    sink = x;
    return 0;
}

static void compute(int me, int nranks)
{
    int iters = 1000000, ntasks = 400;
    double t0 = now();
    for (int i = 0; i < ntasks; i++)
        spin(&iters);
    double raw = now() - t0;
    /* the same kernels as tasks on this rank's own tiles (no transfers): the engine thread
     * runs beside them (heartbeats, polling) */
    dag_matrix_t *m;
    dag_dist_t d = {.kind = DAG_DIST_CYCLIC};
    ok(dag_matrix_create(&m, ntasks * nranks, 1, 64, &d), "dag_matrix_create");
    ok(dag_taskwait(), "dag_taskwait");
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now();
    for (int i = 0; i < ntasks * nranks; i++) {
        dag_dep_t dep = {dag_tile(m, i, 0), 64, DAG_INOUT};
        ok(dag_submit(spin, &iters, sizeof iters, &dep, 1, NULL), "dag_submit");
    }
    ok(dag_taskwait(), "dag_taskwait");
    double dag = now() - t0;
    double r[2] = {raw, dag}, s[2];
    MPI_Reduce(r, s, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (me == 0)
        printf("compute-bound tasks (%d x ~%.1f ms per rank, %d threads/rank): plain loop %.3f s, "
               "dagrt with engine %.3f s, ratio %.3fx\n", ntasks, 1e3 * s[0] / nranks / ntasks,
               dag_num_threads(), s[0] / nranks, s[1] / nranks, s[1] / s[0]);
    dag_matrix_destroy(m);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    int me = dag_rank(), n = dag_nranks(); /* starts the runtime and MPI */
    if (n < 2) {
        fprintf(stderr, "bench_mpi: run with mpirun -np 2 (or more)\n");
        return 1;
    }
    if (!strcmp(what, "latency") || !strcmp(what, "all"))
        latency(me);
    if (!strcmp(what, "hop")) { /* the 8 B part alone (for profiling) */
        double sub, raw = raw_pingpong(8, 20000), hop = dag_hops(8, 100000, &sub);
        if (me == 0)
            printf("hop 8 B: raw %.2f us, dagrt %.2f us, %.2fx\n", raw * 1e6, hop * 1e6,
                   hop / raw);
    }
    if (!strcmp(what, "cholesky") || !strcmp(what, "all"))
        cholesky(me, argc > 2 ? atoi(argv[2]) : 12, argc > 3 ? atoi(argv[3]) : 64,
                 argc > 4 ? argv[4] : NULL);
    if (!strcmp(what, "compute") || !strcmp(what, "all"))
        compute(me, n);
    return 0;
}
