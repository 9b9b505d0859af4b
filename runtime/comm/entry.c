/* entry.c: libdagrt_mpi.so's entry table, read by the core at dag_init (core/plugin.c),
 * and the plugin's life cycle: pick and start the transport, start each part (transfers,
 * staging, liveness, checkpoints, the engine's thread), and at the end say goodbye to
 * every rank, or end the job with a non-zero status after a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"
#include "../core/plugin.h"
#include "../core/runtime.h"

static struct {
    const struct transport *tp;
    int started;
} plugin;

/* DAG_COMM: mpi (two-sided, default), rma (MPI one-sided: windows and MPI_Put, rma.c),
 * ucx (UCP tag matching, ucx.c; when built with UCX). */
static const struct transport *pick_transport(void)
{
    const char *s = getenv("DAG_COMM");
    if (!s || !*s || !strcmp(s, "mpi"))
        return &transport_mpi;
    if (!strcmp(s, "rma") || !strcmp(s, "mpi-rma"))
        return &transport_rma;
    if (!strcmp(s, "ucx")) {
#ifdef DAG_HAVE_UCX
        return &transport_ucx;
#else
        fprintf(stderr, "dagrt: warning: this build has no UCX transport (DAG_WITH_UCX); "
                "using mpi\n");
        return &transport_mpi;
#endif
    }
    fprintf(stderr, "dagrt: warning: DAG_COMM=%s is not a transport (mpi, rma, ucx, none); "
            "using mpi\n", s);
    return &transport_mpi;
}

dag_status_t comm_start(void)
{
    plugin.tp = pick_transport();
    dag_status_t st = plugin.tp->init(&dist.rank, &dist.nranks);
    if (st)
        return st;
    if (dist.nranks < 2)
        return DAG_OK;
    comm_fail_reset(plugin.tp);
    if ((st = xfer_start(plugin.tp, dist.nranks)) || (st = live_start(plugin.tp, dist.nranks)))
        return st;
    stage_init(plugin.tp);
    /* Ranks sharing a node with more threads (workers + the engine's) than cores: an idle
     * worker that spins (DAG_SPIN_US) keeps the core from the engine and from the peer
     * rank, which is what it waits for (a 50 us spin made a remote hop 70 us instead of
     * 20 on 2 cores with 2 ranks). Sleep at once there unless the user asked to spin. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!getenv("DAG_SPIN_US") && ncpu > 0 &&
        (long)dist.local_size * (rt.nthreads + 1) > ncpu)
        rt.spin_ns = 0;
    flow_reset();
    if ((st = engine_start(plugin.tp)))
        return st;
    plugin.started = 1;
    dist.active = 1;
    rt.interpose = flow_interpose;
    rt.poll_yield = ncpu > 0 && dist.local_size > ncpu;
    xfer_enable_polling();
    return DAG_OK;
}

void comm_before_drain(void)
{
    if (dist.active && !comm_broken())
        flow_sync_point(1);
}

void comm_on_wait(struct tctx *c)
{
    (void)c;
    if (!dist.active || comm_broken())
        return;
    flow_sync_point(0);
    if (guard_on()) { /* DAG_CHECK: matrices no task used yet: the program reads next */
        pthread_mutex_lock(&dist.lock);
        for (int k = 0; k < dist.ncolls; k++)
            guard_coll(dist.colls[k]);
        pthread_mutex_unlock(&dist.lock);
    }
}

/* After the engine's thread stopped: goodbye to everyone, and wait for everyone else's
 * (so nobody finalizes while a peer still sends), with the same helpers. Returns whether
 * every peer said goodbye. A flow mismatch found meanwhile (the final checkpoints) still
 * waits for the others' goodbyes, a few seconds at most: the job then ends cleanly
 * (comm_stop). */
static int goodbye(void)
{
    struct ctrl_msg bye = {.type = CTRL_BYE};
    for (int r = 0; r < dist.nranks; r++)
        if (r != dist.rank)
            plugin.tp->ctrl_send(r, &bye);
    double t0 = comm_now(), t_broken = 0;
    for (;;) {
        struct ctrl_msg m;
        int peer, all = 1;
        while (plugin.tp->ctrl_poll(&m, &peer) == 1)
            engine_on_ctrl(&m, peer);
        for (int r = 0; r < dist.nranks; r++)
            all &= r == dist.rank || live_said_bye(r);
        double now = comm_now();
        live_tick(now);
        check_tick(now);
        int broken = comm_broken();
        if (all && plugin.tp->ctrl_idle() && !check_pending())
            return 1;
        if (broken && (all || broken != DAG_ERR_MISMATCH))
            return all;
        if (broken && !t_broken)
            t_broken = now;
        if ((t_broken && now - t_broken > 3) || now - t0 > 1e3) /* the latter cannot happen
                                                    without a heartbeat failure first */
            return 0;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

/* After the drain: every local transfer has completed. */
void comm_stop(void)
{
    if (!plugin.started)
        return;
    rt.interpose = NULL;
    atomic_store(&rt.poll, NULL);
    dist.active = 0;
    engine_stop();
    int all_bye = !comm_broken() && goodbye();
    plugin.started = 0;
    int broken = comm_broken();
    if (broken && broken == DAG_ERR_MISMATCH && all_bye) {
        /* found at the end (the final flow checkpoints), every rank alive and done: end
         * the job by this process's exit status rather than MPI_Abort, which Open MPI
         * 4.1's launcher sometimes never completes while other ranks are finalizing */
        fprintf(stderr, "dagrt[rank %d]: error: ending the job after a failure (%s)\n",
                dist.rank, dag_strerror((dag_status_t)broken));
        plugin.tp->fini(0);
        fflush(NULL);
        _exit(1);
    }
    if (broken)
        comm_end_job(dag_strerror((dag_status_t)broken));
    plugin.tp->fini(0);
    xfer_stop();
    live_stop();
    check_stop();
}

DAG_INTERNAL const struct dag_comm_plugin dagrt_comm_plugin = {
    .abi = DAG_PLUGIN_ABI,
    .core = &rt,
    .detect = comm_detect,
    .start = comm_start,
    .before_drain = comm_before_drain,
    .on_wait = comm_on_wait,
    .stop = comm_stop,
    .dist_fetch = dag_dist_fetch,
    .dist_flush = dag_dist_flush,
};
