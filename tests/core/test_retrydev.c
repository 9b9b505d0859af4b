/* test_retrydev.c: retry(n) of tasks that complete on an event from a device layer
 * (TF_DEVICE: tasks with a CUDA implementation), on a machine without a GPU. A fake
 * device layer stands in for runtime/cuda through the same seam (rt.dev): its "device"
 * is a thread that runs the task's CUDA implementation (plain C here, writing host
 * memory) and fulfils the task's event, failing some attempts after they wrote their
 * outputs; its redo agrees to every retry. What is tested is the core's half
 * (core/retry.c ft_redo, core/task.c): a failed attempt is retried when both its body
 * and its event are done (in either order), with its outputs restored, at most n times,
 * and the result equals the sequential run; exhausted retries fail the task with its
 * label and attempts, and cancel its dependents. The CUDA layer's half (voiding device
 * copies, placement, lost contexts) is tests/gpu/test_gpu_ft.c. White-box: static
 * library only. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "core/runtime.h"
#include "core/task.h"

/* ---- the fake device layer ---------------------------------------------------------- */

struct sub {
    dag_event_t ev;
    struct task *t;
    struct sub *next;
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct sub *q_head, *q_tail;
static int q_stop;
static pthread_t dev_thread;
static atomic_int redo_calls, dev_runs, cpu_runs, dev_fails;
static double fail_prob;
static uint64_t fail_seed;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Whether this run of t fails (after running): depends on the task, a counter per run. */
static int fails(struct task *t)
{
    static atomic_ulong n;
    uint64_t h = mix64(fail_seed ^ mix64(t->id + 0x9e3779b97f4a7c15ull * atomic_fetch_add(&n, 1)));
    return (double)(h >> 11) * 0x1p-53 < fail_prob;
}

static void *dev_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&q_lock);
    for (;;) {
        while (!q_head && !q_stop)
            pthread_cond_wait(&q_cv, &q_lock);
        if (!q_head)
            break;
        struct sub *s = q_head;
        q_head = s->next;
        if (!q_head)
            q_tail = NULL;
        pthread_mutex_unlock(&q_lock);
        if (mix64((uint64_t)(uintptr_t)s) & 1)
            usleep(50); /* sometimes after the worker returned, sometimes before */
        int rc = s->t->cuda(s->t->args, NULL);
        atomic_fetch_add(&dev_runs, 1);
        if (!rc && fails(s->t)) {
            rc = DAG_ERR_DEVICE; /* the outputs were written: the retry must undo them */
            atomic_fetch_add(&dev_fails, 1);
        }
        dag_event_fulfill(s->ev, rc);
        free(s);
        pthread_mutex_lock(&q_lock);
    }
    pthread_mutex_unlock(&q_lock);
    return NULL;
}

static int fake_exec(struct tctx *c, struct task *t)
{
    (void)c;
    if (!(t->flags & TF_DEVICE))
        return t->fn(t->args);
    if (t->device != DAG_DEVICE_CUDA &&
        mix64(t->id * 31 + (uint64_t)atomic_load(&redo_calls)) % 4 == 0) {
        /* its "CPU implementation", on the worker */
        atomic_fetch_add(&cpu_runs, 1);
        int rc = t->fn(t->args);
        return !rc && fails(t) ? 222 : rc;
    }
    struct sub *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(task_detach(t, &s->ev), DAG_OK);
    s->t = t;
    pthread_mutex_lock(&q_lock);
    if (q_tail)
        q_tail->next = s;
    else
        q_head = s;
    q_tail = s;
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_lock);
    if (mix64(t->id) & 2)
        usleep(30);
    return 0;
}

static int fake_redo(struct tctx *c, struct task *t)
{
    (void)c;
    (void)t;
    atomic_fetch_add(&redo_calls, 1);
    return 0;
}

static const struct rt_device_ops fake_ops = {.exec = fake_exec, .redo = fake_redo};

static void fake_start(int nthreads, double prob, uint64_t seed)
{
    rt_start(nthreads);
    fail_prob = prob;
    fail_seed = seed;
    q_stop = 0;
    atomic_store(&redo_calls, 0);
    atomic_store(&dev_runs, 0);
    atomic_store(&cpu_runs, 0);
    atomic_store(&dev_fails, 0);
    ck_assert_int_eq(pthread_create(&dev_thread, NULL, dev_main, NULL), 0);
    rt.dev = &fake_ops;
}

static void fake_stop(void)
{
    pthread_mutex_lock(&q_lock);
    q_stop = 1;
    pthread_cond_signal(&q_cv);
    pthread_mutex_unlock(&q_lock);
    pthread_join(dev_thread, NULL);
    rt.dev = NULL;
    rt_stop();
}

/* ---- random programs ---------------------------------------------------------------- */

#define NBLK 16

struct rtask {
    int in[2], nin, out, mode;
    uint64_t salt;
};

static long *blocks[NBLK];
static size_t blen[NBLK];

static void apply(const struct rtask *t)
{
    long *o = blocks[t->out];
    uint64_t acc = t->salt;
    for (int k = 0; k < t->nin; k++)
        for (size_t i = 0; i < blen[t->in[k]]; i += 5)
            acc = mix64(acc + (uint64_t)blocks[t->in[k]][i]);
    for (size_t i = 0; i < blen[t->out]; i++)
        o[i] = (long)mix64(acc + (t->mode == DAG_INOUT ? (uint64_t)o[i] : i));
}

static int body_cpu(void *p)
{
    apply(p);
    return 0;
}

static int body_dev(void *p, struct dag_cuda_ctx *ctx)
{
    (void)ctx;
    apply(p);
    return 0;
}

static void init_blocks(void)
{
    for (int b = 0; b < NBLK; b++)
        for (size_t i = 0; i < blen[b]; i++)
            blocks[b][i] = (long)(b * 7919 + (long)i);
}

START_TEST(test_device_retry_differential)
{
    int seeds = getenv("DAG_TEST_SEEDS") ? atoi(getenv("DAG_TEST_SEEDS")) : 30;
    if (seeds > 60)
        seeds = 60;
    long total_redo = 0, total_dev = 0, total_cpu = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        uint64_t r = (uint64_t)seed * 0x9e3779b97f4a7c15ull;
        int ntasks = 60 + (int)((r = mix64(r)) % 140);
        for (int b = 0; b < NBLK; b++) {
            /* some blocks of tens of MiB: the restore copies real data */
            blen[b] = 8 + (r = mix64(r)) % (seed % 6 == 0 && b < 2 ? (4u << 20) : 5000);
            blocks[b] = malloc(blen[b] * sizeof(long));
            ck_assert_ptr_nonnull(blocks[b]);
        }
        struct rtask *ts = calloc((size_t)ntasks, sizeof *ts);
        for (int i = 0; i < ntasks; i++) {
            ts[i].out = (int)((r = mix64(r)) % NBLK);
            ts[i].nin = (int)((r = mix64(r)) % 3);
            for (int k = 0; k < ts[i].nin; k++)
                ts[i].in[k] = (ts[i].out + 1 + (int)((r = mix64(r)) % (NBLK - 1))) % NBLK;
            ts[i].mode = (r = mix64(r)) % 2 ? DAG_INOUT : DAG_OUT;
            ts[i].salt = (r = mix64(r));
        }
        init_blocks();
        for (int i = 0; i < ntasks; i++)
            apply(&ts[i]);
        long *ref[NBLK];
        for (int b = 0; b < NBLK; b++) {
            ref[b] = malloc(blen[b] * sizeof(long));
            memcpy(ref[b], blocks[b], blen[b] * sizeof(long));
        }
        init_blocks();
        fake_start(1 + seed % 3, 0.1 + 0.1 * (seed % 3), (uint64_t)seed);
        for (int i = 0; i < ntasks; i++) {
            dag_dep_t d[3];
            size_t nd = 0;
            for (int k = 0; k < ts[i].nin; k++)
                d[nd++] = (dag_dep_t){blocks[ts[i].in[k]], blen[ts[i].in[k]] * sizeof(long),
                                      DAG_IN};
            d[nd++] = (dag_dep_t){blocks[ts[i].out], blen[ts[i].out] * sizeof(long),
                                  (unsigned)ts[i].mode};
            dag_task_attr_t a = {.label = "dev", .cuda = body_dev, .retries = 12};
            ck_assert_int_eq(dag_submit(body_cpu, &ts[i], sizeof ts[i], d, nd, &a), DAG_OK);
        }
        dag_status_t st = dag_taskwait();
        if (st) {
            dag_error_t e;
            char buf[256];
            dag_last_error(&e);
            ck_abort_msg("seed %d: %s", seed, dag_error_format(&e, buf, sizeof buf));
        }
        total_redo += atomic_load(&redo_calls);
        total_dev += atomic_load(&dev_runs);
        total_cpu += atomic_load(&cpu_runs);
        fake_stop();
        for (int b = 0; b < NBLK; b++) {
            ck_assert_msg(!memcmp(ref[b], blocks[b], blen[b] * sizeof(long)),
                          "seed %d: block %d differs from the sequential run", seed, b);
            free(ref[b]);
            free(blocks[b]);
        }
        free(ts);
    }
    /* the retries happened, on both paths */
    ck_assert_int_gt(total_redo, 0);
    ck_assert_int_gt(total_dev, 0);
    ck_assert_int_gt(total_cpu, 0);
}
END_TEST

/* A task whose every attempt fails: retry(3) gives 4 attempts, then the failure carries
 * its label and attempts, and its dependent is cancelled; an independent task runs. */
static int always_fail_dev(void *p, struct dag_cuda_ctx *ctx)
{
    (void)ctx;
    long *x = p;
    *(long *)(uintptr_t)x[0] += 1; /* writes its output, then fails */
    return 9;
}

static int add_one(void *p)
{
    long **x = p;
    **x += 1;
    return 0;
}

START_TEST(test_device_retries_exhausted)
{
    fake_start(2, 0, 1);
    long out = 100, dep = 0, indep = 0;
    long args[1] = {(long)(uintptr_t)&out};
    dag_dep_t d = {&out, sizeof out, DAG_INOUT};
    dag_task_attr_t a = {.label = "doomed", .file = "kernel.cu", .line = 12,
                         .device = DAG_DEVICE_CUDA, .cuda = always_fail_dev, .retries = 3};
    ck_assert_int_eq(dag_submit(add_one, args, sizeof args, &d, 1, &a), DAG_OK);
    long *pd = &dep, *pi = &indep;
    dag_dep_t d2[2] = {{&out, sizeof out, DAG_IN}, {&dep, sizeof dep, DAG_INOUT}};
    ck_assert_int_eq(dag_submit(add_one, &pd, sizeof pd, d2, 2, NULL), DAG_OK);
    dag_dep_t d3 = {&indep, sizeof indep, DAG_INOUT};
    ck_assert_int_eq(dag_submit(add_one, &pi, sizeof pi, &d3, 1, NULL), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    dag_error_t e;
    ck_assert_int_eq(dag_last_error(&e), DAG_OK);
    ck_assert_str_eq(e.label, "doomed");
    ck_assert_int_eq(e.code, 9);
    ck_assert_int_eq(e.attempts, 4);
    ck_assert_int_eq(e.ncancelled, 1);
    ck_assert_int_eq(atomic_load(&redo_calls), 3);
    ck_assert_int_eq(out, 100); /* each failed attempt's write was undone */
    ck_assert_int_eq(dep, 0);
    ck_assert_int_eq(indep, 1);
    fake_stop();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("retrydev");
    TCase *tc = tcase_create("retrydev");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_device_retries_exhausted);
    tcase_add_test(tc, test_device_retry_differential);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_suite());
}
