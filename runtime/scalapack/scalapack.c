/* scalapack.c: libdagscalapack, a ScaLAPACK drop-in on libdaglinalg. A program written against
 * ScaLAPACK relinks with -ldagscalapack ahead of -lscalapack: pdgemm_, pdpotrf_, pdpotrs_,
 * pdgetrf_, pdgetrs_, pdgeqrf_ (and the ps* twins) copy the caller's block-cyclic local arrays
 * into tiles (one task per block, on the block's BLACS owner), run the task graph, and copy
 * the result back in ScaLAPACK's layout (LU factors and ipiv as pdgetrf's, so the real
 * pdgetrs/pdgecon work on them). Calls outside what the tiled library covers (submatrices
 * ia/ja != 1, RSRC/CSRC != 0, MB != NB for factorisations, uplo 'U', trans != 'N' in pdgetrs,
 * a grid that is not every rank) go to the real ScaLAPACK routine (dlsym RTLD_NEXT).
 * pdgeqrf_/psgeqrf_ run dag_la_geqrf_lapack, whose output is ScaLAPACK's (Householder vectors,
 * R, tau), so pdormqr/pdorgqr work on it. MPI_Init is wrapped to ask for MPI_THREAD_MULTIPLE
 * and MPI_Finalize so that the runtime stops before MPI does (PMPI). DAG_SCALAPACK=0 forwards
 * everything; DAG_SCALAPACK_VERBOSE=1 says on rank 0 which path each call took. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../linalg/la.h"

void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);

enum { DTYPE_, CTXT_, M_, N_, MB_, NB_, RSRC_, CSRC_, LLD_ };

static int verbose(void)
{
    const char *v = getenv("DAG_SCALAPACK_VERBOSE");
    return v && *v == '1';
}
/* DAG_SCALAPACK=0, or MPI below MPI_THREAD_MULTIPLE (MPI started by something other
 * than the MPI_Init below, e.g. PMPI_Init): every call goes to ScaLAPACK and the runtime
 * is never started, so its thread never calls MPI beside the program's. */
static int enabled(void)
{
    const char *v = getenv("DAG_SCALAPACK");
    if (v && *v == '0')
        return 0;
    static int level = -1;
    if (level < 0) {
        int inited = 0;
        MPI_Initialized(&inited);
        if (!inited)
            return 0; /* not called between MPI_Init and MPI_Finalize: ScaLAPACK's answer */
        MPI_Query_thread(&level);
        if (level < MPI_THREAD_MULTIPLE) {
            int r = 0;
            MPI_Comm_rank(MPI_COMM_WORLD, &r);
            if (r == 0)
                fprintf(stderr, "dagscalapack: MPI runs at thread level %d, below "
                                "MPI_THREAD_MULTIPLE (MPI was not started through MPI_Init / "
                                "MPI_Init_thread): every call goes to ScaLAPACK\n", level);
        }
    }
    return level >= MPI_THREAD_MULTIPLE;
}
static void say(const char *fn, const char *what)
{
    int r = 0, inited = 0;
    MPI_Initialized(&inited); /* MPI's rank: a forwarded call does not start the runtime */
    if (inited)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    if (verbose() && r == 0)
        fprintf(stderr, "dagscalapack: %s: %s\n", fn, what);
}

static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "dagscalapack: %s not supported here and no ScaLAPACK after "
                        "libdagscalapack to forward to (link -lscalapack)\n", name);
        abort(); /* the caller's program cannot continue without a result */
    }
    return f;
}

/* A distributed ScaLAPACK matrix seen as a dag_la_t: the grid, and whether it qualifies. */
struct gridmat {
    int nprow, npcol, myrow, mycol;
    const int *desc;
    int *rank; /* rank[prow * npcol + pcol]: the MPI_COMM_WORLD rank of that process */
};

/* Where each grid process is. Cblacs_pnum does not follow a column-major ("Col") grid in
 * this BLACS, so the ranks tell their coordinates (every grid process makes the call). */
static int grid_ranks(struct gridmat *g)
{
    int n = g->nprow * g->npcol, me[2] = {g->myrow, g->mycol};
    int *all = malloc(sizeof(int) * 2 * (size_t)n);
    g->rank = malloc(sizeof(int) * (size_t)n);
    if (!all || !g->rank) {
        free(all);
        return 0;
    }
    MPI_Allgather(me, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD);
    for (int r = 0; r < n; r++)
        if (all[2 * r] >= 0 && all[2 * r] < g->nprow && all[2 * r + 1] >= 0 &&
            all[2 * r + 1] < g->npcol)
            g->rank[all[2 * r] * g->npcol + all[2 * r + 1]] = r;
    free(all);
    return 1;
}

static void gm_free(struct gridmat *g)
{
    free(g->rank);
    g->rank = NULL;
}

static int qualifies(const int *desc, int ia, int ja, int square, struct gridmat *g)
{
    g->rank = NULL;
    if (!enabled() || desc[DTYPE_] != 1 || ia != 1 || ja != 1 || desc[RSRC_] || desc[CSRC_])
        return 0;
    if (square && desc[MB_] != desc[NB_])
        return 0;
    Cblacs_gridinfo(desc[CTXT_], &g->nprow, &g->npcol, &g->myrow, &g->mycol);
    if (g->nprow < 1 || g->nprow * g->npcol != dag_nranks())
        return 0;
    g->desc = desc;
    return grid_ranks(g);
}

struct blk_args {
    dag_la_type_t t;
    int rows, cols, lld, mb, in;
    char *local;
    void *tile;
};
static int task_blk(void *p)
{
    struct blk_args *a = p;
    size_t es = a->t == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    for (int c = 0; c < a->cols; c++) {
        char *loc = a->local + (size_t)c * a->lld * es, *til = (char *)a->tile + (size_t)c * a->mb * es;
        memcpy(a->in ? til : loc, a->in ? loc : til, (size_t)a->rows * es);
    }
    return 0;
}

/* Copy between the local arrays and the tiles: in = 1 (local -> tiles) or 0. */
static dag_status_t xfer(dag_la_t *t, const struct gridmat *g, void *local, int in)
{
    const int *d = g->desc;
    dag_status_t st = DAG_OK;
    for (int j = 0; j < t->nt && !st; j++)
        for (int i = 0; i < t->mt && !st; i++) {
            int pr = i % g->nprow, pc = j % g->npcol;
            int owner = g->rank[pr * g->npcol + pc];
            struct blk_args a = {t->type, la_mi(t, i), la_nj(t, j), d[LLD_], t->mb, in, NULL,
                                 la_t(t, i, j)};
            if (pr == g->myrow && pc == g->mycol)
                a.local = (char *)local + ((size_t)(j / g->npcol) * t->nb * d[LLD_] +
                                           (size_t)(i / g->nprow) * t->mb) * t->esize;
            dag_dep_t dep = {a.tile, la_tb(t), in ? DAG_OUT : DAG_IN};
            dag_task_attr_t at = {.label = in ? "scalapack_in" : "scalapack_out",
                                  .flags = DAG_TASK_ON_NODE, .node = owner};
            st = dag_submit(task_blk, &a, sizeof a, &dep, 1, &at);
        }
    if (!st && in)
        st = dag_dist_flush(t->tiles);
    dag_status_t w = dag_taskwait();
    return st ? st : w;
}

static dag_status_t load(dag_la_t **out, dag_la_type_t type, const struct gridmat *g,
                         int m, int n, void *local)
{
    dag_dist_t dist = {.kind = DAG_DIST_2D, .p = g->nprow, .q = g->npcol};
    dag_status_t st = dag_la_create(out, type, m, n, g->desc[MB_], g->desc[NB_], &dist);
    if (!st)
        st = xfer(*out, g, local, 1);
    return st;
}

static void failed(const char *fn, dag_status_t st, int *info)
{
    fprintf(stderr, "dagscalapack: %s: %s (%s)\n", fn, dag_strerror(st), dag_la_error());
    if (info)
        *info = -1000;
}

/* ---- GEMM ---- */

typedef void (*gemm_fn)(const char *, const char *, const int *, const int *, const int *,
                        const void *, const void *, const int *, const int *, const int *,
                        const void *, const int *, const int *, const int *, const void *,
                        void *, const int *, const int *, const int *, size_t, size_t);

static void gemm(dag_la_type_t t, const char *name, const char *ta, const char *tb,
                 const int *m, const int *n, const int *k, const void *alpha, const void *a,
                 const int *ia, const int *ja, const int *da, const void *b, const int *ib,
                 const int *jb, const int *db, const void *beta, void *c, const int *ic,
                 const int *jc, const int *dc)
{
    struct gridmat ga = {0}, gb = {0}, gc = {0};
    int tra = *ta == 'T' || *ta == 't' || *ta == 'C' || *ta == 'c';
    int trb = *tb == 'T' || *tb == 't' || *tb == 'C' || *tb == 'c';
    if (!qualifies(da, *ia, *ja, 0, &ga) || !qualifies(db, *ib, *jb, 0, &gb) ||
        !qualifies(dc, *ic, *jc, 0, &gc) || da[CTXT_] != dc[CTXT_] || db[CTXT_] != dc[CTXT_] ||
        (tra ? da[N_] : da[M_]) != *m || (trb ? db[M_] : db[N_]) != *n ||
        (tra ? da[M_] : da[N_]) != *k || dc[M_] != *m || dc[N_] != *n ||
        (tra ? da[NB_] : da[MB_]) != dc[MB_] || (trb ? db[MB_] : db[NB_]) != dc[NB_] ||
        (tra ? da[MB_] : da[NB_]) != (trb ? db[NB_] : db[MB_])) {
        say(name, "forwarded to ScaLAPACK");
        gm_free(&ga), gm_free(&gb), gm_free(&gc);
        ((gemm_fn)real(name))(ta, tb, m, n, k, alpha, a, ia, ja, da, b, ib, jb, db, beta, c, ic,
                              jc, dc, 1, 1);
        return;
    }
    say(name, "dagcc tasks");
    double al = t == DAG_LA_DOUBLE ? *(const double *)alpha : *(const float *)alpha;
    double be = t == DAG_LA_DOUBLE ? *(const double *)beta : *(const float *)beta;
    dag_la_t *A = NULL, *B = NULL, *C = NULL;
    dag_status_t st = load(&A, t, &ga, da[M_], da[N_], (void *)a);
    if (!st)
        st = load(&B, t, &gb, db[M_], db[N_], (void *)b);
    if (!st)
        st = load(&C, t, &gc, dc[M_], dc[N_], c);
    if (!st)
        st = dag_la_gemm(tra ? 'T' : 'N', trb ? 'T' : 'N', al, A, B, be, C);
    if (!st)
        st = xfer(C, &gc, c, 0);
    if (st)
        failed(name, st, NULL);
    dag_la_destroy(A);
    dag_la_destroy(B);
    dag_la_destroy(C);
    gm_free(&ga), gm_free(&gb), gm_free(&gc);
}

void pdgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja, const int *da,
             const double *b, const int *ib, const int *jb, const int *db, const double *beta,
             double *c, const int *ic, const int *jc, const int *dc)
{
    gemm(DAG_LA_DOUBLE, "pdgemm_", ta, tb, m, n, k, alpha, a, ia, ja, da, b, ib, jb, db, beta,
         c, ic, jc, dc);
}
void psgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
             const float *alpha, const float *a, const int *ia, const int *ja, const int *da,
             const float *b, const int *ib, const int *jb, const int *db, const float *beta,
             float *c, const int *ic, const int *jc, const int *dc)
{
    gemm(DAG_LA_FLOAT, "psgemm_", ta, tb, m, n, k, alpha, a, ia, ja, da, b, ib, jb, db, beta,
         c, ic, jc, dc);
}

/* ---- Cholesky ---- */

typedef void (*potrf_fn)(const char *, const int *, void *, const int *, const int *,
                         const int *, int *, size_t);

static void potrf(dag_la_type_t t, const char *name, const char *uplo, const int *n, void *a,
                  const int *ia, const int *ja, const int *da, int *info)
{
    struct gridmat g = {0};
    if ((*uplo != 'L' && *uplo != 'l') || !qualifies(da, *ia, *ja, 1, &g) || da[M_] != *n ||
        da[N_] != *n) {
        say(name, "forwarded to ScaLAPACK");
        gm_free(&g);
        ((potrf_fn)real(name))(uplo, n, a, ia, ja, da, info, 1);
        return;
    }
    say(name, "dagcc tasks");
    dag_la_t *A = NULL;
    *info = 0;
    dag_status_t st = load(&A, t, &g, *n, *n, a);
    if (!st) {
        st = dag_la_potrf('L', A, info);
        if (st == DAG_ERR_INVALID && *info > 0)
            st = DAG_OK; /* not SPD: LAPACK's info, the factor up to that column */
    }
    if (!st)
        st = xfer(A, &g, a, 0);
    if (st)
        failed(name, st, info);
    dag_la_destroy(A);
    gm_free(&g);
}

void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *da, int *info)
{
    potrf(DAG_LA_DOUBLE, "pdpotrf_", uplo, n, a, ia, ja, da, info);
}
void pspotrf_(const char *uplo, const int *n, float *a, const int *ia, const int *ja,
              const int *da, int *info)
{
    potrf(DAG_LA_FLOAT, "pspotrf_", uplo, n, a, ia, ja, da, info);
}

typedef void (*potrs_fn)(const char *, const int *, const int *, const void *, const int *,
                         const int *, const int *, void *, const int *, const int *,
                         const int *, int *, size_t);

static void potrs(dag_la_type_t t, const char *name, const char *uplo, const int *n,
                  const int *nrhs, const void *a, const int *ia, const int *ja, const int *da,
                  void *b, const int *ib, const int *jb, const int *db, int *info)
{
    struct gridmat ga = {0}, gb = {0};
    if ((*uplo != 'L' && *uplo != 'l') || !qualifies(da, *ia, *ja, 1, &ga) ||
        !qualifies(db, *ib, *jb, 0, &gb) || da[M_] != *n || da[N_] != *n || db[M_] != *n ||
        db[N_] != *nrhs || db[MB_] != da[NB_] || da[CTXT_] != db[CTXT_]) {
        say(name, "forwarded to ScaLAPACK");
        gm_free(&ga), gm_free(&gb);
        ((potrs_fn)real(name))(uplo, n, nrhs, a, ia, ja, da, b, ib, jb, db, info, 1);
        return;
    }
    say(name, "dagcc tasks");
    dag_la_t *A = NULL, *B = NULL;
    *info = 0;
    dag_status_t st = load(&A, t, &ga, *n, *n, (void *)a);
    if (!st)
        st = load(&B, t, &gb, *n, *nrhs, b);
    if (!st) {
        A->factored = 'L';
        st = dag_la_potrs('L', A, B);
    }
    if (!st)
        st = xfer(B, &gb, b, 0);
    if (st)
        failed(name, st, info);
    dag_la_destroy(A);
    dag_la_destroy(B);
    gm_free(&ga), gm_free(&gb);
}

void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia,
              const int *ja, const int *da, double *b, const int *ib, const int *jb,
              const int *db, int *info)
{
    potrs(DAG_LA_DOUBLE, "pdpotrs_", uplo, n, nrhs, a, ia, ja, da, b, ib, jb, db, info);
}
void pspotrs_(const char *uplo, const int *n, const int *nrhs, const float *a, const int *ia,
              const int *ja, const int *da, float *b, const int *ib, const int *jb,
              const int *db, int *info)
{
    potrs(DAG_LA_FLOAT, "pspotrs_", uplo, n, nrhs, a, ia, ja, da, b, ib, jb, db, info);
}

/* ---- LU ---- */

/* The last factorisation, kept for pdgetrs_ on the same array and descriptor. */
static struct {
    dag_la_t *lu;
    const void *a;
    int desc[9];
} last;

static void drop_last(void)
{
    if (last.lu)
        dag_la_destroy(last.lu);
    last.lu = NULL;
    last.a = NULL;
}

typedef void (*getrf_fn)(const int *, const int *, void *, const int *, const int *,
                         const int *, int *, int *);

static void getrf(dag_la_type_t t, const char *name, const int *m, const int *n, void *a,
                  const int *ia, const int *ja, const int *da, int *ipiv, int *info)
{
    struct gridmat g = {0};
    if (!qualifies(da, *ia, *ja, 1, &g) || da[M_] != *m || da[N_] != *n) {
        say(name, "forwarded to ScaLAPACK");
        gm_free(&g);
        ((getrf_fn)real(name))(m, n, a, ia, ja, da, ipiv, info);
        return;
    }
    say(name, "dagcc tasks");
    drop_last();
    dag_la_t *A = NULL;
    int k = *m < *n ? *m : *n, *gp = malloc(sizeof(int) * (size_t)(k > 0 ? k : 1));
    *info = 0;
    dag_status_t st = gp ? load(&A, t, &g, *m, *n, a) : DAG_ERR_NOMEM;
    if (!st)
        st = dag_la_getrf(A, gp, info);
    if (!st)
        st = xfer(A, &g, a, 0);
    if (!st) { /* ScaLAPACK's ipiv: one entry per local row of this process row */
        int mb = da[MB_], lrows = 0;
        for (int gi = g.myrow * mb; gi < *m; gi += g.nprow * mb)
            for (int r = 0; r < mb && gi + r < *m; r++, lrows++)
                if (gi + r < k)
                    ipiv[lrows] = gp[gi + r];
        last.lu = A;
        last.a = a;
        memcpy(last.desc, da, sizeof last.desc);
        A = NULL;
    } else {
        failed(name, st, info);
    }
    free(gp);
    dag_la_destroy(A);
    gm_free(&g);
}

void pdgetrf_(const int *m, const int *n, double *a, const int *ia, const int *ja,
              const int *da, int *ipiv, int *info)
{
    getrf(DAG_LA_DOUBLE, "pdgetrf_", m, n, a, ia, ja, da, ipiv, info);
}
void psgetrf_(const int *m, const int *n, float *a, const int *ia, const int *ja,
              const int *da, int *ipiv, int *info)
{
    getrf(DAG_LA_FLOAT, "psgetrf_", m, n, a, ia, ja, da, ipiv, info);
}

typedef void (*getrs_fn)(const char *, const int *, const int *, const void *, const int *,
                         const int *, const int *, const int *, void *, const int *,
                         const int *, const int *, int *, size_t);

static void getrs(dag_la_type_t t, const char *name, const char *trans, const int *n,
                  const int *nrhs, const void *a, const int *ia, const int *ja, const int *da,
                  const int *ipiv, void *b, const int *ib, const int *jb, const int *db,
                  int *info)
{
    struct gridmat gb = {0};
    /* the factors must be the ones pdgetrf_ left here (same array and descriptor) */
    if ((*trans != 'N' && *trans != 'n') || !last.lu || last.a != a ||
        memcmp(last.desc, da, sizeof last.desc) || last.lu->type != t ||
        !qualifies(db, *ib, *jb, 0, &gb) || *ia != 1 || *ja != 1 || da[M_] != *n ||
        db[M_] != *n || db[N_] != *nrhs || db[MB_] != da[NB_] || db[CTXT_] != da[CTXT_]) {
        say(name, "forwarded to ScaLAPACK");
        gm_free(&gb);
        ((getrs_fn)real(name))(trans, n, nrhs, a, ia, ja, da, ipiv, b, ib, jb, db, info, 1);
        return;
    }
    say(name, "dagcc tasks");
    dag_la_t *B = NULL;
    *info = 0;
    dag_status_t st = load(&B, t, &gb, *n, *nrhs, b);
    if (!st)
        st = dag_la_getrs(last.lu, B);
    if (!st)
        st = xfer(B, &gb, b, 0);
    if (st)
        failed(name, st, info);
    dag_la_destroy(B);
    gm_free(&gb);
}

void pdgetrs_(const char *trans, const int *n, const int *nrhs, const double *a, const int *ia,
              const int *ja, const int *da, const int *ipiv, double *b, const int *ib,
              const int *jb, const int *db, int *info)
{
    getrs(DAG_LA_DOUBLE, "pdgetrs_", trans, n, nrhs, a, ia, ja, da, ipiv, b, ib, jb, db, info);
}
void psgetrs_(const char *trans, const int *n, const int *nrhs, const float *a, const int *ia,
              const int *ja, const int *da, const int *ipiv, float *b, const int *ib,
              const int *jb, const int *db, int *info)
{
    getrs(DAG_LA_FLOAT, "psgetrs_", trans, n, nrhs, a, ia, ja, da, ipiv, b, ib, jb, db, info);
}

/* ---- QR ---- */

int numroc_(const int *n, const int *nb, const int *iproc, const int *isrc, const int *np);

typedef void (*geqrf_fn)(const int *, const int *, void *, const int *, const int *,
                         const int *, void *, void *, const int *, int *);

/* pdgeqrf_: the Householder vectors and R in the local arrays as pdgeqrf leaves them, tau
 * on every process of the process column that holds the reflector's column (LOCc). A
 * workspace query (lwork = -1) and a workspace below ScaLAPACK's minimum go to ScaLAPACK,
 * which answers (and reports the error) as it does; the drop-in itself needs none. */
static void geqrf(dag_la_type_t t, const char *name, const int *m, const int *n, void *a,
                  const int *ia, const int *ja, const int *da, void *tau, void *work,
                  const int *lwork, int *info)
{
    struct gridmat g = {0};
    int lwmin = 0, ok = *lwork != -1 && *m > 0 && *n > 0 &&
                        qualifies(da, *ia, *ja, 1, &g) && da[M_] == *m && da[N_] == *n;
    if (ok) { /* ScaLAPACK's LWMIN = NB (Mp0 + Nq0 + NB) */
        int mp0 = numroc_(m, &da[MB_], &g.myrow, &da[RSRC_], &g.nprow);
        int nq0 = numroc_(n, &da[NB_], &g.mycol, &da[CSRC_], &g.npcol);
        lwmin = da[NB_] * (mp0 + nq0 + da[NB_]);
        ok = *lwork >= lwmin;
        int all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        ok = all;
    }
    if (!ok) {
        say(name, "forwarded to ScaLAPACK");
        gm_free(&g);
        ((geqrf_fn)real(name))(m, n, a, ia, ja, da, tau, work, lwork, info);
        return;
    }
    say(name, "dagcc tasks");
    dag_la_t *A = NULL;
    int k = *m < *n ? *m : *n;
    size_t es = t == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    char *gt = malloc(es * (size_t)k);
    *info = 0;
    dag_status_t st = gt ? load(&A, t, &g, *m, *n, a) : DAG_ERR_NOMEM;
    if (!st)
        st = dag_la_geqrf_lapack(A, gt);
    if (!st)
        st = xfer(A, &g, a, 0);
    if (!st) { /* tau: LOCc entries, column gj on process column (gj / nb) mod npcol */
        int nb = da[NB_];
        for (int gj = 0; gj < k; gj++)
            if ((gj / nb) % g.npcol == g.mycol)
                memcpy((char *)tau + (size_t)((gj / nb / g.npcol) * nb + gj % nb) * es,
                       gt + (size_t)gj * es, es);
    } else {
        failed(name, st, info);
    }
    if (t == DAG_LA_DOUBLE) /* as ScaLAPACK: work(1) = the minimum */
        *(double *)work = lwmin;
    else
        *(float *)work = (float)lwmin;
    free(gt);
    dag_la_destroy(A);
    gm_free(&g);
}

void pdgeqrf_(const int *m, const int *n, double *a, const int *ia, const int *ja,
              const int *da, double *tau, double *work, const int *lwork, int *info)
{
    geqrf(DAG_LA_DOUBLE, "pdgeqrf_", m, n, a, ia, ja, da, tau, work, lwork, info);
}
void psgeqrf_(const int *m, const int *n, float *a, const int *ia, const int *ja,
              const int *da, float *tau, float *work, const int *lwork, int *info)
{
    geqrf(DAG_LA_FLOAT, "psgeqrf_", m, n, a, ia, ja, da, tau, work, lwork, info);
}

/* MPI's thread level. The runtime's communication thread calls MPI while the program's
 * own thread is in MPI too (BLACS, ScaLAPACK's routines that are forwarded, the program's
 * collectives), on other communicators: that is legal only at MPI_THREAD_MULTIPLE. A
 * ScaLAPACK program calls MPI_Init (MPI_THREAD_SINGLE in Open MPI, whose matching then runs
 * without locks: two threads in it lost or mismatched messages, MPI_ERR_TRUNCATE in the
 * program's MPI_Allgather, or one rank's engine hung), so the library asks for
 * MPI_THREAD_MULTIPLE in the program's place: MPI_Init, MPI_Init_thread and Fortran's
 * mpi_init_ / mpi_init_thread_ come here first (PMPI). A level above the one required is
 * allowed by the standard. */
/* MPI at MPI_THREAD_MULTIPLE, then the runtime (unless DAG_SCALAPACK=0), so that its
 * start is not inside the program's first timed call. */
static int init_multiple(int *argc, char ***argv, int *provided)
{
    int rc = PMPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, provided);
    if (rc == MPI_SUCCESS && enabled())
        dag_rank();
    return rc;
}
int MPI_Init(int *argc, char ***argv)
{
    int provided;
    return init_multiple(argc, argv, &provided);
}
int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    (void)required;
    return init_multiple(argc, argv, provided);
}
void mpi_init_(MPI_Fint *ierr);
void mpi_init_(MPI_Fint *ierr)
{
    int provided;
    *ierr = (MPI_Fint)init_multiple(NULL, NULL, &provided);
}
void mpi_init_thread_(const MPI_Fint *required, MPI_Fint *provided, MPI_Fint *ierr);
void mpi_init_thread_(const MPI_Fint *required, MPI_Fint *provided, MPI_Fint *ierr)
{
    int p = 0;
    (void)required;
    *ierr = (MPI_Fint)init_multiple(NULL, NULL, &p);
    *provided = (MPI_Fint)p;
}

/* The runtime (its communication thread) must stop before MPI does: blacs_exit and the
 * program's own MPI_Finalize come here first (PMPI). */
int MPI_Finalize(void)
{
    static int once;
    if (!once) {
        once = 1;
        drop_last();
        dag_finalize();
    }
    return PMPI_Finalize();
}
