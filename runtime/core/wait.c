/* wait.c: the synchronisation constructs: taskwait, taskwait on data, taskgroups.
 * Every wait runs other tasks while its condition is false (sched_wait) and then
 * reports the first unreported failure among what it waited for. */
#include <stdlib.h>

#include "deps.h"
#include "runtime.h"
#include "../sched/sched.h"
#include "children.h"
#include "plugin.h"

/* Report what the wait covered, then recycle the zombies whose failure is now known:
 * their data may be used again. */
static dag_status_t consume(struct tctx *c, struct failure *_Atomic *slot)
{
    dag_status_t st = failure_consume(c, slot);
    if (atomic_load_explicit(&c->cur->zombies, RELAXED))
        zombies_collect(c, c->cur, 0);
    return st;
}

dag_status_t dag_taskwait(void)
{
    struct tctx *c = ctx_fast();
    if (!c)
        return DAG_ERR_STATE;
    if (unlikely(rt.interpose) && (c->cur->flags & TF_IMPLICIT))
        plugin_comm->on_wait(c); /* a point of the replicated flow: ranks compare their flows */
    task_wait_children(c, c->cur);
    if (unlikely(rt.dev) && rt.dev->on_wait)
        rt.dev->on_wait(c);
    return consume(c, &c->cur->fail);
}

static int empty_body(void *args)
{
    (void)args;
    return 0;
}

/* OpenMP 5 defines `taskwait depend(...)` as an empty undeferred task with those
 * dependencies; that is exactly what runs here. */
dag_status_t dag_taskwait_deps(const dag_dep_t *deps, size_t ndeps)
{
    struct tctx *c = ctx_fast();
    if (!c)
        return DAG_ERR_STATE;
    if (ndeps == 0)
        return DAG_OK;
    dag_task_attr_t attr = {.label = "taskwait", .flags = DAG_TASK_UNDEFERRED};
    dag_status_t st = dag_submit(empty_body, NULL, 0, deps, ndeps, &attr);
    if (st)
        return st;
    return consume(c, &c->cur->fail);
}

dag_status_t dag_taskgroup_begin(void)
{
    struct tctx *c = ctx_fast();
    if (!c)
        return DAG_ERR_STATE;
    struct taskgroup *g = malloc(sizeof *g);
    if (!g)
        return DAG_ERR_NOMEM;
    atomic_init(&g->count, 0);
    atomic_init(&g->fail, NULL);
    g->outer = c->group;
    g->owner = c->cur;
    c->group = g;
    return DAG_OK;
}

static int group_empty(void *arg)
{
    return atomic_load_explicit(&((struct taskgroup *)arg)->count, ACQUIRE) == 0;
}

dag_status_t dag_taskgroup_end(void)
{
    struct tctx *c = ctx_fast();
    if (!c)
        return DAG_ERR_STATE;
    struct taskgroup *g = c->group;
    if (!g || g->owner != c->cur || g == c->cur->group)
        return DAG_ERR_STATE; /* no group opened by this task */
    if (!group_empty(g))
        sched_wait(c, group_empty, g);
    c->group = g->outer;
    dag_status_t st = consume(c, &g->fail);
    free(g);
    return st;
}
