/* metg.c: the driver of the granularity benchmark (Task Bench's METG, issue 18 item 2).
 * For each pattern and thread count it runs every implementation's binary (dagcc,
 * libgomp, libomp, StarPU; paths baked in at build time) at task sizes from 100 us down,
 * interleaved, and prints each run's efficiency (the burn work divided by threads x wall
 * time) and task granularity (threads x wall time / tasks), then each implementation's
 * METG: the granularity at which its efficiency falls to 50% (log-interpolated between
 * the two runs around it) and dagcc's ratio to the best anchor (below 1: dagcc smaller). */
#define _POSIX_C_SOURCE 200809L
#include "metg_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MG_BIN_DAGCC
#define MG_BIN_DAGCC ""
#endif
#ifndef MG_BIN_LIBGOMP
#define MG_BIN_LIBGOMP ""
#endif
#ifndef MG_BIN_LIBOMP
#define MG_BIN_LIBOMP ""
#endif
#ifndef MG_BIN_STARPU
#define MG_BIN_STARPU ""
#endif

enum { NIMPL = 4, MAX_LIST = 32 };
static const char *const impl_names[NIMPL] = {"dagcc", "libgomp", "libomp", "starpu"};
static const char *const impl_bins[NIMPL] = {MG_BIN_DAGCC, MG_BIN_LIBGOMP, MG_BIN_LIBOMP,
                                             MG_BIN_STARPU};

static struct {
    int patterns[MG_NPATTERNS], npatterns;
    int threads[MAX_LIST], nthreads;
    double grains[MAX_LIST]; /* body time in ns, descending */
    int ngrains;
    int impl_on[NIMPL];
    int reps, target_ms, timeout_s, quiet;
    double budget_s; /* --budget: no new run starts past this many seconds (0: none) */
    int all; /* --all: run every task size, even after two runs below 50% */
} opt;

static double g_t0; /* start of the sweeps, seconds */
static double g_npi; /* ns per burn iteration, one calibration for every implementation */

struct point {
    double gran, eff;
};

static int built(int i) { return impl_bins[i][0] && access(impl_bins[i], X_OK) == 0; }

/* Run one binary; fills *pt and returns 1, or 0 on failure (message on stderr). A run
 * that outlives --timeout (its warm-up and reps repetitions) returns 2: *pt then holds
 * bounds (granularity at least, efficiency at most what one repetition of timeout /
 * (reps + 1) seconds would give), enough to say it is below 50% without waiting. */
static int run_one(int impl, int pattern, int threads, long iters, int width, int steps,
                   struct point *pt)
{
    char cmd[1024], line[512];
    snprintf(cmd, sizeof cmd, "exec timeout %d '%s' %s %d %d %ld %d %d", opt.timeout_s,
             impl_bins[impl], mg_pattern_name(pattern), threads, opt.reps, iters, width, steps);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    int got = 0;
    long tasks = 0;
    double wall = 0, npi = 0;
    while (fgets(line, sizeof line, f)) {
        const char *a = strstr(line, " tasks="), *b = strstr(line, " wall_ns="),
                   *c = strstr(line, " ns_per_iter=");
        if (strncmp(line, "RESULT ", 7) == 0 && a && b && c && sscanf(a, " tasks=%ld", &tasks) &&
            sscanf(b, " wall_ns=%lf", &wall) && sscanf(c, " ns_per_iter=%lf", &npi))
            got = 1;
    }
    int st = pclose(f);
    if (!got && st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 124) {
        long ntasks = pattern == MG_FAN ? (long)steps * (width + 1) : (long)steps * width;
        double rep_ns = opt.timeout_s * 1e9 / (opt.reps + 1);
        pt->gran = threads * rep_ns / (double)ntasks;
        pt->eff = (double)ntasks * (double)iters * g_npi / (threads * rep_ns);
        return 2;
    }
    if (st != 0 || !got || wall <= 0 || tasks <= 0) {
        fprintf(stderr, "metg: %s %s threads=%d iters=%ld failed (status %d)\n",
                impl_names[impl], mg_pattern_name(pattern), threads, iters, st);
        return 0;
    }
    pt->gran = threads * wall / (double)tasks;
    (void)npi; /* the binary's own calibration; the driver's (g_npi) is used for all */
    pt->eff = (double)tasks * (double)iters * g_npi / (threads * wall);
    return 1;
}

/* Granularity at 50% efficiency between a point above and one below. */
static double metg_between(struct point hi, struct point lo)
{
    if (hi.eff <= lo.eff || hi.gran <= 0 || lo.gran <= 0)
        return hi.gran;
    double f = (hi.eff - 0.5) / (hi.eff - lo.eff);
    return exp(log(hi.gran) + f * (log(lo.gran) - log(hi.gran)));
}

static void sweep(int pattern, int threads)
{
    int width = pattern == MG_FAN ? 4 * threads : threads;
    double npi = g_npi;
    struct point last[NIMPL];
    int active[NIMPL], below[NIMPL], have[NIMPL];
    double metg[NIMPL];
    char bound[NIMPL]; /* '=': interpolated, '<': never below 50%, '>': never above */
    for (int i = 0; i < NIMPL; i++) {
        active[i] = opt.impl_on[i] && built(i);
        below[i] = have[i] = 0;
        metg[i] = 0;
        bound[i] = '>';
    }
    printf("\n# %s, %d thread%s, width %d: efficiency (granularity us) per task size\n",
           mg_pattern_name(pattern), threads, threads == 1 ? "" : "s", width);
    printf("%10s", "body_us");
    for (int i = 0; i < NIMPL; i++)
        if (opt.impl_on[i] && built(i))
            printf(" %18s", impl_names[i]);
    printf("\n");
    for (int g = 0; g < opt.ngrains; g++) {
        long iters = (long)(opt.grains[g] / npi + 0.5);
        if (iters < 1)
            iters = 1;
        double ideal = opt.target_ms * 1e6 * threads / (width * opt.grains[g]);
        int steps = ideal < 4 ? 4 : ideal > 200000.0 / width ? 200000 / width : (int)ideal;
        if (opt.budget_s > 0 && mg_now_ns() / 1e9 - g_t0 > opt.budget_s) {
            printf("# --budget %.0f s spent: smaller task sizes not run\n", opt.budget_s);
            break;
        }
        printf("%10.2f", opt.grains[g] / 1000.0);
        for (int i = 0; i < NIMPL; i++) {
            if (!(opt.impl_on[i] && built(i)))
                continue;
            struct point pt;
            int r = active[i] ? run_one(i, pattern, threads, iters, width, steps, &pt) : 0;
            if (!r || (r == 2 && pt.eff >= 0.5)) {
                printf(" %18s", !active[i] ? "-" : r ? "TIMEOUT" : "FAIL");
                active[i] = 0;
                continue;
            }
            if (r == 2)
                printf("   <%5.1f%% timeout", 100 * pt.eff);
            else
                printf(" %7.1f%% (%7.2f)", 100 * pt.eff, pt.gran / 1000.0);
            if (pt.eff >= 0.5) {
                last[i] = pt;
                have[i] = 1;
                below[i] = 0;
                bound[i] = '<';
                metg[i] = pt.gran;
            } else {
                if (have[i] && below[i] == 0) {
                    metg[i] = metg_between(last[i], pt);
                    bound[i] = '=';
                }
                if (!have[i])
                    metg[i] = pt.gran;
                if (++below[i] >= 2 && !opt.all)
                    active[i] = 0; /* twice below 50%: smaller tasks only get worse */
            }
            fflush(stdout);
        }
        printf("\n");
        if (!(active[0] || active[1] || active[2] || active[3]))
            break;
    }
    double best = 0;
    int best_i = -1;
    printf("METG %s threads=%d:", mg_pattern_name(pattern), threads);
    for (int i = 0; i < NIMPL; i++) {
        if (!(opt.impl_on[i] && built(i)))
            continue;
        printf("  %s %c%.2f us", impl_names[i], bound[i] == '=' ? ' ' : bound[i],
               metg[i] / 1000.0);
        if (i > 0 && metg[i] > 0 && bound[i] == '=' && (best_i < 0 || metg[i] < best))
            best = metg[i], best_i = i;
    }
    /* a ratio only between two crossings of 50% (a bound says only on which side) */
    if (metg[0] > 0 && best_i > 0 && bound[0] == '=' && bound[best_i] == '=')
        printf("  dagcc/best(%s) %.2f", impl_names[best_i], metg[0] / best);
    else if (best_i > 0)
        printf("  (no ratio: not every METG crossed 50%%)");
    printf("\n");
    fflush(stdout);
}

static int parse_list(char *s, void (*add)(const char *))
{
    for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        add(tok);
    return 1;
}
static void add_pattern(const char *s)
{
    int p = mg_pattern_parse(s);
    if (p < 0 || opt.npatterns == MG_NPATTERNS) {
        fprintf(stderr, "metg: unknown pattern %s\n", s);
        exit(2);
    }
    opt.patterns[opt.npatterns++] = p;
}
static void add_threads(const char *s)
{
    int t = atoi(s);
    if (t < 1 || opt.nthreads == MAX_LIST) {
        fprintf(stderr, "metg: bad thread count %s\n", s);
        exit(2);
    }
    opt.threads[opt.nthreads++] = t;
}
static void add_grain(const char *s)
{
    double g = atof(s);
    if (g <= 0 || opt.ngrains == MAX_LIST) {
        fprintf(stderr, "metg: bad task size %s\n", s);
        exit(2);
    }
    opt.grains[opt.ngrains++] = g;
}
static void add_impl(const char *s)
{
    for (int i = 0; i < NIMPL; i++)
        if (!strcmp(s, impl_names[i])) {
            opt.impl_on[i] = 1;
            return;
        }
    fprintf(stderr, "metg: unknown implementation %s\n", s);
    exit(2);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int main(int argc, char **argv)
{
    int impls = 0;
    opt.reps = 3;
    opt.target_ms = 30;
    opt.timeout_s = 300;
    for (int a = 1; a < argc; a++) {
        char *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(argv[a], "--quiet"))
            opt.quiet = 1;
        else if (!strcmp(argv[a], "--all"))
            opt.all = 1;
        else if (!v) {
            fprintf(stderr,
                    "usage: metg [--patterns independent,chains,stencil,fan] [--threads 2]\n"
                    "            [--impls dagcc,libgomp,libomp,starpu] [--reps 3]\n"
                    "            [--grains NS,...] [--target-ms 30] [--timeout S] [--budget S] [--all]\n");
            return 2;
        } else if (!strcmp(argv[a], "--patterns"))
            parse_list(v, add_pattern), a++;
        else if (!strcmp(argv[a], "--threads"))
            parse_list(v, add_threads), a++;
        else if (!strcmp(argv[a], "--grains"))
            parse_list(v, add_grain), a++;
        else if (!strcmp(argv[a], "--impls"))
            parse_list(v, add_impl), impls = 1, a++;
        else if (!strcmp(argv[a], "--reps"))
            opt.reps = atoi(v), a++;
        else if (!strcmp(argv[a], "--target-ms"))
            opt.target_ms = atoi(v), a++;
        else if (!strcmp(argv[a], "--timeout"))
            opt.timeout_s = atoi(v), a++;
        else if (!strcmp(argv[a], "--budget"))
            opt.budget_s = atof(v), a++;
        else {
            fprintf(stderr, "metg: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    if (opt.reps < 1 || opt.reps > MG_MAX_REPS || opt.target_ms < 1) {
        fprintf(stderr, "metg: bad --reps or --target-ms\n");
        return 2;
    }
    if (!opt.npatterns)
        for (int p = 0; p < MG_NPATTERNS; p++)
            opt.patterns[opt.npatterns++] = p;
    if (!opt.nthreads)
        opt.threads[opt.nthreads++] = 2;
    if (!opt.ngrains) {
        static const double d[] = {100000, 50000, 20000, 10000, 5000, 2000,
                                   1000,   500,   200,   100,   50};
        for (size_t i = 0; i < sizeof d / sizeof *d; i++)
            opt.grains[opt.ngrains++] = d[i];
    }
    qsort(opt.grains, (size_t)opt.ngrains, sizeof *opt.grains, cmp_desc);
    if (!impls)
        for (int i = 0; i < NIMPL; i++)
            opt.impl_on[i] = 1;
    for (int i = 0; i < NIMPL; i++)
        if (opt.impl_on[i] && !built(i) && !opt.quiet)
            fprintf(stderr, "metg: %s was not built; skipped\n", impl_names[i]);
    g_npi = mg_calibrate();
    for (int k = 0; k < 30; k++) { /* the fastest of many: other load only slows it down */
        double v = mg_calibrate();
        if (v < g_npi)
            g_npi = v;
    }
    printf("# burn loop: %.4f ns per iteration on this core\n", g_npi);
    printf("# metg: Task Bench METG (50%% efficiency); body = burn loop, %d reps per run "
           "(median), ~%d ms of ideal work per run\n", opt.reps, opt.target_ms);
    g_t0 = mg_now_ns() / 1e9;
    for (int t = 0; t < opt.nthreads; t++)
        for (int p = 0; p < opt.npatterns; p++)
            sweep(opt.patterns[p], opt.threads[t]);
    return 0;
}
