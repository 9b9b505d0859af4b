/* obs.h: observability (issue 6): the recorder behind rt.hooks and what is built from it
 * at the end of a run: the Chrome trace (trace.c), the GraphViz export (dot.c), the
 * statistics (stats.c), the progress line and hang dumps (watch.c). Layers, bottom up:
 * names.c; record.c (the recorder); trace.c, dot.c, stats.c, watch.c; obs.c. A file
 * calls only into the layers below it (the recorder reaches the watchdog's registry
 * through obs.registry, which obs.c installs). Internal: never
 * installed. Recording must stay lock-free on the task paths; everything expensive
 * happens in obs_fini(), after the drain. */
#ifndef DAG_OBS_H
#define DAG_OBS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/runtime.h"

/* Lanes (trace "tid"s) within a rank (trace "pid"). Threads use their context index:
 * workers 0..nthreads-1, then other threads that call the API. The CUDA and MPI layers
 * pass lanes from the ranges below to the transfer / task_span hooks. */
#define OBS_LANE_DEVICE 1000 /* + device * 32 + stream (copy engines: streams 30, 31) */
#define OBS_LANE_COMM 2000   /* + peer rank, or the communication thread at 2000 */
#define OBS_LANE_MAX 65535

/* What a record is (orec.kind). */
enum { REC_TASK = 1, REC_CANCEL, REC_XFER, REC_SPAN };

/* orec.flags for REC_TASK / REC_CANCEL */
enum {
    RF_UNDEFERRED = 1u << 0,
    RF_FINAL = 1u << 1,
    RF_DETACHABLE = 1u << 2,
    RF_MUTEX = 1u << 3,
    RF_FAILED = 1u << 4,
    RF_INLINE = 1u << 5, /* ran without a descriptor of its own (no edges can exist) */
    RF_DEV_CUDA = 1u << 6
};

/* One event, 48 bytes. For REC_XFER: id = bytes, line = HOOK_XFER_* kind. */
struct orec {
    uint64_t id;
    uint64_t t0, t1; /* CLOCK_MONOTONIC ns */
    const char *label;
    const char *file;
    int32_t line;
    uint16_t lane;
    uint8_t kind;
    uint8_t flags;
};

struct oedge {
    uint64_t pred, succ;
};

struct obs_thread_stats {
    int lane;
    uint64_t busy_ns, sleep_ns, alive_ns;
};

/* ---- the run's records, gathered by obs_fini (record.c) ----------------------------- */
struct graph {
    struct orec *rec;   /* every record, all threads */
    size_t nrec;
    struct oedge *edge; /* pred -> succ by task id */
    size_t nedge;
    uint32_t *hash;     /* task id -> index in rec + 1 (0: empty); open addressing */
    size_t hmask;
    uint64_t t_begin, t_end; /* obs_init and obs_fini times */
    size_t dropped;     /* records lost to memory exhaustion */
    const struct obs_thread_stats *threads; /* per-thread accounting (statistics only) */
    size_t nthreads;
};

/* Builds g->hash from g->rec (record_collect does it); -1 if out of memory. */
int graph_index(struct graph *g);
/* Index in g->rec of the task with this id, or -1. */
long graph_find(const struct graph *g, uint64_t id);
/* Longest path (sum of durations) over the dependency edges. Fills path[] (indices,
 * first to last) up to cap entries when path is not NULL; returns its length in ns. */
uint64_t graph_critical_path(const struct graph *g, long *path, size_t cap, size_t *npath);

/* The live-task registry of the watchdog (watch.c), fed by the recorder's hooks through
 * obs.registry so that the recorder stays below the watchdog. */
struct obs_registry {
    void (*submit)(struct task *t, int lane);
    void (*edge)(struct task *p, struct task *s);
    void (*deps)(struct task *t, const dag_dep_t *deps, size_t ndeps);
    void (*start)(struct task *t, int lane);
    void (*end)(struct task *t);
};

/* ---- configuration and shared state (obs.c) ----------------------------------------- */
struct obs_state {
    int record;          /* keep per-task records: trace, DOT or statistics */
    /* keep live tasks for hang dumps: the watchdog's registry (watch.c), which the
     * recorder's hooks feed; NULL when off */
    const struct obs_registry *registry;
    int progress;
    double watchdog_s;   /* 0: no watchdog timer */
    char *trace_path, *dot_path;
    int stats;
    int rank, nranks;
    int64_t clock_offset_ns; /* add to this rank's clock to get the reference clock */
    unsigned gen;
    uint64_t t_begin;
    int nthreads;
};

extern struct obs_state obs;

/* Called by core/init.c: after the workers started / after the drain, before they stop.
 * Both do nothing unless a DAG_* observability variable asks for something. */
void obs_init(void);
void obs_fini(void);

/* For the distributed layer: this process's rank, the number of ranks, and the offset to
 * add to its CLOCK_MONOTONIC to reach rank 0's (measured at start-up). Call before tasks
 * run; without it the rank comes from the launcher's environment. */
void obs_set_rank(int rank, int nranks, int64_t clock_offset_ns);
/* ---- names.c (the bottom layer) ----------------------------------------------------- */
/* Name a lane (a CUDA stream, a peer) in traces; copies the name. */
void obs_lane_name(int lane, const char *name);
const char *obs_lane_name_get(int lane); /* NULL if unnamed; valid until obs_fini */
void obs_lane_names_clear(void);
/* Expands %r (rank) and %p (process id) in a path; returns a malloc'ed string. */
char *obs_path(const char *pattern);
/* Writes s as a JSON string body (without quotes). */
void json_escape(FILE *f, const char *s);
/* A task's display name: label, else the file's base name and line, else "task". */
const char *rec_name(const struct orec *r, char *buf, size_t size);

/* ---- record.c (the recorder, above names.c) ---------------------------------------- */

/* Counters for the progress line and the watchdog (sums over threads, racy reads). */
void obs_counts(uint64_t *submitted, uint64_t *done);
/* Per-thread accounting for the statistics; returns the number of entries. */
size_t obs_thread_stats(struct obs_thread_stats *out, size_t cap);

extern const struct rt_hooks obs_hooks;
void record_begin(void);
/* Moves every thread's records into g (allocating); frees the per-thread buffers. */
int record_collect(struct graph *g);
void graph_free(struct graph *g);

/* ---- the writers, above the recorder: outputs ---------------------------------------- */
dag_status_t trace_write(const struct graph *g, const char *path);  /* trace.c */
dag_status_t dot_write(const struct graph *g, const char *path);    /* dot.c */
void stats_print(const struct graph *g, FILE *out);                 /* stats.c */

/* ---- watch.c: progress line, watchdog, SIGUSR1 (above the recorder) ------------------ */
int watch_start(void);
void watch_stop(void);
/* The live-task registry: installed as obs.registry when DAG_WATCHDOG is set. */
extern const struct obs_registry watch_registry;
void reg_dump(FILE *out, const char *why);
void reg_clear(void);

#endif
