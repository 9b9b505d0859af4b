/* depend(inout: omp_all_memory) under dagcc -fopenmp: the task waits for every earlier
 * sibling (slow writers of unrelated variables) and every later sibling waits for it.
 * (gcc 12 and clang 14 do not know omp_all_memory, so there is no anchor to compare.) */
#include <omp.h>
#include <stdio.h>
#include <time.h>

static void nap(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    static long a[8], b, seen, after;
    int bad = 0;
    for (int round = 0; round < 5; round++) {
        b = seen = after = 0;
        #pragma omp parallel
        #pragma omp single
        {
            for (int i = 0; i < 8; i++) {
                #pragma omp task depend(out: a[i]) firstprivate(i)
                {
                    nap(5 + 3 * (i % 3));
                    a[i] = i + 1 + round;
                }
            }
            #pragma omp task depend(inout: omp_all_memory)
            {
                long s = 0;
                for (int i = 0; i < 8; i++)
                    s += a[i];
                nap(10);
                seen = s;
            }
            #pragma omp task depend(out: b)
            {
                after = seen; /* an unrelated variable, still after the barrier task */
                b = 1;
            }
        }
        long want = 36 + 8 * round;
        if (seen != want || after != want) {
            printf("round %d: seen %ld after %ld want %ld\n", round, seen, after, want);
            bad = 1;
        }
    }
    puts(bad ? "FAILED" : "OK");
    return bad;
}
