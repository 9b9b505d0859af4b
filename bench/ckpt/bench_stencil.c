/* bench_stencil.c: the long-run workload of the checkpoint benchmark (stencil.sh runs the
 * anchors): a tiled 2D Jacobi iteration (5-point stencil, fixed boundary) on two N x N
 * grids of doubles used in turn, tile by tile (each tile a separate allocation registered
 * with dag_checkpoint_register), one task per tile and sweep reading its tile and its four
 * neighbours. Every CHECK sweeps the program waits (as a solver testing convergence would)
 * and prints how far it got, so a killed run tells when it died and a restarted one where
 * it resumed. Checkpointing is whatever the environment says (DAG_CHECKPOINT_DIR,
 * DAG_CHECKPOINT_EVERY, DAG_RESTART).
 *   bench_stencil [tiles per side] [tile side] [sweeps] [check]   (default 8 256 5000 20)
 * Prints "sweep <k> <elapsed s>" every `check` sweeps and, at the end,
 * "time <s> run <s> digest <hex>" (time: first task to the last wait; run: the process). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dag.h>

static int T, NB;
static double **G[2]; /* G[g][i * T + j]: tile (i, j) of grid g, NB x NB, row-major */

struct sargs {
    const double *c, *n, *s, *w, *e; /* the tile and its neighbours (NULL at the border) */
    double *out;
    int i, j;
};

/* The fixed boundary value at global (row, col) just outside the grid. */
static double border(long r, long c)
{
    return (double)((r * 7 + c * 13) % 101) / 101.0;
}

static int k_init(void *p)
{
    struct sargs *a = p;
    for (int r = 0; r < NB; r++)
        for (int c = 0; c < NB; c++)
            a->out[(size_t)r * NB + c] = (double)(((a->i * NB + r) ^ (a->j * NB + c)) & 15) / 16.0;
    return 0;
}

static int k_sweep(void *p)
{
    struct sargs *a = p;
    long n = (long)T * NB;
    long r0 = (long)a->i * NB, c0 = (long)a->j * NB;
    for (int r = 0; r < NB; r++) {
        const double *row = a->c + (size_t)r * NB;
        double *o = a->out + (size_t)r * NB;
        for (int c = 0; c < NB; c++) {
            double up = r > 0 ? row[c - NB] : a->n ? a->n[(size_t)(NB - 1) * NB + c]
                                                   : border(-1, c0 + c);
            double dn = r < NB - 1 ? row[c + NB] : a->s ? a->s[c] : border(n, c0 + c);
            double lf = c > 0 ? row[c - 1] : a->w ? a->w[(size_t)r * NB + NB - 1]
                                                  : border(r0 + r, -1);
            double rt = c < NB - 1 ? row[c + 1] : a->e ? a->e[(size_t)r * NB] : border(r0 + r, n);
            o[c] = 0.25 * (up + dn + lf + rt);
        }
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check(dag_status_t st, const char *what)
{
    if (!st)
        return;
    fprintf(stderr, "bench_stencil: %s: %s\n", what, dag_strerror(st));
    exit(1);
}

static const double *tile(int g, int i, int j)
{
    return i < 0 || j < 0 || i >= T || j >= T ? NULL : G[g][i * T + j];
}

int main(int argc, char **argv)
{
    double t_start = now();
    T = argc > 1 ? atoi(argv[1]) : 8;
    NB = argc > 2 ? atoi(argv[2]) : 256;
    int sweeps = argc > 3 ? atoi(argv[3]) : 5000;
    int every = argc > 4 ? atoi(argv[4]) : 20;
    if (T < 1 || NB < 2 || sweeps < 1 || every < 1) {
        fprintf(stderr, "usage: bench_stencil [tiles per side] [tile side] [sweeps] [check]\n");
        return 2;
    }
    size_t bytes = (size_t)NB * NB * sizeof(double);
    for (int g = 0; g < 2; g++) {
        G[g] = calloc((size_t)T * T, sizeof *G[g]);
        for (int k = 0; G[g] && k < T * T; k++)
            if (!(G[g][k] = calloc(1, bytes)))
                G[g] = NULL;
        if (!G[g]) {
            fprintf(stderr, "bench_stencil: out of memory\n");
            return 1;
        }
        for (int k = 0; k < T * T; k++)
            check(dag_checkpoint_register(G[g][k], bytes), "dag_checkpoint_register");
    }
    double t0 = now();
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            struct sargs a = {.out = G[0][i * T + j], .i = i, .j = j};
            dag_dep_t d = {a.out, bytes, DAG_OUT};
            dag_task_attr_t at = {.label = "init", .file = __FILE__, .line = __LINE__};
            check(dag_submit(k_init, &a, sizeof a, &d, 1, &at), "submit init");
        }
    for (int s = 0; s < sweeps; s++) {
        int src = s & 1, dst = src ^ 1;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                struct sargs a = {tile(src, i, j), tile(src, i - 1, j), tile(src, i + 1, j),
                                  tile(src, i, j - 1), tile(src, i, j + 1),
                                  G[dst][i * T + j], i, j};
                dag_dep_t d[6];
                size_t nd = 0;
                const double *in[5] = {a.c, a.n, a.s, a.w, a.e};
                for (int k = 0; k < 5; k++)
                    if (in[k])
                        d[nd++] = (dag_dep_t){(void *)in[k], bytes, DAG_IN};
                d[nd++] = (dag_dep_t){a.out, bytes, DAG_OUT};
                dag_task_attr_t at = {.label = "sweep", .file = __FILE__, .line = __LINE__};
                check(dag_submit(k_sweep, &a, sizeof a, d, nd, &at), "submit sweep");
            }
        if ((s + 1) % every == 0 || s + 1 == sweeps) {
            check(dag_taskwait(), "dag_taskwait");
            printf("sweep %d %.3f\n", s + 1, now() - t_start);
            fflush(stdout);
        }
    }
    double t1 = now();
    uint64_t h = 1469598103934665603ull;
    for (int k = 0; k < T * T; k++) {
        const unsigned char *p = (const unsigned char *)G[sweeps & 1][k];
        for (size_t x = 0; x < bytes; x += 8) {
            uint64_t w;
            memcpy(&w, p + x, 8);
            h = (h ^ w) * 1099511628211ull;
        }
    }
    printf("time %.4f run %.4f digest %016llx\n", t1 - t0, now() - t_start,
           (unsigned long long)h);
    return 0;
}
