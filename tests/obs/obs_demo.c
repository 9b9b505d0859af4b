/* obs_demo.c: a small labelled task graph (a wavefront of "stencil" tasks fed by "init"
 * tasks and reduced by a "sum" task) for the observability tests: run it with DAG_TRACE,
 * DAG_DOT or DAG_STATS set and check what comes out. Usage: obs_demo [n] [task_us] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <dag.h>

#define MAXN 64
static double grid[MAXN][MAXN];

struct cell {
    int i, j, us;
};

static void spin_us(int us)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static int init_body(void *p)
{
    struct cell *c = p;
    grid[c->i][c->j] = 1.0;
    spin_us(c->us);
    return 0;
}

static int stencil_body(void *p)
{
    struct cell *c = p;
    double up = c->i ? grid[c->i - 1][c->j] : 0, left = c->j ? grid[c->i][c->j - 1] : 0;
    grid[c->i][c->j] += 0.5 * (up + left);
    spin_us(c->us);
    return 0;
}

static int sum_body(void *p)
{
    int n = *(int *)p;
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            s += grid[i][j];
    grid[0][0] = s;
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8, us = argc > 2 ? atoi(argv[2]) : 100;
    if (n < 1 || n > MAXN)
        return 2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            struct cell c = {i, j, us};
            dag_dep_t d = {&grid[i][j], sizeof(double), DAG_OUT};
            dag_task_attr_t a = {.label = "init", .file = __FILE__, .line = __LINE__};
            if (dag_submit(init_body, &c, sizeof c, &d, 1, &a))
                return 1;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            struct cell c = {i, j, us};
            dag_dep_t d[3] = {{&grid[i][j], sizeof(double), DAG_INOUT}};
            size_t nd = 1;
            if (i)
                d[nd++] = (dag_dep_t){&grid[i - 1][j], sizeof(double), DAG_IN};
            if (j)
                d[nd++] = (dag_dep_t){&grid[i][j - 1], sizeof(double), DAG_IN};
            dag_task_attr_t a = {.label = "stencil", .file = __FILE__, .line = __LINE__};
            if (dag_submit(stencil_body, &c, sizeof c, d, nd, &a))
                return 1;
        }
    dag_dep_t all = {grid, sizeof grid, DAG_INOUT};
    dag_task_attr_t a = {.label = "sum", .file = __FILE__, .line = __LINE__};
    if (dag_submit(sum_body, &n, sizeof n, &all, 1, &a) || dag_taskwait())
        return 1;
    printf("%d tasks, result %g\n", 2 * n * n + 1, grid[0][0]);
    return 0;
}
