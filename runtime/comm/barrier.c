/* barrier.c: dag_dist_barrier(), part of libdagrt. A barrier built from the task flow
 * itself, so it needs nothing of a transport: after this rank's tasks are done
 * (dag_taskwait), every rank writes a token tile of its own, rank 0 reads them all (one
 * transfer each, which can only leave a rank after its wait), writes an answer, and every
 * rank fetches the answer and waits for it: no rank returns before every rank has
 * finished the tasks it submitted before the barrier. */
#include <stdlib.h>

#include "comm.h"

static int token(void *arg)
{
    int *p = *(int **)arg;
    p[0]++;
    return 0;
}

struct gather {
    int *answer;
};

static int gather(void *arg)
{
    (void)arg; /* the tokens are its inputs: their arrival is the information */
    return 0;
}

dag_status_t dag_dist_barrier(void)
{
    dag_status_t st = dag_taskwait();
    if (st)
        return st;
    int n = dist.nranks;
    if (n < 2 || !dist.active)
        return DAG_OK;
    dag_matrix_t *m;
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    if ((st = dag_matrix_create(&m, n, 1, sizeof(int), &cyc)))
        return st;
    dag_task_attr_t a = {.label = "dag.barrier", .file = __FILE__, .line = __LINE__};
    for (int r = 0; r < n && !st; r++) {
        int *p = dag_tile(m, r, 0);
        dag_dep_t d = {p, sizeof(int), DAG_INOUT};
        st = dag_submit(token, &p, sizeof p, &d, 1, &a);
    }
    /* rank 0 reads every token and writes its own tile again: the answer */
    dag_dep_t *deps = malloc((size_t)n * sizeof *deps);
    if (!deps && !st)
        st = DAG_ERR_NOMEM;
    for (int r = 0; r < n && deps; r++)
        deps[r] = (dag_dep_t){dag_tile(m, r, 0), sizeof(int), r ? DAG_IN : DAG_INOUT};
    struct gather g = {dag_tile(m, 0, 0)};
    if (!st)
        st = dag_submit(gather, &g, sizeof g, deps, (size_t)n, &a);
    free(deps);
    if (!st)
        st = dag_dist_fetch(dag_tile(m, 0, 0), sizeof(int), -1);
    dag_status_t w = dag_taskwait();
    dag_matrix_destroy(m);
    return st ? st : w;
}
