/* test_random.c: the GPU suite's randomised differential tests: random programs of tasks
 * over overlapping ranges, placed at random on the CPU and the GPU, compared with their
 * sequential execution. Two scales: a 16 KiB array with ranges down to one element
 * (every kind of overlap, many tasks), and an array of tens of MiB cut into tiles of
 * 256 KiB to 24 MiB, with ranges that straddle two tiles: tiles of DAG_CUDA_PIN_MIN and
 * more are page-locked at their first copy, so copies cross registrations (issue 13).
 * Chaining (DAG_CUDA_CHAIN: a GPU task's successors launched behind it, ordered by events):
 * every program runs with it on and off (DAG_TEST_CHAIN=both, the default; 1 or 0: one
 * of them), and a third test runs chains of GPU tasks (DAG_SCHED=eager) over small
 * overlapping ranges (RAW, WAR, WAW on the device, across streams), with CPU tasks among
 * them that read and write what the GPU tasks use.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>

#include "gpu_test.h"
#include "kernels.h"

/* ---- randomised differential test ----------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random range of the array, aligned to one of a few granularities: exact repeats,
 * nesting and partial overlaps all occur. */
static void pick(uint64_t *s, size_t n, size_t *o, size_t *len)
{
    static const size_t grain[] = {512, 256, 96, 1};
    size_t g = grain[rnd(s) % 4];
    size_t cnt = n / g;
    size_t a = rnd(s) % cnt, b = 1 + rnd(s) % (cnt / 4 + 1);
    if (a + b > cnt)
        b = cnt - a;
    *o = a * g;
    *len = b * g;
}

/* Knobs to narrow a failure down (DAG_TEST_*): THREADS, WRITEBACK override the per-seed
 * choice; OWN=disjoint keeps a task's two ranges apart; HOST_WRITES=0 drops the host's
 * writes between waits; FORCE=0 drops the forced placements; KEEP_GOING=1 runs every seed
 * and reports how many differ. */
static int knob(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

/* The chaining modes to run each program in: {1, 0}, {1} or {0} (DAG_TEST_CHAIN). */
static int chain_modes(int *modes)
{
    const char *v = getenv("DAG_TEST_CHAIN");
    if (v && (!strcmp(v, "0") || !strcmp(v, "1"))) {
        modes[0] = atoi(v);
        return 1;
    }
    modes[0] = 1;
    modes[1] = 0;
    return 2;
}

static void set_chain(int mode)
{
    char v[8];
    snprintf(v, sizeof v, "%d", mode);
    setenv("DAG_CUDA_CHAIN", v, 1);
}

/* cpu_every: with force, one task in cpu_every is forced onto the CPU, else one in 8 is
 * forced onto the CPU or the GPU. */
static int run_program(uint64_t seed, int ntasks, int cpu_every)
{
    const char *own = getenv("DAG_TEST_OWN");
    int disjoint = own && !strcmp(own, "disjoint"), host_writes = knob("DAG_TEST_HOST_WRITES", 1),
        force = knob("DAG_TEST_FORCE", 1);
    enum { N = 4096 };
    static uint32_t x[N], ref[N];
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < N; i++)
        x[i] = ref[i] = (uint32_t)(rnd(&s));
    for (int k = 0; k < ntasks; k++) {
        size_t oo, on, io, in;
        pick(&s, N, &oo, &on);
        pick(&s, N, &io, &in); /* a task's own two ranges may overlap, nest or repeat */
        for (int t = 0; disjoint && t < 100 && io < oo + on && oo < io + in; t++)
            pick(&s, N, &io, &in);
        if (disjoint && io < oo + on && oo < io + in)
            continue;
        struct mix_args m = {x + oo, x + io, on, in, (uint32_t)k};
        dag_dep_t d[2] = {{x + oo, on * 4, DAG_INOUT}, {x + io, in * 4, DAG_IN}};
        dag_task_attr_t at = {.label = "mix", .cuda = cuda_mix};
        if (cpu_every && force) {
            if (rnd(&s) % (uint64_t)cpu_every == 0)
                at.device = DAG_DEVICE_CPU; /* reads and writes what GPU chains use */
        } else if (rnd(&s) % 8 == 0 && force) {
            at.device = rnd(&s) % 2 ? DAG_DEVICE_CPU : DAG_DEVICE_CUDA;
        }
        if (dag_submit(cpu_mix, &m, sizeof m, d, 2, &at) != DAG_OK)
            return -1;
        struct mix_args r = {ref + oo, ref + io, on, in, (uint32_t)k};
        cpu_mix(&r);
        if (rnd(&s) % 64 == 0) {
            if (dag_taskwait() != DAG_OK)
                return -1;
            size_t i = rnd(&s) % N; /* the host writes between waits */
            x[i] += (uint32_t)host_writes;
            ref[i] += (uint32_t)host_writes;
        }
    }
    if (dag_taskwait() != DAG_OK)
        return -1;
    for (size_t i = 0; i < N; i++)
        if (x[i] != ref[i]) {
            fprintf(stderr, "seed %llu: x[%zu] = %u, expected %u\n", (unsigned long long)seed, i,
                    x[i], ref[i]);
            return -1;
        }
    return 0;
}

START_TEST(test_random_placements)
{
    const char *e = getenv("DAG_TEST_SEEDS");
    int seeds = e ? atoi(e) : 60;
    const char *f = getenv("DAG_TEST_SEED_FIRST"); /* to rerun one seed: FIRST=k SEEDS=1 */
    int first = f ? atoi(f) : 1;
    const char *wb = getenv("DAG_TEST_WRITEBACK");
    int keep_going = knob("DAG_TEST_KEEP_GOING", 0), differ = 0;
    unsigned long long gpu = 0, cpu = 0, chained[2] = {0, 0};
    int modes[2], nmodes = chain_modes(modes);
    for (int seed = first; seed < first + seeds; seed++) {
        for (int m = 0; m < nmodes; m++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%d", seed);
            setenv("DAG_SCHED_SEED", buf, 1);
            setenv("DAG_CUDA_WRITEBACK",
                   wb ? wb : seed % 3 == 0 ? "eager" : seed % 3 == 1 ? "lazy" : "auto", 1);
            set_chain(modes[m]);
            start(knob("DAG_TEST_THREADS", 1 + seed % 4), "random");
            int rc = run_program((uint64_t)seed, 150, 0);
            differ += rc != 0;
            ck_assert_msg(rc == 0 || keep_going, "seed %d (DAG_CUDA_CHAIN=%d) differs", seed,
                          modes[m]);
            dag_cuda_stats_t s = stats();
            gpu += s.gpu_tasks;
            cpu += s.cpu_tasks;
            chained[modes[m]] += s.chained;
            stop();
        }
    }
    unsetenv("DAG_CUDA_CHAIN");
    fprintf(stderr, "random placements: %d programs x %d chaining modes (%d differ), %llu GPU "
                    "and %llu CPU tasks, %llu chained\n", seeds, nmodes, differ, gpu, cpu,
            chained[1]);
    ck_assert_int_eq(differ, 0);
    ck_assert_uint_gt(gpu, 0);
    ck_assert_uint_gt(cpu, 0);
    ck_assert_uint_eq(chained[0], 0); /* DAG_CUDA_CHAIN=0 releases nothing early */
    if (modes[0] == 1)
        ck_assert_uint_gt(chained[1], 0);
}
END_TEST

/* Chains: every task on the GPU (DAG_SCHED=eager) but one in 5 forced onto the CPU, over
 * the 16 KiB array (exact repeats, nesting, partial overlaps: RAW, WAR and WAW between
 * launched tasks), 1 to 8 streams, with chaining on (DAG_CUDA_CHAIN=1 for even seeds, 2
 * for odd ones) and off. DAG_TEST_CHAIN_SEEDS
 * programs (default 40) of 200 tasks. */
START_TEST(test_random_chains)
{
    int seeds = knob("DAG_TEST_CHAIN_SEEDS", 40), first = knob("DAG_TEST_SEED_FIRST", 1);
    int differ = 0, modes[2], nmodes = chain_modes(modes);
    unsigned long long gpu = 0, chained = 0;
    for (int seed = first; seed < first + seeds; seed++) {
        for (int m = 0; m < nmodes; m++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%d", 1 + seed % 8);
            setenv("DAG_CUDA_STREAMS", buf, 1);
            setenv("DAG_CUDA_WRITEBACK", seed % 3 == 0 ? "eager" : seed % 3 == 1 ? "lazy" : "auto", 1);
            set_chain(modes[m] ? 1 + seed % 2 : 0); /* 2: chained, any stream */
            start(knob("DAG_TEST_THREADS", 1 + seed % 4), "eager");
            int rc = run_program((uint64_t)seed + 100000, 200, 5);
            differ += rc != 0;
            ck_assert_msg(rc == 0, "chains: seed %d (DAG_CUDA_CHAIN=%d, %s streams) differs", seed,
                          modes[m], buf);
            dag_cuda_stats_t s = stats();
            gpu += s.gpu_tasks;
            chained += s.chained;
            stop();
        }
    }
    unsetenv("DAG_CUDA_CHAIN");
    unsetenv("DAG_CUDA_STREAMS");
    fprintf(stderr, "random chains: %d programs x %d chaining modes (%d differ), %llu GPU tasks, "
                    "%llu chained\n", seeds, nmodes, differ, gpu, chained);
    ck_assert_uint_gt(gpu, 0);
    if (modes[0] == 1)
        ck_assert_uint_gt(chained, 0);
}
END_TEST

/* ---- tens of MiB: tiles and ranges across them ------------------------------------------- */

/* Cut n elements into tiles of 64 Ki to 6 Mi elements (256 KiB to 24 MiB), their edges
 * at random element offsets (pages shared between tiles) or at page boundaries. */
static size_t cut_tiles(uint64_t *s, size_t n, size_t *edge, size_t max)
{
    size_t k = 0;
    edge[k++] = 0;
    while (edge[k - 1] < n && k < max - 1) {
        size_t sz = (64u << 10) + rnd(s) % (6u << 20);
        if (rnd(s) % 2)
            sz &= ~(size_t)1023; /* a multiple of 4 KiB */
        size_t e = edge[k - 1] + sz;
        edge[k++] = e < n && n - e >= 1024 ? e : n;
    }
    edge[k - 1] = n;
    return k - 1; /* tiles: [edge[i], edge[i+1]) */
}

/* A range: a whole tile, one from inside tile i to inside tile i+1, or anywhere. */
static void pick_big(uint64_t *s, const size_t *edge, size_t nt, size_t n, size_t *o, size_t *len)
{
    size_t i = rnd(s) % nt, kind = rnd(s) % 8;
    if (kind < 3 || nt < 2) {
        *o = edge[i];
        *len = edge[i + 1] - edge[i];
    } else if (kind < 7) {
        if (i == nt - 1)
            i--;
        size_t a = edge[i] + rnd(s) % (edge[i + 1] - edge[i]);
        size_t b = edge[i + 1] + 1 + rnd(s) % (edge[i + 2] - edge[i + 1]);
        *o = a;
        *len = b - a;
    } else {
        size_t len_ = 1 + rnd(s) % (n / 4);
        *o = rnd(s) % (n - len_ + 1);
        *len = len_;
    }
}

static int run_big(uint64_t seed, int ntasks, size_t n)
{
    uint32_t *x = malloc(n * sizeof *x), *ref = malloc(n * sizeof *ref);
    size_t edge[256];
    if (!x || !ref)
        return -1;
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 7;
    for (size_t i = 0; i < n; i++)
        x[i] = ref[i] = (uint32_t)(i * 2654435761u);
    size_t nt = cut_tiles(&s, n, edge, 256);
    int rc = 0;
    for (int k = 0; k < ntasks && !rc; k++) {
        size_t oo, on, io, in;
        pick_big(&s, edge, nt, n, &oo, &on);
        pick_big(&s, edge, nt, n, &io, &in);
        struct mix_args m = {x + oo, x + io, on, in, (uint32_t)k};
        dag_dep_t d[2] = {{x + oo, on * 4, DAG_INOUT}, {x + io, in * 4, DAG_IN}};
        dag_task_attr_t at = {.label = "mix-big", .cuda = cuda_mix};
        if (rnd(&s) % 4 == 0)
            at.device = DAG_DEVICE_CUDA;
        if (dag_submit(cpu_mix, &m, sizeof m, d, 2, &at) != DAG_OK)
            rc = -1;
        struct mix_args r = {ref + oo, ref + io, on, in, (uint32_t)k};
        cpu_mix(&r);
        if (rnd(&s) % 16 == 0) {
            if (dag_taskwait() != DAG_OK)
                rc = -1;
            size_t i = rnd(&s) % n; /* the host writes between waits */
            x[i] += 1;
            ref[i] += 1;
        }
    }
    if (dag_taskwait() != DAG_OK)
        rc = -1;
    for (size_t i = 0; i < n && !rc; i++)
        if (x[i] != ref[i]) {
            fprintf(stderr, "big seed %llu (%zu tiles): x[%zu] = %u, expected %u\n",
                    (unsigned long long)seed, nt, i, x[i], ref[i]);
            rc = -1;
        }
    free(x);
    free(ref);
    return rc;
}

/* DAG_TEST_BIG_SEEDS programs (default 6; 24 in run.sh) of 40 tasks over 48 MiB
 * (DAG_TEST_BIG_MB). */
START_TEST(test_random_big_tiles)
{
    int seeds = knob("DAG_TEST_BIG_SEEDS", 6), first = knob("DAG_TEST_SEED_FIRST", 1);
    size_t n = (size_t)knob("DAG_TEST_BIG_MB", 48) << 18;
    unsigned long long gpu = 0, cpu = 0, regs = 0;
    int modes[2], nmodes = chain_modes(modes);
    for (int seed = first; seed < first + seeds; seed++) {
        for (int m = 0; m < nmodes; m++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%d", seed);
            setenv("DAG_SCHED_SEED", buf, 1);
            setenv("DAG_CUDA_WRITEBACK",
                   seed % 3 == 0 ? "eager" : seed % 3 == 1 ? "lazy" : "auto", 1);
            set_chain(modes[m]);
            start(knob("DAG_TEST_THREADS", 1 + seed % 4), "random");
            int rc = run_big((uint64_t)seed, 40, n);
            dag_cuda_stats_t st = stats();
            gpu += st.gpu_tasks;
            cpu += st.cpu_tasks;
            regs += st.host_registers;
            stop();
            ck_assert_msg(rc == 0, "big seed %d (DAG_CUDA_CHAIN=%d) differs (or a task failed)",
                          seed, modes[m]);
        }
    }
    unsetenv("DAG_CUDA_CHAIN");
    fprintf(stderr, "random big tiles: %d programs, %llu GPU and %llu CPU tasks, %llu host "
                    "registrations\n", seeds, gpu, cpu, regs);
    ck_assert_uint_gt(gpu, 0);
    ck_assert_uint_gt(regs, 0);
}
END_TEST

TCase *random_tcase(void)
{
    TCase *tc = tcase_create("random");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_random_placements);
    tcase_add_test(tc, test_random_big_tiles);
    tcase_add_test(tc, test_random_chains);
    return tc;
}
