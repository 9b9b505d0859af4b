/* e2e: multi-dimensional array sections get one dependence per row, so tasks on disjoint
 * column blocks of the same rows run concurrently (each waits, bounded, for the other to
 * start: serialised tasks would time out), while overlapping sections stay ordered. Also
 * the hull fallback beyond 64 rows, rows reached through pointers, three dimensions,
 * `taskwait depend` and a function task with a 2-D section. */
#include <dag.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"

#define R 8
#define C 8
static double A[R][C], B[100][8], D[2][3][8];
static atomic_int started[2];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Marks `me` started and waits up to 5 s for `other`; returns 1 if both overlapped. */
static int meet(int me, int other)
{
    atomic_store(&started[me], 1);
    double t0 = now();
    while (!atomic_load(&started[other]))
        if (now() - t0 > 5)
            return 0;
    return 1;
}

#pragma dag task depend(inout: m[0:2][lo:4])
void bump(double (*m)[C], int lo);

void bump(double (*m)[C], int lo)
{
    for (int i = 0; i < 2; i++)
        for (int j = lo; j < lo + 4; j++)
            m[i][j] += 1;
}

int main(void)
{
    CHECK(dag_init(&(dag_config_t){.nthreads = 2}) == DAG_OK);
    int met0 = 0, met1 = 0;
    /* two column blocks of the same rows: concurrent */
    #pragma dag task depend(out: A[0:R][0:4]) shared(met0)
    {
        met0 = meet(0, 1);
        for (int i = 0; i < R; i++)
            for (int j = 0; j < 4; j++)
                A[i][j] = 1;
    }
    #pragma dag task depend(out: A[0:R][4:4]) shared(met1)
    {
        met1 = meet(1, 0);
        for (int i = 0; i < R; i++)
            for (int j = 4; j < C; j++)
                A[i][j] = 2;
    }
    /* whole rows (contiguous: one range) after both */
    double sum = 0;
    #pragma dag task depend(in: A[0:R][0:C]) shared(sum)
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            sum += A[i][j];
    /* an overlapping block is ordered after the writers and before nothing else */
    #pragma dag task depend(inout: A[2:3][3:2])
    for (int i = 2; i < 5; i++)
        for (int j = 3; j < 5; j++)
            A[i][j] *= 10;
    #pragma dag taskwait depend(in: A[2:3][3:2])
    CHECK(A[2][3] == 10 && A[4][4] == 20 && A[1][3] == 1);
    #pragma dag taskwait
    CHECK(met0 && met1);
    CHECK(sum == R * 4 * 1 + R * 4 * 2);
    /* more than 64 rows: the hull (conservative), still correct */
    #pragma dag task depend(out: B[0:100][0:4])
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 4; j++)
            B[i][j] = i;
    #pragma dag task depend(inout: B[0:100][2:4])
    for (int i = 0; i < 100; i++)
        for (int j = 2; j < 6; j++)
            B[i][j] += 1;
    /* rows through pointers: one dependence per row, always */
    double *rows[4] = {A[0], A[1], A[2], A[3]};
    #pragma dag task depend(inout: rows[0:4][0:2])
    for (int i = 0; i < 4; i++)
        rows[i][0] += 100;
    #pragma dag task depend(in: rows[1:2][0:1]) depend(out: D[0:2][1][2:3])
    for (int i = 0; i < 2; i++)
        for (int j = 2; j < 5; j++)
            D[i][1][j] = rows[1 + i][0];
    #pragma dag taskwait
    CHECK(B[50][1] == 50 && B[50][3] == 51 && B[99][5] == 1);
    CHECK(A[0][0] == 101 && A[3][0] == 101 && A[3][1] == 1);
    CHECK(D[0][1][2] == 101 && D[1][1][4] == 101 && D[0][0][2] == 0 && D[1][2][4] == 0);
    /* a function task with a 2-D section, two disjoint column blocks */
    double (*M)[C] = A;
    bump(M, 0);
    bump(M, 4);
    bump(M, 2);
    #pragma dag taskwait
    CHECK(A[0][0] == 102 && A[0][3] == 3 && A[1][4] == 4 && A[1][7] == 3);
    puts("OK");
    return 0;
}
