/* golden: retry(n) and checkpoint(list) on statement and function tasks. */
#include <stddef.h>

#pragma dag task depend(inout: v[0:n]) retry(2) checkpoint(v[0:n])
void scale(double *v, int n, double f);

void step(double *A, double (*B)[64], int n, int tries)
{
    #pragma dag task depend(out: A[0:n]) retry(tries) checkpoint(A[0:n])
    for (int i = 0; i < n; i++)
        A[i] = i;
    #pragma dag task depend(inout: B[0:4][0:8]) checkpoint(B[0:4][0:8], A[0]) retry(0)
    B[0][0] += A[0];
    scale(A, n, 2.0);
    #pragma dag taskwait
}
