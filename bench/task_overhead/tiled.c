/* tiled.c: the driver of the tiled linear algebra benchmark (issue 18 item 3). Runs the
 * binaries of dagcc, libgomp and LLVM libomp (paths baked in at build time) for each
 * algorithm, size and thread count, interleaved (run 1 of every implementation, then run
 * 2, ...), and prints the median GFLOP/s of each and dagcc's ratio to the best anchor
 * (above 1: dagcc is faster). OpenBLAS runs single-threaded inside the tasks. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TL_BIN_DAGCC
#define TL_BIN_DAGCC ""
#endif
#ifndef TL_BIN_LIBGOMP
#define TL_BIN_LIBGOMP ""
#endif
#ifndef TL_BIN_LIBOMP
#define TL_BIN_LIBOMP ""
#endif

enum { NIMPL = 3, MAXL = 16 };
static const char *const names[NIMPL] = {"dagcc", "libgomp", "libomp"};
static const char *const bins[NIMPL] = {TL_BIN_DAGCC, TL_BIN_LIBGOMP, TL_BIN_LIBOMP};

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double run(int impl, const char *alg, int threads, int reps, int n, int nb)
{
    char cmd[1024], line[512];
    double g = -1;
    snprintf(cmd, sizeof cmd, "exec '%s' %s %d %d %d %d", bins[impl], alg, threads, reps, n, nb);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " gflops=");
        if (!strncmp(line, "RESULT ", 7) && p)
            sscanf(p, " gflops=%lf", &g);
    }
    if (pclose(f) != 0)
        return -1;
    return g;
}

static int split(char *s, char **out)
{
    int n = 0;
    for (char *sv = NULL, *t = strtok_r(s, ",", &sv); t && n < MAXL; t = strtok_r(NULL, ",", &sv))
        out[n++] = t;
    return n;
}

int main(int argc, char **argv)
{
    char algs_s[256] = "cholesky,lu,gemm", sizes_s[256] = "4096", thr_s[256] = "2",
         impls_s[256] = "dagcc,libgomp,libomp";
    int nb = 256, reps = 3, runs = 3, failures = 0;
    for (int a = 1; a + 1 < argc; a += 2) {
        char *o = argv[a], *v = argv[a + 1];
        if (!strcmp(o, "--algs"))
            snprintf(algs_s, sizeof algs_s, "%s", v);
        else if (!strcmp(o, "--sizes"))
            snprintf(sizes_s, sizeof sizes_s, "%s", v);
        else if (!strcmp(o, "--threads"))
            snprintf(thr_s, sizeof thr_s, "%s", v);
        else if (!strcmp(o, "--impls"))
            snprintf(impls_s, sizeof impls_s, "%s", v);
        else if (!strcmp(o, "--nb"))
            nb = atoi(v);
        else if (!strcmp(o, "--reps"))
            reps = atoi(v);
        else if (!strcmp(o, "--runs"))
            runs = atoi(v);
        else {
            fprintf(stderr, "usage: tiled [--algs cholesky,lu,gemm] [--sizes 4096,8192] "
                            "[--nb 256] [--threads 2] [--impls dagcc,libgomp,libomp] "
                            "[--reps 3] [--runs 3]\n");
            return 2;
        }
    }
    if (argc % 2 == 0 || nb < 8 || reps < 1 || runs < 1 || runs > 31) {
        fprintf(stderr, "tiled: bad arguments (options take one value each)\n");
        return 2;
    }
    char *algs[MAXL], *sizes[MAXL], *thr[MAXL], *impls[MAXL];
    int na = split(algs_s, algs), ns = split(sizes_s, sizes), nt = split(thr_s, thr),
        ni = split(impls_s, impls), on[NIMPL] = {0};
    for (int i = 0; i < ni; i++)
        for (int k = 0; k < NIMPL; k++)
            if (!strcmp(impls[i], names[k]))
                on[k] = bins[k][0] && access(bins[k], X_OK) == 0;
    printf("# tiled: GFLOP/s, median of %d runs (each the median of %d repetitions after a "
           "warm-up); nb = %d; ratio = dagcc / best anchor (> 1: dagcc faster)\n", runs, reps, nb);
    printf("%-9s %6s %3s %9s %9s %9s %7s\n", "alg", "n", "thr", "dagcc", "libgomp", "libomp",
           "ratio");
    for (int a = 0; a < na; a++)
        for (int s = 0; s < ns; s++)
            for (int t = 0; t < nt; t++) {
                int n = atoi(sizes[s]), th = atoi(thr[t]);
                double v[NIMPL][32], med[NIMPL];
                for (int r = 0; r < runs; r++)
                    for (int k = 0; k < NIMPL; k++)
                        if (on[k]) {
                            v[k][r] = run(k, algs[a], th, reps, n, nb);
                            if (v[k][r] < 0) {
                                fprintf(stderr, "tiled: %s %s n=%d failed\n", names[k], algs[a], n);
                                failures++;
                            }
                        }
                printf("%-9s %6d %3d", algs[a], n, th);
                double best = 0;
                for (int k = 0; k < NIMPL; k++) {
                    med[k] = -1;
                    if (on[k]) {
                        qsort(v[k], (size_t)runs, sizeof(double), cmp_d);
                        med[k] = v[k][runs / 2];
                    }
                    if (med[k] > 0)
                        printf(" %9.1f", med[k]);
                    else
                        printf(" %9s", "-");
                    if (k > 0 && med[k] > best)
                        best = med[k];
                }
                if (med[0] > 0 && best > 0)
                    printf(" %7.3f\n", med[0] / best);
                else
                    printf(" %7s\n", "-");
                fflush(stdout);
            }
    return failures ? 1 : 0;
}
