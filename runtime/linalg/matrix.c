/* matrix.c: the tiled matrix descriptor of libdaglinalg (create, destroy, fill, set, get,
 * norms), scheduling options and error messages, and the task submission helper. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "la.h"

void openblas_set_num_threads(int n); /* tasks are the parallelism */

static __thread char la_msg[256];

dag_status_t la_invalid(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(la_msg, sizeof la_msg, fmt, ap);
    va_end(ap);
    return DAG_ERR_INVALID;
}

const char *dag_la_error(void) { return la_msg; }

static dag_la_options_t opts;
static int opts_ready;

static int env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static void opts_init(void)
{
    if (opts_ready)
        return;
    opts.priorities = env_int("DAG_LA_PRIO", 1);
    opts.lookahead = env_int("DAG_LA_LOOKAHEAD", 1);
    opts.device = DAG_DEVICE_ANY;
    const char *d = getenv("DAG_LA_DEVICE");
    if (d && !strcmp(d, "cpu"))
        opts.device = DAG_DEVICE_CPU;
    else if (d && !strcmp(d, "cuda"))
        opts.device = DAG_DEVICE_CUDA;
    opts_ready = 1;
    openblas_set_num_threads(1);
}

const dag_la_options_t *la_opts(void)
{
    opts_init();
    return &opts;
}

void dag_la_get_options(dag_la_options_t *o) { *o = *la_opts(); }

void dag_la_set_options(const dag_la_options_t *o)
{
    opts_init();
    opts = *o;
}

int la_prio(int k, int j, int nt, int panel)
{
    const dag_la_options_t *o = la_opts();
    if (!o->priorities)
        return 0;
    if (panel)
        return 2 * (nt - k) + 2;
    if (j - k <= o->lookahead)
        return 2 * (nt - k) + 1;
    return 0;
}

dag_status_t la_submit(dag_task_fn fn, const void *args, size_t size, const dag_dep_t *deps,
                       int ndeps, const char *label, int prio, int node)
{
    dag_task_attr_t at;
    memset(&at, 0, sizeof at);
    at.label = label;
    at.file = __FILE__;
    at.priority = prio;
    if (node >= 0) {
        at.flags |= DAG_TASK_ON_NODE;
        at.node = node;
    }
    return dag_submit(fn, args, size, deps, (size_t)ndeps, &at);
}

dag_status_t la_wait(void) { return dag_taskwait(); }

dag_status_t la_finish(dag_status_t st, dag_matrix_t *flush)
{
    if (!st && flush)
        st = dag_dist_flush(flush);
    dag_status_t w = la_wait();
    return st ? st : w;
}

/* ---- descriptor ---- */

dag_status_t dag_la_create(dag_la_t **out, dag_la_type_t type, int m, int n, int mb, int nb,
                           const dag_dist_t *dist)
{
    if (!out)
        return la_invalid("dag_la_create: null result pointer");
    *out = NULL;
    if (type != DAG_LA_DOUBLE && type != DAG_LA_FLOAT)
        return la_invalid("dag_la_create: unknown element type %d", (int)type);
    if (m <= 0 || n <= 0 || mb <= 0 || nb <= 0)
        return la_invalid("dag_la_create: sizes must be positive (m=%d n=%d mb=%d nb=%d)", m,
                          n, mb, nb);
    la_opts();
    dag_la_t *a = calloc(1, sizeof *a);
    if (!a)
        return DAG_ERR_NOMEM;
    a->type = type;
    a->esize = type == DAG_LA_DOUBLE ? sizeof(double) : sizeof(float);
    a->m = m;
    a->n = n;
    a->mb = mb;
    a->nb = nb;
    a->mt = (m + mb - 1) / mb;
    a->nt = (n + nb - 1) / nb;
    if (dist)
        a->dist = *dist;
    else
        a->dist.kind = DAG_DIST_2D;
    a->layers = a->dist.kind == DAG_DIST_3D && a->dist.layers > 1 ? a->dist.layers : 1;
    dag_status_t st = dag_matrix_create(&a->tiles, a->mt, a->nt, la_tb(a), &a->dist);
    if (st != DAG_OK) {
        free(a);
        return st;
    }
    *out = a;
    return DAG_OK;
}

dag_status_t la_aux(dag_la_t *a, size_t bytes)
{
    if (a->aux && a->aux_bytes >= bytes)
        return DAG_OK;
    if (a->aux) {
        dag_taskwait();
        dag_matrix_destroy(a->aux);
        a->aux = NULL;
    }
    bytes = (bytes + 63) & ~(size_t)63;
    dag_status_t st = dag_matrix_create(&a->aux, a->mt, a->nt, bytes, &a->dist);
    if (st == DAG_OK)
        a->aux_bytes = bytes;
    return st;
}

/* ---- tiles kept on the GPU ---- */

/* Register (on) or unregister (off) this rank's tiles as resident device data. Off with
 * `keep` 0 (destroy) drops the device results unread: the host bytes are declared
 * current first, so unregistering copies nothing home. */
static dag_status_t resident(dag_la_t *a, int on, int keep)
{
    dag_status_t st = dag_taskwait();
    if (st != DAG_OK || !on == !a->resident)
        return st;
    int me = dag_rank();
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++) {
            if (dag_tile_owner(a->tiles, i, j) != me)
                continue;
            void *t = la_t(a, i, j);
            dag_status_t s = DAG_OK;
            if (on)
                s = dag_cuda_register_flags(t, la_tb(a), DAG_CUDA_RESIDENT);
            else {
                if (!keep)
                    dag_cuda_host_modified(t, la_tb(a));
                s = dag_cuda_unregister(t, la_tb(a));
            }
            if (s != DAG_OK && st == DAG_OK)
                st = s;
        }
    a->resident = on;
    return st;
}

dag_status_t dag_la_resident(dag_la_t *a, int on)
{
    if (!a)
        return la_invalid("dag_la_resident: null matrix");
    return resident(a, on, 1);
}

dag_status_t dag_la_destroy(dag_la_t *a)
{
    if (!a)
        return DAG_OK;
    dag_status_t st = resident(a, 0, 0);
    if (a->aux)
        dag_matrix_destroy(a->aux);
    if (a->tq)
        dag_matrix_destroy(a->tq);
    if (a->tt)
        dag_matrix_destroy(a->tt);
    if (a->piv)
        dag_matrix_destroy(a->piv);
    if (a->ht)
        dag_matrix_destroy(a->ht);
    if (a->hw)
        dag_matrix_destroy(a->hw);
    dag_matrix_destroy(a->tiles);
    free(a);
    return st;
}

int dag_la_rows(const dag_la_t *a) { return a->m; }
int dag_la_cols(const dag_la_t *a) { return a->n; }
dag_la_type_t dag_la_type_of(const dag_la_t *a) { return a->type; }
dag_matrix_t *dag_la_matrix(const dag_la_t *a) { return a->tiles; }
void *dag_la_tile(const dag_la_t *a, int i, int j) { return dag_tile(a->tiles, i, j); }

/* ---- fill / set / get ---- */

struct fill_args {
    dag_la_type_t t;
    int r0, c0, rows, cols, ld;
    dag_la_elem_fn f;
    void *user;
    void *tile;
};

static int task_fill(void *p)
{
    struct fill_args *a = p;
    for (int c = 0; c < a->cols; c++)
        for (int r = 0; r < a->rows; r++) {
            double v = a->f(a->r0 + r, a->c0 + c, a->user);
            if (a->t == DAG_LA_DOUBLE)
                ((double *)a->tile)[(size_t)c * a->ld + r] = v;
            else
                ((float *)a->tile)[(size_t)c * a->ld + r] = (float)v;
        }
    return 0;
}

dag_status_t dag_la_fill(dag_la_t *a, dag_la_elem_fn f, void *user)
{
    if (!a || !f)
        return la_invalid("dag_la_fill: null matrix or function");
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++) {
            struct fill_args fa = {a->type, i * a->mb, j * a->nb, la_mi(a, i), la_nj(a, j),
                                   a->mb, f, user, la_t(a, i, j)};
            dag_dep_t d = {fa.tile, la_tb(a), DAG_OUT};
            dag_status_t st = la_submit(task_fill, &fa, sizeof fa, &d, 1, "la_fill", 0, -1);
            if (st != DAG_OK)
                return st;
        }
    a->factored = 0;
    return la_wait();
}

struct copy_args {
    dag_la_type_t t;
    int rows, cols, lda, ldb;
    const void *src;
    void *dst;
};

static int task_copy(void *p)
{
    struct copy_args *a = p;
    k_lacpy(a->t, a->rows, a->cols, a->src, a->lda, a->dst, a->ldb);
    return 0;
}

dag_status_t dag_la_set(dag_la_t *a, const void *buf, int ld, int root)
{
    if (!a || (ld < a->m))
        return la_invalid("dag_la_set: ld %d < m %d", ld, a ? a->m : 0);
    if (!buf && (root < 0 || dag_rank() == root))
        return la_invalid("dag_la_set: null buffer on the rank that holds it");
    if (root >= dag_nranks() || root < -1)
        return la_invalid("dag_la_set: root %d out of range", root);
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++) {
            /* the buffer may exist on the root only (NULL elsewhere) */
            const char *src = buf ? (const char *)buf + ((size_t)j * a->nb * ld +
                                                         (size_t)i * a->mb) * a->esize
                                  : NULL;
            struct copy_args ca = {a->type, la_mi(a, i), la_nj(a, j), ld, a->mb, src,
                                   la_t(a, i, j)};
            dag_dep_t d = {ca.dst, la_tb(a), DAG_OUT};
            dag_status_t st =
                la_submit(task_copy, &ca, sizeof ca, &d, 1, "la_set", 0, root);
            if (st != DAG_OK)
                return st;
        }
    a->factored = 0;
    return la_finish(DAG_OK, root >= 0 ? a->tiles : NULL);
}

dag_status_t dag_la_get(const dag_la_t *a, void *buf, int ld, int root)
{
    if (!a || ld < a->m)
        return la_invalid("dag_la_get: ld %d < m %d", ld, a ? a->m : 0);
    if (root >= dag_nranks() || root < -1)
        return la_invalid("dag_la_get: root %d out of range", root);
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++) {
            dag_status_t st = dag_dist_fetch(la_t(a, i, j), la_tb(a), root);
            if (st != DAG_OK)
                return st;
        }
    dag_status_t st = la_wait();
    if (st != DAG_OK || (root >= 0 && dag_rank() != root))
        return st;
    int me = dag_rank(); /* this rank's resident tiles home first (others came by fetch) */
    for (int j = 0; j < a->nt && a->resident; j++)
        for (int i = 0; i < a->mt; i++)
            if (dag_tile_owner(a->tiles, i, j) == me &&
                (st = dag_cuda_host_sync(la_t(a, i, j), la_tb(a))) != DAG_OK)
                return st;
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++)
            k_lacpy(a->type, la_mi(a, i), la_nj(a, j), la_t(a, i, j), a->mb,
                    (char *)buf + ((size_t)j * a->nb * ld + (size_t)i * a->mb) * a->esize, ld);
    return DAG_OK;
}

/* ---- norms ---- */

struct norm_args {
    dag_la_type_t t;
    char kind;
    int rows, cols, ld;
    const void *tile;
    double *out; /* aux record: [0] max or sum of squares; [1..] column or row sums */
};

static double elem(dag_la_type_t t, const void *p, size_t k)
{
    return t == DAG_LA_DOUBLE ? ((const double *)p)[k] : ((const float *)p)[k];
}

static int task_norm(void *p)
{
    struct norm_args *a = p;
    double acc = 0;
    int nvec = a->kind == '1' ? a->cols : a->kind == 'I' ? a->rows : 0;
    memset(a->out, 0, sizeof(double) * (size_t)(1 + nvec));
    for (int c = 0; c < a->cols; c++)
        for (int r = 0; r < a->rows; r++) {
            double v = fabs(elem(a->t, a->tile, (size_t)c * a->ld + r));
            if (a->kind == 'M')
                acc = v > acc || isnan(v) ? v : acc;
            else if (a->kind == 'F')
                acc += v * v;
            else if (a->kind == '1')
                a->out[1 + c] += v;
            else
                a->out[1 + r] += v;
        }
    a->out[0] = acc;
    return 0;
}

dag_status_t dag_la_norm(const dag_la_t *ca, char kind, double *value)
{
    dag_la_t *a = (dag_la_t *)ca;
    if (!a || !value)
        return la_invalid("dag_la_norm: null argument");
    if (kind == 'm' || kind == 'f' || kind == 'i' || kind == 'E' || kind == 'e' || kind == 'O' ||
        kind == 'o')
        kind = kind == 'm' ? 'M' : kind == 'i' ? 'I' : (kind == 'O' || kind == 'o') ? '1' : 'F';
    if (kind != 'M' && kind != '1' && kind != 'I' && kind != 'F')
        return la_invalid("dag_la_norm: unknown norm '%c' (M, 1, I or F)", kind);
    size_t rec = sizeof(double) * (size_t)(1 + la_max(a->mb, a->nb));
    dag_status_t st = la_aux(a, rec);
    if (st != DAG_OK)
        return st;
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++) {
            struct norm_args na = {a->type, kind, la_mi(a, i), la_nj(a, j), a->mb,
                                   la_t(a, i, j), dag_tile(a->aux, i, j)};
            dag_dep_t d[2] = {{na.out, a->aux_bytes, DAG_OUT}, {(void *)na.tile, la_tb(a), DAG_IN}};
            if ((st = la_submit(task_norm, &na, sizeof na, d, 2, "la_norm", 0, -1)))
                return st;
        }
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++)
            if ((st = dag_dist_fetch(dag_tile(a->aux, i, j), a->aux_bytes, -1)))
                return st;
    if ((st = la_wait()))
        return st;
    double r = 0;
    double *vec = NULL;
    int nvec = kind == '1' ? a->n : kind == 'I' ? a->m : 0;
    if (nvec && !(vec = calloc((size_t)nvec, sizeof *vec)))
        return DAG_ERR_NOMEM;
    for (int j = 0; j < a->nt; j++)
        for (int i = 0; i < a->mt; i++) {
            const double *o = dag_tile(a->aux, i, j);
            if (kind == 'M')
                r = o[0] > r || isnan(o[0]) ? o[0] : r;
            else if (kind == 'F')
                r += o[0];
            else if (kind == '1')
                for (int c = 0; c < la_nj(a, j); c++)
                    vec[j * a->nb + c] += o[1 + c];
            else
                for (int c = 0; c < la_mi(a, i); c++)
                    vec[i * a->mb + c] += o[1 + c];
        }
    for (int k = 0; k < nvec; k++)
        r = vec[k] > r ? vec[k] : r;
    free(vec);
    *value = kind == 'F' ? sqrt(r) : r;
    return DAG_OK;
}
