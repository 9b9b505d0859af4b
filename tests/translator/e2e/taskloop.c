/* taskloop with grainsize / num_tasks / none, several loop shapes (signed, unsigned
 * above INT_MAX, pointer, !=, <=, strict grainsize, nogroup), and taskgroup. */
#include "check.h"

#define N 1000

int main(void)
{
    static double x[N], y[N];
    #pragma dag taskloop grainsize(64)
    for (int i = 0; i < N; i++)
        x[i] = i;
    int step = 3;
    #pragma dag taskloop num_tasks(7)
    for (int i = N - 1; i >= 0; i -= step)
        y[i] = 2 * x[i];
    long total = 0;
    #pragma dag taskgroup
    {
        #pragma dag task shared(total)
        for (int i = 0; i < N; i++)
            total += (long)x[i];
    }
    CHECK(total == (long)N * (N - 1) / 2);
    for (int i = 0; i < N; i++)
        CHECK(y[i] == (((N - 1 - i) % 3 == 0) ? 2.0 * i : 0.0));
    int hits[100] = {0};
    int j;
    #pragma dag taskloop shared(hits)
    for (j = 0; j < 100; j++)
        hits[j]++;
    for (int i = 0; i < 100; i++)
        CHECK(hits[i] == 1);
    /* unsigned bounds past 2^31, <= and strict grainsize */
    static int u[N];
    unsigned base = 3000000000u;
    #pragma dag taskloop grainsize(strict: 33) shared(u)
    for (unsigned v = base; v <= base + N - 1; v++)
        u[v - base] += 1;
    /* a pointer loop variable, < with step 2, nogroup */
    static double z[N];
    #pragma dag taskloop nogroup
    for (double *q = z; q < z + N; q += 2)
        *q = 1;
    #pragma dag taskwait
    for (int i = 0; i < N; i++)
        CHECK(u[i] == 1 && z[i] == (i % 2 == 0));
    puts("OK");
    return 0;
}
