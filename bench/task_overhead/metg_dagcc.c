/* metg_dagcc.c: the granularity patterns (metg_common.h) with the dagcc runtime API.
 * Usage: metg_dagcc PATTERN THREADS REPS ITERS WIDTH STEPS. */
#include "metg_common.h"

#include <stdio.h>

#include "dag.h"

struct cell {
    int t, i;
};

static int indep_fn(void *a) { mg_indep_body(*(const long *)a); return 0; }
static int chain_fn(void *a) { mg_chain_body(((const struct cell *)a)->i); return 0; }
static int stencil_fn(void *a)
{
    const struct cell *c = a;
    mg_stencil_body(c->t, c->i);
    return 0;
}
static int root_fn(void *a) { (void)a; mg_root_body(); return 0; }
static int leaf_fn(void *a)
{
    const struct cell *c = a;
    mg_leaf_body(c->t, c->i);
    return 0;
}

#define SUBMIT(...)                                                                       \
    do {                                                                                  \
        dag_status_t st_ = dag_submit(__VA_ARGS__);                                       \
        if (st_) {                                                                        \
            fprintf(stderr, "dagcc: dag_submit: %s\n", dag_strerror(st_));               \
            return 0;                                                                     \
        }                                                                                 \
    } while (0)

static int run(void)
{
    int w = mg.width;
    for (int t = 0; t < mg.steps; t++) {
        if (mg.pattern == MG_FAN) {
            dag_dep_t d = {&mg_fan_x, sizeof mg_fan_x, DAG_INOUT};
            SUBMIT(root_fn, NULL, 0, &d, 1, NULL);
        }
        for (int i = 0; i < w; i++) {
            struct cell c = {t, i};
            switch (mg.pattern) {
            case MG_INDEPENDENT: {
                long k = (long)t * w + i;
                SUBMIT(indep_fn, &k, sizeof k, NULL, 0, NULL);
                break;
            }
            case MG_CHAINS: {
                dag_dep_t d = {&mg_grid[i], sizeof(uint64_t), DAG_INOUT};
                SUBMIT(chain_fn, &c, sizeof c, &d, 1, NULL);
                break;
            }
            case MG_STENCIL: {
                dag_dep_t d[4] = {{mg_prev(t, i - 1), sizeof(uint64_t), DAG_IN},
                                  {mg_prev(t, i), sizeof(uint64_t), DAG_IN},
                                  {mg_prev(t, i + 1), sizeof(uint64_t), DAG_IN},
                                  {mg_cur(t, i), sizeof(uint64_t), DAG_OUT}};
                SUBMIT(stencil_fn, &c, sizeof c, d, 4, NULL);
                break;
            }
            case MG_FAN: {
                dag_dep_t d = {&mg_fan_x, sizeof mg_fan_x, DAG_IN};
                SUBMIT(leaf_fn, &c, sizeof c, &d, 1, NULL);
                break;
            }
            default: return 0;
            }
        }
    }
    dag_status_t st = dag_taskwait();
    if (st)
        fprintf(stderr, "dagcc: dag_taskwait: %s\n", dag_strerror(st));
    return st == DAG_OK;
}

int main(int argc, char **argv)
{
    uint64_t ns[MG_MAX_REPS];
    mg_parse_args(argc, argv);
    mg_data_init();
    double npi = mg_calibrate();
    if (dag_init(&(dag_config_t){.nthreads = mg.threads}) != DAG_OK) {
        fprintf(stderr, "dagcc: dag_init failed\n");
        return 3;
    }
    int ok = mg_time_reps(run, ns);
    if (dag_finalize() != DAG_OK || !ok) {
        fprintf(stderr, "dagcc: %s: wrong result or failed run\n", mg_pattern_name(mg.pattern));
        return 1;
    }
    mg_report("dagcc", ns, npi);
    return 0;
}
