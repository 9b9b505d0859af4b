/* scalapack_lstsq.c: an ordinary ScaLAPACK least-squares program (BLACS grid, descinit_,
 * pdgels_), written against ScaLAPACK's reference API alone. Link it with -lscalapack for
 * ScaLAPACK, or with -ldagscalapack ahead of it to run its QR (pdgels_ calls pdgeqrf_) on
 * dagcc (docs/linalg.md). Solves min ||A x - b|| for an m x n A (m >= n) with b = A x0 + a
 * perturbation, and prints the time and the normal-equations residual
 * ||A^T r|| / (||A|| (||A|| ||x|| + ||b||) m eps), which must be below 10.
 *   mpirun -np 4 ./scalapack_lstsq [m] [n] [nb] [p] [q]
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

void Cblacs_pinfo(int *me, int *np);
void Cblacs_get(int ctxt, int what, int *val);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrc, const int *np);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ctxt, const int *lld, int *info);
void pdgels_(const char *trans, const int *m, const int *n, const int *nrhs, double *a,
             const int *ia, const int *ja, const int *desca, double *b, const int *ib,
             const int *jb, const int *descb, double *work, const int *lwork, int *info);
void pdgemv_(const char *trans, const int *m, const int *n, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca, const double *x,
             const int *ix, const int *jx, const int *descx, const int *incx,
             const double *beta, double *y, const int *iy, const int *jy, const int *descy,
             const int *incy);
double pdlange_(const char *norm, const int *m, const int *n, const double *a, const int *ia,
                const int *ja, const int *desca, double *work);

static int myrow, mycol, nprow, npcol;

static double val(int i, int j)
{
    unsigned h = (unsigned)(i * 2654435761u) ^ (unsigned)(j * 40503u + 12345u);
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
    return (double)(h % 20001) / 10000.0 - 1.0;
}

/* a local block-cyclic array of an m x n matrix with element f(i, j) */
static double *local(int m, int n, int nb, int *desc, int ctxt, double (*f)(int, int))
{
    int zero = 0, info;
    int lr = numroc_(&m, &nb, &myrow, &zero, &nprow), lc = numroc_(&n, &nb, &mycol, &zero, &npcol);
    int lld = lr > 1 ? lr : 1;
    descinit_(desc, &m, &n, &nb, &nb, &zero, &zero, &ctxt, &lld, &info);
    double *a = malloc(sizeof(double) * (size_t)lld * (lc > 0 ? lc : 1));
    for (int lj = 0; lj < lc; lj++)
        for (int li = 0; li < lr; li++) {
            int gi = (li / nb * nprow + myrow) * nb + li % nb;
            int gj = (lj / nb * npcol + mycol) * nb + lj % nb;
            a[(size_t)lj * lld + li] = f(gi, gj);
        }
    return a;
}

static double x0(int i, int j) { return (void)j, 1.0 + (i % 7) * 0.25; }
static double zerof(int i, int j) { return (void)i, (void)j, 0.0; }
static double noise(int i, int j) { return 1e-3 * val(i + 7, j + 3); }

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int me, np, ctxt, info, one = 1;
    Cblacs_pinfo(&me, &np);
    int m = argc > 1 ? atoi(argv[1]) : 4000, n = argc > 2 ? atoi(argv[2]) : 3000;
    int nb = argc > 3 ? atoi(argv[3]) : 128;
    nprow = argc > 4 ? atoi(argv[4]) : 1;
    npcol = argc > 5 ? atoi(argv[5]) : np / nprow;
    if (m < n || nprow * npcol != np) {
        if (me == 0)
            fprintf(stderr, "usage: %s [m >= n] [n] [nb] [p] [q] (p q = ranks)\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    Cblacs_get(-1, 0, &ctxt);
    Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
    Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
    int da[9], db[9], dx[9], dr[9];
    double *a = local(m, n, nb, da, ctxt, val), *a0 = local(m, n, nb, da, ctxt, val);
    double *xt = local(n, 1, nb, dx, ctxt, x0);
    double *b = local(m, 1, nb, db, ctxt, noise), *r = local(m, 1, nb, dr, ctxt, zerof);
    double pone = 1, mone = -1, zero = 0;
    /* b = A x0 + noise (kept in r for the residual) */
    pdgemv_("N", &m, &n, &pone, a0, &one, &one, da, xt, &one, &one, dx, &one, &pone, b, &one,
            &one, db, &one);
    int lb = numroc_(&m, &nb, &myrow, &(int){0}, &nprow);
    for (int i = 0; i < lb && mycol == 0; i++)
        r[i] = b[i];
    double wq;
    int lwork = -1;
    pdgels_("N", &m, &n, &one, a, &one, &one, da, b, &one, &one, db, &wq, &lwork, &info);
    lwork = (int)wq;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime();
    pdgels_("N", &m, &n, &one, a, &one, &one, da, b, &one, &one, db, work, &lwork, &info);
    MPI_Barrier(MPI_COMM_WORLD);
    t = MPI_Wtime() - t;
    /* x = b(1:n); r = b0 - A x; g = A^T r */
    double *g = local(n, 1, nb, dx, ctxt, zerof), *wk = malloc(sizeof(double) * (size_t)(m + n));
    double bn = pdlange_("F", &m, &one, r, &one, &one, dr, wk);
    pdgemv_("N", &m, &n, &mone, a0, &one, &one, da, b, &one, &one, db, &one, &pone, r, &one,
            &one, dr, &one);
    pdgemv_("T", &m, &n, &pone, a0, &one, &one, da, r, &one, &one, dr, &one, &zero, g, &one,
            &one, dx, &one);
    double an = pdlange_("F", &m, &n, a0, &one, &one, da, wk);
    double xn = pdlange_("F", &n, &one, b, &one, &one, db, wk);
    double gn = pdlange_("F", &n, &one, g, &one, &one, dx, wk);
    double res = gn / (an * (an * xn + bn) * m * 1.11e-16);
    if (me == 0)
        printf("pdgels %dx%d nb=%d grid %dx%d: info %d, %.3f s, %.2f GFLOP/s, "
               "normal-equations residual %.2e %s\n", m, n, nb, nprow, npcol, info, t,
               2.0 * n * n * (m - n / 3.0) / t * 1e-9, res, res < 10 && !info ? "ok" : "FAIL");
    free(a), free(a0), free(xt), free(b), free(r), free(g), free(wk), free(work);
    Cblacs_gridexit(ctxt);
    MPI_Finalize();
    return res < 10 && !info ? 0 : 1;
}
