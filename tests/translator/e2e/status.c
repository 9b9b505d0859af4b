/* status(lv) and device(expr): a submission that dag_submit / dag_taskloop rejects
 * (a dependence whose length, computed at run time, is negative; a taskloop step of 0)
 * stores its status into lv and the program goes on; a good one leaves lv alone. Function
 * tasks evaluate status/device in terms of their parameters, each argument once. */
#include <dag.h>

#include "check.h"

static int nargs; /* arguments evaluated by calls of scale */

#pragma dag task depend(inout: c[0:n]) status(*st) device(dev)
static void scale(double *c, int n, dag_status_t *st, int dev);
static void scale(double *c, int n, dag_status_t *st, int dev)
{
    (void)st;
    (void)dev;
    for (int i = 0; i < n; i++)
        c[i] *= 2;
}

static int arg(int v)
{
    nargs++;
    return v;
}

#pragma dag task depend(in: a[0:n]) depend(out: *sum) status(st[k])
static void total(const int *a, int n, long *sum, int *st, int k)
{
    (void)st;
    (void)k;
    long s = 0;
    for (int i = 0; i < n; i++)
        s += a[i];
    *sum = s;
}

static int ndev;
static int pick(int d)
{
    ndev++;
    return d;
}

int main(int argc, char **argv)
{
    (void)argv;
    int bad = -argc; /* -1, not known to the compiler */
    enum { N = 1000 };
    static double c[N];
    static int a[N];
    for (int i = 0; i < N; i++) {
        c[i] = i;
        a[i] = i;
    }

    /* statement tasks */
    dag_status_t st = DAG_OK, st2 = DAG_ERR_IO; /* DAG_ERR_IO: "not written" */
    int x = 0;
    #pragma dag task depend(inout: c[0:bad]) shared(x) status(st)
    x = 1;
    CHECK(st == DAG_ERR_INVALID);
    #pragma dag task depend(inout: c[0:N]) shared(x) status(st2) device(pick(DAG_DEVICE_CPU))
    x = 2;
    #pragma dag taskwait
    CHECK(x == 2 && st2 == DAG_ERR_IO && ndev == 1);

    /* an int lvalue, inside a task */
    int ist = 7;
    #pragma dag task shared(ist)
    {
        #pragma dag task depend(in: a[0:bad * 4]) status(ist) shared(ist)
        ist = 99;
        #pragma dag taskwait
    }
    #pragma dag taskwait
    CHECK(ist == (int)DAG_ERR_INVALID);

    /* taskloop: a step of 0 computed at run time */
    int step = argc - 1;
    dag_status_t lst = DAG_OK;
    long sum = 0;
    #pragma dag taskloop status(lst) shared(sum)
    for (int i = 0; i < N; i += step)
        __atomic_fetch_add(&sum, a[i] + 1, __ATOMIC_RELAXED);
    CHECK(lst == DAG_ERR_INVALID && sum == 0);
    dag_status_t lst2 = DAG_ERR_IO;
    #pragma dag taskloop status(lst2) reduction(+: sum) grainsize(64)
    for (int i = 0; i < N; i += step + 1)
        sum += a[i];
    CHECK(lst2 == DAG_ERR_IO && sum == (long)N * (N - 1) / 2);

    /* function tasks: status(*st) names the parameter; arguments evaluated once */
    dag_status_t s1 = DAG_OK, s2 = DAG_ERR_IO;
    scale(c, arg(bad), &s1, arg(DAG_DEVICE_ANY));
    CHECK(s1 == DAG_ERR_INVALID && nargs == 2);
    scale(c, arg(N), &s2, arg(DAG_DEVICE_CPU));
    CHECK(nargs == 4);
    int sts[3] = {5, 5, 5};
    long t0 = -1, t1 = -1;
    total(a, bad, &t0, sts, 1);
    total(a, N, &t1, sts, arg(2));
    #pragma dag taskwait
    CHECK(s2 == DAG_ERR_IO && nargs == 5);
    for (int i = 0; i < N; i++)
        CHECK(c[i] == 2.0 * i);
    CHECK(sts[0] == 5 && sts[1] == (int)DAG_ERR_INVALID && sts[2] == 5);
    CHECK(t0 == -1 && t1 == (long)N * (N - 1) / 2);
    puts("OK");
    return 0;
}
