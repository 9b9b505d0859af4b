/* to_dagcc.c: the task_overhead patterns written with the dagcc runtime API (dag_submit
 * with {addr, len, mode} dependencies, dag_taskwait). Usage: task_overhead_dagcc PATTERN
 * THREADS REPS. */
#include "to_common.h"

#include <stdio.h>

#include "dag.h"

/* ---- task bodies (argument blocks are copied by dag_submit) ------------------------ */

struct indep_args {
    uint32_t index;
    unsigned char value;
};

static int indep_fn(void *args)
{
    const struct indep_args *a = args;
    to_indep[a->index] = a->value;
    return 0;
}

/* chain and the fanout writer: no argument block (NULL, 0) */
static int chain_fn(void *args)
{
    (void)args;
    to_chain_x += 1;
    return 0;
}

static int writer_fn(void *args)
{
    (void)args;
    to_fan_x += 1;
    return 0;
}

static int reader_fn(void *args)
{
    uint32_t slot = *(const uint32_t *)args;
    to_fan_seen[slot] = (uint32_t)to_fan_x;
    return 0;
}

struct wave_args {
    uint16_t i, j;
};

static int wave_fn(void *args)
{
    const struct wave_args *a = args;
    to_wave_body(a->i, a->j);
    return 0;
}

/* ---- patterns: submit every task, then dag_taskwait -------------------------------- */

static int check(dag_status_t st, const char *what)
{
    if (st == DAG_OK)
        return 1;
    fprintf(stderr, "dagcc: %s: %s\n", what, dag_strerror(st));
    return 0;
}

static int run_independent(unsigned char value)
{
    for (uint32_t i = 0; i < TO_INDEP_N; i++) {
        struct indep_args a = {i, value};
        if (!check(dag_submit(indep_fn, &a, sizeof a, NULL, 0, NULL), "dag_submit"))
            return 0;
    }
    return check(dag_taskwait(), "dag_taskwait");
}

static int run_chain(void)
{
    dag_dep_t dep = {&to_chain_x, sizeof to_chain_x, DAG_INOUT};
    for (long i = 0; i < TO_CHAIN_N; i++)
        if (!check(dag_submit(chain_fn, NULL, 0, &dep, 1, NULL), "dag_submit"))
            return 0;
    return check(dag_taskwait(), "dag_taskwait");
}

static int run_fanout(void)
{
    dag_dep_t in = {&to_fan_x, sizeof to_fan_x, DAG_IN};
    dag_dep_t inout = {&to_fan_x, sizeof to_fan_x, DAG_INOUT};
    for (uint32_t r = 0; r < TO_FAN_ROUNDS; r++) {
        for (uint32_t k = 0; k < TO_FAN_READERS; k++) {
            uint32_t slot = r * TO_FAN_READERS + k;
            if (!check(dag_submit(reader_fn, &slot, sizeof slot, &in, 1, NULL), "dag_submit"))
                return 0;
        }
        if (!check(dag_submit(writer_fn, NULL, 0, &inout, 1, NULL), "dag_submit"))
            return 0;
    }
    return check(dag_taskwait(), "dag_taskwait");
}

static int run_wavefront(void)
{
    for (int i = 0; i < TO_WAVE_N; i++) {
        for (int j = 0; j < TO_WAVE_N; j++) {
            dag_dep_t deps[3];
            size_t n = 0;
            if (i > 0)
                deps[n++] = (dag_dep_t){to_wave_at(i - 1, j), sizeof(uint64_t), DAG_IN};
            if (j > 0)
                deps[n++] = (dag_dep_t){to_wave_at(i, j - 1), sizeof(uint64_t), DAG_IN};
            deps[n++] = (dag_dep_t){to_wave_at(i, j), sizeof(uint64_t), DAG_INOUT};
            struct wave_args a = {(uint16_t)i, (uint16_t)j};
            if (!check(dag_submit(wave_fn, &a, sizeof a, deps, n, NULL), "dag_submit"))
                return 0;
        }
    }
    return check(dag_taskwait(), "dag_taskwait");
}

static int run_pattern(int pattern, int rep)
{
    switch (pattern) {
    case TO_INDEPENDENT: return run_independent(to_indep_value(rep));
    case TO_CHAIN: return run_chain();
    case TO_FANOUT: return run_fanout();
    case TO_WAVEFRONT: return run_wavefront();
    default: return 0;
    }
}

int main(int argc, char **argv)
{
    int pattern, threads, reps, ok = 1;
    uint64_t ns[TO_MAX_REPS];
    to_parse_args(argc, argv, &pattern, &threads, &reps);
    to_data_init();

    if (!check(dag_init(&(dag_config_t){.nthreads = threads}), "dag_init"))
        return 3;
    if (dag_num_threads() != threads) {
        fprintf(stderr, "dagcc: asked for %d threads, got %d\n", threads, dag_num_threads());
        ok = 0;
    }
    if (ok)
        ok = to_time_reps(pattern, reps, run_pattern, ns);
    if (!check(dag_finalize(), "dag_finalize"))
        ok = 0;
    if (!ok) {
        fprintf(stderr, "dagcc: %s on %d threads: wrong result\n", to_pattern_name(pattern),
                threads);
        return 1;
    }
    to_report("dagcc", pattern, threads, reps, ns);
    return 0;
}
