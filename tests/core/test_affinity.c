/* test_affinity.c: the affinity placement hint (dag_task_attr_t.affinity, affinity(list)).
 * White-box: a task naming data goes to the box of the worker that last ran a task naming
 * the same data, while that worker is busy (the boxes' counts are read directly); a hint
 * never loses or delays a task (every task runs once, taskwait returns, with 2 and 4
 * workers and the home busy, asleep or gone); random programs with hints and dependences
 * match their sequential run. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "core/runtime.h"
#include "sched/affinity.h"

static atomic_int started, release, ran;
static double block_x[512], block_y[512]; /* the data the hints name */

static int note_worker(void *p)
{
    atomic_store(*(atomic_int **)p, dag_worker_id() + 1);
    return 0;
}

static int blocker(void *p)
{
    (void)p;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&release))
        ;
    return 0;
}

static int count(void *p)
{
    (void)p;
    atomic_fetch_add(&ran, 1);
    return 0;
}

/* Runs fn on a worker other than the calling thread (which stays out of the scheduler
 * until the task has started) and returns that worker's id. */
static int run_elsewhere(const void *aff)
{
    atomic_int where = 0, *pw = &where;
    dag_task_attr_t a = {.affinity = aff};
    ck_assert_int_eq(dag_submit(note_worker, &pw, sizeof pw, NULL, 0, &a), DAG_OK);
    while (!atomic_load(&where))
        ;
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    return atomic_load(&where) - 1;
}

START_TEST(test_hint_goes_to_home)
{
    rt_start(2);
    /* block_x's home: worker 1 (the main thread, worker 0, waits outside the scheduler) */
    int home = run_elsewhere(&block_x[0]);
    ck_assert_int_eq(home, 1);
    /* keep worker 1 busy, then submit tasks naming block_x (another line of it too: the
     * hint is per 64-byte line, so only the first element's line counts) */
    atomic_store(&started, 0), atomic_store(&release, 0), atomic_store(&ran, 0);
    ck_assert_int_eq(dag_submit(blocker, NULL, 0, NULL, 0, NULL), DAG_OK);
    while (!atomic_load(&started))
        ;
    enum { N = 40 };
    for (int i = 0; i < N; i++) {
        dag_task_attr_t a = {.affinity = &block_x[0]};
        ck_assert_int_eq(dag_submit(count, NULL, 0, NULL, 0, &a), DAG_OK);
    }
    /* data nobody ran a task on yet: no home, an ordinary push */
    dag_task_attr_t b = {.affinity = &block_y[0]};
    ck_assert_int_eq(dag_submit(count, NULL, 0, NULL, 0, &b), DAG_OK);
    ck_assert_int_eq(aff_queued_for(&rt.workers[1]), N);
    ck_assert_int_eq(aff_queued_for(&rt.workers[0]), 0);
    ck_assert_int_eq(aff_queued(), N);
    /* worker 1 is still busy: the main thread's wait takes them (a hint, not a wait) */
    atomic_store(&release, 1);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&ran), N + 1);
    ck_assert_int_eq(aff_queued(), 0);
    rt_stop();
}
END_TEST

START_TEST(test_home_busy_for_long)
{
    /* every worker but the main thread busy, the home among them, for the whole wait: the
     * main thread takes the home's box (taskyield) */
    rt_start(4);
    int home = run_elsewhere(&block_x[64]);
    ck_assert_int_ne(home, 0);
    atomic_store(&started, 0), atomic_store(&release, 0), atomic_store(&ran, 0);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dag_submit(blocker, NULL, 0, NULL, 0, NULL), DAG_OK);
    while (atomic_load(&started) < 3)
        ;
    for (int i = 0; i < 1000; i++) {
        dag_task_attr_t a = {.affinity = &block_x[64]};
        ck_assert_int_eq(dag_submit(count, NULL, 0, NULL, 0, &a), DAG_OK);
    }
    ck_assert_int_eq(aff_queued_for(&rt.workers[home]), 1000);
    while (atomic_load(&ran) < 1000)
        ck_assert_int_eq(dag_taskyield(), DAG_OK);
    atomic_store(&release, 1);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&ran), 1000);
    rt_stop();
}
END_TEST

/* random programs: blocks updated by chains of inout tasks, each naming a random block
 * as its affinity (its own, another, or none); the result equals the sequential run */
static unsigned long cells[64]; /* wraps: unsigned */
struct upd {
    int cell;
    unsigned long v;
};
static int update(void *p)
{
    struct upd *u = p;
    cells[u->cell] = cells[u->cell] * 3 + u->v; /* order matters within a cell */
    return 0;
}

START_TEST(test_random_with_hints)
{
    for (int threads = 2; threads <= 4; threads += 2) {
        rt_start(threads);
        for (int seed = 1; seed <= 6; seed++) {
            srand((unsigned)(seed * 7919 + threads));
            unsigned long want[64];
            memset(cells, 0, sizeof cells);
            memset(want, 0, sizeof want);
            int n = 2000 + rand() % 8000;
            for (int i = 0; i < n; i++) {
                struct upd u = {rand() % 64, (unsigned long)(rand() % 1000)};
                want[u.cell] = want[u.cell] * 3 + u.v;
                int h = rand() % 3;
                dag_task_attr_t a = {
                    .affinity = h == 0 ? (void *)&cells[u.cell]
                                : h == 1 ? (void *)&cells[rand() % 64] : NULL,
                    .priority = rand() % 16 == 0 ? 1 : 0};
                dag_dep_t d = {&cells[u.cell], sizeof cells[0], DAG_INOUT};
                ck_assert_int_eq(dag_submit(update, &u, sizeof u, &d, 1, &a), DAG_OK);
            }
            ck_assert_int_eq(dag_taskwait(), DAG_OK);
            for (int c = 0; c < 64; c++)
                ck_assert_msg(cells[c] == want[c], "threads %d seed %d cell %d: %lu, want %lu",
                              threads, seed, c, cells[c], want[c]);
            ck_assert_int_eq(aff_queued(), 0);
        }
        rt_stop();
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("affinity");
    TCase *tc = tcase_create("affinity");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hint_goes_to_home);
    tcase_add_test(tc, test_home_busy_for_long);
    tcase_add_test(tc, test_random_with_hints);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
