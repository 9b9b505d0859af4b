/* bind.c: the machine's shape through hwloc: the default number of workers (the cores
 * this process may run on) and pinning workers to cores or PUs (DAG_BIND). The topology
 * is loaded once per process; DAG_BIND=auto pins only while the machine has a core per
 * worker free (bind_auto); the calling thread's own binding is restored at
 * dag_finalize(). */
#include <hwloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched.h"
#include "../core/runtime.h"

static hwloc_topology_t topo;
static hwloc_bitmap_t allowed; /* the process's cpuset when the topology was loaded */
static int topo_ok;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;

static void topo_load(void)
{
    if (hwloc_topology_init(&topo))
        return;
    if (hwloc_topology_load(topo)) {
        hwloc_topology_destroy(topo);
        return;
    }
    allowed = hwloc_bitmap_alloc();
    if (!allowed || hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS) ||
        hwloc_bitmap_iszero(allowed))
        hwloc_bitmap_copy(allowed, hwloc_topology_get_allowed_cpuset(topo));
    topo_ok = 1;
}

static int ncores(void)
{
    int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, allowed, HWLOC_OBJ_CORE);
    return n > 0 ? n : 0;
}

int bind_default_nthreads(void)
{
    pthread_once(&topo_once, topo_load);
    if (!topo_ok)
        return 1;
    int n = ncores();
    if (n <= 0)
        n = hwloc_bitmap_weight(allowed);
    return n > 0 ? n : 1;
}

/* Threads of other processes running right now (/proc/loadavg's fourth field counts the
 * runnable threads of the machine, the caller included), or 0 when unknown. An
 * instantaneous count, not the load average: the average remembers this program's own
 * previous runs (a benchmark started right after another would never pin). */
static int others_running(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return 0;
    double l1, l5, l15;
    int running = 0, total = 0;
    int n = fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total);
    fclose(f);
    return n == 5 && running > 1 ? running - 1 : 0;
}

/* DAG_BIND=auto (the default): pin to cores when the workers can each own one, that is
 * when the cores of the process's cpuset outnumber the workers plus the threads other
 * processes are running at dag_init. A pinned worker cannot leave a core that another
 * process occupies, so on a shared machine pinning costs more than it saves (the OpenMP
 * runtimes do not pin unless asked either). Decided once, at dag_init, by worker 0. */
static int bind_auto(void)
{
    int cores = ncores();
    if (cores <= 0)
        return DAG_BIND_NONE;
    return rt.nthreads + others_running() <= cores ? DAG_BIND_CORE : DAG_BIND_NONE;
}

void bind_thread(struct worker *w)
{
    pthread_once(&topo_once, topo_load);
    if (!topo_ok) {
        if (rt.bind == DAG_BIND_DEFAULT)
            rt.bind = DAG_BIND_NONE;
        return;
    }
    if (rt.bind == DAG_BIND_DEFAULT && w->id == 0) /* before the other workers start */
        rt.bind = bind_auto();
    if (rt.bind == DAG_BIND_NONE || rt.bind == DAG_BIND_DEFAULT)
        return;
    hwloc_obj_type_t type = rt.bind == DAG_BIND_PU ? HWLOC_OBJ_PU : HWLOC_OBJ_CORE;
    int n = hwloc_get_nbobjs_inside_cpuset_by_type(topo, allowed, type);
    if (n <= 0)
        return;
    hwloc_obj_t obj = hwloc_get_obj_inside_cpuset_by_type(topo, allowed, type, (unsigned)(w->id % n));
    if (!obj)
        return;
    if (w->id == 0 && !w->saved_binding) {
        hwloc_bitmap_t saved = hwloc_bitmap_alloc();
        if (saved && hwloc_get_cpubind(topo, saved, HWLOC_CPUBIND_THREAD) == 0)
            w->saved_binding = saved;
        else
            hwloc_bitmap_free(saved);
    }
    hwloc_bitmap_t set = hwloc_bitmap_dup(obj->cpuset);
    if (!set)
        return;
    hwloc_bitmap_and(set, set, allowed);
    if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0)
        w->cpu_index = w->id % n;
    hwloc_bitmap_free(set);
}

void bind_restore(struct worker *w)
{
    if (!w->saved_binding)
        return;
    hwloc_set_cpubind(topo, w->saved_binding, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(w->saved_binding);
    w->saved_binding = NULL;
}
