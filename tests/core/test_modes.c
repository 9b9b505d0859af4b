/* test_modes.c: every pair of dependency modes against every kind of overlap
 * (identical, nested either way, partial, disjoint, adjacent), checked twice: the edge
 * the runtime creates (through the hooks) and the order the bodies actually run in.
 * Also the set semantics of in / inoutset / mutexinoutset and OpenMP base-address
 * matching. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static char buf[512];

enum overlap { IDENTICAL, B_INSIDE_A, A_INSIDE_B, PARTIAL, DISJOINT, ADJACENT, NOVERLAP };
static const char *overlap_name[] = {"identical", "b-inside-a", "a-inside-b",
                                     "partial", "disjoint", "adjacent"};
/* A is always [64, 128) */
static const struct {
    size_t lo, hi;
} b_range[] = {{64, 128}, {80, 96}, {32, 160}, {100, 200}, {200, 240}, {128, 160}};

static const unsigned modes[] = {DAG_IN, DAG_OUT, DAG_INOUT, DAG_MUTEXINOUTSET, DAG_INOUTSET};
static const char *mode_name[] = {"?", "in", "out", "inout", "mutexinoutset", "inoutset"};

static int expect_edge(unsigned a, unsigned b, enum overlap ov)
{
    if (ov == DISJOINT || ov == ADJACENT)
        return 0;
    if (a == b && (a == DAG_IN || a == DAG_INOUTSET || a == DAG_MUTEXINOUTSET))
        return 0; /* members of one set */
    return 1;
}

struct pair_args {
    gate_t *gate;
    atomic_int *a_done;
    atomic_int *b_saw_a_done;
};

static int body_a(void *p)
{
    struct pair_args *a = p;
    gate_wait(a->gate);
    atomic_store(a->a_done, 1);
    return 0;
}

static int body_b(void *p)
{
    struct pair_args *a = p;
    atomic_store(a->b_saw_a_done, atomic_load(a->a_done));
    return 0;
}

START_TEST(test_all_pairs)
{
    rec_install(); /* hooks are installed while no worker runs */
    rt_start(3);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        for (size_t j = 0; j < sizeof modes / sizeof modes[0]; j++)
            for (int ov = 0; ov < NOVERLAP; ov++) {
                rec_reset();
                gate_t gate = {0};
                atomic_int a_done = 0, b_saw = -1;
                struct pair_args args = {&gate, &a_done, &b_saw};
                dag_dep_t da = {buf + 64, 64, modes[i]};
                dag_dep_t db = {buf + b_range[ov].lo, b_range[ov].hi - b_range[ov].lo, modes[j]};
                ck_assert_int_eq(dag_submit(body_a, &args, sizeof args, &da, 1, NULL), DAG_OK);
                ck_assert_int_eq(dag_submit(body_b, &args, sizeof args, &db, 1, NULL), DAG_OK);
                int want = expect_edge(modes[i], modes[j], ov);
                int got = rec_edge(0, 1);
                ck_assert_msg(got == want, "A %s, B %s, %s: edge %d, expected %d",
                              mode_name[modes[i]], mode_name[modes[j]], overlap_name[ov], got, want);
                if (!want && !(modes[i] == DAG_MUTEXINOUTSET && modes[j] == DAG_MUTEXINOUTSET &&
                                   ov != DISJOINT && ov != ADJACENT)) {
                    /* B is independent: it must be able to finish while A is held */
                    for (int k = 0; k < 10000 && atomic_load(&b_saw) < 0; k++) {
                        struct timespec ts = {0, 100000};
                        nanosleep(&ts, NULL);
                    }
                    ck_assert_msg(atomic_load(&b_saw) == 0, "A %s, B %s, %s: B did not run while A was held",
                                  mode_name[modes[i]], mode_name[modes[j]], overlap_name[ov]);
                }
                gate_open(&gate);
                ck_assert_int_eq(dag_taskwait(), DAG_OK);
                if (want)
                    ck_assert_msg(atomic_load(&b_saw) == 1, "A %s, B %s, %s: B ran before A finished",
                                  mode_name[modes[i]], mode_name[modes[j]], overlap_name[ov]);
            }
    rt_stop();
    rec_uninstall();
}
END_TEST

/* OpenMP compatibility: with DAG_DEP_BASEADDR only the start address matters. */
START_TEST(test_baseaddr)
{
    rec_install(); /* hooks are installed while no worker runs */
    rt_start(2);
    struct {
        size_t alo, alen, blo, blen;
        int want;
    } cases[] = {
        {0, 10, 0, 10, 1}, {0, 10, 0, 5, 1}, /* same base, different lengths: one item */
        {0, 10, 5, 10, 0},                   /* partial overlap, other base: independent */
        {0, 10, 20, 10, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rec_reset();
        gate_t gate = {0};
        atomic_int a_done = 0, b_saw = -1;
        struct pair_args args = {&gate, &a_done, &b_saw};
        dag_dep_t da = {buf + cases[k].alo, cases[k].alen, DAG_INOUT | DAG_DEP_BASEADDR};
        dag_dep_t db = {buf + cases[k].blo, cases[k].blen, DAG_INOUT | DAG_DEP_BASEADDR};
        dag_submit(body_a, &args, sizeof args, &da, 1, NULL);
        dag_submit(body_b, &args, sizeof args, &db, 1, NULL);
        ck_assert_int_eq(rec_edge(0, 1), cases[k].want);
        gate_open(&gate);
        dag_taskwait();
    }
    rt_stop();
    rec_uninstall();
}
END_TEST

/* Readers between two writers: w1 -> {r1, r2} -> w2, no r1 -> r2 edge. */
START_TEST(test_reader_set)
{
    rec_install(); /* hooks are installed while no worker runs */
    rt_start(2);
    gate_t gate = {0};
    atomic_int a_done = 0, saw = 0;
    struct pair_args args = {&gate, &a_done, &saw};
    dag_dep_t in = {buf, 8, DAG_IN}, out = {buf, 8, DAG_OUT};
    dag_submit(body_a, &args, sizeof args, &out, 1, NULL); /* 0: w1, held */
    dag_submit(body_b, &args, sizeof args, &in, 1, NULL);  /* 1: r1 */
    dag_submit(body_b, &args, sizeof args, &in, 1, NULL);  /* 2: r2 */
    dag_submit(body_b, &args, sizeof args, &out, 1, NULL); /* 3: w2 */
    dag_submit(body_b, &args, sizeof args, &in, 1, NULL);  /* 4: r3 */
    ck_assert(rec_edge(0, 1) && rec_edge(0, 2));
    ck_assert(!rec_edge(1, 2));
    ck_assert(rec_edge(1, 3) && rec_edge(2, 3));
    ck_assert(rec_edge(3, 4) && !rec_edge(1, 4) && !rec_edge(2, 4));
    gate_open(&gate);
    dag_taskwait();
    rt_stop();
    rec_uninstall();
}
END_TEST

/* inoutset members are independent of each other and ordered against readers on both
 * sides; a partially overlapping inoutset of the same set also stays independent. */
START_TEST(test_inoutset_set)
{
    rec_install(); /* hooks are installed while no worker runs */
    rt_start(2);
    gate_t gate = {0};
    atomic_int a_done = 0, saw = 0;
    struct pair_args args = {&gate, &a_done, &saw};
    dag_dep_t in = {buf, 16, DAG_IN}, set = {buf, 16, DAG_INOUTSET};
    dag_dep_t set_part = {buf + 8, 16, DAG_INOUTSET}, in_part = {buf + 20, 4, DAG_IN};
    dag_submit(body_a, &args, sizeof args, &in, 1, NULL);       /* 0: reader, held */
    dag_submit(body_b, &args, sizeof args, &set, 1, NULL);      /* 1 */
    dag_submit(body_b, &args, sizeof args, &set, 1, NULL);      /* 2 */
    dag_submit(body_b, &args, sizeof args, &set_part, 1, NULL); /* 3 */
    dag_submit(body_b, &args, sizeof args, &in, 1, NULL);       /* 4 */
    dag_submit(body_b, &args, sizeof args, &in_part, 1, NULL);  /* 5: only overlaps 3 */
    ck_assert(rec_edge(0, 1) && rec_edge(0, 2) && rec_edge(0, 3));
    ck_assert(!rec_edge(1, 2) && !rec_edge(1, 3) && !rec_edge(2, 3));
    ck_assert(rec_edge(1, 4) && rec_edge(2, 4) && rec_edge(3, 4));
    ck_assert(rec_edge(3, 5) && !rec_edge(1, 5) && !rec_edge(2, 5));
    gate_open(&gate);
    dag_taskwait();
    rt_stop();
    rec_uninstall();
}
END_TEST

/* mutexinoutset: members never run at the same time, in any order, and all of them
 * finish before a later reader. Overlapping (not identical) member ranges exclude too. */
static atomic_int inside, max_inside, ran;

static int mutex_body(void *p)
{
    (void)p;
    int now = atomic_fetch_add(&inside, 1) + 1;
    int m = atomic_load(&max_inside);
    while (now > m && !atomic_compare_exchange_weak(&max_inside, &m, now))
        ;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    atomic_fetch_sub(&inside, 1);
    atomic_fetch_add(&ran, 1);
    return 0;
}

/* A reader after the set sees every member finished. */
static int check_all_ran_ptr(void *p)
{
    atomic_store(*(atomic_int **)p, atomic_load(&ran));
    return 0;
}

START_TEST(test_mutexinoutset_exclusion)
{
    rt_start(4);
    atomic_store(&inside, 0);
    atomic_store(&max_inside, 0);
    atomic_store(&ran, 0);
    atomic_int seen = -1;
    for (int i = 0; i < 24; i++) {
        dag_dep_t d = {buf + (i % 3) * 4, 16, DAG_MUTEXINOUTSET}; /* overlapping ranges */
        ck_assert_int_eq(dag_submit(mutex_body, NULL, 0, &d, 1, NULL), DAG_OK);
    }
    atomic_int *ps = &seen;
    dag_dep_t rd = {buf, 32, DAG_IN};
    dag_submit(check_all_ran_ptr, &ps, sizeof ps, &rd, 1, NULL);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&ran), 24);
    ck_assert_int_eq(atomic_load(&seen), 24);
    ck_assert_int_eq(atomic_load(&max_inside), 1);
    rt_stop();
}
END_TEST

START_TEST(test_mutexinoutset_then_reader)
{
    rt_start(3);
    atomic_store(&ran, 0);
    atomic_int seen = -1;
    atomic_int *ps = &seen;
    for (int i = 0; i < 8; i++) {
        dag_dep_t d = {buf, 16, DAG_MUTEXINOUTSET};
        dag_submit(mutex_body, NULL, 0, &d, 1, NULL);
    }
    dag_dep_t rd = {buf + 8, 1, DAG_IN};
    dag_submit(check_all_ran_ptr, &ps, sizeof ps, &rd, 1, NULL);
    dag_taskwait();
    ck_assert_int_eq(atomic_load(&seen), 8);
    rt_stop();
}
END_TEST

/* The defect of libgomp and LLVM libomp: a write to a[0:10] then a read of a[5:5] must
 * be ordered (their base addresses differ). Checked by values, many times. */
static int write_range(void *p)
{
    int *a = *(int **)p;
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 10; i++)
        a[i] = 7;
    return 0;
}

static int read_range(void *p)
{
    int **a = p;
    int s = 0;
    for (int i = 5; i < 10; i++)
        s += a[0][i];
    *a[1] = s;
    return 0;
}

START_TEST(test_nested_section_values)
{
    rt_start(2);
    static int a[10];
    for (int rep = 0; rep < 200; rep++) {
        memset(a, 0, sizeof a);
        int sum = -1;
        int *wargs = a;
        int *rargs[2] = {a, &sum};
        dag_dep_t w = {a, sizeof a, DAG_OUT}, r = {a + 5, 5 * sizeof(int), DAG_IN};
        dag_submit(write_range, &wargs, sizeof wargs, &w, 1, NULL);
        dag_submit(read_range, rargs, sizeof rargs, &r, 1, NULL);
        dag_taskwait();
        ck_assert_int_eq(sum, 35);
    }
    rt_stop();
}
END_TEST

/* Zero-length ranges order nothing; invalid modes and wrapping ranges are refused. */
START_TEST(test_edge_cases)
{
    rec_install(); /* hooks are installed while no worker runs */
    rt_start(2);
    gate_t gate = {0};
    atomic_int a_done = 0, saw = 0;
    struct pair_args args = {&gate, &a_done, &saw};
    dag_dep_t out = {buf, 8, DAG_OUT}, empty = {buf, 0, DAG_OUT};
    dag_submit(body_a, &args, sizeof args, &out, 1, NULL);
    dag_submit(body_b, &args, sizeof args, &empty, 1, NULL);
    ck_assert(!rec_edge(0, 1));
    gate_open(&gate);
    dag_taskwait();
    dag_dep_t bad_mode = {buf, 8, 9}, wrap = {(void *)(UINTPTR_MAX - 4), 16, DAG_IN};
    dag_dep_t bad_flag = {buf, 8, DAG_IN | 0x1000};
    ck_assert_int_eq(dag_submit(body_b, &args, sizeof args, &bad_mode, 1, NULL), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_submit(body_b, &args, sizeof args, &wrap, 1, NULL), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_submit(body_b, &args, sizeof args, &bad_flag, 1, NULL), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_submit(body_b, &args, sizeof args, NULL, 1, NULL), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_submit(NULL, NULL, 0, NULL, 0, NULL), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_submit(body_b, NULL, 8, NULL, 0, NULL), DAG_ERR_INVALID);
    rt_stop();
    rec_uninstall();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("modes");
    TCase *tc = tcase_create("modes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_all_pairs);
    tcase_add_test(tc, test_baseaddr);
    tcase_add_test(tc, test_reader_set);
    tcase_add_test(tc, test_inoutset_set);
    tcase_add_test(tc, test_mutexinoutset_exclusion);
    tcase_add_test(tc, test_mutexinoutset_then_reader);
    tcase_add_test(tc, test_nested_section_values);
    tcase_add_test(tc, test_edge_cases);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
