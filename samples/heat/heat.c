/* heat.c: 2-D heat equation, explicit Jacobi steps on two grids. The grid is split into
 * row blocks; each block update is a task that reads its neighbours' rows of the
 * previous grid (array-section dependences), so steps overlap across blocks.
 * usage: heat [n] [steps] [rows per block]     (default 1024 200 64) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void step_rows(double *dst, const double *src, int n, int r0, int r1)
{
    for (int i = r0; i < r1; i++)
        for (int j = 0; j < n; j++) {
            if (i == 0 || j == 0 || i == n - 1 || j == n - 1) {
                dst[(size_t)i * n + j] = src[(size_t)i * n + j];
                continue;
            }
            const double *s = src + (size_t)i * n + j;
            dst[(size_t)i * n + j] = s[0] + 0.2 * (s[-n] + s[n] + s[-1] + s[1] - 4 * s[0]);
        }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1024, steps = argc > 2 ? atoi(argv[2]) : 200;
    int rb = argc > 3 ? atoi(argv[3]) : 64;
    double *g[2];
    for (int k = 0; k < 2; k++) {
        g[k] = calloc((size_t)n * n, sizeof(double));
        if (!g[k])
            return 1;
        for (int j = 0; j < n; j++)
            g[k][j] = 100.0; /* hot top edge */
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int s = 0; s < steps; s++) {
        double *src = g[s % 2], *dst = g[(s + 1) % 2];
        for (int r0 = 0; r0 < n; r0 += rb) {
            int r1 = r0 + rb < n ? r0 + rb : n;
            int lo = r0 > 0 ? r0 - 1 : 0, hi = r1 < n ? r1 + 1 : n;
            #pragma dag task depend(in: src[(size_t)lo * n:(size_t)(hi - lo) * n]) \
                             depend(out: dst[(size_t)r0 * n:(size_t)(r1 - r0) * n])
            step_rows(dst, src, n, r0, r1);
        }
    }
    #pragma dag taskwait
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    const double *res = g[steps % 2];
    double sum = 0;
    for (size_t i = 0; i < (size_t)n * n; i++)
        sum += res[i];
    printf("heat %dx%d, %d steps: %.3f s, %.1f Mcell/s, total heat %.6e\n", n, n, steps,
           secs, (double)n * n * steps / secs * 1e-6, sum);
    free(g[0]);
    free(g[1]);
    return 0;
}
