/* test_internals.c: white-box tests of the runtime's data structures against simple
 * references: the interval treap (random inserts, removals and overlap queries checked
 * against a brute-force scan), the Chase-Lev deque (an owner pushing and taking while
 * thieves steal: every item is obtained exactly once) and the object pools (objects
 * moving between threads through the depot are never handed out twice), and the
 * announcement of distributed matrices to a device layer (rt.host) that starts after
 * they were created: each matrix's tiles announced once, whichever comes first, and the
 * layer asked to start before the distributed layer takes its lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <dag/dist.h>

#include "harness.h"
#include "comm/comm.h"
#include "core/interval.h"
#include "core/plugin.h"
#include "core/runtime.h"
#include "mem/pool.h"
#include "sched/deque.h"

/* ---- interval treap ------------------------------------------------------------------ */

#define NIV 2000

struct ivq {
    unsigned char seen[NIV];
    struct ivnode *base;
    uintptr_t last_lo;
    int sorted;
};

static void iv_collect(struct ivnode *n, void *arg)
{
    struct ivq *q = arg;
    ptrdiff_t i = n - q->base;
    if (i < 0 || i >= NIV || q->seen[i]) /* (plain tests: Check's asserts are slow in loops) */
        ck_abort_msg("query reported a foreign node or one node twice");
    q->seen[i] = 1;
    if (n->lo < q->last_lo)
        q->sorted = 0;
    q->last_lo = n->lo;
}

START_TEST(test_interval_vs_bruteforce)
{
    static struct ivnode nodes[NIV];
    unsigned char in[NIV] = {0};
    struct ivtree tree = {NULL, 1};
    srand(42 + (unsigned)_i);
    for (int step = 0; step < 40000; step++) {
        int i = rand() % NIV;
        if (!in[i]) {
            uintptr_t lo = (uintptr_t)(rand() % 10000);
            uintptr_t hi = lo + 1 + (uintptr_t)(rand() % (rand() % 4 ? 50 : 3000));
            int dup = 0; /* the runtime keeps one record per exact range: keys are unique */
            for (int k = 0; k < NIV && !dup; k++)
                dup = in[k] && nodes[k].lo == lo && nodes[k].hi == hi;
            if (dup)
                continue;
            nodes[i].lo = lo;
            nodes[i].hi = hi;
            iv_insert(&tree, &nodes[i]);
            in[i] = 1;
        } else if (rand() % 3 == 0) {
            iv_remove(&tree, &nodes[i]);
            in[i] = 0;
        }
        if (step % 7 == 0) {
            uintptr_t lo = (uintptr_t)(rand() % 10500), hi = lo + 1 + (uintptr_t)(rand() % 400);
            struct ivq q = {.base = nodes, .sorted = 1};
            iv_query(&tree, lo, hi, iv_collect, &q);
            ck_assert(q.sorted);
            for (int k = 0; k < NIV; k++) {
                int overlap = in[k] && nodes[k].lo < hi && lo < nodes[k].hi;
                if (q.seen[k] != overlap)
                    ck_abort_msg("step %d: node %d [%lu,%lu) query [%lu,%lu)",
                              step, k, (unsigned long)nodes[k].lo, (unsigned long)nodes[k].hi,
                              (unsigned long)lo, (unsigned long)hi);
            }
        }
    }
}
END_TEST

/* ---- Chase-Lev deque ---------------------------------------------------------------- */

#define NITEMS 2000000
#define NTHIEVES 3

static struct deque dq;
static atomic_int done_pushing;
static atomic_uchar *got;

static void claim(struct task *x)
{
    uintptr_t v = (uintptr_t)x >> 4;
    if (v < 1 || v > NITEMS)
        ck_abort_msg("foreign item %lu", (unsigned long)v);
    if (atomic_fetch_add_explicit(&got[v - 1], 1, memory_order_relaxed))
        ck_abort_msg("item %lu obtained twice", (unsigned long)v);
}

static void *thief(void *arg)
{
    long *count = arg;
    for (;;) {
        struct task *x = deque_steal(&dq);
        if (x == DEQUE_ABORT)
            continue;
        if (x) {
            claim(x);
            (*count)++;
        } else if (atomic_load(&done_pushing) && deque_size(&dq) == 0) {
            return NULL;
        }
    }
}

START_TEST(test_deque_concurrent)
{
    got = calloc(NITEMS, 1);
    ck_assert_int_eq(deque_init(&dq), 0);
    atomic_store(&done_pushing, 0);
    pthread_t th[NTHIEVES];
    long stolen[NTHIEVES] = {0};
    for (int i = 0; i < NTHIEVES; i++)
        pthread_create(&th[i], NULL, thief, &stolen[i]);
    long taken = 0;
    for (uintptr_t v = 1; v <= NITEMS; v++) {
        if (deque_push(&dq, (struct task *)(v << 4)))
            ck_abort_msg("deque_push failed");
        if (v % 3 == 0) { /* the owner takes some back: races on the last element */
            struct task *x = deque_take(&dq);
            if (x) {
                claim(x);
                taken++;
            }
        }
    }
    struct task *x;
    while ((x = deque_take(&dq)) != NULL) {
        claim(x);
        taken++;
    }
    atomic_store(&done_pushing, 1);
    long total = taken;
    for (int i = 0; i < NTHIEVES; i++) {
        pthread_join(th[i], NULL);
        total += stolen[i];
    }
    ck_assert_int_eq(total, NITEMS);
    for (long i = 0; i < NITEMS; i++)
        if (got[i] != 1)
            ck_abort_msg("item %ld obtained %d times", i + 1, got[i]);
    deque_destroy(&dq);
    free(got);
}
END_TEST

/* ---- pools ---------------------------------------------------------------------------- */

#define POOL_OBJS 20000
static struct pool pl;

struct obj {
    void *link[2];
    atomic_int owner;
    char pad[40];
};

static void *pool_worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    struct pool_cache cache = {0};
    static _Thread_local struct obj *held[POOL_OBJS];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < POOL_OBJS; i++) {
            held[i] = pool_get(&pl, &cache);
            int expected = 0;
            /* nobody else holds it */
            if (!held[i] || !atomic_compare_exchange_strong(&held[i]->owner, &expected, me))
                ck_abort_msg("pool handed out an object twice (or none)");
        }
        for (int i = 0; i < POOL_OBJS; i++) {
            atomic_store(&held[i]->owner, 0);
            pool_put(&pl, &cache, held[i]);
        }
    }
    pool_flush(&pl, &cache);
    return NULL;
}

START_TEST(test_pool_threads)
{
    pool_init(&pl, sizeof(struct obj));
    pthread_t th[4];
    for (intptr_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, pool_worker, (void *)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    pool_destroy(&pl);
}
END_TEST

/* ---- matrices announced to a device layer that starts late ---------------------------- */

static int keeps, releases;
static size_t kept_bytes;
static void fake_keep(void *b, size_t len)
{
    (void)b;
    keeps++, kept_bytes += len;
}
static void fake_release(void *b, size_t len, int gone)
{
    (void)b, (void)len;
    releases += gone;
}
static const struct rt_host_ops fake_host = {.host_keep = fake_keep, .host_release = fake_release};

/* The distributed layer sees a task under its lock; a task that may use the GPU must have
 * started the CUDA layer before (its start announces the matrices under that lock: asked
 * from inside, it waited for itself, and the first CUDA task of an MPI run hung). */
static int saw_decided = -1;
static rt_interpose_fn prev_interpose;
static dag_status_t fake_interpose(struct tctx *c, dag_task_fn fn, const void *args,
                                   size_t size, const dag_dep_t *deps, size_t ndeps,
                                   const dag_task_attr_t *attr)
{
    (void)c;
    if (attr && attr->cuda)
        saw_decided = plugin_cuda_decided();
    return task_submit_local(fn, args, size, deps, ndeps, attr);
}
static int nop_body(void *p)
{
    (void)p;
    return 0;
}
static int nop_cuda(void *p, struct dag_cuda_ctx *ctx)
{
    (void)p, (void)ctx;
    return 0;
}

START_TEST(test_cuda_start_outside_flow)
{
    ck_assert_int_eq(dag_init(NULL), DAG_OK);
    prev_interpose = rt.interpose;
    rt.interpose = fake_interpose;
    ck_assert_int_eq(plugin_cuda_decided(), 0);
    dag_task_attr_t cpu = {.label = "cpu only"};
    ck_assert_int_eq(dag_submit(nop_body, NULL, 0, NULL, 0, &cpu), DAG_OK);
    ck_assert_int_eq(plugin_cuda_decided(), 0); /* a CPU task does not start the layer */
    dag_task_attr_t gpu = {.label = "with a CUDA variant", .cuda = nop_cuda};
    saw_decided = -1;
    ck_assert_int_eq(dag_submit(nop_body, NULL, 0, NULL, 0, &gpu), DAG_OK);
    rt.interpose = prev_interpose; /* before the wait: that of a distributed run */
    ck_assert_int_eq(saw_decided, 1);
    ck_assert_int_eq(dag_taskwait(), DAG_OK);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}
END_TEST

START_TEST(test_host_announce)
{
    ck_assert_int_eq(dag_init(NULL), DAG_OK);
    ck_assert_ptr_null(rt.host); /* no device layer in this build's tests */
    dag_dist_t d = {.kind = DAG_DIST_2D};
    dag_matrix_t *a, *b;
    keeps = releases = 0, kept_bytes = 0;
    ck_assert_int_eq(dag_matrix_create(&a, 3, 2, 5000, &d), DAG_OK); /* before the layer */
    ck_assert_int_eq(keeps, 0);
    __atomic_store_n(&rt.host, &fake_host, __ATOMIC_RELEASE); /* the layer starts */
    dist_host_announce();
    ck_assert_int_eq(keeps, 1);
    ck_assert_uint_ge(kept_bytes, (size_t)6 * 5000);
    ck_assert_int_eq(dag_matrix_create(&b, 1, 1, 100, &d), DAG_OK); /* after it */
    ck_assert_int_eq(keeps, 2);
    dist_host_announce(); /* again: nothing announced twice */
    ck_assert_int_eq(keeps, 2);
    ck_assert_int_eq(dag_matrix_destroy(a), DAG_OK);
    ck_assert_int_eq(dag_matrix_destroy(b), DAG_OK);
    ck_assert_int_eq(releases, 2);
    __atomic_store_n(&rt.host, (const struct rt_host_ops *)NULL, __ATOMIC_RELEASE);
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internals");
    TCase *iv = tcase_create("interval"), *dq = tcase_create("deque"), *po = tcase_create("pool");
    tcase_set_timeout(iv, 120);
    tcase_set_timeout(dq, 120);
    tcase_set_timeout(po, 120);
    tcase_add_loop_test(iv, test_interval_vs_bruteforce, 0, 3);
    tcase_add_test(dq, test_deque_concurrent);
    tcase_add_test(po, test_pool_threads);
    suite_add_tcase(s, iv);
    suite_add_tcase(s, dq);
    suite_add_tcase(s, po);
    TCase *ha = tcase_create("host_announce");
    tcase_add_test(ha, test_host_announce);
    tcase_add_test(ha, test_cuda_start_outside_flow);
    suite_add_tcase(s, ha);
    return run_suite(s);
}
