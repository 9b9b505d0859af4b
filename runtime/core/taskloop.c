/* taskloop.c: OpenMP taskloops as a runtime call (dag_taskloop, like libomp's
 * __kmpc_taskloop): the iteration count of a canonical loop, its split into chunks
 * (grainsize, strict grainsize, num_tasks, default), one task per chunk with its range
 * written into its copy of the argument block, the implicit taskgroup and the loop's
 * reductions (reduce.c). Translated programs call it, so a fix here needs no
 * recompilation of users' code. */
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "reduce.h"

unsigned long long dag_loop_count(const dag_taskloop_t *L)
{
    if (!L || L->step == 0)
        return 0;
    int sgn = (L->flags & DAG_TASKLOOP_SIGNED) != 0;
    unsigned long long lb = L->lb, ub = L->ub;
    /* lb < ub in the loop variable's own signedness */
#define LESS(a, b) (sgn ? (long long)(a) < (long long)(b) : (a) < (b))
    unsigned long long ast = L->step > 0 ? (unsigned long long)L->step
                                         : 0ull - (unsigned long long)L->step;
    switch (L->rel) {
    case DAG_LOOP_LT:
        return L->step > 0 && LESS(lb, ub) ? (ub - lb - 1) / ast + 1 : 0;
    case DAG_LOOP_LE:
        return L->step > 0 && !LESS(ub, lb) ? (ub - lb) / ast + 1 : 0;
    case DAG_LOOP_GT:
        return L->step < 0 && LESS(ub, lb) ? (lb - ub - 1) / ast + 1 : 0;
    case DAG_LOOP_GE:
        return L->step < 0 && !LESS(lb, ub) ? (lb - ub) / ast + 1 : 0;
    case DAG_LOOP_NE:
        /* the distance in the step's direction, which the loop covers exactly */
        return (L->step > 0 ? ub - lb : lb - ub) / ast;
    default:
        return 0;
    }
#undef LESS
}

/* The number of chunks for n iterations, and whether they are of exactly g (strict). */
static unsigned long long chunks(const dag_taskloop_t *L, unsigned long long n, int *strict,
                                 unsigned long long *g)
{
    unsigned long long v = L->value;
    *strict = 0;
    if ((L->flags & (DAG_TASKLOOP_GRAINSIZE | DAG_TASKLOOP_NUM_TASKS)) && v < 1)
        v = 1;
    if (L->flags & DAG_TASKLOOP_GRAINSIZE) {
        *g = v;
        if (L->flags & DAG_TASKLOOP_STRICT) {
            *strict = 1;
            return n / v + (n % v != 0);
        }
        /* at least v per task: n / v tasks of n / (n / v) or one more */
        return n / v ? n / v : (n > 0);
    }
    if (!(L->flags & DAG_TASKLOOP_NUM_TASKS)) {
        int nt = dag_num_threads();
        v = 4ull * (unsigned long long)(nt > 0 ? nt : 1);
    }
    return v < n ? v : n;
}

dag_status_t dag_taskloop(dag_task_fn fn, const void *args, size_t args_size,
                          const dag_taskloop_t *L, const dag_task_attr_t *attr)
{
    if (!fn || !L || (args_size && !args) || L->step == 0 ||
        L->range_offset + sizeof(dag_loop_range_t) > args_size || L->rel < DAG_LOOP_LT ||
        L->rel > DAG_LOOP_NE || (L->nred && (!L->red || (L->flags & DAG_TASKLOOP_NOGROUP))))
        return DAG_ERR_INVALID;
    for (size_t r = 0; r < L->nred; r++)
        if (L->red[r].args_offset + sizeof(void *) > args_size)
            return DAG_ERR_INVALID;
    unsigned long long n = dag_loop_count(L), g = 0;
    int strict;
    unsigned long long nt = chunks(L, n, &strict, &g);
    unsigned char stackbuf[512];
    unsigned char *a = args_size <= sizeof stackbuf ? stackbuf : malloc(args_size);
    if (!a)
        return DAG_ERR_NOMEM;
    memcpy(a, args, args_size);
    int group = !(L->flags & DAG_TASKLOOP_NOGROUP);
    dag_redgroup_t *rg = NULL;
    dag_status_t st = DAG_OK;
    if (L->nred)
        st = dag_reduction_begin(L->red, L->nred, &rg);
    else if (group)
        st = dag_taskgroup_begin();
    if (st) {
        if (a != stackbuf)
            free(a);
        return st;
    }
    unsigned long long first = 0;
    for (unsigned long long k = 0; k < nt && st == DAG_OK; k++) {
        unsigned long long cnt = strict ? (n - first < g ? n - first : g)
                                        : n / nt + (k < n % nt);
        dag_loop_range_t rg_ = {first, first + cnt};
        first += cnt;
        memcpy(a + L->range_offset, &rg_, sizeof rg_);
        for (size_t r = 0; r < L->nred && st == DAG_OK; r++) {
            void *priv;
            st = redgroup_private(rg, r, &priv);
            if (st == DAG_OK)
                memcpy(a + L->red[r].args_offset, &priv, sizeof priv);
        }
        if (st == DAG_OK)
            st = dag_submit(fn, a, args_size, NULL, 0, attr);
    }
    if (a != stackbuf)
        free(a);
    /* the group ends even after a failed submission, so it is never left open */
    dag_status_t end = DAG_OK;
    if (L->nred)
        end = dag_reduction_end(rg);
    else if (group)
        end = dag_taskgroup_end();
    return st ? st : end;
}
