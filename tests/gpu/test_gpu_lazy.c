/* test_gpu_lazy.c: the CUDA layer starts only when the program wants a GPU (issue 13). A
 * CPU-only program on a GPU machine loads neither the CUDA plugin nor the CUDA driver;
 * the first task with a CUDA variant (attr.cuda, or DAG_DEVICE_CUDA) starts the layer,
 * once per dag_init; DAG_CUDA=init starts it at dag_init; DAG_CUDA=0 never. Its own
 * process: it checks which libraries the process has loaded. Without a device the
 * CPU-only part is still checked, then it exits 77 (skipped).
 */
#define _GNU_SOURCE
#include <check.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>
#include <dag/cuda.h>

static const char *wanted;
static int match(struct dl_phdr_info *info, size_t size, void *found)
{
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, wanted))
        *(int *)found = 1;
    return 0;
}

/* Is a library whose path contains `name` loaded in this process? */
static int loaded(const char *name)
{
    int found = 0;
    wanted = name;
    dl_iterate_phdr(match, &found);
    return found;
}

enum { T = 16, N = 4096 };
static double x[T][N];

static int add_one(void *p)
{
    double *v = *(double **)p;
    for (int i = 0; i < N; i++)
        v[i] += 1;
    return 0;
}

static int ran_on_gpu;
static int nop_cuda(void *p, struct dag_cuda_ctx *ctx)
{
    (void)p;
    ran_on_gpu = dag_cuda_stream(ctx) != NULL && dag_cuda_device(ctx) >= 0;
    return 0;
}

static void start(void)
{
    dag_config_t cfg = {.nthreads = 2, .bind = DAG_BIND_NONE};
    ck_assert_int_eq(dag_init(&cfg), DAG_OK);
}

/* Rounds of CPU tasks with dependencies, half of them forced to the CPU, and the
 * dag_cuda_* calls that do not ask for a GPU: the layer stays off. */
static void cpu_only_program(void)
{
    memset(x, 0, sizeof x);
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < T; t++) {
            double *p = x[t];
            dag_dep_t d = {p, sizeof x[t], DAG_INOUT};
            dag_task_attr_t at = {.label = "cpu", .device = t % 2 ? DAG_DEVICE_CPU : 0};
            ck_assert_int_eq(dag_submit(add_one, &p, sizeof p, &d, 1, &at), DAG_OK);
        }
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (int t = 0; t < T; t++)
        ck_assert(x[t][N - 1] == 4.0);
    ck_assert_int_eq(dag_cuda_host_modified(x, sizeof x), DAG_OK);
    ck_assert_int_eq(dag_cuda_unregister(x, sizeof x), DAG_OK);
    dag_cuda_stats_t s;
    ck_assert_int_eq(dag_cuda_stats(&s), DAG_ERR_UNSUPPORTED); /* the layer is off */
}

/* One task with a CUDA variant: it runs on the GPU when there is one. */
static void gpu_task(void)
{
    double *p = x[0];
    dag_dep_t d = {p, sizeof x[0], DAG_INOUT};
    dag_task_attr_t at = {.label = "gpu", .cuda = nop_cuda};
    ran_on_gpu = 0;
    ck_assert_int_eq(dag_submit(add_one, &p, sizeof p, &d, 1, &at), DAG_OK);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
}

static int no_device;

START_TEST(test_lazy_start)
{
    unsetenv("DAG_CUDA");
    start();
    cpu_only_program();
    ck_assert_msg(!loaded("libdagrt_cuda"), "a CPU-only program loaded the CUDA plugin");
    ck_assert_msg(!loaded("libcuda.so"), "a CPU-only program loaded the CUDA driver");
    gpu_task();
    if (dag_cuda_device_count() == 0) {
        no_device = 1; /* the task ran its CPU body; nothing more to check here */
        ck_assert(x[0][0] == 5.0);
        ck_assert_int_eq(dag_finalize(), DAG_OK);
        return;
    }
    ck_assert(loaded("libdagrt_cuda"));
    ck_assert_int_eq(dag_cuda_device_count() > 0, 1);
    dag_cuda_stats_t s;
    ck_assert_int_eq(dag_cuda_stats(&s), DAG_OK);
    ck_assert_uint_eq(s.gpu_tasks + s.cpu_tasks, 1);
    ck_assert_int_eq(ran_on_gpu, s.gpu_tasks == 1);
    ck_assert_int_eq(dag_finalize(), DAG_OK);

    /* a new runtime decides again: off until a GPU task */
    start();
    cpu_only_program();
    gpu_task();
    ck_assert_int_eq(dag_cuda_stats(&s), DAG_OK);
    ck_assert_uint_eq(s.gpu_tasks + s.cpu_tasks, 1);
    ck_assert_int_eq(dag_finalize(), DAG_OK);

    /* DAG_CUDA=init: at dag_init */
    setenv("DAG_CUDA", "init", 1);
    start();
    ck_assert_int_eq(dag_cuda_stats(&s), DAG_OK);
    ck_assert_int_eq(dag_finalize(), DAG_OK);

    /* DAG_CUDA=0: never, even for a GPU task (its CPU body runs) */
    setenv("DAG_CUDA", "0", 1);
    start();
    gpu_task();
    ck_assert_int_eq(ran_on_gpu, 0);
    ck_assert_int_eq(dag_cuda_stats(&s), DAG_ERR_UNSUPPORTED);
    ck_assert_int_eq(dag_cuda_device_count(), 0);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
    unsetenv("DAG_CUDA");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gpu_lazy");
    TCase *tc = tcase_create("lazy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lazy_start);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* it checks this process's libraries */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!failed && no_device) {
        printf("SKIPPED (CPU-only part passed): no CUDA device\n");
        return 77;
    }
    return failed ? 1 : 0;
}
