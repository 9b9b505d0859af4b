/* reduce.c: task reductions (OpenMP task_reduction / in_reduction / taskloop reduction).
 * A reduction group is a taskgroup plus the reductions it declares; every participating
 * task gets its own private copy, initialised to the operator's identity (or by the
 * user's initializer), and the copies are combined into the originals once the
 * taskgroup has ended, by the thread that ends it. Active groups are kept in one list,
 * newest first, so that `in_reduction` finds the innermost group declaring a variable. */
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "reduce.h"

struct redcopy {
    struct redcopy *next;
    alignas(max_align_t) unsigned char data[];
};

struct redvar {
    dag_reduction_t r;
    struct redcopy *copies;
};

struct dag_redgroup {
    struct dag_redgroup *newer, *older; /* the active list */
    size_t n;
    struct redvar v[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct dag_redgroup *newest;

static size_t type_size(int type)
{
    switch (type) {
    case DAG_RED_BOOL: return sizeof(_Bool);
    case DAG_RED_CHAR: case DAG_RED_SCHAR: case DAG_RED_UCHAR: return 1;
    case DAG_RED_SHORT: case DAG_RED_USHORT: return sizeof(short);
    case DAG_RED_INT: case DAG_RED_UINT: return sizeof(int);
    case DAG_RED_LONG: case DAG_RED_ULONG: return sizeof(long);
    case DAG_RED_LLONG: case DAG_RED_ULLONG: return sizeof(long long);
    case DAG_RED_FLOAT: return sizeof(float);
    case DAG_RED_DOUBLE: return sizeof(double);
    case DAG_RED_LDOUBLE: return sizeof(long double);
    default: return 0;
    }
}

static int is_float(int type)
{
    return type == DAG_RED_FLOAT || type == DAG_RED_DOUBLE || type == DAG_RED_LDOUBLE;
}

static int valid(const dag_reduction_t *r)
{
    if (!r->orig || !r->size)
        return 0;
    if (r->op == DAG_RED_USER)
        return r->combine != NULL;
    if (r->op < DAG_RED_SUM || r->op > DAG_RED_LOR || type_size(r->type) != r->size)
        return 0;
    return !(is_float(r->type) && (r->op == DAG_RED_BAND || r->op == DAG_RED_BOR ||
                                   r->op == DAG_RED_BXOR));
}

/* out = out op in, for one built-in type T */
#define COMBINE(T)                                                                        \
    do {                                                                                  \
        T *o = out;                                                                       \
        const T *i = in;                                                                  \
        switch (op) {                                                                     \
        case DAG_RED_SUM: *o = (T)(*o + *i); break;                                       \
        case DAG_RED_PROD: *o = (T)(*o * *i); break;                                      \
        case DAG_RED_MIN: if (*i < *o) *o = *i; break;                                    \
        case DAG_RED_MAX: if (*i > *o) *o = *i; break;                                    \
        case DAG_RED_LAND: *o = (T)(*o && *i); break;                                     \
        case DAG_RED_LOR: *o = (T)(*o || *i); break;                                      \
        default: BITS(T); break;                                                          \
        }                                                                                 \
    } while (0)
#define BITS_INT(T)                                                                       \
    (op == DAG_RED_BAND ? (void)(*o = (T)(*o & *i))                                       \
     : op == DAG_RED_BOR ? (void)(*o = (T)(*o | *i)) : (void)(*o = (T)(*o ^ *i)))

static void combine(int op, int type, void *out, const void *in)
{
#define BITS(T) BITS_INT(T)
    switch (type) {
    case DAG_RED_BOOL: {
        /* in int, as C's arithmetic on _Bool is */
        int x = *(_Bool *)out, y = *(const _Bool *)in;
        combine(op, DAG_RED_INT, &x, &y);
        *(_Bool *)out = x != 0;
        return;
    }
    case DAG_RED_CHAR: COMBINE(char); return;
    case DAG_RED_SCHAR: COMBINE(signed char); return;
    case DAG_RED_UCHAR: COMBINE(unsigned char); return;
    case DAG_RED_SHORT: COMBINE(short); return;
    case DAG_RED_USHORT: COMBINE(unsigned short); return;
    case DAG_RED_INT: COMBINE(int); return;
    case DAG_RED_UINT: COMBINE(unsigned); return;
    case DAG_RED_LONG: COMBINE(long); return;
    case DAG_RED_ULONG: COMBINE(unsigned long); return;
    case DAG_RED_LLONG: COMBINE(long long); return;
    case DAG_RED_ULLONG: COMBINE(unsigned long long); return;
    default: break;
    }
#undef BITS
#define BITS(T) (void)0 /* rejected by valid() */
    switch (type) {
    case DAG_RED_FLOAT: COMBINE(float); return;
    case DAG_RED_DOUBLE: COMBINE(double); return;
    case DAG_RED_LDOUBLE: COMBINE(long double); return;
    default: return;
    }
#undef BITS
}

/* The operator's identity (min and max start from the original: they are idempotent). */
static void identity(const dag_reduction_t *r, void *priv)
{
    if (r->op == DAG_RED_USER) {
        if (r->init)
            r->init(priv, r->orig);
        else
            memset(priv, 0, r->size);
        return;
    }
    if (r->op == DAG_RED_MIN || r->op == DAG_RED_MAX) {
        memcpy(priv, r->orig, r->size);
        return;
    }
    if (r->op == DAG_RED_BAND) {
        memset(priv, 0xff, r->size);
        return;
    }
    memset(priv, 0, r->size); /* 0 of every built-in type */
    if (r->op == DAG_RED_PROD || r->op == DAG_RED_LAND) {
        /* one: 0 + 1 in the variable's own type */
        static const long double one_ld = 1.0L;
        static const double one_d = 1.0;
        static const float one_f = 1.0f;
        switch (r->type) {
        case DAG_RED_FLOAT: memcpy(priv, &one_f, sizeof one_f); break;
        case DAG_RED_DOUBLE: memcpy(priv, &one_d, sizeof one_d); break;
        case DAG_RED_LDOUBLE: memcpy(priv, &one_ld, sizeof one_ld); break;
        default: {
            unsigned long long one = 1; /* little or big endian: set the low byte */
            unsigned char b[sizeof one];
            memcpy(b, &one, sizeof one);
            if (b[0] == 1)
                ((unsigned char *)priv)[0] = 1;
            else
                ((unsigned char *)priv)[r->size - 1] = 1;
        }
        }
    }
}

dag_status_t dag_reduction_begin(const dag_reduction_t *r, size_t n, dag_redgroup_t **group)
{
    if (!group || (n && !r))
        return DAG_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!valid(&r[i]))
            return DAG_ERR_INVALID;
    struct dag_redgroup *g = calloc(1, sizeof *g + n * sizeof g->v[0]);
    if (!g)
        return DAG_ERR_NOMEM;
    g->n = n;
    for (size_t i = 0; i < n; i++)
        g->v[i].r = r[i];
    dag_status_t st = dag_taskgroup_begin();
    if (st) {
        free(g);
        return st;
    }
    pthread_mutex_lock(&lock);
    g->older = newest;
    if (newest)
        newest->newer = g;
    newest = g;
    pthread_mutex_unlock(&lock);
    *group = g;
    return DAG_OK;
}

dag_status_t redgroup_private(dag_redgroup_t *g, size_t i, void **priv)
{
    const dag_reduction_t *r = &g->v[i].r;
    struct redcopy *c = malloc(sizeof *c + r->size);
    if (!c)
        return DAG_ERR_NOMEM;
    identity(r, c->data);
    pthread_mutex_lock(&lock);
    c->next = g->v[i].copies;
    g->v[i].copies = c;
    pthread_mutex_unlock(&lock);
    *priv = c->data;
    return DAG_OK;
}

dag_status_t dag_reduction_private(void *orig, void **priv)
{
    if (!orig || !priv)
        return DAG_ERR_INVALID;
    pthread_mutex_lock(&lock);
    for (struct dag_redgroup *g = newest; g; g = g->older)
        for (size_t i = 0; i < g->n; i++)
            if (g->v[i].r.orig == orig) {
                pthread_mutex_unlock(&lock); /* g stays active while tasks of it run */
                return redgroup_private(g, i, priv);
            }
    pthread_mutex_unlock(&lock);
    return DAG_ERR_INVALID;
}

dag_status_t dag_reduction_end(dag_redgroup_t *g)
{
    if (!g)
        return DAG_ERR_INVALID;
    dag_status_t st = dag_taskgroup_end();
    pthread_mutex_lock(&lock);
    if (g->newer)
        g->newer->older = g->older;
    else
        newest = g->older;
    if (g->older)
        g->older->newer = g->newer;
    pthread_mutex_unlock(&lock);
    /* every participating task has completed: combine in creation order */
    for (size_t i = 0; i < g->n; i++) {
        const dag_reduction_t *r = &g->v[i].r;
        struct redcopy *rev = NULL;
        for (struct redcopy *c = g->v[i].copies, *nx; c; c = nx) {
            nx = c->next;
            c->next = rev;
            rev = c;
        }
        for (struct redcopy *c = rev, *nx; c; c = nx) {
            nx = c->next;
            if (st == DAG_OK) {
                if (r->op == DAG_RED_USER)
                    r->combine(r->orig, c->data);
                else
                    combine(r->op, r->type, r->orig, c->data);
            }
            free(c);
        }
    }
    free(g);
    return st;
}
