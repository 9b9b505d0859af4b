/* to_common.h: what the task_overhead benchmark binaries share: the four patterns and
 * their sizes, the data their tasks touch, argument parsing, timing, result checking and
 * the one machine-readable result line that the task_overhead driver parses. */
#ifndef TO_COMMON_H
#define TO_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Pattern sizes (issue 2, item 7). */
#define TO_INDEP_N 1000000     /* independent: empty tasks, then one wait */
#define TO_CHAIN_N 100000      /* chain: inout tasks on one variable */
#define TO_FAN_ROUNDS 1000     /* fanout: rounds of ... */
#define TO_FAN_READERS 100     /* ... this many `in` readers, then one `inout` writer */
#define TO_WAVE_N 256          /* wavefront: TO_WAVE_N x TO_WAVE_N blocks */

#define TO_MAX_REPS 1000

typedef enum to_pattern {
    TO_INDEPENDENT = 0,
    TO_CHAIN = 1,
    TO_FANOUT = 2,
    TO_WAVEFRONT = 3,
    TO_NPATTERNS = 4
} to_pattern_t;

/* "independent", "chain", "fanout", "wavefront"; NULL out of range. */
const char *to_pattern_name(int pattern);
/* The pattern of that name, or -1. */
int to_pattern_parse(const char *name);
/* Number of tasks one repetition of the pattern submits. */
long to_pattern_tasks(int pattern);

/* Data the tasks of every implementation work on (allocated by to_data_init). The task
 * bodies are trivial stores so that nothing is optimised away and the result can be
 * checked:
 *   independent  task i:         to_indep[i] = value of the repetition
 *   chain        every task:     to_chain_x += 1
 *   fanout       reader k of r:  to_fan_seen[r * TO_FAN_READERS + k] = to_fan_x
 *                writer of r:    to_fan_x += 1
 *   wavefront    task (i, j):    to_wave[i][j] += top + left + 1 (absent neighbours: 0)
 */
extern unsigned char *to_indep;
extern uint64_t to_chain_x;
extern uint64_t to_fan_x;
extern uint32_t *to_fan_seen;
extern uint64_t *to_wave; /* row-major, TO_WAVE_N * TO_WAVE_N */

static inline uint64_t *to_wave_at(int i, int j) { return &to_wave[(size_t)i * TO_WAVE_N + j]; }

/* The body of wavefront task (i, j), shared by the implementations that address the grid
 * directly. */
static inline void to_wave_body(int i, int j)
{
    uint64_t top = i > 0 ? *to_wave_at(i - 1, j) : 0;
    uint64_t left = j > 0 ? *to_wave_at(i, j - 1) : 0;
    *to_wave_at(i, j) += top + left + 1;
}

/* The byte an independent task of repetition `rep` (-1: the warm-up) stores. */
static inline unsigned char to_indep_value(int rep) { return (unsigned char)(rep % 250 + 2); }

/* Allocate the data and compute the sequential reference; exits on failure. */
void to_data_init(void);
/* Reset the data the pattern touches before repetition `rep` (not timed). */
void to_prepare(int pattern, int rep);
/* Check the result of repetition `rep`; prints what is wrong to stderr and returns 0 if
 * the result differs from sequential execution, 1 if it is right. */
int to_verify(int pattern, int rep);

/* Parse `argv[0] pattern threads reps`; prints usage and exits 2 on error. */
void to_parse_args(int argc, char **argv, int *pattern, int *threads, int *reps);

/* The shared timing loop (bench_harness.h) for the pattern: to_prepare, run(pattern, rep)
 * timed (it waits for its tasks; returns 1 on success), to_verify; ns[rep] per timed
 * repetition. Returns 1 when every repetition ran and verified. */
int to_time_reps(int pattern, int reps, int (*run)(int pattern, int rep), uint64_t *ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t to_now_ns(void);

/* Print the result line parsed by the driver:
 *   RESULT impl=NAME pattern=P threads=T tasks=N reps=R ns_per_task=MEDIAN min=.. max=..
 * ns[] holds the elapsed time of each timed repetition. */
void to_report(const char *impl, int pattern, int threads, int reps, const uint64_t *ns);

#endif /* TO_COMMON_H */
