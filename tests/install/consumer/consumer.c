/* consumer.c: a program built outside the dagcc tree against an installed copy: a few
 * dependent tasks over one array, checked against the sequential result. */
#include <dag.h>
#include <stdio.h>

static long a[64];

static int add(void *p)
{
    int i = *(int *)p;
    a[i % 64] = a[i % 64] * 3 + i;
    return 0;
}

int main(void)
{
    long ref[64] = {0};
    for (int i = 0; i < 1000; i++) {
        dag_dep_t d = {&a[i % 64], sizeof a[0], DAG_INOUT};
        if (dag_submit(add, &i, sizeof i, &d, 1, NULL) != DAG_OK)
            return 1;
        ref[i % 64] = ref[i % 64] * 3 + i;
    }
    if (dag_taskwait() != DAG_OK)
        return 2;
    for (int i = 0; i < 64; i++)
        if (a[i] != ref[i])
            return 3;
    printf("consumer: ok (%d threads)\n", dag_num_threads());
    return 0;
}
