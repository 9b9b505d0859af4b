/* test_bind.c: DAG_BIND (sched/bind.c): `core` pins the calling thread (worker 0) to one
 * core of its cpuset and dag_finalize restores its binding; `auto`, the default, leaves
 * threads unpinned when the workers outnumber the cores (and when other processes hold
 * them); an unknown value warns and behaves as `auto`. Each test runs in its own process
 * (Check's fork mode), so the environment and the binding do not leak. */
#define _GNU_SOURCE
#include <hwloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "harness.h"

static cpu_set_t affinity(void)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    ck_assert_int_eq(pthread_getaffinity_np(pthread_self(), sizeof s, &s), 0);
    return s;
}

/* Cores hwloc sees in this thread's cpuset. */
static int cores_allowed(void)
{
    hwloc_topology_t topo;
    ck_assert_int_eq(hwloc_topology_init(&topo), 0);
    ck_assert_int_eq(hwloc_topology_load(topo), 0);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    ck_assert_int_eq(hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_THREAD), 0);
    int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, set, HWLOC_OBJ_CORE);
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return n;
}

static int pinned_on[64];
static int record_cpu(void *arg)
{
    int i = *(int *)arg;
    cpu_set_t s = affinity();
    pinned_on[i] = CPU_COUNT(&s);
    return 0;
}

/* Run tasks on every worker's deque long enough that several workers take some; returns
 * the largest affinity count a task saw. */
static int widest_task_affinity(int ntasks)
{
    for (int i = 0; i < ntasks; i++) {
        pinned_on[i] = 0;
        ck_assert_int_eq(dag_submit(record_cpu, &i, sizeof i, NULL, 0, NULL), DAG_OK);
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    int widest = 0;
    for (int i = 0; i < ntasks; i++) {
        ck_assert_int_gt(pinned_on[i], 0);
        if (pinned_on[i] > widest)
            widest = pinned_on[i];
    }
    return widest;
}

START_TEST(test_core_pins_and_restores)
{
    int cores = cores_allowed();
    cpu_set_t before = affinity();
    setenv("DAG_BIND", "core", 1);
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = 1}), DAG_OK);
    cpu_set_t during = affinity();
    /* a subset of the process's cpuset: one core's PUs */
    cpu_set_t both;
    CPU_AND(&both, &during, &before);
    ck_assert(CPU_EQUAL(&both, &during));
    if (cores >= 2)
        ck_assert_int_lt(CPU_COUNT(&during), CPU_COUNT(&before));
    ck_assert_int_eq(widest_task_affinity(64), CPU_COUNT(&during));
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    cpu_set_t after = affinity();
    ck_assert(CPU_EQUAL(&after, &before));
}
END_TEST

static void check_unpinned(const char *bind_env)
{
    int cores = cores_allowed();
    cpu_set_t before = affinity();
    if (bind_env)
        setenv("DAG_BIND", bind_env, 1);
    else
        unsetenv("DAG_BIND");
    /* more workers than cores: auto must not pin, whatever the machine's load */
    int n = cores + 2 < 64 ? cores + 2 : 64;
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = n}), DAG_OK);
    cpu_set_t during = affinity();
    ck_assert(CPU_EQUAL(&during, &before));
    ck_assert_int_eq(widest_task_affinity(64), CPU_COUNT(&before));
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    cpu_set_t after = affinity();
    ck_assert(CPU_EQUAL(&after, &before));
}

START_TEST(test_auto_oversubscribed_unpinned) { check_unpinned(NULL); }
END_TEST

START_TEST(test_auto_named) { check_unpinned("auto"); }
END_TEST

START_TEST(test_unknown_value_is_auto) { check_unpinned("sideways"); }
END_TEST

START_TEST(test_none_unpinned)
{
    cpu_set_t before = affinity();
    setenv("DAG_BIND", "none", 1);
    ck_assert_int_eq(dag_init(&(dag_config_t){.nthreads = 2}), DAG_OK);
    cpu_set_t during = affinity();
    ck_assert(CPU_EQUAL(&during, &before));
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bind");
    TCase *tc = tcase_create("bind");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_core_pins_and_restores);
    tcase_add_test(tc, test_auto_oversubscribed_unpinned);
    tcase_add_test(tc, test_auto_named);
    tcase_add_test(tc, test_unknown_value_is_auto);
    tcase_add_test(tc, test_none_unpinned);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
