/* live.c: liveness, run from the engine's thread (engine.c). Three checks:
 *   - heartbeats: every rank sends one to every other each DAG_COMM_TIMEOUT_MS / 8; a rank
 *     silent for DAG_COMM_TIMEOUT_MS (default 1500) is declared dead; before its first
 *     message, for DAG_COMM_START_TIMEOUT_MS (default 10000: ranks start their engines at
 *     different times, a loaded node's start-up takes seconds);
 *   - same-node peers: a heartbeat carries the sender's pid and host, and a peer on this
 *     node whose process is gone (kill(pid, 0): ESRCH) is declared dead within tens of
 *     milliseconds, without waiting for the timeout (DAG_COMM_PID_WATCH=0: not watched,
 *     as if on another node). Silence alone from a watched peer whose process lives is
 *     not death (ranks oversubscribing a node's cores, or spinning in a blocking MPI
 *     call of the program's own, can starve its engine for seconds): it is declared
 *     dead only after DAG_COMM_LOCAL_TIMEOUT_MS (default 10000); a body stuck in a task
 *     is the third check's;
 *   - stuck task bodies: a task body that has been running on one of this rank's workers
 *     for longer than DAG_COMM_STUCK_MS (default 300000; 0: off) is reported with its
 *     label, source line and start time, and the job ends: the other ranks would wait for
 *     it forever, and it cannot be interrupted.
 * Detection calls comm_fail(); the engine fails the transfers and tells the other ranks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "../core/runtime.h"
#include "../sched/sched.h"

#define PID_CHECK_S 0.02   /* interval between checks of same-node peers' processes */
#define STUCK_CHECK_S 0.1  /* interval between samples of the running task bodies */

struct sample {
    const struct task *t;
    uint64_t id;
    double since;          /* comm_now() when first seen running */
    struct timeval wall;   /* the same on the wall clock, for the report */
};

static struct {
    const struct transport *tp;
    int nranks;
    double *last_seen;
    char *bye;
    pid_t *lpid;            /* per rank: its pid when on this node, else 0 */
    char *lpid_known;       /* its first heartbeat was seen */
    char *heard;            /* anything came from it yet */
    double *gone_since;     /* its process was found gone then (0: not) */
    uint64_t host;
    double last_hb, hb_interval, timeout, start_timeout, local_timeout, pid_checked;
    double stuck_s, stuck_checked;
    int pid_watch;          /* DAG_COMM_PID_WATCH */
    struct sample *w;       /* per worker */
    int nw;
} live;

static uint64_t host_hash(void)
{
    char h[256] = "";
    gethostname(h, sizeof h - 1);
    uint64_t x = 1469598103934665603ull;
    for (const char *s = h; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return x | 1;
}

dag_status_t live_start(const struct transport *tp, int nranks)
{
    live.tp = tp;
    live.nranks = nranks;
    live.last_seen = calloc((size_t)nranks, sizeof *live.last_seen);
    live.bye = calloc((size_t)nranks, 1);
    live.lpid = calloc((size_t)nranks, sizeof *live.lpid);
    live.lpid_known = calloc((size_t)nranks, 1);
    live.heard = calloc((size_t)nranks, 1);
    live.gone_since = calloc((size_t)nranks, sizeof *live.gone_since);
    live.nw = rt.nthreads;
    live.w = calloc((size_t)(live.nw > 0 ? live.nw : 1), sizeof *live.w);
    if (!live.last_seen || !live.bye || !live.lpid || !live.lpid_known || !live.heard ||
        !live.gone_since || !live.w)
        return DAG_ERR_NOMEM;
    live.timeout = (double)env_long("DAG_COMM_TIMEOUT_MS", 1500, 100, 1L << 30) / 1e3;
    live.hb_interval = live.timeout / 8;
    live.start_timeout = (double)env_long("DAG_COMM_START_TIMEOUT_MS", 10000, 100, 1L << 30) / 1e3;
    if (live.start_timeout < live.timeout)
        live.start_timeout = live.timeout;
    live.local_timeout = (double)env_long("DAG_COMM_LOCAL_TIMEOUT_MS", 10000, 100, 1L << 30) / 1e3;
    if (live.local_timeout < live.timeout)
        live.local_timeout = live.timeout;
    live.stuck_s = (double)env_long("DAG_COMM_STUCK_MS", 300000, 0, 1L << 40) / 1e3;
    live.host = host_hash();
    live.pid_watch = (int)env_long("DAG_COMM_PID_WATCH", 1, 0, 1);
    double now = comm_now();
    for (int r = 0; r < nranks; r++)
        live.last_seen[r] = now;
    live.last_hb = live.pid_checked = live.stuck_checked = 0;
    return DAG_OK;
}

void live_stop(void)
{
    free(live.last_seen);
    free(live.bye);
    free(live.lpid);
    free(live.lpid_known);
    free(live.heard);
    free(live.gone_since);
    free(live.w);
    memset(&live, 0, sizeof live);
}

double live_hb_interval(void)
{
    return live.hb_interval;
}

void live_heard(int peer, const struct ctrl_msg *m)
{
    live.last_seen[peer] = comm_now();
    live.heard[peer] = 1;
    if (m->type != CTRL_HEARTBEAT || live.lpid_known[peer])
        return;
    live.lpid_known[peer] = 1;
    pid_t pid = (pid_t)m->idx;
    /* on this node and visible from here (another pid namespace is not watched) */
    if (live.pid_watch && m->hash == live.host && pid > 0 && pid != getpid() && kill(pid, 0) == 0)
        live.lpid[peer] = pid;
}

void live_bye(int peer)
{
    live.bye[peer] = 1;
}

int live_said_bye(int peer)
{
    return live.bye[peer];
}

void live_shift(double gap)
{
    for (int r = 0; r < live.nranks; r++) /* we could not have heard anyone */
        live.last_seen[r] += gap;
}

static void dead(int r, const char *how)
{
    fprintf(stderr, "dagrt[rank %d]: error: rank %d is unreachable (%s): it died or hangs\n",
            dist.rank, r, how);
    comm_fail(DAG_ERR_COMM, r, 1);
}

/* Same-node peers: a process found gone twice in a row (its goodbye, sent just before it
 * exited, may still be in flight the first time) died. */
static void check_pids(double now)
{
    if (now - live.pid_checked < PID_CHECK_S)
        return;
    live.pid_checked = now;
    for (int r = 0; r < live.nranks; r++) {
        if (!live.lpid[r] || live.bye[r] || !(kill(live.lpid[r], 0) && errno == ESRCH))
            continue;
        if (!live.gone_since[r]) {
            live.gone_since[r] = now;
            continue;
        }
        char how[96];
        snprintf(how, sizeof how, "its process %ld on this node is gone", (long)live.lpid[r]);
        dead(r, how);
        return;
    }
}

/* A task body running on one worker for longer than the limit: this rank is stuck. */
static void check_stuck(double now)
{
    if (live.stuck_s <= 0 || now - live.stuck_checked < STUCK_CHECK_S || !rt.workers)
        return;
    live.stuck_checked = now;
    int nw = rt.nthreads < live.nw ? rt.nthreads : live.nw;
    for (int i = 0; i < nw; i++) {
        /* racy reads of another thread's state, confirmed by re-reading: task descriptors
         * are pooled, never unmapped, and an id changes whenever one is reused */
        struct tctx *c = __atomic_load_n(&rt.workers[i].ctx, __ATOMIC_ACQUIRE);
        const struct task *t = c ? __atomic_load_n(&c->cur, __ATOMIC_ACQUIRE) : NULL;
        uint64_t id = t ? __atomic_load_n(&t->id, __ATOMIC_ACQUIRE) : 0;
        if (t && (__atomic_load_n(&t->flags, __ATOMIC_RELAXED) & TF_IMPLICIT))
            t = NULL;
        struct sample *s = &live.w[i];
        if (t != s->t || id != s->id) {
            s->t = t;
            s->id = id;
            s->since = now;
            gettimeofday(&s->wall, NULL);
            continue;
        }
        if (!t || now - s->since < live.stuck_s)
            continue;
        const char *label = t->label ? t->label : "task", *file = t->file;
        int line = t->line;
        if (__atomic_load_n(&c->cur, __ATOMIC_ACQUIRE) != t ||
            __atomic_load_n(&t->id, __ATOMIC_ACQUIRE) != id)
            continue;
        struct tm tm;
        char at[32];
        localtime_r(&s->wall.tv_sec, &tm);
        strftime(at, sizeof at, "%H:%M:%S", &tm);
        char w[300] = "";
        if (file)
            snprintf(w, sizeof w, " (%s:%d)", file, line);
        fprintf(stderr, "dagrt[rank %d]: error: rank %d is stuck: task '%s'%s has been running "
                "on worker %d since %s.%03ld (%.1f s, over DAG_COMM_STUCK_MS=%.0f); ending the "
                "job\n", dist.rank, dist.rank, label, w, i, at, (long)s->wall.tv_usec / 1000,
                now - s->since, live.stuck_s * 1e3);
        comm_fail(DAG_ERR_TIMEOUT, -1, 1);
        comm_fail_hurry();
        return;
    }
}

void live_tick(double now)
{
    if (now - live.last_hb >= live.hb_interval) {
        live.last_hb = now;
        struct ctrl_msg m = {.type = CTRL_HEARTBEAT, .idx = (uint64_t)getpid(),
                             .hash = live.host};
        for (int r = 0; r < live.nranks; r++)
            if (r != dist.rank && !live.bye[r])
                live.tp->ctrl_send(r, &m);
    }
    if (comm_broken())
        return;
    check_pids(now);
    check_stuck(now);
    if (comm_broken())
        return;
    for (int r = 0; r < live.nranks; r++) {
        double limit = !live.heard[r] ? live.start_timeout
                       : live.lpid[r]  ? live.local_timeout /* alive: check_pids watches it */
                                       : live.timeout;
        if (r == dist.rank || live.bye[r] || now - live.last_seen[r] < limit)
            continue;
        char how[64];
        snprintf(how, sizeof how, "no message for %.1f s", now - live.last_seen[r]);
        dead(r, how);
        return;
    }
}
