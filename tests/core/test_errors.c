/* test_errors.c: task failures: the waiter gets DAG_ERR_TASK_FAILED with the task's
 * label and source location, dependent tasks are cancelled (not run) and counted,
 * independent work still runs, failures travel up through parents and taskgroups and
 * are reported once, and an unreported failure is printed at exit. Also the status
 * strings and argument checking. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static atomic_int ran_after, ran_independent;
static long data_a, data_b;

static int fail7(void *p)
{
    (void)p;
    return 7;
}

static int mark_after(void *p)
{
    (void)p;
    atomic_fetch_add(&ran_after, 1);
    return 0;
}

static int mark_independent(void *p)
{
    (void)p;
    atomic_fetch_add(&ran_independent, 1);
    return 0;
}

START_TEST(test_failure_reaches_waiter)
{
    for (int nt = 1; nt <= 3; nt++) {
        rt_start(nt);
        atomic_store(&ran_after, 0);
        atomic_store(&ran_independent, 0);
        dag_task_attr_t attr = {.label = "boom", .file = "solver.c", .line = 42, .col = 5};
        dag_dep_t wa = {&data_a, sizeof data_a, DAG_OUT};
        dag_dep_t ra_wb[] = {{&data_a, sizeof data_a, DAG_IN}, {&data_b, sizeof data_b, DAG_OUT}};
        dag_dep_t rb = {&data_b, sizeof data_b, DAG_IN};
        ck_assert_int_eq(dag_submit(fail7, NULL, 0, &wa, 1, &attr), DAG_OK);
        dag_submit(mark_after, NULL, 0, ra_wb, 2, NULL); /* cancelled */
        dag_submit(mark_after, NULL, 0, &rb, 1, NULL);   /* cancelled transitively */
        for (int i = 0; i < 10; i++)
            dag_submit(mark_independent, NULL, 0, NULL, 0, NULL);
        ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
        ck_assert_int_eq(atomic_load(&ran_after), 0);
        ck_assert_int_eq(atomic_load(&ran_independent), 10);
        dag_error_t e;
        ck_assert_int_eq(dag_last_error(&e), DAG_OK);
        ck_assert_int_eq(e.status, DAG_ERR_TASK_FAILED);
        ck_assert_int_eq(e.code, 7);
        ck_assert_str_eq(e.label, "boom");
        ck_assert_str_eq(e.file, "solver.c");
        ck_assert_int_eq(e.line, 42);
        ck_assert_int_eq(e.col, 5);
        ck_assert_int_eq(e.ncancelled, 2);
        char buf[256];
        ck_assert_str_eq(dag_error_format(&e, buf, sizeof buf),
                         "solver.c:42:5: task 'boom' failed with code 7 (2 dependent tasks cancelled)");
        /* reported once: the next wait is clean, and the data can be used again */
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        dag_submit(mark_after, NULL, 0, &rb, 1, NULL);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&ran_after), 1);
        rt_stop();
    }
}
END_TEST

/* A successor submitted after the failed task finished is still cancelled: the
 * failure stays in the data until a wait reports it. */
START_TEST(test_late_successor_cancelled)
{
    for (int nt = 1; nt <= 3; nt++) {
        rt_start(nt);
        atomic_store(&ran_after, 0);
        dag_dep_t wa = {&data_a, sizeof data_a, DAG_OUT};
        dag_dep_t part = {(char *)&data_a + 2, 2, DAG_IN}; /* overlaps, not equal */
        dag_submit(fail7, NULL, 0, &wa, 1, NULL);
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* the failed task has long finished */
        dag_submit(mark_after, NULL, 0, &part, 1, NULL);
        dag_submit(mark_after, NULL, 0, &wa, 1, NULL);
        ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
        ck_assert_int_eq(atomic_load(&ran_after), 0);
        dag_error_t e;
        dag_last_error(&e);
        ck_assert_int_eq(e.ncancelled, 2);
        dag_submit(mark_after, NULL, 0, &part, 1, NULL);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&ran_after), 1);
        rt_stop();
    }
}
END_TEST

/* An unlabelled task is named by its function (the test executable exports symbols). */
int unlabelled_failing_body(void *p);
int unlabelled_failing_body(void *p)
{
    (void)p;
    return -1;
}

START_TEST(test_unlabelled_name)
{
    rt_start(2);
    dag_submit(unlabelled_failing_body, NULL, 0, NULL, 0, NULL);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    dag_error_t e;
    dag_last_error(&e);
    ck_assert_str_eq(e.label, "unlabelled_failing_body");
    ck_assert_ptr_null(e.file);
    rt_stop();
}
END_TEST

static int parent_no_wait(void *p)
{
    (void)p;
    dag_task_attr_t attr = {.label = "deep", .file = "deep.c", .line = 3};
    dag_submit(fail7, NULL, 0, NULL, 0, &attr);
    return 0;
}

START_TEST(test_nested_failures)
{
    rt_start(3);
    /* a failure nobody waited for in the parent reaches a wait of the grandparent: the
     * taskwait if the parent was freed by then, else the final drain; exactly once */
    dag_submit(parent_no_wait, NULL, 0, NULL, 0, NULL);
    int first = dag_taskwait();
    int second = dag_finalize();
    ck_assert((first == DAG_ERR_TASK_FAILED) != (second == DAG_ERR_TASK_FAILED));
    ck_assert(first == DAG_OK || second == DAG_OK);
    dag_error_t e;
    dag_last_error(&e);
    ck_assert_str_eq(e.label, "deep");
    ck_assert_str_eq(e.file, "deep.c");
}
END_TEST

struct seen_args {
    int *seen;
};

static int parent_waits2(void *p)
{
    struct seen_args *a = p;
    dag_task_attr_t attr = {.label = "inner", .line = 9};
    dag_submit(fail7, NULL, 0, NULL, 0, &attr);
    *a->seen = dag_taskwait();
    return 0;
}

START_TEST(test_handled_inside)
{
    rt_start(3);
    int seen = 0;
    struct seen_args a = {&seen};
    dag_submit(parent_waits2, &a, sizeof a, NULL, 0, NULL);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(seen, DAG_ERR_TASK_FAILED);
    rt_stop();
}
END_TEST

START_TEST(test_taskgroup_reports_once)
{
    rt_start(2);
    dag_taskgroup_begin();
    dag_task_attr_t attr = {.label = "in-group"};
    dag_submit(fail7, NULL, 0, NULL, 0, &attr);
    ck_assert_int_eq(dag_taskgroup_end(), DAG_ERR_TASK_FAILED);
    dag_error_t e;
    dag_last_error(&e);
    ck_assert_str_eq(e.label, "in-group");
    ck_assert_int_eq(dag_taskwait(), DAG_OK); /* already reported */
    rt_stop();
}
END_TEST

START_TEST(test_undeferred_failure)
{
    rt_start(2);
    dag_task_attr_t attr = {.label = "sync", .flags = DAG_TASK_UNDEFERRED};
    ck_assert_int_eq(dag_submit(fail7, NULL, 0, NULL, 0, &attr), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    dag_dep_t d = {&data_a, sizeof data_a, DAG_INOUT};
    ck_assert_int_eq(dag_submit(fail7, NULL, 0, &d, 1, &attr), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    rt_stop();
}
END_TEST

/* An unbalanced taskgroup inside a task is closed by the runtime and fails the task. */
static int leaves_group_open(void *p)
{
    (void)p;
    dag_taskgroup_begin();
    dag_submit(mark_independent, NULL, 0, NULL, 0, NULL);
    return 0;
}

START_TEST(test_unbalanced_group)
{
    rt_start(2);
    atomic_store(&ran_independent, 0);
    dag_task_attr_t attr = {.label = "sloppy"};
    dag_submit(leaves_group_open, NULL, 0, NULL, 0, &attr);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    dag_error_t e;
    dag_last_error(&e);
    ck_assert_int_eq(e.code, DAG_ERR_STATE);
    ck_assert_int_eq(atomic_load(&ran_independent), 1);
    rt_stop();
}
END_TEST

/* A failure nobody waits for is printed when the process exits. */
START_TEST(test_reported_at_exit)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        dag_task_attr_t attr = {.label = "lost", .file = "main.c", .line = 12};
        dag_submit(fail7, NULL, 0, NULL, 0, &attr);
        exit(0);
    }
    close(fd[1]);
    char out[1024] = {0};
    size_t n = 0;
    ssize_t k;
    while (n < sizeof out - 1 && (k = read(fd[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)k;
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    ck_assert_msg(strstr(out, "dagrt: error: main.c:12: task 'lost' failed with code 7") != NULL,
                  "stderr was: %s", out);
}
END_TEST

START_TEST(test_strerror)
{
    for (int s = 0; s >= -12; s--) {
        const char *m = dag_strerror((dag_status_t)s);
        ck_assert_ptr_nonnull(m);
        ck_assert(strlen(m) > 3);
        for (int t = 0; t > s; t--)
            ck_assert_str_ne(m, dag_strerror((dag_status_t)t));
    }
    ck_assert_str_eq(dag_strerror((dag_status_t)-99), "unknown status");
    dag_error_t e;
    ck_assert_int_eq(dag_last_error(NULL), DAG_ERR_INVALID);
    (void)e;
}
END_TEST

/* dag_submit accepts only the DAG_TASK_* bits of include/dag.h: any other bit (an
 * unknown one, or one of the runtime's private ones) is DAG_ERR_INVALID and the task
 * does not run; the public bits alone still run. */
START_TEST(test_unknown_flags_rejected)
{
    for (int nt = 1; nt <= 2; nt++) {
        rt_start(nt);
        atomic_store(&ran_independent, 0);
        int rejected = 0, accepted = 0;
        for (int bit = 0; bit < 32; bit++) {
            unsigned f = 1u << bit;
            dag_task_attr_t a = {.label = "flagged", .flags = f, .node = 0}; /* rank 0 */
            dag_status_t st = dag_submit(mark_independent, NULL, 0, NULL, 0, &a);
            int public_bit = f == DAG_TASK_UNDEFERRED || f == DAG_TASK_FINAL ||
                             f == DAG_TASK_ON_NODE || f == DAG_TASK_DETACHABLE;
            if (public_bit) {
                ck_assert_int_eq(st, DAG_OK);
                accepted++;
            } else {
                ck_assert_msg(st == DAG_ERR_INVALID, "flag 0x%x: status %d", f, (int)st);
                rejected++;
            }
        }
        /* a public bit with an unknown one is rejected as a whole */
        dag_task_attr_t mixed = {.flags = DAG_TASK_FINAL | 0x100u};
        ck_assert_int_eq(dag_submit(mark_independent, NULL, 0, NULL, 0, &mixed), DAG_ERR_INVALID);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(accepted, 4);
        ck_assert_int_eq(rejected, 28);
        ck_assert_int_eq(atomic_load(&ran_independent), accepted);
        rt_stop();
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_failure_reaches_waiter);
    tcase_add_test(tc, test_late_successor_cancelled);
    tcase_add_test(tc, test_unlabelled_name);
    tcase_add_test(tc, test_nested_failures);
    tcase_add_test(tc, test_handled_inside);
    tcase_add_test(tc, test_taskgroup_reports_once);
    tcase_add_test(tc, test_undeferred_failure);
    tcase_add_test(tc, test_unbalanced_group);
    tcase_add_test(tc, test_reported_at_exit);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_unknown_flags_rejected);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
