/* test_lifecycle.c: starting and stopping the runtime: implicit start, explicit init and
 * finalize (repeatable, with different thread counts), the drain at process exit,
 * DAG_NUM_THREADS, threads that are not workers, and idle workers that sleep instead
 * of burning the CPU. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static atomic_long counter;

static int bump(void *p)
{
    atomic_fetch_add((atomic_long *)*(void **)p, 1);
    return 0;
}

static void submit_bumps(atomic_long *target, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(dag_submit(bump, &target, sizeof target, NULL, 0, NULL), DAG_OK);
}

START_TEST(test_implicit_start)
{
    atomic_store(&counter, 0);
    submit_bumps(&counter, 1000); /* no dag_init */
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&counter), 1000);
    ck_assert_int_ge(dag_num_threads(), 1);
    ck_assert_int_eq(dag_worker_id(), 0);
    ck_assert_int_eq(dag_init(NULL), DAG_ERR_STATE); /* already running */
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    ck_assert_int_eq(dag_finalize(), DAG_ERR_STATE); /* not running */
}
END_TEST

START_TEST(test_restart_cycles)
{
    for (int cycle = 0; cycle < 40; cycle++) {
        int n = 1 + cycle % 4;
        rt_start(n);
        atomic_store(&counter, 0);
        submit_bumps(&counter, 2000);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&counter), 2000);
        rt_stop();
    }
}
END_TEST

/* A process that returns from main with tasks still queued runs them all first. */
START_TEST(test_drain_at_exit)
{
    atomic_long *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(shared, MAP_FAILED);
    atomic_store(shared, 0);
    pid_t pid = fork();
    if (pid == 0) {
        dag_init(&(dag_config_t){.nthreads = 2});
        submit_bumps(shared, 5000);
        exit(0); /* no taskwait */
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(atomic_load(shared), 5000);
    munmap(shared, sizeof *shared);
}
END_TEST

START_TEST(test_env_threads)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("DAG_NUM_THREADS", "3", 1);
        setenv("DAG_BIND", "none", 1);
        exit(dag_num_threads() == 3 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* Threads that are not workers submit and wait on their own task flows. */
static void *external(void *arg)
{
    atomic_long *local = arg;
    for (int round = 0; round < 20; round++) {
        submit_bumps(local, 100);
        if (dag_taskwait() != DAG_OK || dag_worker_id() != -1)
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_external_threads)
{
    rt_start(2);
    pthread_t th[3];
    atomic_long counts[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, external, &counts[i]);
    for (int i = 0; i < 3; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        ck_assert_ptr_null(ret);
        ck_assert_int_eq(atomic_load(&counts[i]), 2000);
    }
    rt_stop();
}
END_TEST

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Idle workers must sleep: over half a second of idleness, 3 spinning workers would use
 * 1.5 s of CPU; sleeping ones use almost none. */
START_TEST(test_idle_workers_sleep)
{
    rt_start(4);
    atomic_store(&counter, 0);
    submit_bumps(&counter, 100);
    dag_taskwait();
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL); /* let the spin phase end */
    double before = cpu_seconds();
    ts.tv_nsec = 500 * 1000000;
    nanosleep(&ts, NULL);
    double used = cpu_seconds() - before;
    ck_assert_msg(used < 0.2, "idle runtime used %.3f s of CPU in 0.5 s", used);
    rt_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_implicit_start);
    tcase_add_test(tc, test_restart_cycles);
    tcase_add_test(tc, test_drain_at_exit);
    tcase_add_test(tc, test_env_threads);
    tcase_add_test(tc, test_external_threads);
    tcase_add_test(tc, test_idle_workers_sleep);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
