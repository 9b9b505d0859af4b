/* test_priority.c: the priority policy on one thread: ready tasks run by descending
 * priority, ties in submission order, default-priority tasks after every positive one
 * and before every negative one; a task released by a predecessor is placed by its
 * priority too. */
#include <string.h>

#include "harness.h"

static int order[64];
static int norder;

static int record(void *p)
{
    order[norder++] = *(int *)p;
    return 0;
}

START_TEST(test_priority_order)
{
    rt_start(1);
    norder = 0;
    /* id, priority */
    static const int prio[][2] = {{0, 3}, {1, 1}, {2, 4}, {3, 1}, {4, 5}, {5, 9}, {6, 2},
                                  {7, 6}, {8, -1}, {9, 0}, {10, -5}, {11, 0}, {12, 7}};
    size_t n = sizeof prio / sizeof prio[0];
    for (size_t i = 0; i < n; i++) {
        dag_task_attr_t a = {.priority = prio[i][1]};
        ck_assert_int_eq(dag_submit(record, &prio[i][0], sizeof(int), NULL, 0, &a), DAG_OK);
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(norder, (int)n);
    static const int positive[] = {5, 12, 7, 4, 2, 0, 6, 1, 3};
    for (int i = 0; i < 9; i++)
        ck_assert_msg(order[i] == positive[i], "position %d: task %d, expected %d", i, order[i],
                      positive[i]);
    /* the two default-priority tasks, in either order, then -1, then -5 */
    ck_assert((order[9] == 9 && order[10] == 11) || (order[9] == 11 && order[10] == 9));
    ck_assert_int_eq(order[11], 8);
    ck_assert_int_eq(order[12], 10);
    rt_stop();
}
END_TEST

static long x;

START_TEST(test_priority_of_released_tasks)
{
    rt_start(1);
    norder = 0;
    static const int ids[] = {0, 1, 2, 3};
    dag_task_attr_t hi = {.priority = 10}, lo = {.priority = 1}, mid = {.priority = 5};
    dag_dep_t w = {&x, sizeof x, DAG_OUT}, r = {&x, sizeof x, DAG_IN};
    dag_submit(record, &ids[0], sizeof(int), &w, 1, &lo);   /* producer */
    dag_submit(record, &ids[1], sizeof(int), &r, 1, &lo);   /* released later, low */
    dag_submit(record, &ids[2], sizeof(int), &r, 1, &hi);   /* released later, high */
    dag_submit(record, &ids[3], sizeof(int), NULL, 0, &mid); /* ready now, between */
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    /* mid (5) runs before the producer (1); once the producer is done the high reader
     * (10) runs before the low one (1) */
    static const int want[] = {3, 0, 2, 1};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(order[i] == want[i], "position %d: %d, expected %d", i, order[i], want[i]);
    rt_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("priority");
    TCase *tc = tcase_create("priority");
    tcase_add_test(tc, test_priority_order);
    tcase_add_test(tc, test_priority_of_released_tasks);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
