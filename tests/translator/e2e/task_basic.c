/* task: statement and block tasks, default firstprivate capture, shared(), taskwait. */
#include "check.h"

int main(void)
{
    int x = 1, y = 0, z = 5;
    #pragma dag task shared(y)
    y = x + 1;                 /* x is firstprivate by default */
    #pragma dag taskwait
    CHECK(y == 2);
    #pragma dag task shared(z)
    {
        int t = z * 2;
        z = t + x;
    }
    x = 100; /* the task may run later: it has its own copy of x */
    #pragma dag taskwait
    CHECK(z == 11);
    puts("OK");
    return 0;
}
