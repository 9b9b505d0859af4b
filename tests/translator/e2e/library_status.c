/* The library pattern of docs/pragmas.md ("Using the pragmas in a library"), at a
 * realistic size: a function that submits one task per tile with status() and
 * device(expr), waits with dag_taskwait() and returns a status instead of exiting. A
 * call whose submissions dag_submit rejects (a negative tile length, computed at run
 * time) returns DAG_ERR_INVALID, touches nothing, and the next call works. */
#include <dag.h>
#include <stdint.h>

#include "check.h"

#pragma dag task depend(in: a[0:n]) depend(inout: c[0:n]) status(*st) device(dev)
static void tile_update(const double *a, double *c, int n, int dev, dag_status_t *st);
static void tile_update(const double *a, double *c, int n, int dev, dag_status_t *st)
{
    (void)dev;
    (void)st;
    for (int i = 0; i < n; i++)
        c[i] += 2 * a[i];
}

static dag_status_t lib_update(double **a, double **c, int ntiles, int n, int dev)
{
    dag_status_t st = DAG_OK;
    for (int t = 0; t < ntiles && st == DAG_OK; t++)
        tile_update(a[t], c[t], n, dev, &st); /* a failed submission: st, no exit */
    dag_status_t w = dag_taskwait();          /* what was submitted, and its failures */
    return st != DAG_OK ? st : w;
}

int main(int argc, char **argv)
{
    (void)argv;
    enum { NT = 8, N = 1 << 20 }; /* 8 tiles of 8 MiB each for a and c */
    double *a[NT], *c[NT];
    uint64_t x = 88172645463325252ull;
    for (int t = 0; t < NT; t++) {
        a[t] = malloc(N * sizeof(double));
        c[t] = malloc(N * sizeof(double));
        CHECK(a[t] && c[t]);
        for (int i = 0; i < N; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a[t][i] = (double)(x % 1000) / 8;
            c[t][i] = (double)(x >> 40 & 1023);
        }
    }
    double *ref = malloc((size_t)NT * N * sizeof(double));
    CHECK(ref);
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < N; i++)
            ref[(size_t)t * N + i] = c[t][i] + 2 * a[t][i];
    int dev = argc > 5 ? DAG_DEVICE_ANY : DAG_DEVICE_CPU;
    CHECK(lib_update(a, c, NT, -argc * N, dev) == DAG_ERR_INVALID); /* rejected, no exit */
    CHECK(lib_update(a, c, NT, N, dev) == DAG_OK);
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < N; i++)
            CHECK(c[t][i] == ref[(size_t)t * N + i]); /* exactly once, even after the failure */
    for (int t = 0; t < NT; t++) {
        free(a[t]);
        free(c[t]);
    }
    free(ref);
    puts("OK");
    return 0;
}
