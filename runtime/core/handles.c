/* handles.c: small OpenMP 5 objects the translator's generated code holds: event handles
 * (omp_event_handle_t: a detachable task's event, named from its creation on),
 * dependence objects (omp_depend_t: one dependence behind a pointer-sized handle) and
 * taskyield (the calling worker runs one ready task, if any). */
#include <sched.h>
#include <stdlib.h>

#include "runtime.h"
#include "../sched/sched.h"
#include "task.h"

dag_status_t dag_event_handle_new(dag_event_t **handle)
{
    if (!handle)
        return DAG_ERR_INVALID;
    *handle = calloc(1, sizeof **handle);
    return *handle ? DAG_OK : DAG_ERR_NOMEM;
}

dag_status_t dag_event_handle_fulfill(dag_event_t *handle, int code)
{
    if (!handle || !handle->task)
        return DAG_ERR_INVALID; /* not (yet) the event of a submitted task */
    dag_event_t ev = *handle;
    free(handle);
    return dag_event_fulfill(ev, code);
}

struct dag_depobj_rec {
    dag_dep_t dep;
};

dag_status_t dag_depobj_init(dag_depobj_t *obj, const dag_dep_t *dep)
{
    if (!obj || !dep || (dep->mode & DAG_MODE_MASK) < DAG_IN ||
        (dep->mode & DAG_MODE_MASK) > DAG_INOUTSET)
        return DAG_ERR_INVALID;
    struct dag_depobj_rec *r = malloc(sizeof *r);
    if (!r)
        return DAG_ERR_NOMEM;
    r->dep = *dep;
    *obj = r;
    return DAG_OK;
}

dag_status_t dag_depobj_update(dag_depobj_t obj, unsigned mode)
{
    if (!obj || (mode & DAG_MODE_MASK) < DAG_IN || (mode & DAG_MODE_MASK) > DAG_INOUTSET)
        return DAG_ERR_INVALID;
    obj->dep.mode = (obj->dep.mode & ~DAG_MODE_MASK) | (mode & DAG_MODE_MASK);
    return DAG_OK;
}

dag_status_t dag_depobj_destroy(dag_depobj_t *obj)
{
    if (!obj || !*obj)
        return DAG_ERR_INVALID;
    free(*obj);
    *obj = NULL;
    return DAG_OK;
}

dag_dep_t dag_depobj_dep(dag_depobj_t obj)
{
    if (!obj)
        return (dag_dep_t){NULL, 0, DAG_IN};
    return obj->dep;
}

dag_status_t dag_taskyield(void)
{
    struct tctx *c = ctx_get();
    if (!c)
        return DAG_ERR_STATE;
    struct task *t = c->w ? sched_pop(c) : NULL;
    if (t)
        sched_run(c, t);
    else
        sched_yield();
    return DAG_OK;
}
