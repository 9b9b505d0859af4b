/* to_common.c: pattern table, data, result checks, timing and the result line shared by
 * every task_overhead benchmark binary (see to_common.h). Compiled into each binary, by
 * gcc and by clang alike. */
#define _POSIX_C_SOURCE 200809L
#include "to_common.h"
#include "bench_clock.h"
#include "bench_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

unsigned char *to_indep;
uint64_t to_chain_x;
uint64_t to_fan_x;
uint32_t *to_fan_seen;
uint64_t *to_wave;
static uint64_t *wave_ref;

static const char *const pattern_names[TO_NPATTERNS] = {"independent", "chain", "fanout",
                                                        "wavefront"};

const char *to_pattern_name(int pattern)
{
    return pattern >= 0 && pattern < TO_NPATTERNS ? pattern_names[pattern] : NULL;
}

int to_pattern_parse(const char *name)
{
    for (int p = 0; p < TO_NPATTERNS; p++)
        if (strcmp(name, pattern_names[p]) == 0)
            return p;
    return -1;
}

long to_pattern_tasks(int pattern)
{
    switch (pattern) {
    case TO_INDEPENDENT: return TO_INDEP_N;
    case TO_CHAIN: return TO_CHAIN_N;
    case TO_FANOUT: return (long)TO_FAN_ROUNDS * (TO_FAN_READERS + 1);
    case TO_WAVEFRONT: return (long)TO_WAVE_N * TO_WAVE_N;
    default: return 0;
    }
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p) {
        fprintf(stderr, "task_overhead: out of memory (%zu bytes)\n", size);
        exit(3);
    }
    return p;
}

void to_data_init(void)
{
    size_t cells = (size_t)TO_WAVE_N * TO_WAVE_N;
    to_indep = xmalloc(TO_INDEP_N);
    memset(to_indep, 0, TO_INDEP_N);
    to_fan_seen = xmalloc(sizeof *to_fan_seen * TO_FAN_ROUNDS * TO_FAN_READERS);
    to_wave = xmalloc(sizeof *to_wave * cells);
    wave_ref = xmalloc(sizeof *wave_ref * cells);
    /* The sequential recurrence, computed once (arithmetic wraps modulo 2^64). */
    memset(to_wave, 0, sizeof *to_wave * cells);
    for (int i = 0; i < TO_WAVE_N; i++)
        for (int j = 0; j < TO_WAVE_N; j++)
            to_wave_body(i, j);
    memcpy(wave_ref, to_wave, sizeof *to_wave * cells);
}

void to_prepare(int pattern, int rep)
{
    (void)rep;
    switch (pattern) {
    case TO_INDEPENDENT: break; /* each repetition stores a different value */
    case TO_CHAIN: to_chain_x = 0; break;
    case TO_FANOUT:
        to_fan_x = 0;
        memset(to_fan_seen, 0xff, sizeof *to_fan_seen * TO_FAN_ROUNDS * TO_FAN_READERS);
        break;
    case TO_WAVEFRONT:
        memset(to_wave, 0, sizeof *to_wave * TO_WAVE_N * TO_WAVE_N);
        break;
    default: break;
    }
}

int to_verify(int pattern, int rep)
{
    switch (pattern) {
    case TO_INDEPENDENT: {
        unsigned char v = to_indep_value(rep);
        for (long i = 0; i < TO_INDEP_N; i++)
            if (to_indep[i] != v) {
                fprintf(stderr, "independent: task %ld did not run (byte %u, want %u)\n", i,
                        to_indep[i], v);
                return 0;
            }
        return 1;
    }
    case TO_CHAIN:
        if (to_chain_x != TO_CHAIN_N) {
            fprintf(stderr, "chain: counter is %llu, want %d\n",
                    (unsigned long long)to_chain_x, TO_CHAIN_N);
            return 0;
        }
        return 1;
    case TO_FANOUT:
        if (to_fan_x != TO_FAN_ROUNDS) {
            fprintf(stderr, "fanout: counter is %llu, want %d\n", (unsigned long long)to_fan_x,
                    TO_FAN_ROUNDS);
            return 0;
        }
        for (long r = 0; r < TO_FAN_ROUNDS; r++)
            for (long k = 0; k < TO_FAN_READERS; k++)
                if (to_fan_seen[r * TO_FAN_READERS + k] != (uint32_t)r) {
                    fprintf(stderr, "fanout: reader %ld of round %ld saw %u, want %ld\n", k, r,
                            to_fan_seen[r * TO_FAN_READERS + k], r);
                    return 0;
                }
        return 1;
    case TO_WAVEFRONT:
        for (int i = 0; i < TO_WAVE_N; i++)
            for (int j = 0; j < TO_WAVE_N; j++)
                if (*to_wave_at(i, j) != wave_ref[(size_t)i * TO_WAVE_N + j]) {
                    fprintf(stderr, "wavefront: block (%d,%d) differs from sequential\n", i, j);
                    return 0;
                }
        return 1;
    default: return 0;
    }
}

void to_parse_args(int argc, char **argv, int *pattern, int *threads, int *reps)
{
    char *end;
    if (argc != 4)
        goto usage;
    *pattern = to_pattern_parse(argv[1]);
    if (*pattern < 0)
        goto usage;
    *threads = (int)strtol(argv[2], &end, 10);
    if (*end || *threads < 1 || *threads > 4096)
        goto usage;
    *reps = (int)strtol(argv[3], &end, 10);
    if (*end || *reps < 1 || *reps > TO_MAX_REPS)
        goto usage;
    return;
usage:
    fprintf(stderr,
            "usage: %s PATTERN THREADS REPS\n"
            "  PATTERN: independent | chain | fanout | wavefront\n"
            "  runs one warm-up and REPS (1..%d) timed repetitions; prints one RESULT line\n",
            argc > 0 ? argv[0] : "task_overhead_impl", TO_MAX_REPS);
    exit(2);
}

uint64_t to_now_ns(void)
{
    return bench_clock_ns();
}

void to_report(const char *impl, int pattern, int threads, int reps, const uint64_t *ns)
{
    uint64_t sorted[TO_MAX_REPS];
    double tasks = (double)to_pattern_tasks(pattern), median;
    memcpy(sorted, ns, sizeof *ns * (size_t)reps);
    qsort(sorted, (size_t)reps, sizeof *sorted, bench_cmp_u64);
    if (reps % 2)
        median = (double)sorted[reps / 2];
    else
        median = ((double)sorted[reps / 2 - 1] + (double)sorted[reps / 2]) / 2.0;
    printf("RESULT impl=%s pattern=%s threads=%d tasks=%ld reps=%d ns_per_task=%.2f "
           "min=%.2f max=%.2f\n",
           impl, to_pattern_name(pattern), threads, to_pattern_tasks(pattern), reps,
           median / tasks, (double)sorted[0] / tasks, (double)sorted[reps - 1] / tasks);
    fflush(stdout);
}

/* ---- the shared timing loop -------------------------------------------------------- */

struct to_loop {
    int pattern;
    int (*run)(int pattern, int rep);
};

static void to_loop_prepare(int rep, void *ctx) { to_prepare(((struct to_loop *)ctx)->pattern, rep); }
static int to_loop_run(int rep, void *ctx)
{
    struct to_loop *l = ctx;
    return l->run(l->pattern, rep);
}
static int to_loop_verify(int rep, void *ctx) { return to_verify(((struct to_loop *)ctx)->pattern, rep); }

int to_time_reps(int pattern, int reps, int (*run)(int pattern, int rep), uint64_t *ns)
{
    static const struct bench_ops ops = {to_loop_prepare, to_loop_run, to_loop_verify};
    struct to_loop l = {pattern, run};
    return bench_time_reps(reps, &ops, &l, ns);
}
