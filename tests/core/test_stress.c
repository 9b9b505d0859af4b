/* test_stress.c: 10^6 tasks in one run. Half are independent increments of per-slot
 * counters, half are chained `inout` updates over 1000 variables (each variable's chain
 * must apply its updates in submission order), with nested children and waits mixed in;
 * the final values are checked exactly. Also a million-task flood from two submitting
 * threads at once. */
#include <pthread.h>

#include "harness.h"

#define NTASKS 1000000

/* Check's assertions cost a system call each in fork mode: test cheaply in hot loops */
#define SUBMIT_OK(call)                                                                    \
    do {                                                                                   \
        dag_status_t st_ = (call);                                                         \
        if (st_ != DAG_OK)                                                                 \
            ck_abort_msg("%s: %s", #call, dag_strerror(st_));                              \
    } while (0)
#define NVARS 1000

static atomic_long hits[64];
static uint64_t vars[NVARS];

static int indep(void *p)
{
    atomic_fetch_add_explicit(&hits[*(int *)p & 63], 1, memory_order_relaxed);
    return 0;
}

struct upd {
    int var;
    uint32_t k;
};

static int update(void *p)
{
    struct upd *u = p;
    vars[u->var] = vars[u->var] * 31 + u->k; /* order-sensitive */
    return 0;
}

static int parent(void *p)
{
    for (int i = 0; i < 4; i++) {
        int k = *(int *)p + i;
        if (dag_submit(indep, &k, sizeof k, NULL, 0, NULL))
            return 1;
    }
    return dag_taskwait() ? 2 : 0;
}

START_TEST(test_million)
{
    rt_start(_i + 1);
    for (int i = 0; i < 64; i++)
        atomic_store(&hits[i], 0);
    uint64_t expect[NVARS];
    for (int v = 0; v < NVARS; v++)
        vars[v] = expect[v] = (uint64_t)v;
    long nindep = 0;
    uint32_t rng = 12345;
    for (int i = 0; i < NTASKS; i++) {
        rng = rng * 1664525u + 1013904223u;
        if ((rng >> 8) % 2 == 0) {
            SUBMIT_OK(dag_submit(indep, &i, sizeof i, NULL, 0, NULL));
            nindep++;
        } else if ((rng >> 12) % 64 == 0) {
            SUBMIT_OK(dag_submit(parent, &i, sizeof i, NULL, 0, NULL));
            nindep += 4;
            i += 4;
        } else {
            struct upd u = {(int)((rng >> 16) % NVARS), rng};
            expect[u.var] = expect[u.var] * 31 + u.k;
            dag_dep_t d = {&vars[u.var], sizeof vars[u.var], DAG_INOUT};
            SUBMIT_OK(dag_submit(update, &u, sizeof u, &d, 1, NULL));
        }
        if (i % 250000 == 0)
            ck_assert_int_eq(dag_taskwait(), DAG_OK);
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    long total = 0;
    for (int i = 0; i < 64; i++)
        total += atomic_load(&hits[i]);
    ck_assert_int_eq(total, nindep);
    for (int v = 0; v < NVARS; v++)
        if (vars[v] != expect[v])
            ck_abort_msg("variable %d: chain applied out of order", v);
    rt_stop();
}
END_TEST

/* Two threads that are not workers submit half a million tasks each, concurrently. */
static atomic_long flood_count;

static int flood_body(void *p)
{
    (void)p;
    atomic_fetch_add_explicit(&flood_count, 1, memory_order_relaxed);
    return 0;
}

static void *flood(void *p)
{
    long *v = p;
    dag_dep_t d = {v, sizeof *v, DAG_INOUT};
    for (int i = 0; i < NTASKS / 2; i++)
        if (dag_submit(flood_body, NULL, 0, i % 2 ? &d : NULL, i % 2, NULL) != DAG_OK)
            return (void *)1;
    return dag_taskwait() == DAG_OK ? NULL : (void *)2;
}

START_TEST(test_two_submitters)
{
    rt_start(2);
    atomic_store(&flood_count, 0);
    static long a, b;
    pthread_t t1, t2;
    void *r1, *r2;
    pthread_create(&t1, NULL, flood, &a);
    pthread_create(&t2, NULL, flood, &b);
    pthread_join(t1, &r1);
    pthread_join(t2, &r2);
    ck_assert_ptr_null(r1);
    ck_assert_ptr_null(r2);
    ck_assert_int_eq(atomic_load(&flood_count), NTASKS);
    rt_stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_million, 0, 4);
    tcase_add_test(tc, test_two_submitters);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
