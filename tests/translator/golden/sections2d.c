/* golden: a 2-D section gets one dependence per row (the hull when contiguous or beyond
 * 64 rows); rows reached through a pointer array always get one each; -fopenmp keeps one
 * base-address dependence (see omp_idiom). */
#define N 16

void tile(double A[N][N], double **P, int i0, int j0)
{
    #pragma dag task depend(inout: A[i0:4][j0:4]) depend(in: P[0:2][j0:4], A[i0][0:N])
    for (int i = i0; i < i0 + 4; i++)
        for (int j = j0; j < j0 + 4; j++)
            A[i][j] += P[i % 2][j];
}
