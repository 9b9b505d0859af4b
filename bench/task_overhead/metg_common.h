/* metg_common.h: the granularity benchmark (Task Bench's METG: the smallest task size at
 * which a run keeps 50% efficiency) shared by its binaries (metg_dagcc, metg_libgomp,
 * metg_libomp, metg_starpu) and its driver (metg). Every pattern is a grid of WIDTH
 * columns by STEPS steps whose task bodies burn ITERS iterations of a calibrated kernel;
 * the binaries differ only in how they express the graph. */
#ifndef METG_COMMON_H
#define METG_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef enum mg_pattern {
    MG_INDEPENDENT = 0, /* WIDTH x STEPS tasks without dependencies, one creator, one wait */
    MG_CHAINS = 1,      /* WIDTH independent chains of STEPS tasks (inout on their column) */
    MG_STENCIL = 2,     /* 1-D stencil: (t, i) reads (t-1, i-1..i+1), double-buffered rows */
    MG_FAN = 3,         /* per step: one root (inout x), then WIDTH leaves (in x) */
    MG_NPATTERNS = 4
} mg_pattern_t;

#define MG_MAX_REPS 100

struct mg_args {
    int pattern, threads, reps, width, steps;
    long iters;
};

extern struct mg_args mg;
/* Data: independent: mg_out[STEPS * WIDTH]; chains: mg_grid[WIDTH]; stencil: mg_grid[2 *
 * WIDTH] (row t & 1 is written at step t); fan: mg_fan_x and mg_out[STEPS * WIDTH]. */
extern uint64_t *mg_out, *mg_grid;
extern uint64_t mg_fan_x;

const char *mg_pattern_name(int pattern);
int mg_pattern_parse(const char *name);
long mg_tasks(void);

/* ITERS iterations of a dependent multiply-add chain (a compiler cannot shorten it). */
uint64_t mg_burn(long iters);
/* 1 if burn's result is 42 (never, in practice): folded into every result so that the
 * burn cannot be removed, and the check still knows the exact expected value. */
static inline uint64_t mg_b(long iters) { return mg_burn(iters) == 42; }

/* The bodies, shared by every implementation that addresses the data directly. */
static inline void mg_indep_body(long k) { mg_out[k] = (uint64_t)k + 1 + mg_b(mg.iters); }
static inline void mg_chain_body(int i) { mg_grid[i] += 1 + mg_b(mg.iters); }
static inline void mg_stencil_body(int t, int i)
{
    const uint64_t *prev = mg_grid + (size_t)((t + 1) & 1) * mg.width;
    uint64_t s = prev[i] + 1 + mg_b(mg.iters);
    if (i > 0)
        s += prev[i - 1];
    if (i + 1 < mg.width)
        s += prev[i + 1];
    mg_grid[(size_t)(t & 1) * mg.width + i] = s;
}
static inline void mg_root_body(void) { mg_fan_x += 1 + mg_b(mg.iters); }
static inline void mg_leaf_body(int t, int i)
{
    mg_out[(size_t)t * mg.width + i] = mg_fan_x + mg_b(mg.iters);
}
/* Cells the stencil task (t, i) reads (clamped at the edges: a duplicate is harmless). */
static inline uint64_t *mg_prev(int t, int i)
{
    if (i < 0)
        i = 0;
    if (i >= mg.width)
        i = mg.width - 1;
    return mg_grid + (size_t)((t + 1) & 1) * mg.width + i;
}
static inline uint64_t *mg_cur(int t, int i) { return mg_grid + (size_t)(t & 1) * mg.width + i; }

/* Parse `argv[0] PATTERN THREADS REPS ITERS WIDTH STEPS` into mg; exits 2 on error. */
void mg_parse_args(int argc, char **argv);
/* Allocate and reset the data; mg_prepare before each repetition (not timed). */
void mg_data_init(void);
void mg_prepare(void);
/* 1 if the last repetition's data equals sequential execution; prints what differs. */
int mg_verify(void);
uint64_t mg_now_ns(void);
/* The shared timing loop (bench_harness.h): mg_prepare, run() timed (it waits for its
 * tasks; 1 on success), mg_verify, for the warm-up and mg.reps repetitions; ns[rep] per
 * timed one. Returns 1 when every repetition ran and verified. */
int mg_time_reps(int (*run)(void), uint64_t *ns);
/* Nanoseconds per burn iteration on this core (best of several 1 ms measurements). */
double mg_calibrate(void);
/* RESULT impl=.. pattern=.. threads=.. tasks=.. iters=.. width=.. steps=.. reps=..
 *        wall_ns=MEDIAN ns_per_iter=.. */
void mg_report(const char *impl, const uint64_t *ns, double ns_per_iter);

#endif
