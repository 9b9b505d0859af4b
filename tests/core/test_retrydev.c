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
 * copies, placement, lost contexts) is tests/gpu/test_gpu_ft.c.
 *
 * Chaining (core/early.c, DAG_CUDA_CHAIN in runtime/cuda): with `chain_on`, the fake
 * releases a device task's successors as soon as it has queued the task on its "device"
 * (one in-order queue, like a stream), as runtime/cuda/launch.c does after a launch. The
 * tests check the core's half: successors that chain start before their predecessor
 * completes, the others (CPU tasks) only after; each successor is released exactly once
 * (by the early release or by the completion, never both), also with many successors
 * (the compaction of the successor lists); one that also waits for another predecessor
 * still waits; a device task submitted after the release gets no edge, a CPU one does;
 * a failure found at completion still reaches the taskwait and the taskgroup and cancels
 * the successors that did not chain; random programs equal the sequential run. The CUDA
 * layer's half (events ordering the data) is tests/gpu/test_random.c. White-box: static
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
/* chaining: release successors when a task is queued; the device holds every task while
 * dev_gate is closed; chained counts the successors released early */
static int chain_on;
static atomic_int dev_gate_closed, chained;
static void (*queue_hook)(struct task *t); /* sees each task the fake queues */

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
        while (atomic_load(&dev_gate_closed))
            usleep(100);
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
    if (!(t->flags & TF_DEVICE))
        return t->fn(t->args);
    if (!chain_on && t->device != DAG_DEVICE_CUDA &&
        mix64(t->id * 31 + (uint64_t)atomic_load(&redo_calls)) % 4 == 0) {
        /* its "CPU implementation", on the worker */
        atomic_fetch_add(&cpu_runs, 1);
        int rc = t->fn(t->args);
        return !rc && fails(t) ? 222 : rc;
    }
    if (queue_hook)
        queue_hook(t);
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
    if (chain_on && !t->ft) /* "launched": its successors may queue behind it */
        atomic_fetch_add(&chained, task_release_early(c, t));
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
    atomic_store(&chained, 0);
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
    chain_on = 0;
    queue_hook = NULL;
    atomic_store(&dev_gate_closed, 0);
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

/* Random programs against their sequential run. chain = 0: device tasks with retry(12)
 * failing at random, some attempts on the "CPU". chain = 1: no failures, chaining on,
 * a quarter of the tasks CPU-only (they never chain: they wait for completions). */
static void run_differential(int chain)
{
    int seeds = getenv("DAG_TEST_SEEDS") ? atoi(getenv("DAG_TEST_SEEDS")) : 30;
    if (seeds > 60)
        seeds = 60;
    long total_redo = 0, total_dev = 0, total_cpu = 0, total_chained = 0;
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
        fake_start(1 + seed % 3, chain ? 0 : 0.1 + 0.1 * (seed % 3), (uint64_t)seed);
        chain_on = chain;
        for (int i = 0; i < ntasks; i++) {
            dag_dep_t d[3];
            size_t nd = 0;
            for (int k = 0; k < ts[i].nin; k++)
                d[nd++] = (dag_dep_t){blocks[ts[i].in[k]], blen[ts[i].in[k]] * sizeof(long),
                                      DAG_IN};
            d[nd++] = (dag_dep_t){blocks[ts[i].out], blen[ts[i].out] * sizeof(long),
                                  (unsigned)ts[i].mode};
            dag_task_attr_t a = {.label = "dev", .cuda = body_dev, .retries = chain ? 0 : 12};
            if (chain && mix64(ts[i].salt) % 4 == 0)
                a.cuda = NULL; /* a CPU task among the chains */
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
        total_chained += atomic_load(&chained);
        fake_stop();
        for (int b = 0; b < NBLK; b++) {
            ck_assert_msg(!memcmp(ref[b], blocks[b], blen[b] * sizeof(long)),
                          "seed %d: block %d differs from the sequential run", seed, b);
            free(ref[b]);
            free(blocks[b]);
        }
        free(ts);
    }
    ck_assert_int_gt(total_dev, 0);
    if (chain) { /* successors started behind launched tasks */
        ck_assert_int_eq(total_redo, 0);
        ck_assert_int_gt(total_chained, 0);
        return;
    }
    /* the retries happened, on both paths */
    ck_assert_int_gt(total_redo, 0);
    ck_assert_int_gt(total_cpu, 0);
}

START_TEST(test_device_retry_differential)
{
    run_differential(0);
}
END_TEST

START_TEST(test_chain_differential)
{
    run_differential(1);
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

/* ---- chaining: the core's half -------------------------------------------------------- */

#define NSUCC 40 /* successors of one task: the inline array and three chunks */
enum { CH_P = 0, CH_S2 = NSUCC + 1, CH_BLOCKER, CH_LATE_GPU, CH_LATE_CPU, CH_START, CH_N };

static atomic_int ch_runs[CH_N], ch_order[CH_N], ch_queued[CH_N], ch_seq;
static gate_t ch_blocker_gate, ch_start_gate;
static long ch_a, ch_x, ch_b[CH_N];

struct ch_args {
    int idx;
    int fail; /* the device body returns this */
};

static void ch_record(int idx)
{
    atomic_fetch_add(&ch_runs[idx], 1);
    atomic_store(&ch_order[idx], 1 + atomic_fetch_add(&ch_seq, 1));
}

static int ch_body(void *p)
{
    const struct ch_args *a = p;
    ch_record(a->idx);
    if (a->idx == CH_P)
        ch_a = 42;
    else if (a->idx == CH_BLOCKER)
        gate_wait(&ch_blocker_gate), ch_x = 5;
    else if (a->idx == CH_START)
        gate_wait(&ch_start_gate); /* P waits for it: its successors exist when it starts */
    else
        ch_b[a->idx] = ch_a + a->idx + (a->idx == CH_S2 ? ch_x : 0);
    return 0;
}

static int ch_body_dev(void *p, struct dag_cuda_ctx *ctx)
{
    (void)ctx;
    int rc = ch_body(p);
    return rc ? rc : ((const struct ch_args *)p)->fail;
}

static void ch_queue(struct task *t)
{
    atomic_store(&ch_queued[((const struct ch_args *)t->args)->idx], 1);
}

/* Waits (at most 20 s) until the task idx was queued on the fake device. */
static void ch_wait_queued(int idx)
{
    for (int i = 0; i < 20000 && !atomic_load(&ch_queued[idx]); i++)
        usleep(1000);
    ck_assert_msg(atomic_load(&ch_queued[idx]), "task %d was never launched", idx);
}

static void ch_submit(int idx, int gpu, int fail, dag_dep_t *d, size_t nd)
{
    struct ch_args a = {idx, fail};
    dag_task_attr_t at = {.label = idx == CH_P ? "pred" : "succ", .cuda = gpu ? ch_body_dev : NULL};
    ck_assert_int_eq(dag_submit(ch_body, &a, sizeof a, d, nd, &at), DAG_OK);
}

static void ch_reset(void)
{
    for (int i = 0; i < CH_N; i++) {
        atomic_store(&ch_runs[i], 0);
        atomic_store(&ch_order[i], 0);
        atomic_store(&ch_queued[i], 0);
        ch_b[i] = 0;
    }
    atomic_store(&ch_seq, 0);
    atomic_store(&ch_blocker_gate.open, 0);
    atomic_store(&ch_start_gate.open, 0);
    ch_a = ch_x = 0;
}

/* A device task P with NSUCC successors reading its output, every other one a device
 * task: while the device holds P (not complete), its device successors are launched,
 * its CPU ones are not; one that also waits for a CPU task waits for it; a device task
 * submitted later launches at once, a CPU one still waits for P. Then everything runs
 * exactly once, the CPU successors after P, with the right data. */
START_TEST(test_chain_release_early)
{
    ch_reset();
    fake_start(3, 0, 1);
    chain_on = 1;
    queue_hook = ch_queue;
    atomic_store(&dev_gate_closed, 1);
    dag_dep_t dp = {&ch_a, sizeof ch_a, DAG_INOUT};
    ch_submit(CH_START, 0, 0, &dp, 1);
    ch_submit(CH_P, 1, 0, &dp, 1);
    for (int i = 1; i <= NSUCC; i++) {
        dag_dep_t d[2] = {{&ch_a, sizeof ch_a, DAG_IN}, {&ch_b[i], sizeof ch_b[i], DAG_OUT}};
        ch_submit(i, i % 2, 0, d, 2);
    }
    dag_dep_t db = {&ch_x, sizeof ch_x, DAG_OUT};
    ch_submit(CH_BLOCKER, 0, 0, &db, 1);
    dag_dep_t d2[3] = {{&ch_a, sizeof ch_a, DAG_IN}, {&ch_x, sizeof ch_x, DAG_IN},
                       {&ch_b[CH_S2], sizeof(long), DAG_OUT}};
    ch_submit(CH_S2, 1, 0, d2, 3);
    gate_open(&ch_start_gate);
    ch_wait_queued(CH_P);
    for (int i = 1; i <= NSUCC; i += 2)
        ch_wait_queued(i);
    dag_dep_t dl[2] = {{&ch_a, sizeof ch_a, DAG_IN}, {&ch_b[CH_LATE_GPU], sizeof(long), DAG_OUT}};
    ch_submit(CH_LATE_GPU, 1, 0, dl, 2); /* after the release: no edge from P */
    ch_wait_queued(CH_LATE_GPU);
    dl[1].addr = &ch_b[CH_LATE_CPU];
    ch_submit(CH_LATE_CPU, 0, 0, dl, 2); /* attaches: waits for P's completion */
    usleep(20000);
    ck_assert_int_eq(atomic_load(&ch_runs[CH_P]), 0); /* the device still holds P */
    for (int i = 2; i <= NSUCC; i += 2)
        ck_assert_msg(atomic_load(&ch_runs[i]) == 0, "CPU successor %d ran before P", i);
    ck_assert_int_eq(atomic_load(&ch_runs[CH_LATE_CPU]), 0);
    ck_assert_msg(!atomic_load(&ch_queued[CH_S2]), "released before its CPU predecessor ended");
    gate_open(&ch_blocker_gate);
    ch_wait_queued(CH_S2);
    atomic_store(&dev_gate_closed, 0);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    /* P released its NSUCC/2 device successors and S2 early; the late one had no edge */
    ck_assert_int_eq(atomic_load(&chained), NSUCC / 2 + 1);
    for (int i = 0; i < CH_N; i++)
        ck_assert_msg(atomic_load(&ch_runs[i]) == 1, "task %d ran %d times", i,
                      atomic_load(&ch_runs[i]));
    for (int i = 1; i < CH_START; i++) {
        if (i == CH_BLOCKER)
            continue;
        ck_assert_msg(atomic_load(&ch_order[i]) > atomic_load(&ch_order[CH_P]),
                      "task %d ran before its predecessor", i);
        ck_assert_int_eq(ch_b[i], 42 + i + (i == CH_S2 ? 5 : 0));
    }
    fake_stop();
}
END_TEST

/* P fails on the device after its device successor was released: the failure reaches the
 * taskgroup and the taskwait with P's label, its CPU successor is cancelled, its device
 * successor (launched) ran. */
START_TEST(test_chain_failure_after_release)
{
    for (int group = 1; group >= 0; group--) {
        ch_reset();
        fake_start(2, 0, 1);
        chain_on = 1;
        queue_hook = ch_queue;
        atomic_store(&dev_gate_closed, 1);
        if (group)
            ck_assert_int_eq(dag_taskgroup_begin(), DAG_OK);
        dag_dep_t dp = {&ch_a, sizeof ch_a, DAG_INOUT};
        ch_submit(CH_START, 0, 0, &dp, 1);
        ch_submit(CH_P, 1, 17, &dp, 1);
        dag_dep_t d[2] = {{&ch_a, sizeof ch_a, DAG_IN}, {&ch_b[1], sizeof(long), DAG_OUT}};
        ch_submit(1, 1, 0, d, 2);
        d[1].addr = &ch_b[2];
        ch_submit(2, 0, 0, d, 2);
        gate_open(&ch_start_gate);
        ch_wait_queued(1);
        atomic_store(&dev_gate_closed, 0);
        if (group) /* reported once: to the group */
            ck_assert_int_eq(dag_taskgroup_end(), DAG_ERR_TASK_FAILED);
        else
            ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
        dag_error_t e;
        ck_assert_int_eq(dag_last_error(&e), DAG_OK);
        ck_assert_str_eq(e.label, "pred");
        ck_assert_int_eq(e.code, 17);
        ck_assert_int_eq(e.ncancelled, 1);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&ch_runs[1]), 1);
        ck_assert_int_eq(atomic_load(&ch_runs[2]), 0);
        ck_assert_msg(atomic_load(&chained) == 1, "group %d: %d released early", group,
                      atomic_load(&chained));
        fake_stop();
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("retrydev");
    TCase *tc = tcase_create("retrydev");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_device_retries_exhausted);
    tcase_add_test(tc, test_device_retry_differential);
    tcase_add_test(tc, test_chain_release_early);
    tcase_add_test(tc, test_chain_failure_after_release);
    tcase_add_test(tc, test_chain_differential);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_suite());
}
