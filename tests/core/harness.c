/* harness.c: implementation of the shared test helpers of harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "../../runtime/core/hooks.h"
#include "../../runtime/core/runtime.h"

void rt_start(int nthreads)
{
    dag_config_t cfg = {.nthreads = nthreads, .bind = DAG_BIND_NONE};
    ck_assert_int_eq(dag_init(&cfg), DAG_OK);
    ck_assert_int_eq(dag_num_threads(), nthreads);
    /* tests/gpu/run.sh: the suite must run through the CUDA layer (the plugin loaded) */
    const char *dev = getenv("DAG_TEST_EXPECT_DEVICE");
    if (dev && atoi(dev))
        ck_assert_msg(rt.dev != NULL, "DAG_TEST_EXPECT_DEVICE: no device layer installed");
}

void rt_stop(void)
{
    ck_assert_int_eq(dag_finalize(), DAG_OK);
}

void gate_wait(gate_t *g)
{
    while (!atomic_load(&g->open))
        sched_yield();
}

void gate_open(gate_t *g)
{
    atomic_store(&g->open, 1);
}

#define REC_MAX 4096
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rec_ids[REC_MAX];
static int rec_n;
static struct {
    int pred, succ;
} rec_edges[REC_MAX];
static int rec_ne;

static int rec_index(uint64_t id)
{
    for (int i = 0; i < rec_n; i++)
        if (rec_ids[i] == id)
            return i;
    return -1;
}

static void on_submit(struct tctx *c, struct task *t)
{
    (void)c;
    pthread_mutex_lock(&rec_lock);
    if (rec_n < REC_MAX)
        rec_ids[rec_n++] = t->id;
    pthread_mutex_unlock(&rec_lock);
}

/* Edges are added before the successor's submit hook runs: the successor is the task
 * being submitted, numbered next. */
static void on_edge(struct task *p, struct task *s)
{
    pthread_mutex_lock(&rec_lock);
    int a = rec_index(p->id);
    int b = rec_index(s->id);
    if (b < 0)
        b = rec_n; /* the task being submitted */
    if (a >= 0 && rec_ne < REC_MAX) {
        rec_edges[rec_ne].pred = a;
        rec_edges[rec_ne].succ = b;
        rec_ne++;
    }
    pthread_mutex_unlock(&rec_lock);
}

static const struct rt_hooks rec_hooks = {.task_submit = on_submit, .task_edge = on_edge};

void rec_install(void)
{
    rec_reset();
    rt.hooks = &rec_hooks;
}

void rec_uninstall(void)
{
    rt.hooks = NULL;
}

void rec_reset(void)
{
    pthread_mutex_lock(&rec_lock);
    rec_n = rec_ne = 0;
    pthread_mutex_unlock(&rec_lock);
}

int rec_edge(int pred, int succ)
{
    pthread_mutex_lock(&rec_lock);
    int found = 0;
    for (int i = 0; i < rec_ne; i++)
        if (rec_edges[i].pred == pred && rec_edges[i].succ == succ)
            found = 1;
    pthread_mutex_unlock(&rec_lock);
    return found;
}

int rec_nsubmitted(void)
{
    return rec_n;
}

int rec_nedges(void)
{
    return rec_ne;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
