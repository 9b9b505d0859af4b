/* obs.c: switching observability on and off, the top of runtime/obs: reads the DAG_*
 * variables (documented in docs/observability.md), installs the recorder's hooks and the
 * watchdog's registry, and at the end of a run hands the records to the writers. When no variable asks for anything, rt.hooks stays NULL and the
 * runtime pays one pointer test per event. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obs.h"
#include "../core/hooks.h"

/* Installed in place of obs_hooks at the end of a run: workers may still be between a
 * test of rt.hooks and a call through it, so the table must stay a valid table. */
static const struct rt_hooks no_hooks;

static int rank_set;
static int active; /* obs_init installed obs_hooks; obs_fini has not run yet */

static int env_flag(const char *name, int dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    if (!strcmp(s, "0") || !strcasecmp(s, "off") || !strcasecmp(s, "no") ||
        !strcasecmp(s, "false"))
        return 0;
    return 1;
}

static char *env_path(const char *name)
{
    const char *s = getenv(name);
    return s && *s ? obs_path(s) : NULL;
}

/* The rank as the launchers export it, for runs where the MPI layer has not told us. */
static void env_rank(void)
{
    static const char *const vars[][2] = {
        {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, {"PMI_RANK", "PMI_SIZE"},
        {"PMIX_RANK", NULL}, {"SLURM_PROCID", "SLURM_NTASKS"}};
    obs.rank = 0;
    obs.nranks = 1;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *r = getenv(vars[i][0]);
        if (r && *r) {
            obs.rank = atoi(r);
            const char *n = vars[i][1] ? getenv(vars[i][1]) : NULL;
            obs.nranks = n && *n ? atoi(n) : obs.rank + 1;
            return;
        }
    }
}

void obs_set_rank(int rank, int nranks, int64_t clock_offset_ns)
{
    obs.rank = rank;
    obs.nranks = nranks;
    obs.clock_offset_ns = clock_offset_ns;
    rank_set = 1;
    /* the paths may name the rank */
    char *t = env_path("DAG_TRACE"), *d = env_path("DAG_DOT");
    if (obs.trace_path) {
        free(obs.trace_path);
        obs.trace_path = t;
    } else {
        free(t);
    }
    if (obs.dot_path) {
        free(obs.dot_path);
        obs.dot_path = d;
    } else {
        free(d);
    }
}

void obs_init(void)
{
    free(obs.trace_path);
    free(obs.dot_path);
    obs.trace_path = obs.dot_path = NULL;
    if (!rank_set)
        env_rank();
    obs.trace_path = env_path("DAG_TRACE");
    obs.dot_path = env_path("DAG_DOT");
    obs.stats = env_flag("DAG_STATS", 0);
    obs.record = obs.trace_path || obs.dot_path || obs.stats;
    /* auto: on a terminal, and not with one worker, where counting would turn off the
     * run-at-submission fast path (core/task.c, eager_ok) of every interactive run */
    const char *pr = getenv("DAG_PROGRESS");
    if (!pr || !*pr || !strcmp(pr, "auto"))
        obs.progress = isatty(STDERR_FILENO) && rt.nthreads > 1;
    else
        obs.progress = env_flag("DAG_PROGRESS", 0);
    obs.watchdog_s = 0;
    obs.registry = NULL;
    const char *w = getenv("DAG_WATCHDOG");
    if (w && *w && strcmp(w, "0") != 0) {
        char *end;
        double s = strtod(w, &end);
        obs.registry = &watch_registry; /* SIGUSR1 dumps in every mode */
        if (end != w && !*end && s > 0)
            obs.watchdog_s = s;
        else if (strcmp(w, "signal") != 0)
            fprintf(stderr, "dagrt: warning: DAG_WATCHDOG=%s: expected seconds or 'signal'; "
                            "SIGUSR1 dumps only\n", w);
    }
    obs.nthreads = rt.nthreads;
    obs.gen++;
    obs.t_begin = clock_now_ns();
    if (rt.hooks == &no_hooks)
        rt.hooks = NULL;
    if (!obs.record && !obs.progress && !obs.registry)
        return;
    if (rt.hooks) {
        /* someone else's hooks (a test's recorder): do not take them over */
        obs.record = obs.progress = 0;
        obs.registry = NULL;
        return;
    }
    record_begin();
    rt.hooks = &obs_hooks;
    active = 1;
    if ((obs.progress || obs.registry) && watch_start())
        fprintf(stderr, "dagrt: warning: no observability thread: no progress line or "
                        "watchdog\n");
}

void obs_fini(void)
{
    if (!active)
        return;
    active = 0;
    watch_stop();
    /* the drain is complete: no task can start, so the buffers are stable. (A test may
     * have replaced our table meanwhile: then leave its table alone.) */
    if (rt.hooks == &obs_hooks)
        rt.hooks = &no_hooks;
    uint64_t t_end = clock_now_ns();
    struct obs_thread_stats *ts = NULL;
    size_t nts = 0;
    if (obs.stats) {
        /* read before record_collect frees the buffers */
        size_t cap = (size_t)obs.nthreads + 64;
        ts = malloc(sizeof *ts * cap);
        nts = ts ? obs_thread_stats(ts, cap) : 0;
    }
    struct graph g;
    int ok = record_collect(&g) == 0;
    if (obs.record && !ok)
        fprintf(stderr, "dagrt: warning: out of memory collecting the trace\n");
    if (obs.record && ok) {
        g.t_begin = obs.t_begin;
        g.t_end = t_end;
        g.threads = ts;
        g.nthreads = nts;
        if (obs.trace_path && trace_write(&g, obs.trace_path) != DAG_OK)
            fprintf(stderr, "dagrt: warning: could not write the trace to %s\n",
                    obs.trace_path);
        if (obs.dot_path && dot_write(&g, obs.dot_path) != DAG_OK)
            fprintf(stderr, "dagrt: warning: could not write the graph to %s\n",
                    obs.dot_path);
        if (obs.stats)
            stats_print(&g, stderr);
    }
    graph_free(&g);
    free(ts);
    reg_clear();
    obs.gen++;
    obs_lane_names_clear();
}
