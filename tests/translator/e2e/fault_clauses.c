/* retry(n) and checkpoint(list) compile into working tasks: the flow is unchanged when no
 * task fails (the runtime's fault tolerance is tested with the runtime). */
#include "check.h"

#define N 4096

#pragma dag task depend(inout: v[0:n]) retry(2) checkpoint(v[0:n])
void scale(double *v, int n, double f)
{
    for (int i = 0; i < n; i++)
        v[i] *= f;
}

int main(void)
{
    static double A[N], B[8][N];
    int tries = 3;
    #pragma dag task depend(out: A[0:N]) retry(tries) checkpoint(A[0:N])
    for (int i = 0; i < N; i++)
        A[i] = i;
    for (int r = 0; r < 8; r++) {
        #pragma dag task depend(in: A[0:N]) depend(out: B[r][0:N]) checkpoint(B[r][0:N]) retry(r % 3)
        for (int i = 0; i < N; i++)
            B[r][i] = A[i] + r;
    }
    scale(A, N, 2.0);
    #pragma dag taskwait
    for (int r = 0; r < 8; r++)
        for (int i = 0; i < N; i++)
            CHECK(B[r][i] == i + r && A[i] == 2.0 * i);
    puts("OK");
    return 0;
}
