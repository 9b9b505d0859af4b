/* test_nested.c: nested tasks: dependencies resolve among siblings only, taskwait waits
 * for children but not grandchildren, taskgroup waits for all descendants, deep
 * recursion, and waiting on specific data (taskwait depend). */
#include <stdlib.h>
#include <time.h>

#include "harness.h"

static gate_t gate;
static atomic_int grandchild_done, child_done, taken_by_waiter;
static long shared_x;

static int held(void *p)
{
    (void)p;
    /* the waiting thread may legally run the grandchild itself; it must not block on a
     * gate only it would open: such a run proves nothing and is repeated */
    if (dag_worker_id() == 0) {
        atomic_store(&taken_by_waiter, 1);
        atomic_store(&grandchild_done, 1);
        return 0;
    }
    gate_wait(&gate);
    atomic_store(&grandchild_done, 1);
    return 0;
}

/* child: spawns a held grandchild and returns without waiting for it */
static int child(void *p)
{
    (void)p;
    dag_submit(held, NULL, 0, NULL, 0, NULL);
    atomic_store(&child_done, 1);
    return 0;
}

START_TEST(test_taskwait_children_only)
{
    int proved = 0;
    for (int attempt = 0; attempt < 50 && !proved; attempt++) {
        rt_start(3);
        atomic_store(&gate.open, 0);
        atomic_store(&grandchild_done, 0);
        atomic_store(&child_done, 0);
        atomic_store(&taken_by_waiter, 0);
        dag_submit(child, NULL, 0, NULL, 0, NULL);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&child_done), 1);
        if (!atomic_load(&taken_by_waiter)) {
            ck_assert_int_eq(atomic_load(&grandchild_done), 0); /* held: not waited for */
            proved = 1;
        }
        gate_open(&gate);
        rt_stop(); /* drains the grandchild */
        ck_assert(atomic_load(&grandchild_done) || atomic_load(&taken_by_waiter));
    }
    ck_assert_msg(proved, "the grandchild always ran on the waiting thread");
}
END_TEST

static int open_later(void *p)
{
    (void)p;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    gate_open(&gate);
    return 0;
}

START_TEST(test_taskgroup_descendants)
{
    rt_start(3);
    atomic_store(&gate.open, 0);
    atomic_store(&grandchild_done, 0);
    ck_assert_int_eq(dag_taskgroup_begin(), DAG_OK);
    dag_submit(child, NULL, 0, NULL, 0, NULL);
    dag_submit(open_later, NULL, 0, NULL, 0, NULL);
    ck_assert_int_eq(dag_taskgroup_end(), DAG_OK);
    ck_assert_int_eq(atomic_load(&grandchild_done), 1);
    ck_assert_int_eq(dag_taskgroup_end(), DAG_ERR_STATE); /* none open */
    rt_stop();
}
END_TEST

/* Children of different parents name the same data; they are not siblings, so neither
 * waits for the other (OpenMP semantics): the second finishes while the first is held. */
static atomic_int second_ran;

static int held_writer(void *p)
{
    (void)p;
    gate_wait(&gate);
    return 0;
}

static int free_writer(void *p)
{
    (void)p;
    atomic_store(&second_ran, 1);
    return 0;
}

static int parent_one(void *p)
{
    (void)p;
    dag_dep_t d = {&shared_x, sizeof shared_x, DAG_INOUT};
    dag_submit(held_writer, NULL, 0, &d, 1, NULL);
    return 0; /* no wait: the held child outlives this body */
}

static int parent_two(void *p)
{
    (void)p;
    dag_dep_t d = {&shared_x, sizeof shared_x, DAG_INOUT};
    dag_submit(free_writer, NULL, 0, &d, 1, NULL);
    return dag_taskwait();
}

START_TEST(test_siblings_only)
{
    rt_start(4);
    atomic_store(&gate.open, 0);
    atomic_store(&second_ran, 0);
    dag_submit(parent_one, NULL, 0, NULL, 0, NULL);
    dag_submit(parent_two, NULL, 0, NULL, 0, NULL);
    for (int i = 0; i < 100000 && !atomic_load(&second_ran); i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(atomic_load(&second_ran), 1);
    gate_open(&gate);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    rt_stop();
}
END_TEST

/* Recursive Fibonacci with nested tasks and taskwait. */
struct fib_args {
    int n;
    long *out;
};

static int fib(void *p)
{
    struct fib_args *a = p;
    if (a->n < 2) {
        *a->out = a->n;
        return 0;
    }
    long x = 0, y = 0;
    struct fib_args l = {a->n - 1, &x}, r = {a->n - 2, &y};
    dag_submit(fib, &l, sizeof l, NULL, 0, NULL);
    dag_submit(fib, &r, sizeof r, NULL, 0, NULL);
    int st = dag_taskwait();
    *a->out = x + y;
    return st;
}

START_TEST(test_fib)
{
    for (int n = 1; n <= 4; n++) {
        rt_start(n);
        long out = 0;
        struct fib_args a = {22, &out};
        dag_submit(fib, &a, sizeof a, NULL, 0, NULL);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(out, 17711);
        rt_stop();
    }
}
END_TEST

/* Nested dependencies: a parent with inout on a block spawns children on sub-blocks
 * with dependencies among themselves, and waits. */
static long blocks[8][64];

static int scale_row16(void *p)
{
    long *row = *(long **)p;
    for (int i = 0; i < 16; i++)
        row[i] = row[i] * 2 + 1;
    return 0;
}

static int block_parent16(void *p)
{
    long *blk = *(long **)p;
    for (int k = 0; k < 4; k++)
        for (int part = 0; part < 4; part++) {
            long *row = blk + part * 16;
            dag_dep_t d = {row, 16 * sizeof(long), DAG_INOUT};
            dag_submit(scale_row16, &row, sizeof row, &d, 1, NULL);
        }
    return dag_taskwait();
}

START_TEST(test_nested_deps)
{
    rt_start(3);
    for (int b = 0; b < 8; b++)
        for (int i = 0; i < 64; i++)
            blocks[b][i] = b + i;
    for (int rep = 0; rep < 3; rep++)
        for (int b = 0; b < 8; b++) {
            long *blk = blocks[b];
            dag_dep_t d = {blk, sizeof blocks[b], DAG_INOUT};
            dag_submit(block_parent16, &blk, sizeof blk, &d, 1, NULL);
        }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (int b = 0; b < 8; b++)
        for (int i = 0; i < 64; i++) {
            long v = b + i;
            for (int k = 0; k < 12; k++)
                v = v * 2 + 1;
            ck_assert_int_eq(blocks[b][i], v);
        }
    rt_stop();
}
END_TEST

/* taskwait depend(in: x) waits for x's producer but not for an unrelated held task. */
static long x_val, y_val;

static int produce_x(void *p)
{
    (void)p;
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
    x_val = 42;
    return 0;
}

static int held_y(void *p)
{
    (void)p;
    gate_wait(&gate);
    y_val = 1;
    return 0;
}

START_TEST(test_taskwait_deps)
{
    rt_start(3);
    atomic_store(&gate.open, 0);
    x_val = y_val = 0;
    dag_dep_t dx = {&x_val, sizeof x_val, DAG_OUT}, dy = {&y_val, sizeof y_val, DAG_OUT};
    dag_submit(held_y, NULL, 0, &dy, 1, NULL);
    dag_submit(produce_x, NULL, 0, &dx, 1, NULL);
    dag_dep_t wx = {&x_val, sizeof x_val, DAG_IN};
    ck_assert_int_eq(dag_taskwait_deps(&wx, 1), DAG_OK);
    ck_assert_int_eq(x_val, 42);
    ck_assert_int_eq(y_val, 0);
    gate_open(&gate);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(y_val, 1);
    ck_assert_int_eq(dag_taskwait_deps(NULL, 0), DAG_OK);
    rt_stop();
}
END_TEST

/* Waiting on part of a range waits for a producer of the enclosing range. */
static char big[256];

static int produce_big(void *p)
{
    (void)p;
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 256; i++)
        big[i] = 1;
    return 0;
}

START_TEST(test_taskwait_deps_partial)
{
    rt_start(2);
    dag_dep_t d = {big, sizeof big, DAG_OUT};
    dag_submit(produce_big, NULL, 0, &d, 1, NULL);
    dag_dep_t w = {big + 100, 10, DAG_IN};
    ck_assert_int_eq(dag_taskwait_deps(&w, 1), DAG_OK);
    ck_assert_int_eq(big[105], 1);
    rt_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nested");
    TCase *tc = tcase_create("nested");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_taskwait_children_only);
    tcase_add_test(tc, test_taskgroup_descendants);
    tcase_add_test(tc, test_siblings_only);
    tcase_add_test(tc, test_fib);
    tcase_add_test(tc, test_nested_deps);
    tcase_add_test(tc, test_taskwait_deps);
    tcase_add_test(tc, test_taskwait_deps_partial);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
