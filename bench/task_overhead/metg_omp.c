/* metg_omp.c: the granularity patterns (metg_common.h) with `#pragma omp task
 * depend(...)`, built by gcc -fopenmp (metg_libgomp) and by clang-14 -fopenmp
 * (metg_libomp). Usage: metg_libgomp PATTERN THREADS REPS ITERS WIDTH STEPS. */
#include "metg_common.h"

#include <omp.h>
#include <stdio.h>

#ifndef MG_IMPL
#if defined(__clang__)
#define MG_IMPL "libomp"
#else
#define MG_IMPL "libgomp"
#endif
#endif

static void run(void)
{
    int w = mg.width;
    for (int t = 0; t < mg.steps; t++) {
        if (mg.pattern == MG_FAN) {
#pragma omp task depend(inout : mg_fan_x)
            mg_root_body();
        }
        for (int i = 0; i < w; i++) {
            switch (mg.pattern) {
            case MG_INDEPENDENT: {
                long k = (long)t * w + i;
#pragma omp task firstprivate(k)
                mg_indep_body(k);
                break;
            }
            case MG_CHAINS: {
                uint64_t *x = &mg_grid[i];
                (void)x; /* gcc counts uses in depend clauses as no use */
#pragma omp task depend(inout : x[0]) firstprivate(i)
                mg_chain_body(i);
                break;
            }
            case MG_STENCIL: {
                uint64_t *l = mg_prev(t, i - 1), *c = mg_prev(t, i), *r = mg_prev(t, i + 1);
                uint64_t *o = mg_cur(t, i);
                (void)l, (void)c, (void)r, (void)o;
#pragma omp task depend(in : l[0], c[0], r[0]) depend(out : o[0]) firstprivate(t, i)
                mg_stencil_body(t, i);
                break;
            }
            case MG_FAN: {
#pragma omp task depend(in : mg_fan_x) firstprivate(t, i)
                mg_leaf_body(t, i);
                break;
            }
            default: break;
            }
        }
    }
#pragma omp taskwait
}

/* run() inside `single`, for the shared timing loop (it ends with a taskwait). */
static int run_wait(void)
{
    run();
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t ns[MG_MAX_REPS];
    int ok = 1, got = 0;
    mg_parse_args(argc, argv);
    mg_data_init();
    double npi = mg_calibrate();
#pragma omp parallel num_threads(mg.threads) shared(ok, got, ns)
#pragma omp single
    {
        got = omp_get_num_threads();
        ok = mg_time_reps(run_wait, ns);
    }
    if (got != mg.threads || !ok) {
        fprintf(stderr, "%s: %s: wrong result (threads %d of %d)\n", MG_IMPL,
                mg_pattern_name(mg.pattern), got, mg.threads);
        return 1;
    }
    mg_report(MG_IMPL, ns, npi);
    return 0;
}
