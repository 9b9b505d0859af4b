/* mergesort.c: recursive divide and conquer. Each half is sorted by a task (down to a
 * cutoff), a taskwait joins them and the merge runs in the parent.
 * usage: mergesort [n] [cutoff]     (default 10000000 4096) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void merge(const int *a, size_t na, const int *b, size_t nb, int *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb)
        out[k++] = a[i] <= b[j] ? a[i++] : b[j++];
    while (i < na)
        out[k++] = a[i++];
    while (j < nb)
        out[k++] = b[j++];
}

/* Sorts v[0:n] using tmp[0:n] as scratch. */
static void msort(int *v, int *tmp, size_t n, size_t cutoff)
{
    if (n <= cutoff) {
        qsort(v, n, sizeof *v, cmp);
        return;
    }
    size_t h = n / 2;
    #pragma dag task
    msort(v, tmp, h, cutoff);
    #pragma dag task
    msort(v + h, tmp + h, n - h, cutoff);
    #pragma dag taskwait
    merge(v, h, v + h, n - h, tmp);
    memcpy(v, tmp, n * sizeof *v);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    size_t cutoff = argc > 2 ? strtoul(argv[2], NULL, 10) : 4096;
    int *v = malloc(n * sizeof *v), *tmp = malloc(n * sizeof *tmp);
    if (!v || !tmp)
        return 1;
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = (int)(s >> 1);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    msort(v, tmp, n, cutoff);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (size_t i = 1; i < n; i++)
        if (v[i - 1] > v[i]) {
            printf("mergesort: NOT SORTED at %zu\n", i);
            return 1;
        }
    double secs = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    printf("mergesort n=%zu: %.3f s, %.1f Melem/s, sorted\n", n, secs, n / secs * 1e-6);
    free(v);
    free(tmp);
    return 0;
}
