/* "Fake" dependences as PLASMA-style codes use them, compared with gcc -fopenmp: ordering
 * through integer values cast to pointers (((char *)0)[c], nothing is ever accessed
 * there) and through a sentinel variable no task touches (inout on writers, in on
 * readers). Tasks sleep a little in reverse order so that an unordered runtime would
 * log them out of order. */
#include <omp.h>
#include <stdio.h>
#include <time.h>

static void nap(int us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    int log[3][12], nlog[3] = {0, 0, 0};
    int sentinel = 0, value = 0, seen[8], changed = 0;
    #pragma omp parallel
    #pragma omp single
    {
        for (int t = 0; t < 36; t++) {
            int c = t % 3;
            #pragma omp task depend(inout: ((char *)0)[c]) firstprivate(t, c) \
                shared(log, nlog)
            {
                nap(200 * (12 - t / 3));
                log[c][nlog[c]++] = t;
            }
        }
        #pragma omp task depend(inout: sentinel) shared(value)
        {
            nap(2000);
            value = 1;
        }
        for (int r = 0; r < 8; r++) {
            #pragma omp task depend(in: sentinel) firstprivate(r) shared(value, seen)
            {
                seen[r] = value;
                nap(300 * (8 - r));
                if (value != seen[r]) {
                    #pragma omp atomic
                    changed++;
                }
            }
        }
        #pragma omp task depend(inout: sentinel) shared(value)
        value = 2;
        #pragma omp taskwait
    }
    for (int c = 0; c < 3; c++) {
        printf("chain %d:", c);
        for (int i = 0; i < nlog[c]; i++)
            printf(" %d", log[c][i]);
        printf("\n");
    }
    printf("readers saw");
    for (int r = 0; r < 8; r++)
        printf(" %d", seen[r]);
    printf(", changed under them %d, final %d\n", changed, value);
    return 0;
}
