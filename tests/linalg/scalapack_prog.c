/* scalapack_prog.c: a ScaLAPACK program written against the reference API only (BLACS grid,
 * descinit_, block-cyclic local arrays, pdgemm_, pdpotrf_, pdpotrs_, pdgetrf_, pdgetrs_,
 * pdgeqrf_ and the ps* twins of GEMM/POTRF/GEQRF; ScaLAPACK's own pdormqr_ and pdorgqr_ check
 * the QR factors: ||A - QR|| / (||A|| N eps) < 10, the exit status says). The same source is
 * linked twice: with -lscalapack (the reference) and with -ldagscalapack -lscalapack (dagcc's
 * drop-in).
 *   scalapack_prog run N NB P Q OUT   run every routine, time it, write the results
 *                                     (gathered to rank 0) to OUT
 *   scalapack_prog cmp REF OUT        compare two result files (exit 1 when they differ)
 * Routines to run can be limited with SCALAPACK_ONLY=gemm,potrf,getrf,geqrf
 * (SCALAPACK_QR=bench: QR of the square matrix only, not checked: bench/linalg);
 * SCALAPACK_ORDER=Col numbers the process grid column-major. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

void Cblacs_pinfo(int *me, int *np);
void Cblacs_get(int ctxt, int what, int *val);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrc, const int *np);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ctxt, const int *lld, int *info);
void pdgemm_(const char *, const char *, const int *, const int *, const int *, const double *,
             const double *, const int *, const int *, const int *, const double *, const int *,
             const int *, const int *, const double *, double *, const int *, const int *,
             const int *);
void psgemm_(const char *, const char *, const int *, const int *, const int *, const float *,
             const float *, const int *, const int *, const int *, const float *, const int *,
             const int *, const int *, const float *, float *, const int *, const int *,
             const int *);
void pdpotrf_(const char *, const int *, double *, const int *, const int *, const int *, int *);
void pspotrf_(const char *, const int *, float *, const int *, const int *, const int *, int *);
void pdpotrs_(const char *, const int *, const int *, const double *, const int *, const int *,
              const int *, double *, const int *, const int *, const int *, int *);
void pdgetrf_(const int *, const int *, double *, const int *, const int *, const int *, int *,
              int *);
void pdgetrs_(const char *, const int *, const int *, const double *, const int *, const int *,
              const int *, const int *, double *, const int *, const int *, const int *, int *);
typedef void (*geqrf_t)(const int *, const int *, void *, const int *, const int *,
                        const int *, void *, void *, const int *, int *);
typedef void (*orgqr_t)(const int *, const int *, const int *, void *, const int *,
                        const int *, const int *, const void *, void *, const int *, int *);
typedef void (*ormqr_t)(const char *, const char *, const int *, const int *, const int *,
                        const void *, const int *, const int *, const int *, const void *,
                        void *, const int *, const int *, const int *, void *, const int *,
                        int *);
void pdgeqrf_(const int *, const int *, double *, const int *, const int *, const int *,
              double *, double *, const int *, int *);
void psgeqrf_(const int *, const int *, float *, const int *, const int *, const int *,
              float *, float *, const int *, int *);
void pdorgqr_(const int *, const int *, const int *, double *, const int *, const int *,
              const int *, const double *, double *, const int *, int *);
void psorgqr_(const int *, const int *, const int *, float *, const int *, const int *,
              const int *, const float *, float *, const int *, int *);
void pdormqr_(const char *, const char *, const int *, const int *, const int *,
              const double *, const int *, const int *, const int *, const double *, double *,
              const int *, const int *, const int *, double *, const int *, int *);
void psormqr_(const char *, const char *, const int *, const int *, const int *,
              const float *, const int *, const int *, const int *, const float *, float *,
              const int *, const int *, const int *, float *, const int *, int *);

static int me, np, myrow, mycol, nprow, npcol, ctxt;
static const int izero = 0, ione = 1;

struct dm {
    int m, n, mb, nb, lr, lc, desc[9];
    double *a;
};

static double gval(int kind, int i, int j, int n)
{
    unsigned long long h = (unsigned long long)i * 0x9E3779B97F4A7C15ull ^
                           ((unsigned long long)j + 1000003ull * kind) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    double v = (double)(h >> 11) / 9007199254740992.0 * 2 - 1; /* uniform in [-1, 1) */
    if (kind == 1) /* SPD: symmetric + n on the diagonal */
        v = 1.0 / (1 + i + j) + (i == j ? n : 0);
    return v;
}

static void dm_init(struct dm *d, int m, int n, int nb, int kind)
{
    int info;
    d->m = m, d->n = n, d->mb = d->nb = nb;
    d->lr = numroc_(&m, &nb, &myrow, &izero, &nprow);
    d->lc = numroc_(&n, &nb, &mycol, &izero, &npcol);
    int lld = d->lr > 1 ? d->lr : 1;
    descinit_(d->desc, &m, &n, &nb, &nb, &izero, &izero, &ctxt, &lld, &info);
    d->a = malloc(sizeof(double) * (size_t)lld * (d->lc > 0 ? d->lc : 1));
    for (int lj = 0; lj < d->lc; lj++)
        for (int li = 0; li < d->lr; li++) {
            int gi = (li / nb * nprow + myrow) * nb + li % nb;
            int gj = (lj / nb * npcol + mycol) * nb + lj % nb;
            d->a[(size_t)lj * lld + li] = gval(kind, gi, gj, n);
        }
}

/* gather the global matrix on rank 0 (sum of zero-padded local parts) */
static double *dm_gather(const struct dm *d)
{
    size_t sz = (size_t)d->m * d->n;
    double *g = calloc(sz, sizeof(double)), *r = me == 0 ? calloc(sz, sizeof(double)) : NULL;
    int lld = d->desc[8];
    for (int lj = 0; lj < d->lc; lj++)
        for (int li = 0; li < d->lr; li++) {
            int gi = (li / d->mb * nprow + myrow) * d->mb + li % d->mb;
            int gj = (lj / d->nb * npcol + mycol) * d->nb + lj % d->nb;
            g[(size_t)gj * d->m + gi] = d->a[(size_t)lj * lld + li];
        }
    MPI_Reduce(g, r, (int)sz, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    free(g);
    return r;
}

/* CPU seconds of this process (all threads) so far */
static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
static double cpu0;

static FILE *out;
/* report one routine: time, GFLOP/s, CPU seconds since cpu0 summed over the ranks */
static void emit(const char *name, const struct dm *d, double secs, double flops)
{
    double c = cpu_now() - cpu0, call = c;
    MPI_Reduce(&c, &call, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    double *g = dm_gather(d);
    if (me == 0) {
        printf("%-8s n=%d nb=%d grid %dx%d: %8.3f s %8.2f GFLOP/s cpu %.3f\n", name, d->n,
               d->nb, nprow, npcol, secs, flops / secs * 1e-9, call);
        if (out) {
            fprintf(out, "%s %d %d\n", name, d->m, d->n);
            fwrite(g, sizeof(double), (size_t)d->m * d->n, out);
            fprintf(out, "\n");
        }
    }
    free(g);
}

static int want(const char *name)
{
    const char *o = getenv("SCALAPACK_ONLY");
    return !o || strstr(o, name);
}

static int cmp(const char *fa, const char *fb)
{
    FILE *a = fopen(fa, "rb"), *b = fopen(fb, "rb");
    if (!a || !b)
        return fprintf(stderr, "cannot open %s or %s\n", fa, fb), 1;
    char na[32], nb[32];
    int ma, nna, mb, nnb, bad = 0;
    while (fscanf(a, "%31s %d %d", na, &ma, &nna) == 3) {
        if (fscanf(b, "%31s %d %d", nb, &mb, &nnb) != 3 || strcmp(na, nb) || ma != mb ||
            nna != nnb)
            return fprintf(stderr, "result lists differ at %s\n", na), 1;
        fgetc(a), fgetc(b);
        size_t n = (size_t)ma * nna;
        double *x = malloc(n * 8), *y = malloc(n * 8), d = 0, s = 0;
        if (fread(x, 8, n, a) != n || fread(y, 8, n, b) != n)
            return fprintf(stderr, "short file\n"), 1;
        for (size_t i = 0; i < n; i++) {
            d += (x[i] - y[i]) * (x[i] - y[i]);
            s += x[i] * x[i];
        }
        double rel = sqrt(d / (s > 0 ? s : 1));
        /* ipiv-dependent results are compared whole: the same pivots give the same factors */
        double tol = strncmp(na, "ps", 2) ? 1e-11 : 1e-4;
        printf("%-8s %dx%d: relative difference %.2e (tolerance %.0e) %s\n", na, ma, nna, rel,
               tol, rel <= tol ? "ok" : "DIFFERS");
        bad |= !(rel <= tol);
        free(x), free(y);
    }
    return bad;
}

/* element li of a local array of doubles (sp = 0) or floats */
static double lget(const void *a, size_t i, int sp)
{
    return sp ? ((const float *)a)[i] : ((const double *)a)[i];
}
static void lset(void *a, size_t i, double v, int sp)
{
    if (sp)
        ((float *)a)[i] = (float)v;
    else
        ((double *)a)[i] = v;
}
/* the size a workspace query returned in work(1) */
static int wqsize(const double *wq, int sp)
{
    float f;
    memcpy(&f, wq, sizeof f);
    return (int)(sp ? f : wq[0]);
}
/* sum over the ranks of this rank's sum of squares of the local array (x - y, y may be
 * NULL) over the local part of d, minus the identity's diagonal (eye) */
static double fro(const struct dm *d, const void *x, const void *y, int sp, int eye, int ncols)
{
    double s = 0, all = 0;
    for (int lj = 0; lj < d->lc; lj++)
        for (int li = 0; li < d->lr; li++) {
            int gi = (li / d->mb * nprow + myrow) * d->mb + li % d->mb;
            int gj = (lj / d->nb * npcol + mycol) * d->nb + lj % d->nb;
            if (gj >= ncols)
                continue;
            size_t k = (size_t)lj * d->desc[8] + li;
            double v = lget(x, k, sp) - (y ? lget(y, k, sp) : 0) - (eye && gi == gj);
            s += v * v;
        }
    MPI_Allreduce(&s, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return sqrt(all);
}

/* pdgeqrf_ / psgeqrf_ on an m x n matrix, then ScaLAPACK's own pdormqr_ and pdorgqr_ on
 * its output: ||A - Q R|| / (||A|| max(m, n) eps) and ||I - Q^T Q|| / (min(m, n) eps) must
 * be below 10. Emits the factored matrix (compared with the reference run). Returns 1 on
 * a failed bound. */
static int qr_check(int m, int n, int nb, int sp, int check)
{
    struct dm a;
    dm_init(&a, m, n, nb, 0);
    size_t cnt = (size_t)a.desc[8] * (a.lc > 0 ? a.lc : 1), es = sp ? 4 : 8;
    void *f = malloc(cnt * es), *a0 = malloc(cnt * es), *r = malloc(cnt * es),
         *q = malloc(cnt * es), *tau = malloc((size_t)(a.lc + nb) * es);
    for (size_t i = 0; i < cnt; i++)
        lset(f, i, a.a[i], sp), lset(a0, i, a.a[i], sp);
    geqrf_t geqrf = sp ? (geqrf_t)psgeqrf_ : (geqrf_t)pdgeqrf_;
    orgqr_t orgqr = sp ? (orgqr_t)psorgqr_ : (orgqr_t)pdorgqr_;
    ormqr_t ormqr = sp ? (ormqr_t)psormqr_ : (ormqr_t)pdormqr_;
    int lwork = -1, info, k = m < n ? m : n;
    double wq[2];
    geqrf(&m, &n, f, &ione, &ione, a.desc, tau, wq, &lwork, &info);
    lwork = wqsize(wq, sp);
    void *work = malloc((size_t)(lwork > 1 ? lwork : 1) * es);
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime();
    cpu0 = cpu_now();
    geqrf(&m, &n, f, &ione, &ione, a.desc, tau, work, &lwork, &info);
    MPI_Barrier(MPI_COMM_WORLD);
    double secs = MPI_Wtime() - t;
    if (info)
        fprintf(stderr, "p?geqrf info %d\n", info);
    char name[32];
    snprintf(name, sizeof name, "%sgeqrf_%dx%d", sp ? "ps" : "pd", m, n);
    for (size_t i = 0; i < cnt; i++)
        a.a[i] = lget(f, i, sp);
    emit(name, &a, secs, 2.0 * n * n * (m - n / 3.0));
    if (!check) {
        free(f), free(a0), free(r), free(q), free(tau), free(work), free(a.a);
        return 0;
    }
    /* R = triu(F); Q R with ScaLAPACK's pdormqr on the reflectors */
    for (int lj = 0; lj < a.lc; lj++)
        for (int li = 0; li < a.lr; li++) {
            int gi = (li / nb * nprow + myrow) * nb + li % nb;
            int gj = (lj / nb * npcol + mycol) * nb + lj % nb;
            size_t x = (size_t)lj * a.desc[8] + li;
            lset(r, x, gi <= gj ? lget(f, x, sp) : 0, sp);
            lset(q, x, lget(f, x, sp), sp);
        }
    int lw2 = -1;
    ormqr("L", "N", &m, &n, &k, f, &ione, &ione, a.desc, tau, r, &ione, &ione, a.desc, wq,
          &lw2, &info);
    lw2 = wqsize(wq, sp);
    int lw3 = -1;
    orgqr(&m, &k, &k, q, &ione, &ione, a.desc, tau, wq, &lw3, &info);
    lw3 = wqsize(wq, sp);
    int lw = lw2 > lw3 ? lw2 : lw3;
    void *w2 = malloc((size_t)(lw > 1 ? lw : 1) * es);
    ormqr("L", "N", &m, &n, &k, f, &ione, &ione, a.desc, tau, r, &ione, &ione, a.desc, w2, &lw,
          &info);
    double eps = sp ? 5.96e-8 : 1.11e-16, big = m > n ? m : n;
    double res = fro(&a, r, a0, sp, 0, n) / (fro(&a, a0, NULL, sp, 0, n) * big * eps);
    /* Q explicitly (m x k, pdorgqr), then Q^T Q with pdormqr: [I; 0] */
    orgqr(&m, &k, &k, q, &ione, &ione, a.desc, tau, w2, &lw, &info);
    ormqr("L", "T", &m, &k, &k, f, &ione, &ione, a.desc, tau, q, &ione, &ione, a.desc, w2, &lw,
          &info);
    double orth = fro(&a, q, NULL, sp, 1, k) / (k * eps);
    if (me == 0)
        printf("%-8s ||A-QR||/(||A|| N eps) = %.2f  ||I-Q^TQ||/(N eps) = %.2f %s\n", name, res,
               orth, res < 10 && orth < 10 ? "ok" : "FAIL");
    free(f), free(a0), free(r), free(q), free(tau), free(work), free(w2), free(a.a);
    return !(res < 10 && orth < 10);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "cmp"))
        return cmp(argv[2], argv[3]);
    if (argc < 6 || strcmp(argv[1], "run"))
        return fprintf(stderr, "usage: %s run N NB P Q OUT | cmp REF OUT\n", argv[0]), 2;
    int n = atoi(argv[2]), nb = atoi(argv[3]), info;
    MPI_Init(&argc, &argv);
    Cblacs_pinfo(&me, &np);
    nprow = atoi(argv[4]);
    npcol = atoi(argv[5]);
    if (nprow * npcol != np) {
        if (me == 0)
            fprintf(stderr, "grid %dx%d needs %d ranks, have %d\n", nprow, npcol,
                    nprow * npcol, np);
        MPI_Finalize();
        return 2;
    }
    Cblacs_get(-1, 0, &ctxt);
    const char *order = getenv("SCALAPACK_ORDER"); /* "Col": column-major process grid */
    Cblacs_gridinit(&ctxt, order && !strcmp(order, "Col") ? "Col" : "Row", nprow, npcol);
    Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
    out = me == 0 && argc > 6 ? fopen(argv[6], "wb") : NULL;
    double t, one = 1, zero = 0;
    int nrhs = 3;
    if (want("gemm")) {
        struct dm a, b, c;
        dm_init(&a, n, n, nb, 0), dm_init(&b, n, n, nb, 2), dm_init(&c, n, n, nb, 3);
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime(), cpu0 = cpu_now();
        pdgemm_("N", "T", &n, &n, &n, &one, a.a, &ione, &ione, a.desc, b.a, &ione, &ione, b.desc,
                &zero, c.a, &ione, &ione, c.desc);
        MPI_Barrier(MPI_COMM_WORLD);
        emit("pdgemm", &c, MPI_Wtime() - t, 2.0 * n * n * n);
        free(a.a), free(b.a), free(c.a);
    }
    if (want("potrf")) {
        struct dm a, b;
        dm_init(&a, n, n, nb, 1), dm_init(&b, n, nrhs, nb, 2);
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime(), cpu0 = cpu_now();
        pdpotrf_("L", &n, a.a, &ione, &ione, a.desc, &info);
        MPI_Barrier(MPI_COMM_WORLD);
        double s = MPI_Wtime() - t;
        if (info)
            fprintf(stderr, "pdpotrf info %d\n", info);
        /* only the lower triangle is the factor: zero the rest before comparing */
        for (int lj = 0; lj < a.lc; lj++)
            for (int li = 0; li < a.lr; li++) {
                int gi = (li / nb * nprow + myrow) * nb + li % nb;
                int gj = (lj / nb * npcol + mycol) * nb + lj % nb;
                if (gi < gj)
                    a.a[(size_t)lj * a.desc[8] + li] = 0;
            }
        emit("pdpotrf", &a, s, (double)n * n * n / 3);
        t = MPI_Wtime(), cpu0 = cpu_now();
        pdpotrs_("L", &n, &nrhs, a.a, &ione, &ione, a.desc, b.a, &ione, &ione, b.desc, &info);
        emit("pdpotrs", &b, MPI_Wtime() - t, 2.0 * n * n * nrhs);
        free(a.a), free(b.a);
        /* single precision twin */
        struct dm f;
        dm_init(&f, n, n, nb, 1);
        float *fa = malloc(sizeof(float) * (size_t)f.desc[8] * (f.lc > 0 ? f.lc : 1));
        for (size_t i = 0; i < (size_t)f.desc[8] * f.lc; i++)
            fa[i] = (float)f.a[i];
        t = MPI_Wtime(), cpu0 = cpu_now();
        pspotrf_("L", &n, fa, &ione, &ione, f.desc, &info);
        double sf = MPI_Wtime() - t;
        for (int lj = 0; lj < f.lc; lj++)
            for (int li = 0; li < f.lr; li++) {
                int gi = (li / nb * nprow + myrow) * nb + li % nb;
                int gj = (lj / nb * npcol + mycol) * nb + lj % nb;
                f.a[(size_t)lj * f.desc[8] + li] = gi < gj ? 0 : fa[(size_t)lj * f.desc[8] + li];
            }
        emit("pspotrf", &f, sf, (double)n * n * n / 3);
        free(fa), free(f.a);
    }
    if (want("getrf")) {
        struct dm a, b;
        dm_init(&a, n, n, nb, 0), dm_init(&b, n, nrhs, nb, 2);
        int *ipiv = malloc(sizeof(int) * (size_t)(a.lr + nb));
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime(), cpu0 = cpu_now();
        pdgetrf_(&n, &n, a.a, &ione, &ione, a.desc, ipiv, &info);
        MPI_Barrier(MPI_COMM_WORLD);
        emit("pdgetrf", &a, MPI_Wtime() - t, 2.0 / 3 * n * n * n);
        t = MPI_Wtime(), cpu0 = cpu_now();
        pdgetrs_("N", &n, &nrhs, a.a, &ione, &ione, a.desc, ipiv, b.a, &ione, &ione, b.desc,
                 &info);
        emit("pdgetrs", &b, MPI_Wtime() - t, 2.0 * n * n * nrhs);
        free(a.a), free(b.a), free(ipiv);
    }
    int bad = 0;
    if (want("geqrf")) { /* square, tall, wide; N not a multiple of NB */
        const char *qb = getenv("SCALAPACK_QR");
        int bench = qb && !strcmp(qb, "bench"); /* the square case alone, unchecked */
        bad |= qr_check(n, n, nb, 0, !bench);
        if (!bench) {
            bad |= qr_check(n + nb + 5, n - 3, nb, 0, 1);
            bad |= qr_check(n - nb / 2 - 1, n + 7, nb, 0, 1);
            bad |= qr_check(n + 9, n, nb, 1, 1);
        }
    }
    if (out)
        fclose(out);
    Cblacs_gridexit(ctxt);
    MPI_Finalize();
    return bad;
}
