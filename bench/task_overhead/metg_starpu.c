/* metg_starpu.c: the granularity patterns (metg_common.h) with StarPU: starpu_task_insert
 * with implicit dependencies on registered variables (one handle per grid cell and one for
 * the fan's root value), CPU workers only. The data stay in main memory and are used in
 * place, so the bodies address them directly as in the other binaries.
 * Usage: metg_starpu PATTERN THREADS REPS ITERS WIDTH STEPS. */
#define _GNU_SOURCE /* mkdtemp, setenv, nftw */
#include "metg_common.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <starpu.h>

static void indep_cpu(void *b[], void *arg)
{
    (void)b;
    long k;
    starpu_codelet_unpack_args(arg, &k);
    mg_indep_body(k);
}
static void chain_cpu(void *b[], void *arg)
{
    (void)b;
    int i;
    starpu_codelet_unpack_args(arg, &i);
    mg_chain_body(i);
}
static void stencil_cpu(void *b[], void *arg)
{
    (void)b;
    int t, i;
    starpu_codelet_unpack_args(arg, &t, &i);
    mg_stencil_body(t, i);
}
static void root_cpu(void *b[], void *arg)
{
    (void)b, (void)arg;
    mg_root_body();
}
static void leaf_cpu(void *b[], void *arg)
{
    (void)b;
    int t, i;
    starpu_codelet_unpack_args(arg, &t, &i);
    mg_leaf_body(t, i);
}

static struct starpu_codelet indep_cl = {.where = STARPU_CPU, .cpu_funcs = {indep_cpu},
                                         .nbuffers = 0, .name = "independent"};
static struct starpu_codelet chain_cl = {.where = STARPU_CPU, .cpu_funcs = {chain_cpu},
                                         .nbuffers = 1, .modes = {STARPU_RW}, .name = "chain"};
static struct starpu_codelet stencil_cl = {.where = STARPU_CPU, .cpu_funcs = {stencil_cpu},
                                           .nbuffers = STARPU_VARIABLE_NBUFFERS,
                                           .name = "stencil"};
static struct starpu_codelet root_cl = {.where = STARPU_CPU, .cpu_funcs = {root_cpu},
                                        .nbuffers = 1, .modes = {STARPU_RW}, .name = "root"};
static struct starpu_codelet leaf_cl = {.where = STARPU_CPU, .cpu_funcs = {leaf_cpu},
                                        .nbuffers = 1, .modes = {STARPU_R}, .name = "leaf"};

static starpu_data_handle_t *grid_h, fan_h;

static int run(void)
{
    int w = mg.width, ret = 0;
    for (int t = 0; t < mg.steps && !ret; t++) {
        if (mg.pattern == MG_FAN)
            ret = starpu_task_insert(&root_cl, STARPU_RW, fan_h, 0);
        for (int i = 0; i < w && !ret; i++) {
            switch (mg.pattern) {
            case MG_INDEPENDENT: {
                long k = (long)t * w + i;
                ret = starpu_task_insert(&indep_cl, STARPU_VALUE, &k, sizeof k, 0);
                break;
            }
            case MG_CHAINS:
                ret = starpu_task_insert(&chain_cl, STARPU_RW, grid_h[i], STARPU_VALUE, &i,
                                         sizeof i, 0);
                break;
            case MG_STENCIL: {
                struct starpu_data_descr d[4];
                int n = 0, prow = ((t + 1) & 1) * w;
                for (int j = i - 1; j <= i + 1; j++)
                    if (j >= 0 && j < w)
                        d[n++] = (struct starpu_data_descr){grid_h[prow + j], STARPU_R};
                d[n++] = (struct starpu_data_descr){grid_h[(t & 1) * w + i], STARPU_W};
                ret = starpu_task_insert(&stencil_cl, STARPU_DATA_MODE_ARRAY, d, n,
                                         STARPU_VALUE, &t, sizeof t, STARPU_VALUE, &i,
                                         sizeof i, 0);
                break;
            }
            case MG_FAN:
                ret = starpu_task_insert(&leaf_cl, STARPU_R, fan_h, STARPU_VALUE, &t, sizeof t,
                                         STARPU_VALUE, &i, sizeof i, 0);
                break;
            default: ret = -1;
            }
        }
    }
    if (ret)
        fprintf(stderr, "starpu: starpu_task_insert failed: %d\n", ret);
    starpu_task_wait_for_all();
    return ret == 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t ns[MG_MAX_REPS];
    char home[] = "/tmp/metg_starpu.XXXXXX", nbuf[16];
    mg_parse_args(argc, argv);
    mg_data_init();
    double npi = mg_calibrate();
    if (!mkdtemp(home)) {
        perror("starpu: mkdtemp");
        return 3;
    }
    snprintf(nbuf, sizeof nbuf, "%d", mg.threads);
    setenv("STARPU_NCPU", nbuf, 1);
    setenv("STARPU_NCUDA", "0", 1);
    setenv("STARPU_NOPENCL", "0", 1);
    setenv("STARPU_SILENT", "1", 1);
    setenv("STARPU_CALIBRATE", "0", 1);
    setenv("STARPU_HOME", home, 1);
    struct starpu_conf conf;
    starpu_conf_init(&conf);
    conf.ncpus = mg.threads;
    conf.ncuda = 0;
    conf.nopencl = 0;
    if (starpu_init(&conf)) {
        fprintf(stderr, "starpu: starpu_init failed\n");
        nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 3;
    }
    int ok = (int)starpu_cpu_worker_get_count() == mg.threads;
    grid_h = malloc(sizeof *grid_h * 2 * (size_t)mg.width);
    if (!grid_h)
        return 3;
    for (int c = 0; c < 2 * mg.width; c++)
        starpu_variable_data_register(&grid_h[c], STARPU_MAIN_RAM, (uintptr_t)&mg_grid[c],
                                      sizeof(uint64_t));
    starpu_variable_data_register(&fan_h, STARPU_MAIN_RAM, (uintptr_t)&mg_fan_x,
                                  sizeof mg_fan_x);
    if (ok)
        ok = mg_time_reps(run, ns);
    for (int c = 0; c < 2 * mg.width; c++)
        starpu_data_unregister(grid_h[c]);
    starpu_data_unregister(fan_h);
    free(grid_h);
    starpu_shutdown();
    nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (!ok) {
        fprintf(stderr, "starpu: %s: wrong result or failed run\n", mg_pattern_name(mg.pattern));
        return 1;
    }
    mg_report("starpu", ns, npi);
    return 0;
}
