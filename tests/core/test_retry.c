/* test_retry.c: failing and crashing task bodies, and retry(n) (core/retry.c).
 * A body that returns an error or dies of SIGSEGV, SIGFPE or SIGBUS is reported with its
 * label, source location and signal; its dependents are cancelled, independent tasks
 * still run and the runtime stays usable. retry(n) re-runs a body on the inputs it
 * started with (the ranges it writes are restored), at most n more times. The
 * randomised differential test runs random task graphs under DAG_FAULT_INJECT (errors
 * and real crashes, before or after the body wrote its outputs) with enough retries and
 * compares every byte with a sequential run. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* ThreadSanitizer builds do not catch crashes (docs/fault-tolerance.md): the crash cases
 * are left out there, the error-return cases run. */
#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif
#ifndef TSAN
#define TSAN 0
#endif

static char *noaccess; /* PROT_NONE page: writing there is a real SIGSEGV */
static char *pastend;  /* a mapping of an empty file: touching it is a real SIGBUS */

static void setup_pages(void)
{
    if (!noaccess) {
        noaccess = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(noaccess, MAP_FAILED);
        int fd = memfd_create("test-sigbus", 0);
        ck_assert_int_ge(fd, 0);
        pastend = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ck_assert_ptr_ne(pastend, MAP_FAILED);
        close(fd);
    }
}

static void crash(int sig)
{
    switch (sig) {
    case SIGSEGV:
        *(volatile char *)noaccess = 1;
        break;
    case SIGBUS:
        *(volatile char *)pastend = 1;
        break;
    case SIGFPE: {
#if defined(__x86_64__)
        int num = 1, den = 0, q;
        __asm__ volatile("cltd\n\tidivl %2" : "=a"(q) : "a"(num), "r"(den) : "edx");
        (void)q;
#endif
        raise(SIGFPE);
        break;
    }
    }
}

/* ---- failures and crashes without retry ------------------------------------------- */

static atomic_int ran_after, ran_independent;
static long slot_a;

static int crash_body(void *p)
{
    crash(*(int *)p);
    return 0;
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

START_TEST(test_crash_reported)
{
    setup_pages();
    static const int sigs[] = {SIGSEGV, SIGFPE, SIGBUS};
    static const char *names[] = {"SIGSEGV", "SIGFPE", "SIGBUS"};
    for (int nt = 1; nt <= 3; nt++) {
        rt_start(nt);
        for (int s = 0; s < 3; s++) {
            atomic_store(&ran_after, 0);
            atomic_store(&ran_independent, 0);
            dag_task_attr_t attr = {.label = "faulty", .file = "kernel.c", .line = 77};
            dag_dep_t wa = {&slot_a, sizeof slot_a, DAG_OUT};
            dag_dep_t ra = {&slot_a, sizeof slot_a, DAG_IN};
            ck_assert_int_eq(dag_submit(crash_body, &sigs[s], sizeof(int), &wa, 1, &attr), DAG_OK);
            dag_submit(mark_after, NULL, 0, &ra, 1, NULL);
            for (int i = 0; i < 20; i++)
                dag_submit(mark_independent, NULL, 0, NULL, 0, NULL);
            ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
            ck_assert_int_eq(atomic_load(&ran_after), 0);
            ck_assert_int_eq(atomic_load(&ran_independent), 20);
            dag_error_t e;
            ck_assert_int_eq(dag_last_error(&e), DAG_OK);
            ck_assert_int_eq(e.signal, sigs[s]);
            ck_assert_int_eq(e.code, 128 + sigs[s]);
            ck_assert_int_eq(e.attempts, 1);
            ck_assert_str_eq(e.label, "faulty");
            ck_assert_str_eq(e.file, "kernel.c");
            ck_assert_int_eq(e.line, 77);
            char buf[256], want[256];
            snprintf(want, sizeof want,
                     "kernel.c:77: task 'faulty' crashed with %s (1 dependent task cancelled)",
                     names[s]);
            ck_assert_str_eq(dag_error_format(&e, buf, sizeof buf), want);
            /* the worker that crashed keeps working */
            dag_submit(mark_after, NULL, 0, &ra, 1, NULL);
            ck_assert_int_eq(dag_taskwait(), DAG_OK);
            ck_assert_int_eq(atomic_load(&ran_after), 1);
        }
        rt_stop();
    }
}
END_TEST

/* A crash inside a nested task is the nested task's failure, not its parent's crash. */
static int parent_of_crash(void *p)
{
    (void)p;
    static const int sig = SIGSEGV;
    dag_task_attr_t a = {.label = "child"};
    dag_submit(crash_body, &sig, sizeof sig, NULL, 0, &a);
    return dag_taskwait() == DAG_ERR_TASK_FAILED ? 5 : 0;
}

START_TEST(test_nested_crash)
{
    setup_pages();
    for (int nt = 1; nt <= 3; nt++) {
        rt_start(nt);
        dag_task_attr_t a = {.label = "parent"};
        dag_submit(parent_of_crash, NULL, 0, NULL, 0, &a);
        ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
        dag_error_t e;
        dag_last_error(&e);
        ck_assert_str_eq(e.label, "parent");
        ck_assert_int_eq(e.code, 5);
        ck_assert_int_eq(e.signal, 0);
        rt_stop();
    }
}
END_TEST

/* Tasks without attributes take dag_submit's shortest path on one worker (core/task.c:
 * run_eager, the crash guard in its own frame): a crash there is the same failure, the
 * descriptor it ran in is reused cleanly, and a crash under an unlabelled parent is the
 * child's. Randomised: which tasks crash, with which signal, and what depends on them. */
static int maybe_crash(void *p)
{
    int sig = *(int *)p;
    if (sig)
        crash(sig);
    atomic_fetch_add(&ran_independent, 1);
    return 0;
}

static int unlabelled_parent(void *p)
{
    dag_submit(maybe_crash, p, sizeof(int), NULL, 0, NULL);
    return dag_taskwait() == DAG_ERR_TASK_FAILED ? 6 : 0;
}

START_TEST(test_crash_unlabelled)
{
    setup_pages();
    static const int sigs[] = {SIGSEGV, SIGFPE, SIGBUS};
    unsigned seed = 12345;
    for (int nt = 1; nt <= 2; nt++) {
        rt_start(nt);
        for (int round = 0; round < 30; round++) {
            seed = seed * 1103515245u + 12345u;
            int sig = sigs[(seed >> 16) % 3];
            int before = (int)((seed >> 8) % 50), after = (int)((seed >> 20) % 50);
            static const int none = 0;
            atomic_store(&ran_after, 0);
            atomic_store(&ran_independent, 0);
            for (int i = 0; i < before; i++)
                ck_assert_int_eq(dag_submit(maybe_crash, &none, sizeof none, NULL, 0, NULL),
                                 DAG_OK);
            dag_dep_t wa = {&slot_a, sizeof slot_a, DAG_OUT};
            dag_dep_t ra = {&slot_a, sizeof slot_a, DAG_IN};
            int nested = round % 3 == 2;
            if (nested)
                ck_assert_int_eq(dag_submit(unlabelled_parent, &sig, sizeof sig, &wa, 1, NULL),
                                 DAG_OK);
            else
                ck_assert_int_eq(dag_submit(maybe_crash, &sig, sizeof sig, &wa, 1, NULL),
                                 DAG_OK);
            ck_assert_int_eq(dag_submit(mark_after, NULL, 0, &ra, 1, NULL), DAG_OK);
            for (int i = 0; i < after; i++)
                dag_submit(maybe_crash, &none, sizeof none, NULL, 0, NULL);
            ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
            ck_assert_int_eq(atomic_load(&ran_after), 0);
            ck_assert_int_eq(atomic_load(&ran_independent), before + after);
            dag_error_t e;
            ck_assert_int_eq(dag_last_error(&e), DAG_OK);
            char buf[256];
            dag_error_format(&e, buf, sizeof buf);
            ck_assert_msg(strstr(buf, "(1 dependent task cancelled)") != NULL, "%s", buf);
            if (nested) {
                ck_assert_int_eq(e.code, 6);
                ck_assert_int_eq(e.signal, 0);
            } else {
                ck_assert_int_eq(e.signal, sig);
                ck_assert_int_eq(e.code, 128 + sig);
                ck_assert_int_eq(e.attempts, 1);
                ck_assert_msg(strstr(buf, "crashed with SIG") != NULL, "%s", buf);
            }
            /* the descriptor the crash ran in runs the next tasks cleanly */
            atomic_store(&ran_independent, 0);
            for (int i = 0; i < 10; i++)
                dag_submit(maybe_crash, &none, sizeof none, NULL, 0, NULL);
            dag_submit(mark_after, NULL, 0, &ra, 1, NULL);
            ck_assert_int_eq(dag_taskwait(), DAG_OK);
            ck_assert_int_eq(atomic_load(&ran_independent), 10);
            ck_assert_int_eq(atomic_load(&ran_after), 1);
        }
        rt_stop();
    }
}
END_TEST

/* Outside task bodies a crash is not caught: the process dies of it as it would have. */
START_TEST(test_crash_outside_tasks_kills)
{
    setup_pages();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dag_config_t cfg = {.nthreads = 2, .bind = DAG_BIND_NONE};
        dag_init(&cfg);
        crash(SIGSEGV);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    /* killed by SIGSEGV, or (under a sanitizer, whose handler was there first) its report */
    ck_assert(WIFSIGNALED(status) || WEXITSTATUS(status) != 0);
    if (WIFSIGNALED(status))
        ck_assert_int_eq(WTERMSIG(status), SIGSEGV);
}
END_TEST

/* ---- retry(n) --------------------------------------------------------------------- */

struct flaky {
    double *x;
    size_t n;
    int fail_first; /* attempts that fail */
    int how;        /* 0: error code, else a signal */
    atomic_int *attempts;
};

/* x = 2x + 1, then fail or crash on the first attempts: a retry must see the original x. */
static int flaky_body(void *p)
{
    struct flaky *a = p;
    for (size_t i = 0; i < a->n; i++)
        a->x[i] = 2 * a->x[i] + 1;
    int k = atomic_fetch_add(a->attempts, 1);
    if (k < a->fail_first) {
        if (a->how)
            crash(a->how);
        return 9;
    }
    return 0;
}

static int add_one(void *p)
{
    double *x = *(double **)p;
    x[0] += 1;
    return 0;
}

START_TEST(test_retry_restores_inputs)
{
    setup_pages();
    static const int hows[] = {0, SIGSEGV, SIGFPE, SIGBUS};
    for (int nt = 1; nt <= 3; nt++) {
        rt_start(nt);
        for (int h = 0; h < (TSAN ? 1 : 4); h++) {
            for (int fails = 0; fails <= 4; fails++) {
                int retries = 3;
                size_t n = 1000 + (size_t)fails * 777;
                double *x = malloc(n * sizeof *x);
                for (size_t i = 0; i < n; i++)
                    x[i] = (double)i;
                atomic_int attempts = 0;
                atomic_store(&ran_independent, 0);
                struct flaky a = {x, n, fails, hows[h], &attempts};
                dag_task_attr_t attr = {.label = "flaky", .file = "f.c", .line = 3,
                                        .retries = retries};
                dag_dep_t d = {x, n * sizeof *x, DAG_INOUT};
                ck_assert_int_eq(dag_submit(flaky_body, &a, sizeof a, &d, 1, &attr), DAG_OK);
                dag_submit(add_one, &x, sizeof x, &d, 1, NULL); /* dependent */
                for (int i = 0; i < 10; i++)
                    dag_submit(mark_independent, NULL, 0, NULL, 0, NULL);
                dag_status_t st = dag_taskwait();
                ck_assert_int_eq(atomic_load(&ran_independent), 10);
                if (fails <= retries) {
                    ck_assert_int_eq(st, DAG_OK);
                    ck_assert_int_eq(atomic_load(&attempts), fails + 1);
                    ck_assert(x[0] == 2.0); /* 2*0+1, then +1 */
                    for (size_t i = 1; i < n; i++)
                        ck_assert(x[i] == 2.0 * (double)i + 1);
                } else {
                    ck_assert_int_eq(st, DAG_ERR_TASK_FAILED);
                    ck_assert_int_eq(atomic_load(&attempts), retries + 1);
                    dag_error_t e;
                    dag_last_error(&e);
                    ck_assert_int_eq(e.attempts, retries + 1);
                    ck_assert_int_eq(e.signal, hows[h]);
                    ck_assert_int_eq(e.ncancelled, 1);
                    char buf[256];
                    dag_error_format(&e, buf, sizeof buf);
                    ck_assert_msg(strstr(buf, "after 4 attempts") != NULL, "%s", buf);
                }
                free(x);
            }
        }
        rt_stop();
    }
}
END_TEST

/* A failed attempt's children are waited for and forgotten; its taskgroup is closed. */
static atomic_int child_runs;
static int child_inc(void *p)
{
    atomic_fetch_add(&child_runs, 1);
    long *v = *(long **)p;
    (void)v;
    return 0;
}

static int parent_flaky(void *p)
{
    atomic_int *att = *(atomic_int **)p;
    dag_taskgroup_begin();
    for (int i = 0; i < 8; i++)
        dag_submit(child_inc, &p, sizeof p, NULL, 0, NULL);
    if (atomic_fetch_add(att, 1) == 0)
        crash(SIGSEGV); /* group still open, children maybe running */
    dag_taskgroup_end();
    return 0;
}

START_TEST(test_retry_with_children)
{
    setup_pages();
    for (int nt = 1; nt <= 3; nt++) {
        rt_start(nt);
        atomic_int att = 0;
        atomic_store(&child_runs, 0);
        atomic_int *pa = &att;
        dag_task_attr_t attr = {.label = "parent", .retries = 1};
        dag_submit(parent_flaky, &pa, sizeof pa, NULL, 0, &attr);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&att), 2);
        ck_assert_int_eq(atomic_load(&child_runs), 16);
        rt_stop();
    }
}
END_TEST

/* A retryable task with a large output (tens of MiB) and an out-only range. */
static int big_flaky(void *p)
{
    struct flaky *a = p;
    int k = atomic_fetch_add(a->attempts, 1);
    for (size_t i = 0; i < a->n; i += 512)
        a->x[i] = a->x[i] * 3 + 1;
    if (k < a->fail_first)
        crash(SIGSEGV);
    return 0;
}

START_TEST(test_retry_large)
{
    setup_pages();
    rt_start(2);
    size_t n = (size_t)24 << 20 >> 3; /* 24 MiB */
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(i % 1000);
    atomic_int attempts = 0;
    struct flaky a = {x, n, 2, SIGSEGV, &attempts};
    dag_task_attr_t attr = {.label = "big", .retries = 2};
    dag_dep_t d = {x, n * sizeof *x, DAG_OUT};
    dag_submit(big_flaky, &a, sizeof a, &d, 1, &attr);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&attempts), 3);
    for (size_t i = 0; i < n; i++)
        ck_assert(x[i] == (i % 512 ? (double)(i % 1000) : 3.0 * (double)(i % 1000) + 1));
    free(x);
    rt_stop();
}
END_TEST

/* ---- randomised differential under fault injection -------------------------------- */

#define NBLK 24

struct rtask {
    int in[3], nin;
    int out;
    int mode; /* DAG_OUT or DAG_INOUT */
    uint64_t salt;
};

static long *blocks[NBLK];
static size_t blen[NBLK];

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    return x;
}

static void apply(const struct rtask *t)
{
    long *o = blocks[t->out];
    size_t n = blen[t->out];
    uint64_t acc = t->salt;
    for (int k = 0; k < t->nin; k++)
        for (size_t i = 0; i < blen[t->in[k]]; i += 7)
            acc = mix(acc + (uint64_t)blocks[t->in[k]][i]);
    for (size_t i = 0; i < n; i++)
        o[i] = (long)mix(acc + (t->mode == DAG_INOUT ? (uint64_t)o[i] : i));
}

static int rbody(void *p)
{
    apply(p);
    return 0;
}

static uint32_t rng;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static void init_blocks(void)
{
    for (int b = 0; b < NBLK; b++)
        for (size_t i = 0; i < blen[b]; i++)
            blocks[b][i] = (long)(b * 1000003 + (long)i);
}

START_TEST(test_inject_differential)
{
    int seeds = getenv("DAG_TEST_SEEDS") ? atoi(getenv("DAG_TEST_SEEDS")) : 40;
    if (seeds > 60)
        seeds = 60;
    for (int seed = 1; seed <= seeds; seed++) {
        rng = (uint32_t)seed * 2654435761u;
        int ntasks = 40 + (int)(rnd() % 160);
        for (int b = 0; b < NBLK; b++) {
            blen[b] = 16 + rnd() % (seed % 5 == 0 ? 200000 : 3000);
            blocks[b] = malloc(blen[b] * sizeof(long));
        }
        struct rtask *ts = calloc((size_t)ntasks, sizeof *ts);
        for (int i = 0; i < ntasks; i++) {
            ts[i].nin = (int)(rnd() % 4);
            for (int k = 0; k < ts[i].nin; k++)
                ts[i].in[k] = (int)(rnd() % NBLK);
            do
                ts[i].out = (int)(rnd() % NBLK);
            while (ts[i].nin && ts[i].out == ts[i].in[0]);
            for (int k = 0; k < ts[i].nin; k++)
                if (ts[i].in[k] == ts[i].out)
                    ts[i].in[k] = (ts[i].out + 1) % NBLK;
            ts[i].mode = rnd() % 2 ? DAG_INOUT : DAG_OUT;
            ts[i].salt = rnd();
        }
        /* reference: sequential */
        init_blocks();
        for (int i = 0; i < ntasks; i++)
            apply(&ts[i]);
        long *ref[NBLK];
        for (int b = 0; b < NBLK; b++) {
            ref[b] = malloc(blen[b] * sizeof(long));
            memcpy(ref[b], blocks[b], blen[b] * sizeof(long));
        }
        char inj[64];
        snprintf(inj, sizeof inj, "0.%d:%d", 10 + seed % 3 * 10, seed);
        setenv("DAG_FAULT_INJECT", inj, 1);
        init_blocks();
        rt_start(1 + seed % 3);
        for (int i = 0; i < ntasks; i++) {
            dag_dep_t d[4];
            size_t nd = 0;
            for (int k = 0; k < ts[i].nin; k++)
                d[nd++] = (dag_dep_t){blocks[ts[i].in[k]], blen[ts[i].in[k]] * sizeof(long), DAG_IN};
            d[nd++] = (dag_dep_t){blocks[ts[i].out], blen[ts[i].out] * sizeof(long),
                                  (unsigned)ts[i].mode};
            dag_task_attr_t a = {.label = "rnd", .retries = 12};
            ck_assert_int_eq(dag_submit(rbody, &ts[i], sizeof ts[i], d, nd, &a), DAG_OK);
        }
        dag_status_t st = dag_taskwait();
        if (st) {
            dag_error_t e;
            char buf[256];
            dag_last_error(&e);
            ck_abort_msg("seed %d: %s", seed, dag_error_format(&e, buf, sizeof buf));
        }
        rt_stop();
        unsetenv("DAG_FAULT_INJECT");
        for (int b = 0; b < NBLK; b++) {
            ck_assert_msg(!memcmp(ref[b], blocks[b], blen[b] * sizeof(long)),
                          "seed %d: block %d differs from the sequential run", seed, b);
            free(ref[b]);
            free(blocks[b]);
        }
        free(ts);
    }
}
END_TEST

/* Without retries injected faults fail tasks; the failure is reported, dependents are
 * cancelled and the rest still runs (the independent tasks count). */
START_TEST(test_inject_without_retry)
{
    setenv("DAG_FAULT_INJECT", "0.3:7", 1);
    rt_start(2);
    atomic_store(&ran_independent, 0);
    for (int i = 0; i < 200; i++)
        dag_submit(mark_independent, NULL, 0, NULL, 0, NULL);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    int ran = atomic_load(&ran_independent);
    ck_assert_int_gt(ran, 80);
    ck_assert_int_lt(ran, 200);
    rt_stop();
    unsetenv("DAG_FAULT_INJECT");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    if (!TSAN) {
        tcase_add_test(tc, test_crash_reported);
        tcase_add_test(tc, test_nested_crash);
        tcase_add_test(tc, test_crash_unlabelled);
        tcase_add_test(tc, test_crash_outside_tasks_kills);
        tcase_add_test(tc, test_retry_with_children);
        tcase_add_test(tc, test_retry_large);
    }
    tcase_add_test(tc, test_retry_restores_inputs);
    tcase_add_test(tc, test_inject_differential);
    tcase_add_test(tc, test_inject_without_retry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_suite());
}
