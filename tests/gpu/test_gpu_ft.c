/* test_gpu_ft.c: faults of CUDA implementations (docs/fault-tolerance.md, CUDA): retry(n)
 * after a stream error (injected above the CUDA calls with DAG_FAULT_INJECT=cuda:N, or a
 * real illegal address), on the CPU implementation or the GPU again; a lost context
 * (sticky error): CPU fallback, clear failures, lost data never handed out, no hang.
 * Each scenario runs in a fresh process (this program re-executed with the scenario's
 * name: a lost context cannot be recovered, and CUDA does not survive fork()); each
 * compares its data with a sequential run; `random` runs random programs with random
 * placements under injected faults. Exits 77 (skipped) without a CUDA device.
 *   test_gpu_ft                 all scenarios (Check)
 *   test_gpu_ft <scenario>      one, in this process */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dag.h>
#include <dag/cuda.h>

#include "kernels.h"

extern char **environ;
int cuda_bad_address(void *args, struct dag_cuda_ctx *ctx); /* ft_kernels.cu */

enum { T = 4, M = 2 << 20, NIN = 1024, ROUNDS = 6 }; /* 4 tiles of 8 MiB */

#define FAIL(...)                                                                          \
    do {                                                                                   \
        fprintf(stderr, "test_gpu_ft: " __VA_ARGS__);                                      \
        fprintf(stderr, " (line %d)\n", __LINE__);                                         \
        return 1;                                                                          \
    } while (0)

static uint32_t *tiles[T], *ref[T];

/* The program: per round, every tile gets an add, every tile but the first a mix of the
 * previous one's head. `device`/`cuda`: the tasks' placement and CUDA implementations;
 * `retries`: their retry(n). */
static int submit_all(int device, int retries)
{
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < T; i++) {
            struct add_args a = {tiles[i], M, (uint32_t)(r * T + i + 1)};
            dag_dep_t d = {tiles[i], sizeof(uint32_t) * M, DAG_INOUT};
            dag_task_attr_t at = {.label = "add", .file = __FILE__, .line = __LINE__,
                                  .device = device, .cuda = cuda_add, .retries = retries};
            if (dag_submit(cpu_add, &a, sizeof a, &d, 1, &at))
                FAIL("submit add");
        }
        for (int i = 1; i < T; i++) {
            struct mix_args a = {tiles[i], tiles[i - 1], M, NIN, (uint32_t)r};
            dag_dep_t d[2] = {{tiles[i - 1], sizeof(uint32_t) * NIN, DAG_IN},
                              {tiles[i], sizeof(uint32_t) * M, DAG_INOUT}};
            dag_task_attr_t at = {.label = "mix", .file = __FILE__, .line = __LINE__,
                                  .device = device, .cuda = cuda_mix, .retries = retries};
            if (dag_submit(cpu_mix, &a, sizeof a, d, 2, &at))
                FAIL("submit mix");
        }
    }
    return 0;
}

static int setup(void)
{
    for (int i = 0; i < T; i++) {
        tiles[i] = malloc(sizeof(uint32_t) * M);
        ref[i] = malloc(sizeof(uint32_t) * M);
        if (!tiles[i] || !ref[i])
            FAIL("out of memory");
        for (size_t k = 0; k < M; k++)
            tiles[i][k] = ref[i][k] = (uint32_t)(k * 2654435761u + (uint32_t)i);
    }
    for (int r = 0; r < ROUNDS; r++) { /* sequentially, on the CPU */
        for (int i = 0; i < T; i++) {
            struct add_args a = {ref[i], M, (uint32_t)(r * T + i + 1)};
            cpu_add(&a);
        }
        for (int i = 1; i < T; i++) {
            struct mix_args a = {ref[i], ref[i - 1], M, NIN, (uint32_t)r};
            cpu_mix(&a);
        }
    }
    return 0;
}

static int same(void)
{
    for (int i = 0; i < T; i++)
        if (memcmp(tiles[i], ref[i], sizeof(uint32_t) * M))
            return 0;
    return 1;
}

static int init(void)
{
    setenv("DAG_SCHED", "eager", 1); /* every task with a CUDA variant on the GPU */
    setenv("DAG_CUDA_DEVICES", "1", 1);
    dag_config_t cfg = {.nthreads = 2, .bind = DAG_BIND_NONE};
    if (dag_init(&cfg) || dag_cuda_device_count() < 1)
        FAIL("no device");
    dag_cuda_stats_reset();
    return 0;
}

static unsigned long long cpu_tasks(void)
{
    dag_cuda_stats_t s;
    dag_cuda_stats(&s);
    return (unsigned long long)s.cpu_tasks;
}

/* A CUDA-only task after the device was lost fails at once, with DAG_ERR_DEVICE. */
static int gpu_only_fails(void)
{
    uint32_t *x = calloc(1024, sizeof *x);
    struct add_args a = {x, 1024, 1};
    dag_dep_t d = {x, sizeof(uint32_t) * 1024, DAG_INOUT};
    dag_task_attr_t at = {.label = "gpu_only", .file = __FILE__, .line = __LINE__,
                          .device = DAG_DEVICE_CUDA, .cuda = cuda_add};
    if (dag_submit(cpu_add, &a, sizeof a, &d, 1, &at))
        FAIL("submit");
    if (dag_taskwait() != DAG_ERR_TASK_FAILED)
        FAIL("a CUDA-only task ran on a lost device");
    dag_error_t e;
    dag_last_error(&e);
    if (e.code != DAG_ERR_DEVICE || strcmp(e.label, "gpu_only"))
        FAIL("gpu_only: code %d label %s", e.code, e.label ? e.label : "-");
    free(x);
    return 0;
}

/* The 5th completion fails (a transient stream error); retry(2): the task runs again,
 * on its CPU implementation (cpu = 1) or on the GPU (CUDA-only tasks). */
static int sc_transient(int cpu)
{
    setenv("DAG_FAULT_INJECT", "cuda:5", 1);
    if (setup() || init() || submit_all(cpu ? DAG_DEVICE_ANY : DAG_DEVICE_CUDA, 2))
        return 1;
    if (dag_taskwait() != DAG_OK)
        FAIL("the retried task failed");
    if (!same())
        FAIL("results differ from the sequential run");
    if (cpu_tasks() != (cpu ? 1u : 0u))
        FAIL("%llu tasks ran on the CPU (expected %d)", cpu_tasks(), cpu);
    return dag_finalize() ? 1 : 0;
}

/* Without retry(n) the fault fails the task: DAG_ERR_DEVICE, its label and location, its
 * dependents cancelled. */
static int sc_no_retry(void)
{
    setenv("DAG_FAULT_INJECT", "cuda:5", 1);
    if (setup() || init() || submit_all(DAG_DEVICE_ANY, 0))
        return 1;
    if (dag_taskwait() != DAG_ERR_TASK_FAILED)
        FAIL("an injected device fault went unreported");
    dag_error_t e;
    dag_last_error(&e);
    if (e.code != DAG_ERR_DEVICE || !e.file || !strstr(e.file, "test_gpu_ft.c") || !e.line ||
        e.ncancelled == 0)
        FAIL("record: code %d file %s line %d cancelled %d", e.code, e.file ? e.file : "-",
             e.line, (int)e.ncancelled);
    return dag_finalize() ? 1 : 0;
}

/* The first completion loses the device (as a sticky error would): every task has a CPU
 * implementation and retry(1): the tasks in flight there and the rest run on the CPU
 * with the right data (nothing had only a device copy yet); a CUDA-only task then fails
 * cleanly. */
static int sc_sticky(void)
{
    setenv("DAG_FAULT_INJECT", "cuda:1:sticky", 1);
    if (setup() || init() || submit_all(DAG_DEVICE_ANY, 1))
        return 1;
    if (dag_taskwait() != DAG_OK)
        FAIL("tasks with CPU implementations failed after the device was lost");
    if (!same())
        FAIL("results differ from the sequential run");
    if (cpu_tasks() == 0)
        FAIL("nothing ran on the CPU after the device was lost");
    if (gpu_only_fails())
        return 1;
    dag_finalize();
    return 0;
}

/* Data whose only copy was on the lost device is never handed out: a CPU reader fails. */
static int sc_lost(void)
{
    setenv("DAG_FAULT_INJECT", "cuda:2:sticky", 1);
    setenv("DAG_CUDA_WRITEBACK", "lazy", 1);
    if (setup() || init())
        return 1;
    struct add_args a = {tiles[0], M, 5};
    dag_dep_t d = {tiles[0], sizeof(uint32_t) * M, DAG_INOUT};
    dag_task_attr_t at = {.label = "writer", .device = DAG_DEVICE_CUDA, .cuda = cuda_add};
    /* independent of the writer (a reader of tiles[0] would bring it home first):
     * whichever completes second loses the device, tiles[0] dirty on it */
    struct mix_args m = {tiles[2], tiles[3], M, NIN, 1};
    dag_dep_t dm[2] = {{tiles[3], sizeof(uint32_t) * NIN, DAG_IN},
                       {tiles[2], sizeof(uint32_t) * M, DAG_INOUT}};
    dag_task_attr_t am = {.label = "faulty", .device = DAG_DEVICE_CUDA, .cuda = cuda_mix};
    if (dag_submit(cpu_add, &a, sizeof a, &d, 1, &at) ||
        dag_submit(cpu_mix, &m, sizeof m, dm, 2, &am))
        FAIL("submit");
    if (dag_taskwait() != DAG_ERR_TASK_FAILED)
        FAIL("the injected loss went unreported");
    uint32_t before = tiles[0][0];
    struct add_args r = {tiles[0], M, 1};
    dag_task_attr_t ar = {.label = "reader", .file = __FILE__, .line = __LINE__,
                          .device = DAG_DEVICE_CPU};
    if (dag_submit(cpu_add, &r, sizeof r, &d, 1, &ar))
        FAIL("submit");
    if (dag_taskwait() != DAG_ERR_TASK_FAILED)
        FAIL("a task read data lost with the device");
    dag_error_t e;
    dag_last_error(&e);
    if (e.code != DAG_ERR_DEVICE || strcmp(e.label, "reader"))
        FAIL("reader: code %d label %s", e.code, e.label ? e.label : "-");
    if (tiles[0][0] != before)
        FAIL("the failed reader ran");
    dag_finalize();
    return 0;
}

/* Chaining (DAG_CUDA_CHAIN, on by default): CUDA-only tasks without retries, each
 * launched behind its predecessors before they completed; the third completion loses the
 * device. The successors already launched there fail with it (not run on lost data), the
 * taskwait reports DAG_ERR_DEVICE, a CPU reader of each tile either runs (its data was
 * home) or fails because the tile was lost, nothing hangs. */
static int sc_chain_sticky(void)
{
    setenv("DAG_FAULT_INJECT", "cuda:3:sticky", 1);
    if (setup() || init() || submit_all(DAG_DEVICE_CUDA, 0))
        return 1;
    if (dag_taskwait() != DAG_ERR_TASK_FAILED)
        FAIL("the loss under chained tasks went unreported");
    dag_error_t e;
    dag_last_error(&e);
    if (e.code != DAG_ERR_DEVICE)
        FAIL("code %d (expected DAG_ERR_DEVICE)", e.code);
    dag_cuda_stats_t st;
    dag_cuda_stats(&st);
    const char *ch = getenv("DAG_CUDA_CHAIN");
    if ((!ch || strcmp(ch, "0")) && st.chained == 0)
        FAIL("no task was chained (the scenario tests nothing)");
    for (int i = 0; i < T; i++) {
        uint32_t before = tiles[i][0];
        struct add_args a = {tiles[i], M, 1};
        dag_dep_t d = {tiles[i], sizeof(uint32_t) * M, DAG_INOUT};
        dag_task_attr_t at = {.label = "reader", .device = DAG_DEVICE_CPU};
        if (dag_submit(cpu_add, &a, sizeof a, &d, 1, &at))
            FAIL("submit");
        dag_status_t rc = dag_taskwait();
        if (rc == DAG_OK ? tiles[i][0] != before + 1 : rc != DAG_ERR_TASK_FAILED)
            FAIL("tile %d: reader status %d", i, rc);
        if (rc) {
            dag_last_error(&e);
            if (e.code != DAG_ERR_DEVICE || tiles[i][0] != before)
                FAIL("tile %d: reader failed with %d, or ran on lost data", i, e.code);
        }
    }
    if (gpu_only_fails())
        return 1;
    dag_finalize();
    return 0;
}

/* A real illegal address in a CUDA implementation: the context is lost; the task
 * (retry(1), with a CPU implementation) runs on the CPU; the rest follows on the CPU. */
static int sc_illegal_address(void)
{
    unsetenv("DAG_FAULT_INJECT");
    if (setup() || init())
        return 1;
    uint32_t *x = calloc(M, sizeof *x);
    struct add_args a = {x, M, 7};
    dag_dep_t d = {x, sizeof(uint32_t) * M, DAG_INOUT};
    dag_task_attr_t at = {.label = "bad", .file = __FILE__, .line = __LINE__,
                          .cuda = cuda_bad_address, .retries = 1};
    if (dag_submit(cpu_add, &a, sizeof a, &d, 1, &at))
        FAIL("submit");
    if (dag_taskwait() != DAG_OK)
        FAIL("retry on the CPU after an illegal address failed");
    for (size_t k = 0; k < M; k++)
        if (x[k] != 7)
            FAIL("x[%zu] = %u after the retry (expected 7)", k, x[k]);
    if (submit_all(DAG_DEVICE_ANY, 1) || dag_taskwait() != DAG_OK) /* all on the CPU now */
        FAIL("the program after the lost context failed");
    if (!same())
        FAIL("results differ from the sequential run");
    if (gpu_only_fails())
        return 1;
    dag_finalize();
    return 0;
}

/* ---- randomised: random programs under injected device faults ----------------------- */

static uint64_t rnd(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

/* A random range of n elements, aligned to one of a few granularities: repeats, nesting
 * and partial overlaps all occur (a task's two ranges too: the CUDA layer merges them). */
static void pick(uint64_t *st, size_t n, size_t *o, size_t *len)
{
    static const size_t grain[] = {1 << 16, 1 << 14, 4096, 96};
    size_t g = grain[rnd(st) % 4];
    size_t cnt = n / g;
    size_t a = rnd(st) % cnt, b = 1 + rnd(st) % (cnt / 4 + 1);
    if (a + b > cnt)
        b = cnt - a;
    *o = a * g;
    *len = b * g;
}

/* Seeds 1..DAG_TEST_FT_SEEDS (default 24): 120 mix tasks over a 16 MiB array, placed at
 * random (DAG_SCHED=random), all with retry(3), some forced onto the GPU; odd seeds fail
 * one device completion (cuda:N, N random), even ones inject error returns at random
 * (prob:seed). Every byte is compared with the sequential run. */
static int sc_random(void)
{
    const char *e = getenv("DAG_TEST_FT_SEEDS");
    int seeds = e && *e ? atoi(e) : 24;
    enum { N = 4 << 20 };
    uint32_t *x = malloc(sizeof(uint32_t) * N), *r = malloc(sizeof(uint32_t) * N);
    if (!x || !r)
        FAIL("out of memory");
    for (int seed = 1; seed <= seeds; seed++) {
        uint64_t st = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 1;
        char buf[64];
        if (seed % 2)
            snprintf(buf, sizeof buf, "cuda:%d", 1 + (int)(rnd(&st) % 60));
        else
            snprintf(buf, sizeof buf, "0.05:%d", seed);
        setenv("DAG_FAULT_INJECT", buf, 1);
        snprintf(buf, sizeof buf, "%d", seed);
        setenv("DAG_SCHED_SEED", buf, 1);
        setenv("DAG_SCHED", "random", 1);
        setenv("DAG_CUDA_DEVICES", "1", 1);
        dag_config_t cfg = {.nthreads = 1 + seed % 3, .bind = DAG_BIND_NONE};
        if (dag_init(&cfg) || dag_cuda_device_count() < 1)
            FAIL("no device");
        for (size_t i = 0; i < N; i++)
            x[i] = r[i] = (uint32_t)rnd(&st);
        for (int k = 0; k < 120; k++) {
            size_t oo, on, io, in;
            pick(&st, N, &oo, &on);
            pick(&st, N, &io, &in);
            struct mix_args m = {x + oo, x + io, on, in, (uint32_t)k};
            dag_dep_t d[2] = {{x + oo, on * 4, DAG_INOUT}, {x + io, in * 4, DAG_IN}};
            dag_task_attr_t at = {.label = "mix", .file = __FILE__, .line = __LINE__,
                                  .cuda = cuda_mix, .retries = 3};
            if (rnd(&st) % 4 == 0)
                at.device = DAG_DEVICE_CUDA;
            if (dag_submit(cpu_mix, &m, sizeof m, d, 2, &at))
                FAIL("seed %d: submit", seed);
            struct mix_args mr = {r + oo, r + io, on, in, (uint32_t)k};
            cpu_mix(&mr);
        }
        if (dag_taskwait() != DAG_OK)
            FAIL("seed %d (DAG_FAULT_INJECT=%s): a retried task failed", seed,
                 getenv("DAG_FAULT_INJECT"));
        for (size_t i = 0; i < N; i++)
            if (x[i] != r[i])
                FAIL("seed %d (DAG_FAULT_INJECT=%s): x[%zu] = %u, expected %u", seed,
                     getenv("DAG_FAULT_INJECT"), i, x[i], r[i]);
        dag_finalize();
    }
    fprintf(stderr, "test_gpu_ft: %d random programs under injected faults: all equal\n",
            seeds);
    free(x);
    free(r);
    return 0;
}

static int run_scenario(const char *name)
{
    alarm(300); /* a hang is a failure */
    if (!strcmp(name, "transient_cpu"))
        return sc_transient(1);
    if (!strcmp(name, "transient_gpu"))
        return sc_transient(0);
    if (!strcmp(name, "no_retry"))
        return sc_no_retry();
    if (!strcmp(name, "sticky"))
        return sc_sticky();
    if (!strcmp(name, "lost"))
        return sc_lost();
    if (!strcmp(name, "illegal_address"))
        return sc_illegal_address();
    if (!strcmp(name, "chain_sticky")) {
        setenv("DAG_CUDA_CHAIN", "1", 0); /* the default, unless told otherwise */
        return sc_chain_sticky();
    }
    if (!strcmp(name, "random"))
        return sc_random();
    fprintf(stderr, "test_gpu_ft: unknown scenario %s\n", name);
    return 2;
}

static void spawn(const char *name)
{
    char *argv[] = {"test_gpu_ft", (char *)name, NULL};
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "scenario %s: %s %d", name,
                  WIFEXITED(st) ? "exit status" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

START_TEST(test_transient_cpu) { spawn("transient_cpu"); }
END_TEST
START_TEST(test_transient_gpu) { spawn("transient_gpu"); }
END_TEST
START_TEST(test_no_retry) { spawn("no_retry"); }
END_TEST
START_TEST(test_sticky) { spawn("sticky"); }
END_TEST
START_TEST(test_lost) { spawn("lost"); }
END_TEST
START_TEST(test_illegal_address) { spawn("illegal_address"); }
END_TEST
START_TEST(test_random) { spawn("random"); }
END_TEST
START_TEST(test_chain_sticky) { spawn("chain_sticky"); }
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1)
        return run_scenario(argv[1]);
    if (dag_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device (or DAG_CUDA=0); run tests/gpu/run.sh on a GPU "
               "machine\n");
        dag_finalize();
        return 77;
    }
    dag_finalize();
    Suite *s = suite_create("gpu_ft");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_transient_cpu);
    tcase_add_test(tc, test_transient_gpu);
    tcase_add_test(tc, test_no_retry);
    tcase_add_test(tc, test_sticky);
    tcase_add_test(tc, test_lost);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_illegal_address);
    tcase_add_test(tc, test_chain_sticky);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
