/* test_obs.c: observability (issue 6): the DAG_TRACE file is valid Chrome-trace JSON
 * with one slice per task, worker lanes and one flow pair per edge; DAG_DOT has the
 * nodes and edges; DAG_STATS prints the table and a critical path that matches the
 * graph; the critical path algorithm on a known graph; the watchdog and SIGUSR1 dumps
 * name the running producer and its waiting consumer; the progress line; per-rank
 * traces (%r) merged by dag-report onto one clock. Each test runs in its own process. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "obs_util.h"
#include "obs/obs.h"

static void clear_env(void)
{
    unsetenv("DAG_TRACE");
    unsetenv("DAG_DOT");
    unsetenv("DAG_STATS");
    unsetenv("DAG_WATCHDOG");
    setenv("DAG_PROGRESS", "0", 1);
}

static int body_spin(void *p)
{
    spin_for_us(*(long *)p);
    return 0;
}

static long x_cell, y_cell;
static atomic_int graph_submitted;

/* A: waits until the whole graph is submitted, so that A -> B and B -> C are real edges
 * even when the submitting thread is descheduled (a task finished before its successor
 * is submitted leaves no edge). */
static int body_first(void *p)
{
    while (!atomic_load(&graph_submitted))
        sched_yield();
    return body_spin(p);
}

/* A chain A -> B -> C on x_cell (each spinning `us`), and `nleaf` independent "leaf"
 * tasks spinning a hundredth of that (so that even a preempted leaf, on a loaded CI
 * machine, stays off the critical path). */
static void small_graph(int nleaf, long us)
{
    long leaf_us = us / 100 > 0 ? us / 100 : 1;
    dag_dep_t d = {&x_cell, sizeof x_cell, DAG_INOUT};
    const char *names[3] = {"A", "B", "C"};
    atomic_store(&graph_submitted, 0);
    for (int i = 0; i < 3; i++) {
        dag_task_attr_t a = {.label = names[i], .file = "tests/obs/test_obs.c", .line = 40 + i};
        ck_assert_int_eq(dag_submit(i ? body_spin : body_first, &us, sizeof us, &d, 1, &a),
                         DAG_OK);
    }
    for (int i = 0; i < nleaf; i++) {
        dag_task_attr_t a = {.label = "leaf", .file = "tests/obs/test_obs.c", .line = 50};
        ck_assert_int_eq(dag_submit(body_spin, &leaf_us, sizeof leaf_us, NULL, 0, &a), DAG_OK);
    }
    atomic_store(&graph_submitted, 1);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
}

START_TEST(trace_json)
{
    clear_env();
    const char *path = obs_tmp("trace.json");
    setenv("DAG_TRACE", path, 1);
    rt_start(2);
    small_graph(10, 200);
    rt_stop();
    size_t len;
    char *t = slurp_file(path, &len);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(json_check(t), 0);
    ck_assert_uint_eq(count_str(t, "\"ph\":\"X\""), 13);
    ck_assert_uint_eq(count_str(t, "\"cat\":\"task\""), 13);
    ck_assert_uint_eq(count_str(t, "\"ph\":\"s\""), 2);
    ck_assert_uint_eq(count_str(t, "\"ph\":\"f\""), 2);
    ck_assert_ptr_nonnull(strstr(t, "\"name\":\"A (test_obs.c:40)\""));
    ck_assert_ptr_nonnull(strstr(t, "\"src\":\"tests/obs/test_obs.c:42\""));
    ck_assert_ptr_nonnull(strstr(t, "\"name\":\"worker 0 (main)\""));
    ck_assert_ptr_nonnull(strstr(t, "\"name\":\"worker 1\""));
    ck_assert_ptr_nonnull(strstr(t, "\"clock\":\"CLOCK_MONOTONIC\""));
    /* line-oriented layout: header first, "]}" last (dag-report --merge relies on it) */
    ck_assert_ptr_nonnull(strstr(t, "\"format\":\"dagcc-trace-1\""));
    ck_assert(strchr(t, '\n') < strstr(t, "\"ph\":\"M\""));
    ck_assert_str_eq(t + len - 3, "]}\n");
    free(t);
}
END_TEST

START_TEST(trace_off_by_default)
{
    clear_env();
    rt_start(2);
    ck_assert_ptr_null(rt.hooks); /* nothing asked for: hot paths see NULL */
    small_graph(2, 10);
    rt_stop();
}
END_TEST

START_TEST(dot_graph)
{
    clear_env();
    const char *path = obs_tmp("g.dot");
    setenv("DAG_DOT", path, 1);
    rt_start(2);
    small_graph(4, 50);
    rt_stop();
    size_t len;
    char *t = slurp_file(path, &len);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(strstr(t, "digraph dag {"));
    ck_assert_ptr_nonnull(strstr(t, "subgraph cluster_rank0"));
    ck_assert_uint_eq(count_str(t, " -> "), 2);
    ck_assert_uint_ge(count_str(t, "[label=\""), 3);
    ck_assert_ptr_nonnull(strstr(t, "label=\"B\\ntest_obs.c:41"));
    free(t);
}
END_TEST

START_TEST(stats_summary)
{
    clear_env();
    setenv("DAG_STATS", "1", 1);
    cap_begin();
    rt_start(2);
    small_graph(6, 20000); /* chain of 3 x 20 ms: critical path >= 60 ms */
    rt_stop();
    char *out = cap_end();
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "dagcc statistics"));
    ck_assert_ptr_nonnull(strstr(out, "tasks by label"));
    ck_assert_ptr_nonnull(strstr(out, "leaf (test_obs.c:50)"));
    ck_assert_ptr_nonnull(strstr(out, "worker 1"));
    ck_assert_ptr_nonnull(strstr(out, "time in the runtime"));
    const char *cp = strstr(out, "critical path ");
    ck_assert_ptr_nonnull(cp);
    double ms = atof(cp + strlen("critical path "));
    ck_assert_msg(ms >= 60.0 && ms < 2000.0, "critical path %.3f ms", ms);
    ck_assert_ptr_nonnull(strstr(out, "critical path ends with: A -> B -> C"));
    free(out);
}
END_TEST

START_TEST(critical_path_known_graph)
{
    /* a(10) -> b(5), a -> c(20), b -> d(1), c -> d; e(25) alone: longest a,c,d = 31 */
    struct orec r[5];
    memset(r, 0, sizeof r);
    uint64_t dur[5] = {10, 5, 20, 1, 25};
    for (int i = 0; i < 5; i++) {
        r[i].id = 100 + (uint64_t)i;
        r[i].t0 = 1000;
        r[i].t1 = 1000 + dur[i];
        r[i].kind = REC_TASK;
    }
    struct oedge e[4] = {{100, 101}, {100, 102}, {101, 103}, {102, 103}};
    struct graph g = {.rec = r, .nrec = 5, .edge = e, .nedge = 4};
    ck_assert_int_eq(graph_index(&g), 0);
    long path[8];
    size_t np;
    ck_assert_uint_eq(graph_critical_path(&g, path, 8, &np), 31);
    ck_assert_uint_eq(np, 3);
    ck_assert_int_eq(path[0], 0);
    ck_assert_int_eq(path[1], 2);
    ck_assert_int_eq(path[2], 3);
    ck_assert_uint_eq(graph_critical_path(&g, path, 2, &np), 31); /* keeps the tail */
    ck_assert_uint_eq(np, 2);
    ck_assert_int_eq(path[0], 2);
    free(g.hash);
}
END_TEST

static gate_t hang_gate;

static int blocker(void *p)
{
    (void)p;
    gate_wait(&hang_gate);
    return 0;
}

static int consumer(void *p)
{
    (void)p;
    return 0;
}

/* "blocker" writes y_cell and hangs on a gate; "consumer" reads y_cell. */
static void submit_hang(void)
{
    dag_dep_t w = {&y_cell, sizeof y_cell, DAG_OUT}, r = {&y_cell, sizeof y_cell, DAG_IN};
    dag_task_attr_t a = {.label = "blocker", .file = "hang.c", .line = 7};
    dag_task_attr_t b = {.label = "consumer", .file = "hang.c", .line = 9};
    ck_assert_int_eq(dag_submit(blocker, NULL, 0, &w, 1, &a), DAG_OK);
    ck_assert_int_eq(dag_submit(consumer, NULL, 0, &r, 1, &b), DAG_OK);
}

static void check_dump(const char *out)
{
    ck_assert_ptr_nonnull(strstr(out, "hang diagnosis"));
    ck_assert_ptr_nonnull(strstr(out, "running on lane"));
    ck_assert_ptr_nonnull(strstr(out, "'blocker' at hang.c:7"));
    ck_assert_ptr_nonnull(strstr(out, "waiting (submitted by lane"));
    ck_assert_ptr_nonnull(strstr(out, "'consumer' at hang.c:9"));
    ck_assert_ptr_nonnull(strstr(out, "waits for running 'blocker'"));
}

/* Waits (up to 3 s) until a dump shows the blocked task running, then opens its gate,
 * drains and stops the runtime; returns everything captured. */
static char *await_dump_and_release(void)
{
    char *out = NULL;
    for (int i = 0; i < 60; i++) { /* up to 3 s */
        usleep(50000);
        free(out);
        out = cap_peek();
        if (out && strstr(out, "dagrt: 1 running"))
            break;
    }
    gate_open(&hang_gate);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    rt_stop();
    free(out);
    out = cap_end();
    return out;
}

START_TEST(watchdog_dump)
{
    clear_env();
    setenv("DAG_WATCHDOG", "0.3", 1);
    atomic_store(&hang_gate.open, 0);
    cap_begin();
    rt_start(2);
    submit_hang();
    char *out = await_dump_and_release();
    ck_assert_ptr_nonnull(strstr(out, "DAG_WATCHDOG: no task finished"));
    check_dump(out);
    free(out);
}
END_TEST

START_TEST(sigusr1_dump)
{
    clear_env();
    setenv("DAG_WATCHDOG", "signal", 1);
    atomic_store(&hang_gate.open, 0);
    cap_begin();
    rt_start(2);
    submit_hang();
    usleep(100000); /* let a worker start the blocker */
    raise(SIGUSR1);
    char *out = await_dump_and_release();
    ck_assert_ptr_nonnull(strstr(out, "hang diagnosis (SIGUSR1)"));
    check_dump(out);
    free(out);
}
END_TEST

START_TEST(progress_line)
{
    clear_env();
    setenv("DAG_PROGRESS", "1", 1);
    cap_begin();
    rt_start(2);
    long us = 100000;
    dag_dep_t d = {&x_cell, sizeof x_cell, DAG_INOUT};
    for (int i = 0; i < 18; i++) /* a 1.8 s chain */
        ck_assert_int_eq(dag_submit(body_spin, &us, sizeof us, &d, 1, NULL), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    rt_stop();
    char *out = cap_end();
    ck_assert_ptr_nonnull(strstr(out, "[dagcc] "));
    ck_assert_ptr_nonnull(strstr(out, "/18 tasks done"));
    ck_assert_ptr_nonnull(strstr(out, "s left"));
    free(out);
}
END_TEST

static double first_ts(const char *t, int pid)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"pid\":%d,", pid);
    double best = 1e300;
    for (const char *p = t; (p = strstr(p, "{\"ph\":\"X\",\"ts\":")); p++) {
        const char *eol = strchr(p, '\n');
        const char *q = strstr(p, pat);
        if (q && (!eol || q < eol)) {
            double v = atof(p + strlen("{\"ph\":\"X\",\"ts\":"));
            if (v < best)
                best = v;
        }
    }
    return best;
}

START_TEST(merge_ranks)
{
    clear_env();
    char pattern[256];
    snprintf(pattern, sizeof pattern, "%s/rank%%r.json", obs_tmpdir());
    setenv("DAG_TRACE", pattern, 1);
    setenv("DAG_COMM", "none", 1); /* the rank comes from the launcher's variables only */
    setenv("SLURM_NTASKS", "2", 1);
    for (int r = 0; r < 2; r++) {
        setenv("SLURM_PROCID", r ? "1" : "0", 1);
        rt_start(2);
        small_graph(2, 100);
        rt_stop();
        usleep(20000); /* rank 1 starts >= 20 ms later on the same clock */
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --merge %s %s -o %s", DAG_REPORT, obs_tmp("rank0.json"),
             obs_tmp("rank1.json"), obs_tmp("merged.json"));
    ck_assert_int_eq(system(cmd), 0);
    size_t len;
    char *m = slurp_file(obs_tmp("merged.json"), &len);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(json_check(m), 0);
    ck_assert_uint_eq(count_str(m, "\"ph\":\"X\""), 10);
    ck_assert_uint_eq(count_str(m, "\"name\":\"rank 1\""), 1);
    char *r1 = slurp_file(obs_tmp("rank1.json"), &len);
    ck_assert_ptr_nonnull(r1);
    /* on the merged clock, rank 1's first task is >= 20 ms after rank 0's */
    double d_merged = first_ts(m, 1) - first_ts(m, 0);
    ck_assert_msg(d_merged >= 20000.0, "rank 1 starts %.3f us after rank 0", d_merged);
    ck_assert_msg(first_ts(r1, 1) < 20000.0, "rank 1's own file is on its own t0");
    snprintf(cmd, sizeof cmd, "%s %s %s -o %s", DAG_REPORT, obs_tmp("rank0.json"),
             obs_tmp("rank1.json"), obs_tmp("merged.html"));
    ck_assert_int_eq(system(cmd), 0);
    free(m);
    free(r1);
}
END_TEST

/* One test case per test, so that ctest can run each alone (CK_RUN_CASE=name). */
#define CASE(name)                                   \
    do {                                             \
        TCase *tc = tcase_create(#name);             \
        tcase_set_timeout(tc, 60);                   \
        tcase_add_test(tc, name);                    \
        suite_add_tcase(s, tc);                      \
    } while (0)

static Suite *make_suite(void)
{
    Suite *s = suite_create("obs");
    CASE(trace_json);
    CASE(trace_off_by_default);
    CASE(dot_graph);
    CASE(stats_summary);
    CASE(critical_path_known_graph);
    CASE(watchdog_dump);
    CASE(sigusr1_dump);
    CASE(progress_line);
    CASE(merge_ranks);
    return s;
}

int main(void)
{
    return run_suite(make_suite());
}
