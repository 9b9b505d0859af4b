/* test_gpu.c: the CUDA layer's suite (Check): variants and forced placement, coherence
 * across CPU and GPU tasks (transfers only when needed, partial overlaps), detach-based
 * completion, failures, registered memory, out-of-core eviction, several GPUs, and a
 * randomised differential test across random CPU/GPU placements against sequential
 * execution. Exits 77 (skipped) with a message when no CUDA device is present.
 * Tests run in one process (CK_NOFORK): CUDA does not survive fork(). Each test starts
 * and stops the runtime itself, with the DAG_* environment it needs.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dag.h>
#include <dag/cuda.h>

#include "gpu_test.h"
#include "kernels.h"

void start(int nthreads, const char *sched)
{
    if (sched)
        setenv("DAG_SCHED", sched, 1);
    else
        unsetenv("DAG_SCHED");
    dag_config_t cfg = {.nthreads = nthreads, .bind = DAG_BIND_NONE};
    dag_finalize(); /* a failed test (no fork) may have left it running */
    ck_assert_int_eq(dag_init(&cfg), DAG_OK);
    ck_assert_int_gt(dag_cuda_device_count(), 0);
    dag_cuda_stats_reset();
}

void stop(void)
{
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    unsetenv("DAG_SCHED");
    unsetenv("DAG_CUDA_MEM_MB");
    unsetenv("DAG_CUDA_WRITEBACK");
    unsetenv("DAG_SCHED_SEED");
}

dag_cuda_stats_t stats(void)
{
    dag_cuda_stats_t s;
    ck_assert_int_eq(dag_cuda_stats(&s), DAG_OK);
    return s;
}

static void submit_add(uint32_t *x, size_t n, uint32_t v, int device, dag_cuda_fn cuda)
{
    struct add_args a = {x, n, v};
    dag_dep_t d = {x, n * sizeof *x, DAG_INOUT};
    dag_task_attr_t at = {.label = "add", .device = device, .cuda = cuda};
    ck_assert_int_eq(dag_submit(cpu_add, &a, sizeof a, &d, 1, &at), DAG_OK);
}

/* submit_add of 1, then a wait */
static void add_wait(uint32_t *x, size_t n, int device, dag_cuda_fn cuda)
{
    submit_add(x, n, 1, device, cuda);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
}

/* ---- basics ------------------------------------------------------------------------- */

START_TEST(test_gpu_task_result_on_host)
{
    start(2, NULL);
    enum { N = 100000 };
    uint32_t *x = malloc(N * sizeof *x);
    for (size_t i = 0; i < N; i++)
        x[i] = (uint32_t)i;
    submit_add(x, N, 7, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(x[i], i + 7);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_eq(s.gpu_tasks, 1);
    ck_assert_uint_eq(s.h2d_copies, 1);
    ck_assert_uint_eq(s.d2h_copies, 1);
    free(x);
    stop();
}
END_TEST

/* A chain of GPU tasks on one region moves it in once and out once. */
START_TEST(test_transfers_only_when_needed)
{
    setenv("DAG_CUDA_WRITEBACK", "lazy", 1);
    start(2, NULL);
    enum { N = 1 << 16, STEPS = 20 };
    uint32_t *x = calloc(N, sizeof *x);
    for (int k = 0; k < STEPS; k++)
        submit_add(x, N, 1, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(x[i], STEPS);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_eq(s.gpu_tasks, STEPS);
    ck_assert_uint_eq(s.h2d_copies, 1);
    ck_assert_uint_eq(s.d2h_copies, 1);
    free(x);
    stop();
}
END_TEST

/* CPU -> GPU -> CPU without a wait between: the CPU reader sees the GPU's result. */
static uint32_t seen_by_cpu;
static int cpu_read_first(void *args)
{
    seen_by_cpu = **(uint32_t **)args;
    return 0;
}

START_TEST(test_cpu_gpu_cpu_chain)
{
    start(2, NULL);
    enum { N = 4096 };
    uint32_t *x = calloc(N, sizeof *x);
    for (int round = 0; round < 5; round++) {
        submit_add(x, N, 10, DAG_DEVICE_CPU, cuda_add);  /* forced CPU */
        submit_add(x, N, 1, DAG_DEVICE_CUDA, cuda_add);  /* forced GPU */
        dag_dep_t d = {x, N * sizeof *x, DAG_IN};
        ck_assert_int_eq(dag_submit(cpu_read_first, &x, sizeof x, &d, 1, NULL), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_uint_eq(seen_by_cpu, 11u * (round + 1));
    }
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(x[i], 55);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_eq(s.gpu_tasks, 5);
    ck_assert_uint_eq(s.cpu_tasks, 4); /* the first ran before any CUDA task: unseen */
    free(x);
    stop();
}
END_TEST

/* With DAG_TRACE on, host<->device copies appear as transfer slices with their bytes on
 * the copy-engine lanes (1000 + device * 32 + 30 / 31). */
START_TEST(test_copies_traced)
{
    char path[] = "/tmp/dag_gpu_traceXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("DAG_TRACE", path, 1);
    start(2, NULL);
    enum { N = 8192 };
    uint32_t *x = calloc(N, sizeof *x);
    submit_add(x, N, 1, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_OK); /* brings x home: one copy each way */
    ck_assert_uint_eq(x[N - 1], 1);
    stop();
    unsetenv("DAG_TRACE");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    unlink(path);
    ck_assert_ptr_nonnull(strstr(buf, "\"name\":\"H2D 32768 B\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"name\":\"D2H 32768 B\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"tid\":1030"));
    ck_assert_ptr_nonnull(strstr(buf, "\"tid\":1031"));
    free(x);
}
END_TEST

/* Forced placement beats every policy. */
START_TEST(test_forced_placement)
{
    static const char *pols[] = {"dmda", "eager", "cpu", "random"};
    for (int p = 0; p < 4; p++) {
        start(2, pols[p]);
        enum { N = 1024, K = 12 };
        uint32_t *x = calloc(N, sizeof *x);
        for (int k = 0; k < K; k++)
            submit_add(x, N, 1, k % 2 ? DAG_DEVICE_CPU : DAG_DEVICE_CUDA, cuda_add);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        dag_cuda_stats_t s = stats();
        ck_assert_msg(s.gpu_tasks == K / 2 && s.cpu_tasks == K / 2, "policy %s: %llu gpu %llu cpu",
                      pols[p], s.gpu_tasks, s.cpu_tasks);
        ck_assert_uint_eq(x[N - 1], K);
        free(x);
        stop();
    }
}
END_TEST

/* device(cuda) without a variant: the body launches with dag_cuda_current(). */
START_TEST(test_device_body_launches)
{
    start(2, NULL);
    enum { N = 5000 };
    uint32_t *x = calloc(N, sizeof *x);
    struct add_args a = {x, N, 3};
    dag_dep_t d = {x, sizeof(uint32_t) * N, DAG_INOUT};
    dag_task_attr_t at = {.label = "body", .device = DAG_DEVICE_CUDA};
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(dag_submit(body_add_current, &a, sizeof a, &d, 1, &at), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_uint_eq(x[0], 12);
    ck_assert_uint_eq(x[N - 1], 12);
    ck_assert_ptr_null(dag_cuda_current());
    free(x);
    stop();
}
END_TEST

/* A failing CUDA implementation fails its task and cancels its dependents. */
static int cuda_fail(void *args, struct dag_cuda_ctx *ctx)
{
    (void)args;
    (void)ctx;
    return 42;
}

START_TEST(test_failure_reaches_waiter)
{
    start(2, NULL);
    uint32_t x[64] = {0};
    dag_dep_t d = {x, sizeof x, DAG_INOUT};
    dag_task_attr_t at = {.label = "boom", .device = DAG_DEVICE_CUDA, .cuda = cuda_fail};
    struct add_args a = {x, 64, 1};
    ck_assert_int_eq(dag_submit(cpu_add, &a, sizeof a, &d, 1, &at), DAG_OK);
    submit_add(x, 64, 1, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_ERR_TASK_FAILED);
    dag_error_t e;
    ck_assert_int_eq(dag_last_error(&e), DAG_OK);
    ck_assert_int_eq(e.code, 42);
    ck_assert_str_eq(e.label, "boom");
    ck_assert_uint_eq(x[0], 0);
    stop();
}
END_TEST

/* ---- coherence ---------------------------------------------------------------------- */

/* Different, partially overlapping and nested ranges, written on the GPU and the CPU. */
START_TEST(test_partial_overlaps)
{
    start(2, NULL);
    enum { N = 3000 };
    uint32_t *x = calloc(N, sizeof *x), ref[N] = {0};
    struct { size_t o, n; int dev; } steps[] = {
        {0, 2000, DAG_DEVICE_CUDA}, {1000, 2000, DAG_DEVICE_CUDA}, {500, 100, DAG_DEVICE_CPU},
        {0, 3000, DAG_DEVICE_CUDA}, {1500, 10, DAG_DEVICE_CUDA}, {1000, 2000, DAG_DEVICE_CPU},
        {0, 2000, DAG_DEVICE_CUDA}, {1999, 2, DAG_DEVICE_CUDA}};
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
        submit_add(x + steps[k].o, steps[k].n, (uint32_t)k + 1, steps[k].dev, cuda_add);
        for (size_t i = 0; i < steps[k].n; i++)
            ref[steps[k].o + i] += (uint32_t)k + 1;
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t i = 0; i < N; i++)
        ck_assert_msg(x[i] == ref[i], "x[%zu] = %u, expected %u", i, x[i], ref[i]);
    free(x);
    stop();
}
END_TEST

/* One task's own dependencies overlap: an inout range and an in range sharing bytes,
 * nested, repeated and shifted. The kernel skips the bytes it reads, so the result is
 * defined; it is right only if both device pointers see one buffer. */
START_TEST(test_own_overlaps)
{
    start(2, NULL);
    enum { N = 6000 };
    uint32_t *x = malloc(N * sizeof *x), *ref = malloc(N * sizeof *ref);
    for (size_t i = 0; i < N; i++)
        x[i] = ref[i] = (uint32_t)(i * 2654435761u);
    struct { size_t oo, on, io, in; int dev; } st[] = {
        {0, 3000, 2000, 3000, DAG_DEVICE_CUDA},   /* shifted */
        {1000, 4000, 1500, 500, DAG_DEVICE_CUDA}, /* in nested in out */
        {2000, 100, 0, 5000, DAG_DEVICE_CUDA},    /* out nested in in */
        {3000, 1000, 3000, 1000, DAG_DEVICE_CUDA},/* the same range twice */
        {500, 2000, 0, 1000, DAG_DEVICE_CPU},     /* the CPU reads what the GPU wrote */
        {0, 6000, 5990, 10, DAG_DEVICE_CUDA},
        {5000, 1000, 4000, 1500, DAG_DEVICE_CUDA}};
    for (size_t k = 0; k < sizeof st / sizeof *st; k++) {
        struct mix_args m = {x + st[k].oo, x + st[k].io, st[k].on, st[k].in, (uint32_t)k};
        dag_dep_t d[2] = {{x + st[k].oo, st[k].on * 4, DAG_INOUT},
                          {x + st[k].io, st[k].in * 4, DAG_IN}};
        dag_task_attr_t at = {.label = "mix", .cuda = cuda_mix, .device = st[k].dev};
        ck_assert_int_eq(dag_submit(cpu_mix, &m, sizeof m, d, 2, &at), DAG_OK);
        struct mix_args r = {ref + st[k].oo, ref + st[k].io, st[k].on, st[k].in, (uint32_t)k};
        cpu_mix(&r);
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t i = 0; i < N; i++)
        ck_assert_msg(x[i] == ref[i], "x[%zu] = %u, expected %u", i, x[i], ref[i]);
    ck_assert_uint_eq(stats().gpu_tasks, 6);
    free(x);
    free(ref);
    stop();
}
END_TEST

/* A GPU task's merged dependencies (inout [0,512) and in [256,1024): one region of 1024
 * elements, written) overlap what a concurrent task reads, [768,1024): the two do not
 * conflict, so the other may run while the GPU task is being launched and bring the
 * region home from the device before the kernel has run (a CPU reader of [768,1024)), or
 * also take the region's device copy away (a GPU task whose own merged dependencies,
 * inout [1024,1536) and in [768,1280), overlap it). Neither may make the kernel's result
 * lost. The first task's launch function waits until the other has started. */
static atomic_int window_open, other_started;
static int slow_cuda_mix(void *a, struct dag_cuda_ctx *ctx)
{
    atomic_store(&window_open, 1);
    for (int i = 0; i < 2000 && !atomic_load(&other_started); i++)
        usleep(1000);
    usleep(20000); /* the other's copy back is enqueued meanwhile */
    return cuda_mix(a, ctx);
}

static int cuda_mix_started(void *a, struct dag_cuda_ctx *ctx)
{
    int rc = cuda_mix(a, ctx);
    atomic_store(&other_started, 1);
    return rc;
}

struct sum_args {
    const uint32_t *x;
    size_t n;
    uint64_t *out;
};
static int cpu_sum(void *a)
{
    struct sum_args *s = a;
    atomic_store(&other_started, 1);
    uint64_t v = 0;
    for (size_t i = 0; i < s->n; i++)
        v += s->x[i];
    *s->out = v;
    return 0;
}

START_TEST(test_merged_write_window)
{
    for (int round = 0; round < 4; round++) {
        int gpu_other = round / 2;
        setenv("DAG_CUDA_WRITEBACK", round % 2 ? "lazy" : "eager", 1);
        start(2, NULL);
        enum { N = 2048 };
        uint32_t *x = malloc(N * sizeof *x), ref[N];
        for (size_t i = 0; i < N; i++)
            x[i] = ref[i] = (uint32_t)(i * 2654435761u + (uint32_t)round);
        uint64_t want = 0, got = 0;
        for (size_t i = 768; i < 1024; i++)
            want += ref[i];
        /* a GPU task first, so that the others get jobs */
        submit_add(x + 1600, 1, 0, DAG_DEVICE_CUDA, cuda_add);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        atomic_store(&window_open, 0);
        atomic_store(&other_started, 0);
        struct mix_args m = {x, x + 256, 512, 768, 7};
        dag_dep_t d[2] = {{x, 512 * 4, DAG_INOUT}, {x + 256, 768 * 4, DAG_IN}};
        dag_task_attr_t at = {.label = "mix", .cuda = slow_cuda_mix, .device = DAG_DEVICE_CUDA};
        ck_assert_int_eq(dag_submit(cpu_mix, &m, sizeof m, d, 2, &at), DAG_OK);
        while (!atomic_load(&window_open))
            usleep(100);
        struct sum_args sa = {x + 768, 256, &got};
        struct mix_args m2 = {x + 1024, x + 768, 512, 512, 9};
        if (gpu_other) {
            dag_dep_t d2[2] = {{x + 1024, 512 * 4, DAG_INOUT}, {x + 768, 512 * 4, DAG_IN}};
            dag_task_attr_t a2 = {.label = "mix2", .cuda = cuda_mix_started,
                                  .device = DAG_DEVICE_CUDA};
            ck_assert_int_eq(dag_submit(cpu_mix, &m2, sizeof m2, d2, 2, &a2), DAG_OK);
        } else {
            dag_dep_t ds[2] = {{x + 768, 256 * 4, DAG_IN}, {&got, sizeof got, DAG_OUT}};
            dag_task_attr_t as = {.label = "sum", .device = DAG_DEVICE_CPU};
            ck_assert_int_eq(dag_submit(cpu_sum, &sa, sizeof sa, ds, 2, &as), DAG_OK);
        }
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(atomic_load(&other_started), 1);
        struct mix_args r = {ref, ref + 256, 512, 768, 7};
        cpu_mix(&r);
        if (gpu_other) {
            struct mix_args r2 = {ref + 1024, ref + 768, 512, 512, 9};
            cpu_mix(&r2);
        } else {
            ck_assert_uint_eq(got, want);
        }
        for (size_t i = 0; i < N; i++)
            ck_assert_msg(x[i] == ref[i], "round %d: x[%zu] = %u, expected %u", round, i, x[i],
                          ref[i]);
        free(x);
        stop();
    }
}
END_TEST

/* A CPU task whose input is dirty on the GPU does not wait for the copy back on its
 * worker: it is deferred until the copy completes, and the worker runs other tasks
 * meanwhile (here: the independent CPU tasks submitted after it). */
static atomic_int others_ran;
static int count_other(void *a)
{
    (void)a;
    atomic_fetch_add(&others_ran, 1);
    return 0;
}

START_TEST(test_cpu_reader_deferred)
{
    setenv("DAG_CUDA_WRITEBACK", "lazy", 1); /* the reader triggers the copy back */
    start(1, NULL);
    enum { N = 16 << 20 }; /* 64 MiB: the copy back takes milliseconds */
    uint32_t *x = calloc(N, sizeof *x);
    atomic_store(&others_ran, 0);
    for (int round = 0; round < 3; round++) {
        submit_add(x, N, 5, DAG_DEVICE_CUDA, cuda_add);
        dag_dep_t d = {x, (size_t)N * sizeof *x, DAG_IN};
        ck_assert_int_eq(dag_submit(cpu_read_first, &x, sizeof x, &d, 1, NULL), DAG_OK);
        for (int k = 0; k < 50; k++)
            ck_assert_int_eq(dag_submit(count_other, NULL, 0, NULL, 0, NULL), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_uint_eq(seen_by_cpu, 5u * (round + 1));
    }
    for (size_t i = 0; i < N; i += 4099)
        ck_assert_uint_eq(x[i], 15);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_eq(s.gpu_tasks, 3);
    ck_assert_uint_ge(s.deferred_cpu, 1); /* at least one reader found its copy running */
    ck_assert_int_eq(atomic_load(&others_ran), 150);
    free(x);
    stop();
}
END_TEST

/* Under auto write-back, a result goes home once the last submitted writer of its range
 * is done, before the final wait, although later GPU tasks still read it on the device
 * (they do not make it wait for the host). A gate task holds the flow back until it is all
 * submitted. x: written by 3 GPU tasks, then read by 2; the copy goes home once. */
static atomic_int gate_open;
static int gate_wait(void *a)
{
    (void)a;
    while (!atomic_load(&gate_open))
        usleep(200);
    return 0;
}

START_TEST(test_early_writeback)
{
    setenv("DAG_CUDA_WRITEBACK", "auto", 1);
    start(2, NULL);
    enum { N = 1 << 20 };
    uint32_t *x = calloc(N, sizeof *x), *y = calloc(N, sizeof *y);
    atomic_store(&gate_open, 0);
    dag_dep_t g = {x, N * sizeof *x, DAG_INOUT};
    dag_task_attr_t ga = {.label = "gate", .device = DAG_DEVICE_CPU};
    ck_assert_int_eq(dag_submit(gate_wait, NULL, 0, &g, 1, &ga), DAG_OK);
    for (int k = 0; k < 3; k++)
        submit_add(x, N, 1, DAG_DEVICE_CUDA, cuda_add);
    for (int k = 0; k < 2; k++) { /* y += x, twice, on the GPU */
        struct mix_args m = {y, x, N, N, 0};
        dag_dep_t d[2] = {{y, N * sizeof *y, DAG_INOUT}, {x, N * sizeof *x, DAG_IN}};
        dag_task_attr_t at = {.label = "mix", .cuda = cuda_mix, .device = DAG_DEVICE_CUDA};
        ck_assert_int_eq(dag_submit(cpu_mix, &m, sizeof m, d, 2, &at), DAG_OK);
    }
    atomic_store(&gate_open, 1);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_ge(s.early_writebacks, 1); /* x, after the third add */
    ck_assert_uint_eq(x[0], 3);
    ck_assert_uint_eq(x[N - 1], 3);
    ck_assert_uint_eq(y[N - 1], 3 * 3 + 3); /* (0 * 3 + 3) * 3 + 3 */
    free(x);
    free(y);
    stop();
}
END_TEST

/* Registered memory keeps its device copy across waits until the host says otherwise. */
START_TEST(test_registered_memory)
{
    setenv("DAG_CUDA_WRITEBACK", "lazy", 1);
    start(2, NULL);
    enum { N = 1 << 18 };
    uint32_t *x = calloc(N, sizeof *x);
    ck_assert_int_eq(dag_cuda_register(x, N * sizeof *x), DAG_OK);
    add_wait(x, N, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_uint_eq(x[N - 1], 1);
    add_wait(x, N, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_uint_eq(x[N - 1], 2);
    ck_assert_uint_eq(stats().h2d_copies, 1); /* the second task found its copy */
    x[5] = 100;
    ck_assert_int_eq(dag_cuda_host_modified(x, N * sizeof *x), DAG_OK);
    submit_add(x, N, 1, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_uint_eq(x[5], 101);
    ck_assert_uint_eq(x[6], 3);
    ck_assert_uint_eq(stats().h2d_copies, 2);
    ck_assert_int_eq(dag_cuda_unregister(x, N * sizeof *x), DAG_OK);
    free(x);
    stop();
}
END_TEST

/* Resident memory (DAG_CUDA_RESIDENT): results stay on the device across waits, under
 * the default write-back (auto, which would copy a result with no successor home
 * eagerly), and come home only on demand: dag_cuda_host_sync, a CPU task reading the
 * range, dag_cuda_unregister. */
START_TEST(test_resident_memory)
{
    unsetenv("DAG_CUDA_WRITEBACK");
    start(2, NULL);
    enum { N = 1 << 18 };
    uint32_t *x = calloc(N, sizeof *x);
    ck_assert_int_eq(dag_cuda_register_flags(x, N * sizeof *x, 0x80), DAG_ERR_INVALID);
    ck_assert_int_eq(dag_cuda_register_flags(x, N * sizeof *x, DAG_CUDA_RESIDENT), DAG_OK);
    dag_cuda_stats_t s0 = stats();
    for (int k = 0; k < 3; k++)
        add_wait(x, N, DAG_DEVICE_CUDA, cuda_add);
    dag_cuda_stats_t s1 = stats();
    ck_assert_uint_eq(s1.d2h_bytes, s0.d2h_bytes); /* nothing came home */
    ck_assert_uint_eq(s1.h2d_copies - s0.h2d_copies, 1);
    ck_assert_uint_eq(x[N - 1], 0);                 /* the host bytes are stale */
    ck_assert_int_eq(dag_cuda_host_sync(x, N * sizeof *x), DAG_OK);
    ck_assert_uint_eq(x[0], 3);
    ck_assert_uint_eq(x[N - 1], 3);
    /* still resident: another GPU result stays there until a CPU task reads it */
    add_wait(x, N, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_uint_eq(x[N - 1], 3);
    add_wait(x, N, DAG_DEVICE_CPU, NULL);
    ck_assert_uint_eq(x[N - 1], 5);
    add_wait(x, N, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_cuda_unregister(x, N * sizeof *x), DAG_OK);
    ck_assert_uint_eq(x[N - 1], 6); /* unregistering brought it home */
    free(x);
    stop();
}
END_TEST

/* Ranges across two page-locked regions (issue 13): two tiles of one allocation, each
 * registered by its first copy (>= DAG_CUDA_PIN_MIN), then GPU tasks whose ranges start
 * in one and end in the other, read and written, with the tiles at a page boundary and
 * 16 bytes off it (they then share a page). CUDA rejects a page-locked copy that runs
 * past its registration: the runtime must cut copies at registration edges. */
START_TEST(test_straddling_registrations)
{
    for (int shift = 0; shift < 2; shift++) {
        start(2, NULL);
        enum { T = 1 << 20 }; /* elements per tile: 4 MiB */
        void *mem = NULL;
        ck_assert_int_eq(posix_memalign(&mem, 4096, (2 * T + 1024) * sizeof(uint32_t)), 0);
        uint32_t *base = mem, *x = base + (shift ? 4 : 0);
        for (size_t i = 0; i < 2 * T; i++)
            x[i] = (uint32_t)i;
        submit_add(x, T, 1, DAG_DEVICE_CUDA, cuda_add);     /* registers tile 0 */
        submit_add(x + T, T, 2, DAG_DEVICE_CUDA, cuda_add); /* registers tile 1 */
        submit_add(x + T / 2, T, 4, DAG_DEVICE_CUDA, cuda_add); /* across both */
        submit_add(x + T - 3, 5, 8, DAG_DEVICE_CUDA, cuda_add); /* a few bytes across */
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        for (size_t i = 0; i < 2 * T; i++) {
            uint32_t want = (uint32_t)i + (i < T ? 1 : 2) + (i >= T / 2 && i < T / 2 + T ? 4 : 0) +
                            (i >= T - 3 && i < T + 2 ? 8 : 0);
            ck_assert_msg(x[i] == want, "shift %d: x[%zu] = %u, expected %u", shift, i, x[i], want);
        }
        dag_cuda_stats_t st = stats();
        ck_assert_uint_eq(st.gpu_tasks, 4);
        ck_assert_uint_ge(st.host_registers, 1);
        free(base);
        stop();
    }
}
END_TEST

/* More data than the device may hold (DAG_CUDA_MEM_MB): LRU eviction with write-back. */
START_TEST(test_out_of_core)
{
    setenv("DAG_CUDA_MEM_MB", "48", 1);
    start(4, "eager");
    enum { TILES = 24, TN = (4 << 20) / 4, ROUNDS = 3 }; /* 24 tiles of 4 MiB: 96 MiB */
    uint32_t *x = malloc((size_t)TILES * TN * sizeof *x);
    for (size_t i = 0; i < (size_t)TILES * TN; i++)
        x[i] = (uint32_t)i;
    for (int r = 0; r < ROUNDS; r++)
        for (int t = 0; t < TILES; t++)
            submit_add(x + (size_t)t * TN, TN, (uint32_t)(r + 1), DAG_DEVICE_ANY, cuda_add);
    /* and tasks that read two tiles at once, far apart */
    for (int t = 0; t < TILES / 2; t++) {
        struct mix_args m = {x + (size_t)t * TN, x + (size_t)(t + TILES / 2) * TN, TN, TN, 5};
        dag_dep_t d[2] = {{m.out, TN * 4, DAG_INOUT}, {(void *)m.in, TN * 4, DAG_IN}};
        dag_task_attr_t at = {.label = "mix", .cuda = cuda_mix};
        ck_assert_int_eq(dag_submit(cpu_mix, &m, sizeof m, d, 2, &at), DAG_OK);
    }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t t = 0; t < TILES; t++) {
        for (size_t k = 0; k < TN; k += 4099) {
            size_t i = t * TN + k;
            uint32_t v = (uint32_t)i + 6;
            if (t < TILES / 2)
                v = v * 3u + ((uint32_t)(i + (size_t)TILES / 2 * TN) + 6) + 5;
            ck_assert_msg(x[i] == v, "x[%zu] = %u, expected %u", i, x[i], v);
        }
    }
    dag_cuda_stats_t s = stats();
    ck_assert_uint_eq(s.gpu_tasks, TILES * ROUNDS + TILES / 2);
    ck_assert_uint_gt(s.evictions, 0);
    ck_assert_uint_gt(s.writebacks, 0);
    fprintf(stderr, "out-of-core: %llu evictions, %llu write-backs, %llu MiB in, %llu MiB out\n",
            s.evictions, s.writebacks, s.h2d_bytes >> 20, s.d2h_bytes >> 20);
    free(x);
    stop();
}
END_TEST

static int no_cpu_body(void *args)
{
    (void)args;
    return 99; /* forced to the GPU: never runs */
}

/* cuBLAS on the task's stream: a 2x2 tiled product against a CPU loop. */
START_TEST(test_cublas_tiles)
{
    start(2, NULL);
    enum { NB = 64, T = 2 };
    double *a[T][T], *b[T][T], *c[T][T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            a[i][j] = malloc(NB * NB * sizeof(double));
            b[i][j] = malloc(NB * NB * sizeof(double));
            c[i][j] = calloc(NB * NB, sizeof(double));
            for (int k = 0; k < NB * NB; k++) {
                a[i][j][k] = (k % 7) + i;
                b[i][j][k] = (k % 5) - j;
            }
        }
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
            for (int k = 0; k < T; k++) {
                struct gemm_args g = {a[i][k], b[k][j], c[i][j], NB};
                dag_dep_t d[3] = {{a[i][k], NB * NB * 8, DAG_IN}, {b[k][j], NB * NB * 8, DAG_IN},
                                  {c[i][j], NB * NB * 8, DAG_INOUT}};
                dag_task_attr_t at = {.label = "gemm", .device = DAG_DEVICE_CUDA, .cuda = cuda_gemm};
                ck_assert_int_eq(dag_submit(no_cpu_body, &g, sizeof g, d, 3, &at), DAG_OK);
            }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
            for (int col = 0; col < NB; col += 13)
                for (int row = 0; row < NB; row += 11) {
                    double ref = 0;
                    for (int k = 0; k < T; k++)
                        for (int l = 0; l < NB; l++)
                            ref += a[i][k][row + l * NB] * b[k][j][l + col * NB];
                    ck_assert_double_eq_tol(c[i][j][row + col * NB], ref, 1e-9);
                }
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            free(a[i][j]);
            free(b[i][j]);
            free(c[i][j]);
        }
    stop();
}
END_TEST

/* dmda with both variants: calibration runs each kind on both sides; results exact. */
START_TEST(test_dmda_both_variants)
{
    start(2, "dmda");
    enum { N = 1 << 14, K = 64 };
    uint32_t *x = calloc((size_t)N * 8, sizeof *x);
    for (int k = 0; k < K; k++)
        submit_add(x + (size_t)(k % 8) * N, N, 1, DAG_DEVICE_ANY, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (size_t i = 0; i < (size_t)N * 8; i += 97)
        ck_assert_uint_eq(x[i], K / 8);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_eq(s.gpu_tasks + s.cpu_tasks, K);
    ck_assert_uint_ge(s.cpu_tasks, 2);
    ck_assert_uint_ge(s.gpu_tasks, 2);
    free(x);
    stop();
}
END_TEST

/* Several GPUs: data moves between them (peer to peer where possible). */
START_TEST(test_multi_gpu)
{
    start(4, "random");
    int ndev = dag_cuda_device_count();
    if (ndev < 2) {
        fprintf(stderr, "test_multi_gpu: one device only, nothing to check\n");
        stop();
        return;
    }
    enum { N = 1 << 16, K = 40 };
    uint32_t *x = calloc(N, sizeof *x);
    for (int k = 0; k < K; k++)
        submit_add(x, N, 1, DAG_DEVICE_CUDA, cuda_add);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_uint_eq(x[N - 1], K);
    dag_cuda_stats_t s = stats();
    ck_assert_uint_gt(s.tasks_on[0], 0);
    ck_assert_uint_gt(s.tasks_on[1], 0);
    fprintf(stderr, "multi-gpu: %llu peer copies, %llu h2d, %llu d2h\n", s.p2p_copies,
            s.h2d_copies, s.d2h_copies);
    free(x);
    stop();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("gpu");
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_gpu_task_result_on_host);
    tcase_add_test(tc, test_transfers_only_when_needed);
    tcase_add_test(tc, test_cpu_gpu_cpu_chain);
    tcase_add_test(tc, test_copies_traced);
    tcase_add_test(tc, test_forced_placement);
    tcase_add_test(tc, test_device_body_launches);
    tcase_add_test(tc, test_failure_reaches_waiter);
    tcase_add_test(tc, test_partial_overlaps);
    tcase_add_test(tc, test_own_overlaps);
    tcase_add_test(tc, test_cpu_reader_deferred);
    tcase_add_test(tc, test_early_writeback);
    tcase_add_test(tc, test_registered_memory);
    tcase_add_test(tc, test_resident_memory);
    tcase_add_test(tc, test_straddling_registrations);
    tcase_add_test(tc, test_out_of_core);
    tcase_add_test(tc, test_cublas_tiles);
    tcase_add_test(tc, test_dmda_both_variants);
    tcase_add_test(tc, test_multi_gpu);
    suite_add_tcase(s, tc);
    /* separate cases, so that one can be run alone (CK_RUN_CASE=races, =random) */
    TCase *races = tcase_create("races");
    tcase_set_timeout(races, 600);
    tcase_add_test(races, test_merged_write_window);
    suite_add_tcase(s, races);
    suite_add_tcase(s, random_tcase());
    return s;
}

int main(void)
{
    if (dag_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device (or DAG_CUDA=0): the GPU suite needs one; "
               "run tests/gpu/run.sh on a GPU machine\n");
        dag_finalize();
        return 77;
    }
    dag_finalize();
    SRunner *sr = srunner_create(make_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
