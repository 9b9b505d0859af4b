/* test_taskloop.c: dag_taskloop (iteration counts of every loop shape against the
 * sequential loop, chunking by grainsize / strict grainsize / num_tasks / default, every
 * iteration run once, nogroup, reductions), task reductions (dag_reduction_begin /
 * private / end with built-in and user operators), event handles, dependence objects
 * and taskyield. Randomised cases are compared with sequential execution. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The sequential count of `for (v = lb; v rel ub; v += st)` in long long. */
static unsigned long long seq_count(long long lb, long long ub, long long st, int rel)
{
    unsigned long long n = 0;
    for (long long v = lb;; v += st) {
        int go = rel == DAG_LOOP_LT ? v < ub : rel == DAG_LOOP_LE ? v <= ub
                 : rel == DAG_LOOP_GT ? v > ub : rel == DAG_LOOP_GE ? v >= ub : v != ub;
        if (!go)
            break;
        n++;
    }
    return n;
}

START_TEST(test_count_random)
{
    srand(12345);
    for (int it = 0; it < 20000; it++) {
        int rel = 1 + rand() % 5;
        long long lb = rand() % 2001 - 1000, st = 1 + rand() % 17;
        long long ub = lb + rand() % 3001 - 1000;
        if (rel == DAG_LOOP_GT || rel == DAG_LOOP_GE)
            st = -st;
        if (rel == DAG_LOOP_NE) {
            /* a != loop must reach ub exactly */
            long long k = rand() % 200;
            st = rand() % 2 ? st : -st;
            ub = lb + k * st;
        }
        dag_taskloop_t L = {(unsigned long long)lb, (unsigned long long)ub, st, rel,
                            DAG_TASKLOOP_SIGNED, 0, 0, NULL, 0};
        ck_assert_uint_eq(dag_loop_count(&L), seq_count(lb, ub, st, rel));
    }
    /* unsigned bounds above LLONG_MAX */
    dag_taskloop_t U = {0, ~0ull, 1ll << 62, DAG_LOOP_LT, 0, 0, 0, NULL, 0};
    ck_assert_uint_eq(dag_loop_count(&U), 4);
    dag_taskloop_t S = {(unsigned long long)-5ll, 5, 1, DAG_LOOP_LT, 0, 0, 0, NULL, 0};
    ck_assert_uint_eq(dag_loop_count(&S), 0); /* unsigned: -5 is huge */
    S.flags = DAG_TASKLOOP_SIGNED;
    ck_assert_uint_eq(dag_loop_count(&S), 10);
    dag_taskloop_t Z = {0, 10, 0, DAG_LOOP_LT, DAG_TASKLOOP_SIGNED, 0, 0, NULL, 0};
    ck_assert_uint_eq(dag_loop_count(&Z), 0);
}
END_TEST

struct body_args {
    long long lb, st;
    int *hits;        /* per iteration */
    atomic_int *ntasks;
    unsigned long long *sizes; /* chunk sizes, by chunk start */
    dag_loop_range_t range;
};

static int body(void *p)
{
    struct body_args *a = p;
    atomic_fetch_add(a->ntasks, 1);
    a->sizes[a->range.first] = a->range.last - a->range.first;
    for (unsigned long long k = a->range.first; k < a->range.last; k++)
        a->hits[k]++;
    return 0;
}

static void run_shape(unsigned long long n, unsigned flags, unsigned long long value,
                      unsigned long long *ntasks_out, unsigned long long *minc,
                      unsigned long long *maxc, unsigned long long *lastc)
{
    int *hits = calloc(n + 1, sizeof *hits);
    unsigned long long *sizes = calloc(n + 1, sizeof *sizes);
    atomic_int nt = 0;
    struct body_args a = {0, 1, hits, &nt, sizes, {0, 0}};
    dag_taskloop_t L = {0, n, 1, DAG_LOOP_LT, DAG_TASKLOOP_SIGNED | flags, value,
                        offsetof(struct body_args, range), NULL, 0};
    ck_assert_int_eq(dag_taskloop(body, &a, sizeof a, &L, NULL), DAG_OK);
    if (flags & DAG_TASKLOOP_NOGROUP)
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
    for (unsigned long long k = 0; k < n; k++)
        ck_assert_int_eq(hits[k], 1);
    *minc = ~0ull;
    *maxc = 0;
    *lastc = 0;
    for (unsigned long long k = 0; k < n; k++)
        if (sizes[k]) {
            *minc = sizes[k] < *minc ? sizes[k] : *minc;
            *maxc = sizes[k] > *maxc ? sizes[k] : *maxc;
            *lastc = sizes[k];
        }
    *ntasks_out = (unsigned long long)atomic_load(&nt);
    free(hits);
    free(sizes);
}

START_TEST(test_chunking)
{
    rt_start(4);
    srand(777);
    for (int it = 0; it < 300; it++) {
        unsigned long long n = (unsigned long long)(rand() % 5000), v = 1 + rand() % 300;
        unsigned long long nt, mn, mx, last;
        /* grainsize: n / v tasks (at least one), each of at least v (when n >= v) */
        run_shape(n, DAG_TASKLOOP_GRAINSIZE, v, &nt, &mn, &mx, &last);
        ck_assert_uint_eq(nt, n / v ? n / v : (n > 0));
        if (n >= v)
            ck_assert(mn >= v && mx < 2 * v && mx - mn <= 1);
        /* strict: exactly v but the last */
        run_shape(n, DAG_TASKLOOP_GRAINSIZE | DAG_TASKLOOP_STRICT, v, &nt, &mn, &mx, &last);
        ck_assert_uint_eq(nt, (n + v - 1) / v);
        if (n > v)
            ck_assert(mx == v && last == (n % v ? n % v : v));
        /* num_tasks: min(v, n) even chunks */
        run_shape(n, DAG_TASKLOOP_NUM_TASKS, v, &nt, &mn, &mx, &last);
        ck_assert_uint_eq(nt, v < n ? v : n);
        if (n)
            ck_assert(mx - mn <= 1);
        /* default: 4 x workers */
        run_shape(n, 0, 0, &nt, &mn, &mx, &last);
        ck_assert_uint_eq(nt, n < 16 ? n : 16);
        run_shape(n, DAG_TASKLOOP_NOGROUP | DAG_TASKLOOP_NUM_TASKS, v, &nt, &mn, &mx, &last);
        ck_assert_uint_eq(nt, v < n ? v : n);
    }
    rt_stop();
}
END_TEST

START_TEST(test_invalid)
{
    rt_start(2);
    struct body_args a;
    memset(&a, 0, sizeof a);
    dag_taskloop_t L = {0, 10, 0, DAG_LOOP_LT, 0, 0, offsetof(struct body_args, range),
                        NULL, 0};
    ck_assert_int_eq(dag_taskloop(body, &a, sizeof a, &L, NULL), DAG_ERR_INVALID);
    L.step = 1;
    L.range_offset = sizeof a; /* past the block */
    ck_assert_int_eq(dag_taskloop(body, &a, sizeof a, &L, NULL), DAG_ERR_INVALID);
    L.range_offset = 0;
    L.rel = 9;
    ck_assert_int_eq(dag_taskloop(body, &a, sizeof a, &L, NULL), DAG_ERR_INVALID);
    long x = 0;
    dag_reduction_t r = {&x, sizeof x, DAG_RED_SUM, DAG_RED_LONG, NULL, NULL, 0};
    L.rel = DAG_LOOP_LT;
    L.red = &r;
    L.nred = 1;
    L.flags = DAG_TASKLOOP_NOGROUP; /* reduction needs the group */
    ck_assert_int_eq(dag_taskloop(body, &a, sizeof a, &L, NULL), DAG_ERR_INVALID);
    dag_reduction_t bad = {&x, sizeof x, DAG_RED_BXOR, DAG_RED_DOUBLE, NULL, NULL, 0};
    dag_redgroup_t *g;
    ck_assert_int_eq(dag_reduction_begin(&bad, 1, &g), DAG_ERR_INVALID);
    bad.type = DAG_RED_INT; /* size mismatch with long on LP64 */
    if (sizeof(int) != sizeof(long))
        ck_assert_int_eq(dag_reduction_begin(&bad, 1, &g), DAG_ERR_INVALID);
    void *priv;
    ck_assert_int_eq(dag_reduction_private(&x, &priv), DAG_ERR_INVALID); /* no group */
    rt_stop();
}
END_TEST

/* taskloop reduction: sum, product-free min/max and xor over random data */
struct red_args {
    const long *data;
    long *sum, *mn, *mx;
    unsigned long *xr;
    dag_loop_range_t range;
};

static int red_body(void *p)
{
    struct red_args *a = p;
    for (unsigned long long k = a->range.first; k < a->range.last; k++) {
        *a->sum += a->data[k];
        *a->mn = a->data[k] < *a->mn ? a->data[k] : *a->mn;
        *a->mx = a->data[k] > *a->mx ? a->data[k] : *a->mx;
        *a->xr ^= (unsigned long)a->data[k];
    }
    return 0;
}

START_TEST(test_taskloop_reduction)
{
    rt_start(4);
    srand(99);
    for (int it = 0; it < 50; it++) {
        size_t n = 1 + (size_t)(rand() % 200000);
        long *d = malloc(n * sizeof *d);
        long ssum = 7, smn = 1000, smx = -1000;
        unsigned long sxr = 3;
        for (size_t i = 0; i < n; i++) {
            d[i] = rand() % 100001 - 50000;
            ssum += d[i];
            smn = d[i] < smn ? d[i] : smn;
            smx = d[i] > smx ? d[i] : smx;
            sxr ^= (unsigned long)d[i];
        }
        long sum = 7, mn = 1000, mx = -1000;
        unsigned long xr = 3;
        struct red_args a = {d, NULL, NULL, NULL, NULL, {0, 0}};
        dag_reduction_t r[4] = {
            {&sum, sizeof sum, DAG_RED_SUM, DAG_RED_TYPE_OF(sum), NULL, NULL,
             offsetof(struct red_args, sum)},
            {&mn, sizeof mn, DAG_RED_MIN, DAG_RED_TYPE_OF(mn), NULL, NULL,
             offsetof(struct red_args, mn)},
            {&mx, sizeof mx, DAG_RED_MAX, DAG_RED_TYPE_OF(mx), NULL, NULL,
             offsetof(struct red_args, mx)},
            {&xr, sizeof xr, DAG_RED_BXOR, DAG_RED_TYPE_OF(xr), NULL, NULL,
             offsetof(struct red_args, xr)}};
        dag_taskloop_t L = {0, n, 1, DAG_LOOP_LT, DAG_TASKLOOP_SIGNED | DAG_TASKLOOP_GRAINSIZE,
                            (unsigned long long)(1 + rand() % 5000),
                            offsetof(struct red_args, range), r, 4};
        ck_assert_int_eq(dag_taskloop(red_body, &a, sizeof a, &L, NULL), DAG_OK);
        ck_assert_int_eq(sum, ssum);
        ck_assert_int_eq(mn, smn);
        ck_assert_int_eq(mx, smx);
        ck_assert_uint_eq(xr, sxr);
        free(d);
    }
    rt_stop();
}
END_TEST

/* taskgroup task_reduction + in_reduction tasks, user-defined operator on a struct */
typedef struct {
    double re, im;
} cplx;

static void cmul(void *out, const void *in)
{
    cplx *o = out;
    const cplx *i = in;
    cplx r = {o->re * i->re - o->im * i->im, o->re * i->im + o->im * i->re};
    *o = r;
}

static void cone(void *priv, const void *orig)
{
    (void)orig;
    *(cplx *)priv = (cplx){1, 0};
}

struct inred_args {
    long *count;
    cplx *prod;
    double *prodf;
    long v;
};

static int inred_task(void *p)
{
    struct inred_args *a = p;
    *a->count += a->v;
    cplx f = {0, 1}; /* i */
    cmul(a->prod, &f);
    *a->prodf *= 2.0;
    return 0;
}

struct spawner_args {
    long *count;
    cplx *prod;
    double *prodf;
    int n;
};

/* creates in_reduction tasks from a descendant task, on any worker */
static int spawner(void *p)
{
    struct spawner_args *s = p;
    for (int i = 0; i < s->n; i++) {
        struct inred_args a = {NULL, NULL, NULL, i};
        ck_assert_int_eq(dag_reduction_private(s->count, (void **)&a.count), DAG_OK);
        ck_assert_int_eq(dag_reduction_private(s->prod, (void **)&a.prod), DAG_OK);
        ck_assert_int_eq(dag_reduction_private(s->prodf, (void **)&a.prodf), DAG_OK);
        ck_assert_int_eq(dag_submit(inred_task, &a, sizeof a, NULL, 0, NULL), DAG_OK);
    }
    return 0;
}

START_TEST(test_task_reduction)
{
    rt_start(3);
    for (int it = 0; it < 40; it++) {
        long count = 5;
        cplx prod = {1, 0};
        double prodf = 1;
        dag_reduction_t r[3] = {
            {&count, sizeof count, DAG_RED_SUM, DAG_RED_TYPE_OF(count), NULL, NULL, 0},
            {&prod, sizeof prod, DAG_RED_USER, 0, cmul, cone, 0},
            {&prodf, sizeof prodf, DAG_RED_PROD, DAG_RED_TYPE_OF(prodf), NULL, NULL, 0}};
        dag_redgroup_t *g;
        ck_assert_int_eq(dag_reduction_begin(r, 3, &g), DAG_OK);
        int nsp = 1 + it % 4, per = 1 + (it * 7) % 40;
        for (int s = 0; s < nsp; s++) {
            struct spawner_args sa = {&count, &prod, &prodf, per};
            ck_assert_int_eq(dag_submit(spawner, &sa, sizeof sa, NULL, 0, NULL), DAG_OK);
        }
        ck_assert_int_eq(dag_reduction_end(g), DAG_OK);
        long total = nsp * (long)per;
        ck_assert_int_eq(count, 5 + nsp * (long)per * (per - 1) / 2);
        /* i^total */
        static const cplx pw[4] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        ck_assert(prod.re == pw[total % 4].re && prod.im == pw[total % 4].im);
        ck_assert(prodf == __builtin_ldexp(1.0, (int)total));
    }
    rt_stop();
}
END_TEST

/* nested groups on one variable: in_reduction finds the innermost */
START_TEST(test_nested_groups)
{
    rt_start(2);
    int x = 0, y = 0;
    dag_reduction_t rx = {&x, sizeof x, DAG_RED_SUM, DAG_RED_INT, NULL, NULL, 0};
    dag_reduction_t ry = {&y, sizeof y, DAG_RED_SUM, DAG_RED_INT, NULL, NULL, 0};
    dag_redgroup_t *outer, *inner;
    ck_assert_int_eq(dag_reduction_begin(&rx, 1, &outer), DAG_OK);
    int *px, *py;
    ck_assert_int_eq(dag_reduction_private(&x, (void **)&px), DAG_OK);
    *px += 10;
    ck_assert_int_eq(dag_reduction_begin(&ry, 1, &inner), DAG_OK);
    ck_assert_int_eq(dag_reduction_private(&y, (void **)&py), DAG_OK);
    *py += 3;
    ck_assert_int_eq(dag_reduction_private(&x, (void **)&px), DAG_OK); /* the outer's */
    *px += 1;
    ck_assert_int_eq(dag_reduction_end(inner), DAG_OK);
    ck_assert_int_eq(y, 3);
    ck_assert_int_eq(x, 0);
    ck_assert_int_eq(dag_reduction_end(outer), DAG_OK);
    ck_assert_int_eq(x, 11);
    rt_stop();
}
END_TEST

/* event handles: fulfilled before the task even starts, and from another task */
static int detached_body(void *p)
{
    (void)p;
    return 0;
}

static int after(void *p)
{
    *(int *)*(int **)p = 1;
    return 0;
}

START_TEST(test_event_handles)
{
    rt_start(2);
    for (int it = 0; it < 200; it++) {
        static int token, done;
        done = 0;
        dag_event_t *h;
        ck_assert_int_eq(dag_event_handle_new(&h), DAG_OK);
        dag_dep_t w = {&token, sizeof token, DAG_OUT}, r = {&token, sizeof token, DAG_IN};
        dag_task_attr_t at = {.flags = DAG_TASK_DETACHABLE, .event = h};
        ck_assert_int_eq(dag_submit(detached_body, NULL, 0, &w, 1, &at), DAG_OK);
        int *pd = &done;
        ck_assert_int_eq(dag_submit(after, &pd, sizeof pd, &r, 1, NULL), DAG_OK);
        ck_assert_int_eq(done, 0); /* waits for the event */
        ck_assert_int_eq(dag_event_handle_fulfill(h, 0), DAG_OK);
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        ck_assert_int_eq(done, 1);
    }
    dag_event_t *h;
    ck_assert_int_eq(dag_event_handle_new(&h), DAG_OK);
    ck_assert_int_eq(dag_event_handle_fulfill(h, 0), DAG_ERR_INVALID); /* no task */
    free(h);
    rt_stop();
}
END_TEST

/* dependence objects order tasks like the dependence they hold */
static int append(void *p)
{
    int **a = p;
    int *log = a[0];
    log[++log[0]] = *a[1];
    return 0;
}

START_TEST(test_depobj)
{
    rt_start(4);
    for (int it = 0; it < 100; it++) {
        int log[64] = {0}, vals[32];
        double x;
        dag_depobj_t o;
        dag_dep_t d = {&x, sizeof x, DAG_INOUT};
        ck_assert_int_eq(dag_depobj_init(&o, &d), DAG_OK);
        for (int i = 0; i < 32; i++) {
            vals[i] = i;
            int *a[2] = {log, &vals[i]};
            dag_dep_t dd = dag_depobj_dep(o);
            ck_assert_int_eq(dag_submit(append, a, sizeof a, &dd, 1, NULL), DAG_OK);
        }
        ck_assert_int_eq(dag_taskwait(), DAG_OK);
        for (int i = 0; i < 32; i++)
            ck_assert_int_eq(log[i + 1], i); /* inout: in order */
        ck_assert_int_eq(dag_depobj_update(o, DAG_IN), DAG_OK);
        ck_assert_uint_eq(dag_depobj_dep(o).mode, DAG_IN);
        ck_assert_int_eq(dag_depobj_update(o, 77), DAG_ERR_INVALID);
        ck_assert_int_eq(dag_depobj_destroy(&o), DAG_OK);
        ck_assert_ptr_null(o);
    }
    dag_dep_t bad = {NULL, 0, 0};
    dag_depobj_t o;
    ck_assert_int_eq(dag_depobj_init(&o, &bad), DAG_ERR_INVALID);
    rt_stop();
}
END_TEST

static atomic_int yielded_child_ran;

static int yield_child(void *p)
{
    (void)p;
    atomic_store(&yielded_child_ran, 1);
    return 0;
}

START_TEST(test_taskyield)
{
    rt_start(1); /* one worker: only taskyield can run the child before the wait */
    atomic_store(&yielded_child_ran, 0);
    dag_task_attr_t prio = {.priority = 1}; /* queued, not run at once */
    ck_assert_int_eq(dag_submit(yield_child, NULL, 0, NULL, 0, &prio), DAG_OK);
    ck_assert_int_eq(atomic_load(&yielded_child_ran), 0);
    ck_assert_int_eq(dag_taskyield(), DAG_OK);
    ck_assert_int_eq(atomic_load(&yielded_child_ran), 1);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(atomic_load(&yielded_child_ran), 1);
    rt_stop();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("taskloop");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_count_random);
    tcase_add_test(tc, test_chunking);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_taskloop_reduction);
    tcase_add_test(tc, test_task_reduction);
    tcase_add_test(tc, test_nested_groups);
    tcase_add_test(tc, test_event_handles);
    tcase_add_test(tc, test_depobj);
    tcase_add_test(tc, test_taskyield);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(make_suite());
}
