/* task_overhead.c: the driver of the task-overhead benchmark (issue 2 item 7). It runs the
 * binary of each implementation (dagcc, libgomp, libomp, StarPU; paths baked in at build
 * time) for every pattern and thread count and prints ns per task and dagcc's ratios. */
#define _POSIX_C_SOURCE 200809L
#include "to_common.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Paths of the implementation binaries; "" when that implementation was not built. */
#ifndef TO_BIN_DAGCC
#define TO_BIN_DAGCC ""
#endif
#ifndef TO_BIN_LIBGOMP
#define TO_BIN_LIBGOMP ""
#endif
#ifndef TO_BIN_LIBOMP
#define TO_BIN_LIBOMP ""
#endif
#ifndef TO_BIN_STARPU
#define TO_BIN_STARPU ""
#endif

enum { IMPL_DAGCC, IMPL_LIBGOMP, IMPL_LIBOMP, IMPL_STARPU, NIMPLS };
static const char *const impl_names[NIMPLS] = {"dagcc", "libgomp", "libomp", "starpu"};
static const char *const impl_bins[NIMPLS] = {TO_BIN_DAGCC, TO_BIN_LIBGOMP, TO_BIN_LIBOMP,
                                              TO_BIN_STARPU};

enum run_status { RUN_OK, RUN_MISSING, RUN_FAIL, RUN_TIMEOUT, RUN_SKIPPED };

struct run_result {
    enum run_status status;
    double ns_per_task;
};

#define MAX_THREADS_LIST 16

static struct {
    int patterns[TO_NPATTERNS];
    int npatterns;
    int threads[MAX_THREADS_LIST];
    int nthreads;
    int impls[NIMPLS]; /* selected (1) or not (0) */
    int reps;
    int runs; /* invocations per cell; the median of their results is shown */
    int timeout_s;
    int csv;
    int quiet;
} opt;

static int built(int impl)
{
    return impl_bins[impl][0] != '\0' && access(impl_bins[impl], X_OK) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run `bin pattern threads reps`, collect its stdout and parse ns_per_task from the
 * RESULT line. Its stderr passes through. */
static struct run_result run_one(int impl, int pattern, int threads)
{
    struct run_result res = {RUN_MISSING, 0.0};
    char tbuf[16], rbuf[16], out[4096];
    size_t used = 0;
    int fds[2];
    if (!opt.impls[impl]) {
        res.status = RUN_SKIPPED;
        return res;
    }
    if (!built(impl))
        return res;
    res.status = RUN_FAIL;
    snprintf(tbuf, sizeof tbuf, "%d", threads);
    snprintf(rbuf, sizeof rbuf, "%d", opt.reps);
    if (pipe(fds) != 0) {
        perror("task_overhead: pipe");
        return res;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("task_overhead: fork");
        close(fds[0]);
        close(fds[1]);
        return res;
    }
    if (pid == 0) {
        char *argv[] = {(char *)impl_bins[impl], (char *)to_pattern_name(pattern), tbuf, rbuf,
                        NULL};
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(impl_bins[impl], argv);
        fprintf(stderr, "task_overhead: cannot run %s: %s\n", impl_bins[impl],
                strerror(errno));
        _exit(127);
    }
    close(fds[1]);

    /* Read until end of file or the deadline; then kill the child. */
    double deadline = now_s() + opt.timeout_s;
    int timed_out = 0;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int pr = poll(&pfd, 1, left > 1.0 ? 1000 : (int)(left * 1000) + 1);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        char chunk[1024];
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n < sizeof out - 1 - used ? (size_t)n : sizeof out - 1 - used;
        memcpy(out + used, chunk, take);
        used += take;
    }
    out[used] = '\0';
    close(fds[0]);
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        fprintf(stderr, "task_overhead: %s %s %d: killed after %d s\n", impl_names[impl],
                to_pattern_name(pattern), threads, opt.timeout_s);
        res.status = RUN_TIMEOUT;
        return res;
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        if (WIFSIGNALED(wstatus))
            fprintf(stderr, "task_overhead: %s %s %d: killed by signal %d\n", impl_names[impl],
                    to_pattern_name(pattern), threads, WTERMSIG(wstatus));
        else
            fprintf(stderr, "task_overhead: %s %s %d: exit status %d\n", impl_names[impl],
                    to_pattern_name(pattern), threads, WEXITSTATUS(wstatus));
        return res;
    }
    const char *line = strstr(out, "RESULT ");
    const char *field = line ? strstr(line, " ns_per_task=") : NULL;
    if (!field || sscanf(field, " ns_per_task=%lf", &res.ns_per_task) != 1) {
        fprintf(stderr, "task_overhead: %s %s %d: no result in its output\n",
                impl_names[impl], to_pattern_name(pattern), threads);
        return res;
    }
    res.status = RUN_OK;
    return res;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* run_one opt.runs times; the median of the results, or the first failure. */
static struct run_result run_cell(int impl, int pattern, int threads)
{
    double v[64];
    struct run_result r = {RUN_OK, 0.0};
    for (int k = 0; k < opt.runs; k++) {
        r = run_one(impl, pattern, threads);
        if (r.status != RUN_OK)
            return r;
        v[k] = r.ns_per_task;
    }
    qsort(v, (size_t)opt.runs, sizeof *v, cmp_double);
    r.ns_per_task = opt.runs % 2 ? v[opt.runs / 2] : (v[opt.runs / 2 - 1] + v[opt.runs / 2]) / 2;
    return r;
}

/* ---- output ------------------------------------------------------------------------ */

static const char *status_word(enum run_status s)
{
    switch (s) {
    case RUN_FAIL: return "FAIL";
    case RUN_TIMEOUT: return "TIMEOUT";
    default: return "-";
    }
}

static void print_header(void)
{
    if (opt.csv) {
        printf("pattern,threads,tasks,dagcc_ns,libgomp_ns,libomp_ns,starpu_ns,"
               "ratio_libgomp,ratio_libomp,ratio_starpu,ratio_best\n");
        return;
    }
    printf("# task_overhead: ns per task, median of %d timed repetitions after a warm-up",
           opt.reps);
    if (opt.runs > 1)
        printf("; median of %d runs", opt.runs);
    printf("\n");
    printf("# ratio = dagcc / anchor (< 1: dagcc is faster); best = fastest anchor\n");
    printf("%-11s %3s %8s %9s %9s %9s %9s %8s %8s %8s %8s\n", "pattern", "thr", "tasks",
           "dagcc", "libgomp", "libomp", "starpu", "/libgomp", "/libomp", "/starpu", "/best");
}

static void print_row(int pattern, int threads, const struct run_result *r)
{
    double best = 0.0;
    int have_best = 0;
    for (int i = 1; i < NIMPLS; i++)
        if (r[i].status == RUN_OK && (!have_best || r[i].ns_per_task < best))
            best = r[i].ns_per_task, have_best = 1;
    int dag_ok = r[IMPL_DAGCC].status == RUN_OK;
    double dag = r[IMPL_DAGCC].ns_per_task;

    if (opt.csv) {
        printf("%s,%d,%ld", to_pattern_name(pattern), threads, to_pattern_tasks(pattern));
        for (int i = 0; i < NIMPLS; i++) {
            if (r[i].status == RUN_OK)
                printf(",%.2f", r[i].ns_per_task);
            else
                printf(",%s", r[i].status == RUN_FAIL || r[i].status == RUN_TIMEOUT
                                  ? status_word(r[i].status)
                                  : "");
        }
        for (int i = 1; i < NIMPLS; i++) {
            if (dag_ok && r[i].status == RUN_OK)
                printf(",%.3f", dag / r[i].ns_per_task);
            else
                printf(",");
        }
        if (dag_ok && have_best)
            printf(",%.3f\n", dag / best);
        else
            printf(",\n");
        fflush(stdout);
        return;
    }
    printf("%-11s %3d %8ld", to_pattern_name(pattern), threads, to_pattern_tasks(pattern));
    for (int i = 0; i < NIMPLS; i++) {
        if (r[i].status == RUN_OK)
            printf(" %9.1f", r[i].ns_per_task);
        else
            printf(" %9s", status_word(r[i].status));
    }
    for (int i = 1; i < NIMPLS; i++) {
        if (dag_ok && r[i].status == RUN_OK)
            printf(" %8.2f", dag / r[i].ns_per_task);
        else
            printf(" %8s", "-");
    }
    if (dag_ok && have_best)
        printf(" %8.2f\n", dag / best);
    else
        printf(" %8s\n", "-");
    fflush(stdout);
}

/* ---- options ----------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: task_overhead [options]\n"
            "Measures the per-task overhead of dagcc, libgomp, LLVM libomp and StarPU on\n"
            "four task graphs and prints ns per task and dagcc's ratio to each.\n"
            "  --patterns LIST  comma-separated, from independent,chain,fanout,wavefront\n"
            "                   (default: all)\n"
            "  --threads LIST   comma-separated thread counts (default: 1,2)\n"
            "  --impls LIST     comma-separated, from dagcc,libgomp,libomp,starpu\n"
            "                   (default: all that were built)\n"
            "  --reps N         timed repetitions per run, after one warm-up (default: 5)\n"
            "  --runs N         runs (processes) per cell, reporting the median of their\n"
            "                   results, for noisy machines (default: 1, at most 63)\n"
            "  --timeout S      kill a run after S seconds (default: 600)\n"
            "  --csv            print CSV instead of the table\n"
            "  --quiet          no progress messages on stderr\n"
            "  --list           print the implementation binaries and exit\n"
            "Exit status: 0 if every run succeeded, 1 if one failed its check, crashed or\n"
            "timed out, 2 on a usage error.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* Split a comma-separated list; calls item() for each element. */
static int parse_list(const char *arg, int (*item)(const char *))
{
    char buf[256];
    if (strlen(arg) >= sizeof buf)
        return 0;
    strcpy(buf, arg);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        if (!item(tok))
            return 0;
    return 1;
}

static int add_pattern(const char *s)
{
    int p = to_pattern_parse(s);
    if (p < 0 || opt.npatterns == TO_NPATTERNS)
        return 0;
    opt.patterns[opt.npatterns++] = p;
    return 1;
}

static int add_threads(const char *s)
{
    int t;
    if (opt.nthreads == MAX_THREADS_LIST || !parse_int(s, 1, 4096, &t))
        return 0;
    opt.threads[opt.nthreads++] = t;
    return 1;
}

static int add_impl(const char *s)
{
    for (int i = 0; i < NIMPLS; i++)
        if (strcmp(s, impl_names[i]) == 0) {
            opt.impls[i] = 1;
            return 1;
        }
    return 0;
}

static void parse_options(int argc, char **argv)
{
    int impls_given = 0;
    opt.reps = 5;
    opt.runs = 1;
    opt.timeout_s = 600;
    for (int a = 1; a < argc; a++) {
        const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        int ok = 1;
        if (strcmp(o, "--csv") == 0)
            opt.csv = 1;
        else if (strcmp(o, "--quiet") == 0)
            opt.quiet = 1;
        else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(o, "--list") == 0) {
            for (int i = 0; i < NIMPLS; i++)
                printf("%-8s %s%s\n", impl_names[i], impl_bins[i][0] ? impl_bins[i] : "-",
                       built(i) ? "" : "  (not built)");
            exit(0);
        } else if (!v)
            ok = 0;
        else if (strcmp(o, "--patterns") == 0)
            ok = parse_list(v, add_pattern), a++;
        else if (strcmp(o, "--threads") == 0)
            ok = parse_list(v, add_threads), a++;
        else if (strcmp(o, "--impls") == 0)
            ok = parse_list(v, add_impl), impls_given = 1, a++;
        else if (strcmp(o, "--reps") == 0)
            ok = parse_int(v, 1, TO_MAX_REPS, &opt.reps), a++;
        else if (strcmp(o, "--runs") == 0)
            ok = parse_int(v, 1, 63, &opt.runs), a++;
        else if (strcmp(o, "--timeout") == 0)
            ok = parse_int(v, 1, 1000000, &opt.timeout_s), a++;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "task_overhead: bad option or value: %s%s%s\n", o, v ? " " : "",
                    v ? v : "");
            usage(stderr);
            exit(2);
        }
    }
    if (opt.npatterns == 0)
        for (int p = 0; p < TO_NPATTERNS; p++)
            opt.patterns[opt.npatterns++] = p;
    if (opt.nthreads == 0) {
        opt.threads[opt.nthreads++] = 1;
        opt.threads[opt.nthreads++] = 2;
    }
    if (!impls_given)
        for (int i = 0; i < NIMPLS; i++)
            opt.impls[i] = 1;
}

int main(int argc, char **argv)
{
    int failures = 0, rows = 0, at_or_below = 0;
    parse_options(argc, argv);
    if (!opt.quiet)
        for (int i = 0; i < NIMPLS; i++)
            if (opt.impls[i] && !built(i))
                fprintf(stderr, "task_overhead: %s was not built; its column stays empty\n",
                        impl_names[i]);
    print_header();
    for (int pi = 0; pi < opt.npatterns; pi++) {
        for (int ti = 0; ti < opt.nthreads; ti++) {
            int p = opt.patterns[pi], t = opt.threads[ti];
            struct run_result r[NIMPLS];
            for (int i = 0; i < NIMPLS; i++) {
                if (!opt.quiet && opt.impls[i] && built(i))
                    fprintf(stderr, "task_overhead: running %s %s on %d thread%s...\n",
                            impl_names[i], to_pattern_name(p), t, t == 1 ? "" : "s");
                r[i] = run_cell(i, p, t);
                if (r[i].status == RUN_FAIL || r[i].status == RUN_TIMEOUT)
                    failures++;
            }
            print_row(p, t, r);
            if (r[IMPL_DAGCC].status == RUN_OK) {
                int anchors = 0, beaten = 0;
                for (int i = 1; i < NIMPLS; i++)
                    if (r[i].status == RUN_OK) {
                        anchors++;
                        beaten += r[IMPL_DAGCC].ns_per_task <= r[i].ns_per_task;
                    }
                if (anchors) {
                    rows++;
                    at_or_below += beaten == anchors;
                }
            }
        }
    }
    if (!opt.csv && rows)
        printf("# dagcc at or below the best anchor on %d of %d rows\n", at_or_below, rows);
    if (failures)
        fprintf(stderr, "task_overhead: %d run%s failed\n", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
