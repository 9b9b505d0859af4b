/* test_large.c: one transfer larger than 2 GiB (MPI counts are ints: the transport must
 * split it). Rank 0 fills a 2.25 GiB tile, the last rank reads it and checks samples. */
#include <string.h>

#include "mpitest.h"

#define BYTES ((size_t)9 << 28) /* 2.25 GiB */

static int fill(void *a)
{
    unsigned char *p = *(unsigned char **)a;
    for (size_t i = 0; i < BYTES; i += 4096)
        p[i] = (unsigned char)(i >> 12);
    p[BYTES - 1] = 0xAB;
    return 0;
}

static int check(void *a)
{
    unsigned char *p = *(unsigned char **)a;
    int *ok = ((int **)a)[1];
    *ok = p[BYTES - 1] == 0xAB;
    for (size_t i = 0; i < BYTES && *ok; i += 4096)
        *ok = p[i] == (unsigned char)(i >> 12);
    return 0;
}

int main(void)
{
    int n = dag_nranks();
    check_transport();
    dag_matrix_t *m;
    dag_dist_t d = {.kind = DAG_DIST_OWNER, .owner = 0};
    CHECK_OK(dag_matrix_create(&m, 1, 1, BYTES, &d));
    void *t = dag_tile(m, 0, 0);
    dag_dep_t w = {t, BYTES, DAG_OUT};
    CHECK_OK(dag_submit(fill, &t, sizeof t, &w, 1, NULL));
    int ok = 0;
    void *a[2] = {t, &ok};
    dag_dep_t r[2] = {{t, BYTES, DAG_IN}, {&ok, sizeof ok, DAG_OUT}};
    dag_task_attr_t on = {.label = "check", .flags = DAG_TASK_ON_NODE, .node = n - 1};
    CHECK_OK(dag_submit(check, a, sizeof a, r, 2, &on));
    CHECK_OK(dag_taskwait());
    if (dag_rank() == n - 1) {
        CHECK(ok);
        printf("test_large: 2.25 GiB transfer ok\n");
    }
    CHECK_OK(dag_matrix_destroy(m));
    return 0;
}
