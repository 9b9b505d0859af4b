/* node(expr) on a function task, in terms of its parameters, under mpirun: each call runs
 * on the rank its argument names and only there (every rank submits every call, as the
 * replicated task flow wants); a rank that does not exist is rejected by dag_submit, and
 * status(*st) keeps that status instead of exiting. Rank 0 prints OK. */
#include <dag.h>
#include <dag/dist.h>

#include "../e2e/check.h"

enum { N = 64 };
static int hits[N]; /* not registered: private to each rank */

#pragma dag task node(r) status(*st)
static void mark(int k, int r, dag_status_t *st);
static void mark(int k, int r, dag_status_t *st)
{
    (void)r;
    (void)st;
    hits[k]++;
}

int main(int argc, char **argv)
{
    (void)argv;
    int me = dag_rank(), np = dag_nranks();
    /* a pseudo-random placement, the same on every rank */
    unsigned x = 12345u + (unsigned)argc;
    int where[N];
    for (int k = 0; k < N; k++) {
        x = x * 1103515245u + 12345u;
        where[k] = (int)((x >> 16) % (unsigned)np);
    }
    dag_status_t st = DAG_ERR_IO; /* "not written" */
    for (int k = 0; k < N; k++)
        mark(k, where[k], &st);
    #pragma dag taskwait
    CHECK(st == DAG_ERR_IO);
    for (int k = 0; k < N; k++)
        CHECK(hits[k] == (np == 1 || where[k] == me));
    if (np > 1) {
        /* no rank np or -1: dag_submit says so, on every rank, and the program goes on */
        dag_status_t s1 = DAG_OK, s2 = DAG_OK;
        mark(0, np, &s1);
        mark(1, -argc, &s2);
        #pragma dag taskwait
        CHECK(s1 == DAG_ERR_INVALID && s2 == DAG_ERR_INVALID);
        CHECK(hits[0] == (where[0] == me) && hits[1] == (where[1] == me));
    }
    if (me == 0)
        puts("OK");
    return 0;
}
