/* lu_plasma.c: tiled LU with partial pivoting written with the idioms of PLASMA's OpenMP
 * port (as in the KASTORS/PLASMA benchmark codes):
 *   - a recursive panel task that factors the whole tile column k (tiles k..NT-1) in place
 *     while declaring only its diagonal tile A[k][k] (plus the pivots); its trailing
 *     updates inside the panel are nested tasks joined by taskwait;
 *   - row swaps applied to a whole tile column while declaring only one tile of it;
 *   - ordering through "fake" dependences: a sentinel variable (`sentinel`, inout on the
 *     panel, in on the swaps) and integer values cast to pointers
 *     (`((char *)0)[n]`, one per column, for the swaps to the left of the panel).
 * With -DLU_DECLARE_ALL every tile a task writes is declared (depend iterators), which
 * makes the program correct under OpenMP's rules.
 * The result is compared with the same algorithm run sequentially (the same operations
 * on every element in the same order, so the factors must be identical); prints
 * "OK"/"MISMATCH" and exits non-zero on a mismatch.
 * usage: lu_plasma [NT [NB [seed]]] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int NT = 8, NB = 48;
static double ***A;   /* A[m][n]: tile (m, n), NB x NB column-major */
static int *ipiv;     /* global pivot row of each global row */
static int sentinel;  /* fake dependence: panel inout, swaps in */

#define EL(m, n, i, j) A[m][n][(size_t)(j) * NB + (i)]

/* element (r, c) of the whole matrix */
static double *at(int r, int c)
{
    return &EL(r / NB, c / NB, r % NB, c % NB);
}

static void swap_rows(int r1, int r2, int c0, int c1)
{
    if (r1 == r2)
        return;
    for (int c = c0; c < c1; c++) {
        double t = *at(r1, c);
        *at(r1, c) = *at(r2, c);
        *at(r2, c) = t;
    }
}

/* rows [r0, N) of columns [c0, c0 + w) of panel k: recursive LU (rectil style) */
static void panel_rec(int k, int c0, int w, int par)
{
    int N = NT * NB, pc0 = k * NB, pc1 = (k + 1) * NB;
    if (w == 1) {
        int p = c0;
        for (int r = c0 + 1; r < N; r++)
            if (fabs(*at(r, c0)) > fabs(*at(p, c0)))
                p = r;
        ipiv[c0] = p;
        swap_rows(c0, p, pc0, pc1); /* the whole panel row */
        double d = *at(c0, c0);
        for (int r = c0 + 1; r < N; r++)
            *at(r, c0) /= d;
        return;
    }
    int h = w / 2;
    panel_rec(k, c0, h, par);
    /* U12 = L11^-1 A12 (rows c0..c0+h-1, columns c0+h..c0+w-1) */
    for (int j = c0 + h; j < c0 + w; j++)
        for (int i = c0; i < c0 + h; i++)
            for (int l = c0; l < i; l++)
                *at(i, j) -= *at(i, l) * *at(l, j);
    /* A22 -= L21 U12, by blocks of rows: nested tasks */
    for (int r0 = c0 + h; r0 < N; r0 += NB) {
        int r1 = r0 + NB < N ? r0 + NB : N;
        #pragma omp task firstprivate(r0, r1, c0, h, w) if (par)
        for (int r = r0; r < r1; r++)
            for (int j = c0 + h; j < c0 + w; j++)
                for (int l = c0; l < c0 + h; l++)
                    *at(r, j) -= *at(r, l) * *at(l, j);
    }
    #pragma omp taskwait
    panel_rec(k, c0 + h, w - h, par);
}

/* the panel's row swaps applied to tile column n (rows k*NB .. N) */
static void apply_swaps(int k, int n)
{
    for (int r = k * NB; r < (k + 1) * NB; r++)
        swap_rows(r, ipiv[r], n * NB, (n + 1) * NB);
}

static void trsm(int k, int n)
{
    for (int j = 0; j < NB; j++)
        for (int i = 0; i < NB; i++)
            for (int l = 0; l < i; l++)
                EL(k, n, i, j) -= EL(k, k, i, l) * EL(k, n, l, j);
}

static void gemm(int m, int n, int k)
{
    for (int j = 0; j < NB; j++)
        for (int l = 0; l < NB; l++) {
            double b = EL(k, n, l, j);
            for (int i = 0; i < NB; i++)
                EL(m, n, i, j) -= EL(m, k, i, l) * b;
        }
}

/* par = 0: every task is undeferred (if(0)), so the flow runs in program order: the
 * sequential reference */
static void factor(int par)
{
    #pragma omp parallel if (par)
    #pragma omp single
    for (int k = 0; k < NT; k++) {
        double *Akk = A[k][k];
        (void)Akk;
#ifdef LU_DECLARE_ALL
        #pragma omp task depend(iterator(m = k:NT), inout: A[m][k][0:NB * NB]) \
            depend(out: ipiv[k * NB]) depend(inout: sentinel) if (par)
#else
        #pragma omp task depend(inout: Akk[0:NB * NB]) depend(out: ipiv[k * NB]) \
            depend(inout: sentinel) if (par)
#endif
        panel_rec(k, k * NB, NB, par);
        for (int n = k + 1; n < NT; n++) {
#ifdef LU_DECLARE_ALL
            #pragma omp task depend(in: Akk[0:NB * NB], ipiv[k * NB], sentinel) \
                depend(iterator(m = k:NT), inout: A[m][n][0:NB * NB]) if (par)
#else
            #pragma omp task depend(in: Akk[0:NB * NB], ipiv[k * NB], sentinel) \
                depend(inout: A[k][n][0:NB * NB]) if (par)
#endif
            {
                apply_swaps(k, n);
                trsm(k, n);
            }
            for (int m = k + 1; m < NT; m++) {
                #pragma omp task depend(in: A[m][k][0:NB * NB], A[k][n][0:NB * NB]) \
                    depend(inout: A[m][n][0:NB * NB]) if (par)
                gemm(m, n, k);
            }
        }
        /* the swaps to the left of the panel, ordered per column by a fake address */
        for (int n = 0; n < k; n++) {
#ifdef LU_DECLARE_ALL
            #pragma omp task depend(in: ipiv[k * NB]) depend(inout: ((char *)0)[n]) \
                depend(iterator(m = k:NT), inout: A[m][n][0:NB * NB]) if (par)
#else
            #pragma omp task depend(in: ipiv[k * NB]) depend(inout: ((char *)0)[n]) \
                depend(inout: A[k][n][0:NB * NB]) if (par)
#endif
            apply_swaps(k, n);
        }
    }
}

static double ***alloc_tiles(void)
{
    double ***t = malloc(sizeof *t * NT);
    for (int m = 0; m < NT; m++) {
        t[m] = malloc(sizeof **t * NT);
        for (int n = 0; n < NT; n++)
            t[m][n] = malloc(sizeof ***t * NB * NB);
    }
    return t;
}

static void fill(double ***t, unsigned seed)
{
    srand(seed);
    for (int m = 0; m < NT; m++)
        for (int n = 0; n < NT; n++)
            for (int e = 0; e < NB * NB; e++)
                t[m][n][e] = (double)rand() / RAND_MAX - 0.5 + (m == n && e % (NB + 1) == 0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        NT = atoi(argv[1]);
    if (argc > 2)
        NB = atoi(argv[2]);
    unsigned seed = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
    int N = NT * NB;
    double ***par = alloc_tiles(), ***seq = alloc_tiles();
    int *piv_par = malloc(sizeof *piv_par * N), *piv_seq = malloc(sizeof *piv_seq * N);
    fill(seq, seed);
    A = seq;
    ipiv = piv_seq;
    factor(0);
    fill(par, seed);
    A = par;
    ipiv = piv_par;
    factor(1);
    double diff = 0;
    int pivdiff = 0;
    for (int m = 0; m < NT; m++)
        for (int n = 0; n < NT; n++)
            for (int e = 0; e < NB * NB; e++)
                diff = fmax(diff, fabs(par[m][n][e] - seq[m][n][e]));
    for (int r = 0; r < N; r++)
        pivdiff += piv_par[r] != piv_seq[r];
    if (diff != 0 || pivdiff) {
        printf("MISMATCH max diff %.3g, %d pivots differ\n", diff, pivdiff);
        return 1;
    }
    puts("OK");
    return 0;
}
