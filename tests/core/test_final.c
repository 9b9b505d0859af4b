/* test_final.c: undeferred tasks (if(false)) run on the submitting thread before
 * dag_submit returns, after their predecessors; final tasks run their descendants
 * inline; large argument blocks are copied; the submitter's copy may change at once. */
#include <string.h>
#include <time.h>

#include "harness.h"

static long x;
static atomic_int producer_done;

static int slow_producer(void *p)
{
    (void)p;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    x = 5;
    atomic_store(&producer_done, 1);
    return 0;
}

struct undeferred_args {
    long seen;
    int worker;
    int *ran;
};

static int consumer(void *p)
{
    struct undeferred_args *a = p;
    *a->ran = (int)x * 10 + (dag_worker_id() == 0);
    return 0;
}

START_TEST(test_undeferred_waits_for_inputs)
{
    rt_start(3);
    x = 0;
    atomic_store(&producer_done, 0);
    int ran = -1;
    struct undeferred_args a = {0, 0, &ran};
    dag_dep_t w = {&x, sizeof x, DAG_OUT}, r = {&x, sizeof x, DAG_IN};
    dag_submit(slow_producer, NULL, 0, &w, 1, NULL);
    dag_task_attr_t undeferred = {.flags = DAG_TASK_UNDEFERRED};
    ck_assert_int_eq(dag_submit(consumer, &a, sizeof a, &r, 1, &undeferred), DAG_OK);
    /* ran on this thread (worker 0), after the producer, before dag_submit returned */
    ck_assert_int_eq(ran, 51);
    dag_submit(consumer, &a, sizeof a, NULL, 0, &undeferred);
    ck_assert_int_eq(ran, 51);
    rt_stop();
}
END_TEST

static atomic_int in_final_seen, children_ran;

static int final_child(void *p)
{
    (void)p;
    if (dag_in_final())
        atomic_fetch_add(&in_final_seen, 1);
    atomic_fetch_add(&children_ran, 1);
    return 0;
}

static int final_parent(void *p)
{
    (void)p;
    for (int i = 0; i < 10; i++) {
        int before = atomic_load(&children_ran);
        dag_submit(final_child, NULL, 0, NULL, 0, NULL);
        if (atomic_load(&children_ran) != before + 1)
            return 1; /* not included: it should have run already */
    }
    return 0;
}

START_TEST(test_final_includes_descendants)
{
    rt_start(2);
    atomic_store(&in_final_seen, 0);
    atomic_store(&children_ran, 0);
    dag_task_attr_t fin = {.flags = DAG_TASK_FINAL};
    dag_submit(final_parent, NULL, 0, NULL, 0, &fin);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&children_ran), 10);
    ck_assert_int_eq(atomic_load(&in_final_seen), 10);
    ck_assert_int_eq(dag_in_final(), 0);
    rt_stop();
}
END_TEST

struct big {
    char bytes[4000];
    long *out;
};

static int sum_big(void *p)
{
    struct big *b = p;
    long s = 0;
    for (size_t i = 0; i < sizeof b->bytes; i++)
        s += b->bytes[i];
    *b->out = s;
    return 0;
}

START_TEST(test_argument_copy)
{
    rt_start(2);
    long outs[50];
    struct big b;
    for (int k = 0; k < 50; k++) {
        memset(b.bytes, k % 7, sizeof b.bytes);
        b.out = &outs[k];
        dag_submit(sum_big, &b, sizeof b, NULL, 0, NULL);
        memset(b.bytes, 100, sizeof b.bytes); /* the runtime's copy is independent */
    }
    dag_taskwait();
    for (int k = 0; k < 50; k++)
        ck_assert_int_eq(outs[k], 4000L * (k % 7));
    rt_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("final");
    TCase *tc = tcase_create("final");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_undeferred_waits_for_inputs);
    tcase_add_test(tc, test_final_includes_descendants);
    tcase_add_test(tc, test_argument_copy);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
