/* handwritten.c: the same blocked wavefront written twice, with `#pragma dag task` (built
 * by dagcc) and by hand against dag.h, timed in one run. The translated version must
 * cost the same as the hand-written one (one dag_submit, compact argument block). */
#include <dag.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NB 256
static double grid[NB][NB];

static void cell(int i, int j)
{
    double up = i ? grid[i - 1][j] : 1, left = j ? grid[i][j - 1] : 1;
    grid[i][j] = 0.5 * (up + left) + 1e-3;
}

static void pragma_version(void)
{
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB; j++) {
            #pragma dag task depend(in: grid[i ? i - 1 : 0][j], grid[i][j ? j - 1 : 0]) \
                             depend(inout: grid[i][j])
            cell(i, j);
        }
    #pragma dag taskwait
}

struct cell_args { int i, j; };

static int cell_task(void *p)
{
    struct cell_args *a = p;
    cell(a->i, a->j);
    return 0;
}

static void hand_version(void)
{
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB; j++) {
            struct cell_args a = {i, j};
            dag_dep_t d[3] = {{&grid[i ? i - 1 : 0][j], sizeof(double), DAG_IN},
                              {&grid[i][j ? j - 1 : 0], sizeof(double), DAG_IN},
                              {&grid[i][j], sizeof(double), DAG_INOUT}};
            dag_task_attr_t t = {.label = "cell", .file = __FILE__, .line = __LINE__};
            if (dag_submit(cell_task, &a, sizeof a, d, 3, &t) != DAG_OK)
                exit(1);
        }
    if (dag_taskwait() != DAG_OK)
        exit(1);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(void)
{
    double best_p = 1e9, best_h = 1e9;
    hand_version(); /* warm up the runtime */
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        pragma_version();
        double t1 = now();
        hand_version();
        double t2 = now();
        best_p = t1 - t0 < best_p ? t1 - t0 : best_p;
        best_h = t2 - t1 < best_h ? t2 - t1 : best_h;
    }
    printf("wavefront %dx%d (%d tasks): translated %.1f ns/task, hand-written %.1f ns/task, "
           "ratio %.3f\n", NB, NB, NB * NB, best_p / (NB * NB) * 1e9,
           best_h / (NB * NB) * 1e9, best_p / best_h);
    return 0;
}
