/* test_detach.c: completion events (DAG_TASK_DETACHABLE / dag_task_detach /
 * dag_event_fulfill): a detached task completes only when its body has returned and its
 * event is fulfilled, in either order, from any thread; a fulfilment code fails the task
 * and cancels its dependents; misuse is refused with a status. */
#include <pthread.h>
#include <time.h>

#include "harness.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000};
    nanosleep(&ts, NULL);
}

struct fulfiller {
    dag_event_t ev;
    int code;
    int delay_ms;
    atomic_int *flag;
};

static void *fulfil_later(void *p)
{
    struct fulfiller *f = p;
    sleep_ms(f->delay_ms);
    atomic_store(f->flag, 1);
    ck_assert_int_eq(dag_event_fulfill(f->ev, f->code), DAG_OK);
    return NULL;
}

static atomic_int event_fired, order_ok, body_ran;
static pthread_t helper;
static struct fulfiller fl;

/* Detaches and hands the event to a thread that fulfils it after delay_ms. */
static int detaching(void *p)
{
    fl = *(struct fulfiller *)p;
    ck_assert_int_eq(dag_task_detach(&fl.ev), DAG_OK);
    dag_event_t again;
    ck_assert_int_eq(dag_task_detach(&again), DAG_ERR_STATE); /* one event per task */
    pthread_create(&helper, NULL, fulfil_later, &fl);
    atomic_store(&body_ran, 1);
    return 0;
}

static int successor(void *p)
{
    (void)p;
    atomic_store(&order_ok, atomic_load(&event_fired) && atomic_load(&body_ran));
    return 0;
}

static void run_case(int nthreads, int delay_ms, int code)
{
    rt_start(nthreads);
    static long x;
    atomic_store(&event_fired, 0);
    atomic_store(&order_ok, 0);
    atomic_store(&body_ran, 0);
    struct fulfiller f = {.code = code, .delay_ms = delay_ms, .flag = &event_fired};
    dag_dep_t w = {&x, sizeof x, DAG_INOUT};
    dag_task_attr_t a = {.label = "detaching", .flags = DAG_TASK_DETACHABLE};
    ck_assert_int_eq(dag_submit(detaching, &f, sizeof f, &w, 1, &a), DAG_OK);
    ck_assert_int_eq(dag_submit(successor, NULL, 0, &w, 1, NULL), DAG_OK);
    dag_status_t st = dag_taskwait();
    pthread_join(helper, NULL);
    if (code) {
        ck_assert_int_eq(st, DAG_ERR_TASK_FAILED);
        dag_error_t e;
        ck_assert_int_eq(dag_last_error(&e), DAG_OK);
        ck_assert_int_eq(e.code, code);
        ck_assert_str_eq(e.label, "detaching");
        ck_assert_int_eq(atomic_load(&order_ok), 0); /* the successor was cancelled */
    } else {
        ck_assert_int_eq(st, DAG_OK);
        ck_assert_int_eq(atomic_load(&order_ok), 1);
    }
    rt_stop();
}

START_TEST(test_fulfil_after_return) { run_case(_i + 1, 30, 0); }
END_TEST
START_TEST(test_fulfil_before_return) { run_case(_i + 1, 0, 0); }
END_TEST
START_TEST(test_fulfil_with_error) { run_case(_i + 1, 10, 7); }
END_TEST

static atomic_int plain_result;

static int plain(void *p)
{
    (void)p;
    dag_event_t ev;
    atomic_store(&plain_result, dag_task_detach(&ev));
    return 0;
}

START_TEST(test_misuse)
{
    rt_start(2);
    atomic_store(&plain_result, 1);
    ck_assert_int_eq(dag_submit(plain, NULL, 0, NULL, 0, NULL), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&plain_result), DAG_ERR_STATE); /* not detachable */
    dag_task_attr_t bad = {.flags = DAG_TASK_DETACHABLE | DAG_TASK_UNDEFERRED};
    ck_assert_int_eq(dag_submit(plain, NULL, 0, NULL, 0, &bad), DAG_ERR_INVALID);
    dag_event_t ev = {0};
    ck_assert_int_eq(dag_event_fulfill(ev, 0), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_task_detach(&ev), DAG_ERR_STATE); /* the implicit task */
    rt_stop();
}
END_TEST

/* The event requested at submission can be fulfilled before the task even starts. */
static gate_t early_gate;
static atomic_int early_body, early_succ_ok;

static int gated(void *p)
{
    (void)p;
    gate_wait(&early_gate);
    return 0;
}

static int early_body_fn(void *p)
{
    (void)p;
    atomic_store(&early_body, 1);
    return 0;
}

static int early_succ(void *p)
{
    (void)p;
    atomic_store(&early_succ_ok, atomic_load(&early_body));
    return 0;
}

START_TEST(test_event_at_submission)
{
    rt_start(_i + 2); /* one worker would run the gated task at submission and block */
    static long x;
    atomic_store(&early_gate.open, 0);
    atomic_store(&early_body, 0);
    atomic_store(&early_succ_ok, 0);
    dag_dep_t w = {&x, sizeof x, DAG_INOUT};
    dag_event_t ev;
    dag_task_attr_t a = {.flags = DAG_TASK_DETACHABLE, .event = &ev};
    ck_assert_int_eq(dag_submit(gated, NULL, 0, &w, 1, NULL), DAG_OK);
    ck_assert_int_eq(dag_submit(early_body_fn, NULL, 0, &w, 1, &a), DAG_OK);
    ck_assert_int_eq(dag_submit(early_succ, NULL, 0, &w, 1, NULL), DAG_OK);
    ck_assert_int_eq(dag_event_fulfill(ev, 0), DAG_OK); /* before the body ran */
    ck_assert_int_eq(dag_event_fulfill(ev, 0), DAG_ERR_INVALID);
    gate_open(&early_gate);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&early_succ_ok), 1);
    rt_stop();
}
END_TEST

/* Many detached tasks fulfilled by one thread in reverse order, checked in a chain. */
#define MANY 200
static dag_event_t evs[MANY];
static atomic_int nready;
static int chain_val;

static int many_body(void *p)
{
    int i = *(int *)p;
    ck_assert_int_eq(chain_val, i);
    chain_val = i + 1;
    ck_assert_int_eq(dag_task_detach(&evs[i]), DAG_OK);
    atomic_fetch_add(&nready, 1);
    return 0;
}

static void *fulfil_all(void *p)
{
    (void)p;
    for (int i = 0; i < MANY; i++) {
        while (atomic_load(&nready) <= i)
            sleep_ms(1);
        ck_assert_int_eq(dag_event_fulfill(evs[i], 0), DAG_OK);
        ck_assert_int_eq(dag_event_fulfill(evs[i], 0), DAG_ERR_INVALID); /* only once */
    }
    return NULL;
}

START_TEST(test_chain_of_detached)
{
    rt_start(_i + 1);
    chain_val = 0;
    atomic_store(&nready, 0);
    pthread_t th;
    pthread_create(&th, NULL, fulfil_all, NULL);
    dag_dep_t d = {&chain_val, sizeof chain_val, DAG_INOUT};
    dag_task_attr_t a = {.flags = DAG_TASK_DETACHABLE};
    for (int i = 0; i < MANY; i++)
        ck_assert_int_eq(dag_submit(many_body, &i, sizeof i, &d, 1, &a), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    pthread_join(th, NULL);
    ck_assert_int_eq(chain_val, MANY);
    rt_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("detach");
    TCase *tc = tcase_create("detach");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_fulfil_after_return, 0, 3);
    tcase_add_loop_test(tc, test_fulfil_before_return, 0, 3);
    tcase_add_loop_test(tc, test_fulfil_with_error, 0, 3);
    tcase_add_test(tc, test_misuse);
    tcase_add_loop_test(tc, test_event_at_submission, 0, 3);
    tcase_add_loop_test(tc, test_chain_of_detached, 0, 3);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
