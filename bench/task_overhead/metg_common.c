/* metg_common.c: argument parsing, data, the burn kernel, checks and the result line of
 * the granularity benchmark's binaries (see metg_common.h). Compiled into each binary,
 * by gcc and by clang alike. */
#define _POSIX_C_SOURCE 200809L
#include "metg_common.h"
#include "bench_clock.h"
#include "bench_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mg_args mg;
uint64_t *mg_out, *mg_grid;
uint64_t mg_fan_x;

static const char *const names[MG_NPATTERNS] = {"independent", "chains", "stencil", "fan"};

const char *mg_pattern_name(int p) { return p >= 0 && p < MG_NPATTERNS ? names[p] : NULL; }

int mg_pattern_parse(const char *name)
{
    for (int p = 0; p < MG_NPATTERNS; p++)
        if (strcmp(name, names[p]) == 0)
            return p;
    return -1;
}

long mg_tasks(void)
{
    long cells = (long)mg.width * mg.steps;
    return mg.pattern == MG_FAN ? cells + mg.steps : cells;
}

__attribute__((noinline)) uint64_t mg_burn(long iters)
{
    uint64_t x = (uint64_t)iters;
    for (long i = 0; i < iters; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x)); /* one dependent step per iteration, not folded */
    }
    return x;
}

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= lo && v <= hi ? v : lo - 1;
}

void mg_parse_args(int argc, char **argv)
{
    if (argc != 7)
        goto usage;
    mg.pattern = mg_pattern_parse(argv[1]);
    mg.threads = (int)arg_long(argv[2], 1, 4096);
    mg.reps = (int)arg_long(argv[3], 1, MG_MAX_REPS);
    mg.iters = arg_long(argv[4], 0, 1L << 40);
    mg.width = (int)arg_long(argv[5], 1, 1 << 20);
    mg.steps = (int)arg_long(argv[6], 1, 1 << 24);
    if (mg.pattern < 0 || mg.threads < 1 || mg.reps < 1 || mg.iters < 0 || mg.width < 1 ||
        mg.steps < 1 || (long)mg.width * mg.steps > (1L << 26))
        goto usage;
    return;
usage:
    fprintf(stderr,
            "usage: %s PATTERN THREADS REPS ITERS WIDTH STEPS\n"
            "  PATTERN: independent | chains | stencil | fan; ITERS: burn iterations per task\n"
            "  runs one warm-up and REPS (1..%d) timed repetitions; prints one RESULT line\n",
            argc > 0 ? argv[0] : "metg_impl", MG_MAX_REPS);
    exit(2);
}

void mg_data_init(void)
{
    size_t cells = (size_t)mg.width * mg.steps;
    mg_out = calloc(cells, sizeof *mg_out);
    mg_grid = calloc(2 * (size_t)mg.width, sizeof *mg_grid);
    if (!mg_out || !mg_grid) {
        fprintf(stderr, "metg: out of memory\n");
        exit(3);
    }
}

void mg_prepare(void)
{
    memset(mg_out, 0, sizeof *mg_out * (size_t)mg.width * mg.steps);
    memset(mg_grid, 0, sizeof *mg_grid * 2 * (size_t)mg.width);
    mg_fan_x = 0;
}

int mg_verify(void)
{
    uint64_t b = mg_b(mg.iters);
    int w = mg.width;
    switch (mg.pattern) {
    case MG_INDEPENDENT:
        for (long k = 0; k < (long)w * mg.steps; k++)
            if (mg_out[k] != (uint64_t)k + 1 + b) {
                fprintf(stderr, "independent: task %ld did not run\n", k);
                return 0;
            }
        return 1;
    case MG_CHAINS:
        for (int i = 0; i < w; i++)
            if (mg_grid[i] != (uint64_t)mg.steps * (1 + b)) {
                fprintf(stderr, "chains: column %d is %llu\n", i, (unsigned long long)mg_grid[i]);
                return 0;
            }
        return 1;
    case MG_STENCIL: {
        uint64_t *row = calloc(2 * (size_t)w, sizeof *row), ok = 1;
        if (!row)
            return 0;
        for (int t = 0; t < mg.steps; t++)
            for (int i = 0; i < w; i++) {
                const uint64_t *prev = row + (size_t)((t + 1) & 1) * w;
                uint64_t s = prev[i] + 1 + b;
                if (i > 0)
                    s += prev[i - 1];
                if (i + 1 < w)
                    s += prev[i + 1];
                row[(size_t)(t & 1) * w + i] = s;
            }
        int last = (mg.steps - 1) & 1;
        for (int i = 0; i < w; i++)
            if (row[(size_t)last * w + i] != mg_grid[(size_t)last * w + i]) {
                fprintf(stderr, "stencil: column %d differs from sequential\n", i);
                ok = 0;
                break;
            }
        free(row);
        return (int)ok;
    }
    case MG_FAN:
        if (mg_fan_x != (uint64_t)mg.steps * (1 + b)) {
            fprintf(stderr, "fan: root counter is %llu\n", (unsigned long long)mg_fan_x);
            return 0;
        }
        for (int t = 0; t < mg.steps; t++)
            for (int i = 0; i < w; i++)
                if (mg_out[(size_t)t * w + i] != (uint64_t)(t + 1) * (1 + b) + b) {
                    fprintf(stderr, "fan: leaf %d of step %d saw the wrong root value\n", i, t);
                    return 0;
                }
        return 1;
    default: return 0;
    }
}

uint64_t mg_now_ns(void)
{
    return bench_clock_ns();
}

double mg_calibrate(void)
{
    double best = 1e30;
    long n = 1 << 18;
    for (int k = 0; k < 7; k++) {
        uint64_t t0 = mg_now_ns();
        volatile uint64_t sink = mg_burn(n);
        (void)sink;
        double per = (double)(mg_now_ns() - t0) / (double)n;
        if (per < best)
            best = per;
    }
    return best;
}

void mg_report(const char *impl, const uint64_t *ns, double ns_per_iter)
{
    uint64_t s[MG_MAX_REPS];
    memcpy(s, ns, sizeof *ns * (size_t)mg.reps);
    qsort(s, (size_t)mg.reps, sizeof *s, bench_cmp_u64);
    double med = mg.reps % 2 ? (double)s[mg.reps / 2]
                             : ((double)s[mg.reps / 2 - 1] + (double)s[mg.reps / 2]) / 2.0;
    printf("RESULT impl=%s pattern=%s threads=%d tasks=%ld iters=%ld width=%d steps=%d "
           "reps=%d wall_ns=%.0f ns_per_iter=%.4f\n",
           impl, mg_pattern_name(mg.pattern), mg.threads, mg_tasks(), mg.iters, mg.width,
           mg.steps, mg.reps, med, ns_per_iter);
    fflush(stdout);
}

/* ---- the shared timing loop -------------------------------------------------------- */

static void mg_loop_prepare(int rep, void *ctx) { (void)rep, (void)ctx, mg_prepare(); }
static int mg_loop_run(int rep, void *ctx)
{
    (void)rep;
    return (*(int (**)(void))ctx)();
}
static int mg_loop_verify(int rep, void *ctx) { return (void)rep, (void)ctx, mg_verify(); }

int mg_time_reps(int (*run)(void), uint64_t *ns)
{
    static const struct bench_ops ops = {mg_loop_prepare, mg_loop_run, mg_loop_verify};
    return bench_time_reps(mg.reps, &ops, &run, ns);
}
