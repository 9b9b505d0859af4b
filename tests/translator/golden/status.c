/* golden: status(lv) keeps a failed submission's status instead of exiting (statement
 * task, task with in_reduction, taskloop, function task); device(expr) chosen at run time;
 * node(expr) and device(expr) on a function task, in terms of its parameters. */
#include <dag.h>

#pragma dag task depend(inout: c[0:n]) status(*st) device(dev) node(rank)
void scale(double *c, int n, dag_status_t *st, int dev, int rank);

int run(double *c, int n, int dev)
{
    dag_status_t st = DAG_OK;
    int sum = 0;
    #pragma dag task depend(inout: c[0:n]) status(st) device(dev)
    c[0] = 1;
    #pragma dag taskgroup task_reduction(+: sum)
    {
        #pragma dag task in_reduction(+: sum) status(st) device(cuda)
        sum += 1;
    }
    #pragma dag taskloop grainsize(4) status(st)
    for (int i = 0; i < n; i++)
        c[i] += i;
    scale(c, n, &st, dev, 0);
    #pragma dag taskwait
    return st == DAG_OK ? sum : -1;
}
