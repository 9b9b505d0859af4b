/* to_starpu.c: the task_overhead patterns written with StarPU (starpu_task_insert on
 * registered variable handles, implicit STARPU_R / STARPU_RW dependencies), CPU workers
 * only. Usage: task_overhead_starpu PATTERN THREADS REPS. */
#define _GNU_SOURCE /* mkdtemp, setenv, nftw */
#include "to_common.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <starpu.h>

/* ---- task bodies ------------------------------------------------------------------- */

static void indep_cpu(void *buffers[], void *cl_arg)
{
    (void)buffers;
    uint64_t packed; /* index << 8 | value */
    starpu_codelet_unpack_args(cl_arg, &packed);
    to_indep[packed >> 8] = (unsigned char)(packed & 0xff);
}

static void incr_cpu(void *buffers[], void *cl_arg)
{
    (void)cl_arg;
    uint64_t *x = (uint64_t *)STARPU_VARIABLE_GET_PTR(buffers[0]);
    *x += 1;
}

static void reader_cpu(void *buffers[], void *cl_arg)
{
    uint32_t slot;
    starpu_codelet_unpack_args(cl_arg, &slot);
    const uint64_t *x = (const uint64_t *)STARPU_VARIABLE_GET_PTR(buffers[0]);
    to_fan_seen[slot] = (uint32_t)*x;
}

/* Wavefront: the last of n buffers is the block itself (RW); the others are the
 * neighbours that exist (R), so the body only needs their sum. */
static inline void wave_body(void *buffers[], unsigned n)
{
    uint64_t sum = 1;
    for (unsigned b = 0; b + 1 < n; b++)
        sum += *(const uint64_t *)STARPU_VARIABLE_GET_PTR(buffers[b]);
    *(uint64_t *)STARPU_VARIABLE_GET_PTR(buffers[n - 1]) += sum;
}
static void wave1_cpu(void *buffers[], void *cl_arg) { (void)cl_arg, wave_body(buffers, 1); }
static void wave2_cpu(void *buffers[], void *cl_arg) { (void)cl_arg, wave_body(buffers, 2); }
static void wave3_cpu(void *buffers[], void *cl_arg) { (void)cl_arg, wave_body(buffers, 3); }

static struct starpu_codelet indep_cl = {
    .where = STARPU_CPU, .cpu_funcs = {indep_cpu}, .nbuffers = 0, .name = "independent"};
static struct starpu_codelet incr_cl = {.where = STARPU_CPU,
                                        .cpu_funcs = {incr_cpu},
                                        .nbuffers = 1,
                                        .modes = {STARPU_RW},
                                        .name = "increment"};
static struct starpu_codelet reader_cl = {.where = STARPU_CPU,
                                          .cpu_funcs = {reader_cpu},
                                          .nbuffers = 1,
                                          .modes = {STARPU_R},
                                          .name = "reader"};
static struct starpu_codelet wave1_cl = {.where = STARPU_CPU,
                                         .cpu_funcs = {wave1_cpu},
                                         .nbuffers = 1,
                                         .modes = {STARPU_RW},
                                         .name = "wave"};
static struct starpu_codelet wave2_cl = {.where = STARPU_CPU,
                                         .cpu_funcs = {wave2_cpu},
                                         .nbuffers = 2,
                                         .modes = {STARPU_R, STARPU_RW},
                                         .name = "wave"};
static struct starpu_codelet wave3_cl = {.where = STARPU_CPU,
                                         .cpu_funcs = {wave3_cpu},
                                         .nbuffers = 3,
                                         .modes = {STARPU_R, STARPU_R, STARPU_RW},
                                         .name = "wave"};

/* ---- patterns ---------------------------------------------------------------------- */

static starpu_data_handle_t chain_h, fan_h, *wave_h;

static int submit_failed(int ret)
{
    fprintf(stderr, "starpu: starpu_task_insert failed: %d\n", ret);
    return 0;
}

/* Each returns 1 on success; the caller times it including starpu_task_wait_for_all. */
static int run_independent(unsigned char value)
{
    for (uint64_t i = 0; i < TO_INDEP_N; i++) {
        uint64_t packed = i << 8 | value;
        int ret = starpu_task_insert(&indep_cl, STARPU_VALUE, &packed, sizeof packed, 0);
        if (ret)
            return submit_failed(ret);
    }
    return 1;
}

static int run_chain(void)
{
    for (long i = 0; i < TO_CHAIN_N; i++) {
        int ret = starpu_task_insert(&incr_cl, STARPU_RW, chain_h, 0);
        if (ret)
            return submit_failed(ret);
    }
    return 1;
}

static int run_fanout(void)
{
    for (uint32_t r = 0; r < TO_FAN_ROUNDS; r++) {
        for (uint32_t k = 0; k < TO_FAN_READERS; k++) {
            uint32_t slot = r * TO_FAN_READERS + k;
            int ret = starpu_task_insert(&reader_cl, STARPU_R, fan_h, STARPU_VALUE, &slot,
                                         sizeof slot, 0);
            if (ret)
                return submit_failed(ret);
        }
        int ret = starpu_task_insert(&incr_cl, STARPU_RW, fan_h, 0);
        if (ret)
            return submit_failed(ret);
    }
    return 1;
}

static int run_wavefront(void)
{
    for (int i = 0; i < TO_WAVE_N; i++) {
        for (int j = 0; j < TO_WAVE_N; j++) {
            starpu_data_handle_t self = wave_h[i * TO_WAVE_N + j];
            int ret;
            if (i > 0 && j > 0)
                ret = starpu_task_insert(&wave3_cl, STARPU_R, wave_h[(i - 1) * TO_WAVE_N + j],
                                         STARPU_R, wave_h[i * TO_WAVE_N + j - 1], STARPU_RW,
                                         self, 0);
            else if (i > 0)
                ret = starpu_task_insert(&wave2_cl, STARPU_R, wave_h[(i - 1) * TO_WAVE_N + j],
                                         STARPU_RW, self, 0);
            else if (j > 0)
                ret = starpu_task_insert(&wave2_cl, STARPU_R, wave_h[i * TO_WAVE_N + j - 1],
                                         STARPU_RW, self, 0);
            else
                ret = starpu_task_insert(&wave1_cl, STARPU_RW, self, 0);
            if (ret)
                return submit_failed(ret);
        }
    }
    return 1;
}

/* ---- set-up ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* One repetition: submit, then wait for every task (also after a failed submission). */
static int run_pattern(int pattern, int rep)
{
    int ok = 0;
    switch (pattern) {
    case TO_INDEPENDENT: ok = run_independent(to_indep_value(rep)); break;
    case TO_CHAIN: ok = run_chain(); break;
    case TO_FANOUT: ok = run_fanout(); break;
    case TO_WAVEFRONT: ok = run_wavefront(); break;
    default: break;
    }
    starpu_task_wait_for_all();
    return ok;
}

int main(int argc, char **argv)
{
    int pattern, threads, reps, ok = 1;
    uint64_t ns[TO_MAX_REPS];
    char home[] = "/tmp/task_overhead_starpu.XXXXXX", nbuf[16];
    to_parse_args(argc, argv, &pattern, &threads, &reps);
    to_data_init();

    /* CPU workers only, quiet, no calibration, performance models kept out of $HOME. */
    if (!mkdtemp(home)) {
        perror("starpu: mkdtemp");
        return 3;
    }
    snprintf(nbuf, sizeof nbuf, "%d", threads);
    setenv("STARPU_NCPU", nbuf, 1);
    setenv("STARPU_NCUDA", "0", 1);
    setenv("STARPU_NOPENCL", "0", 1);
    setenv("STARPU_NMIC", "0", 1);
    setenv("STARPU_NMPI_MS", "0", 1);
    setenv("STARPU_SILENT", "1", 1);
    setenv("STARPU_CALIBRATE", "0", 1);
    setenv("STARPU_HOME", home, 1);

    struct starpu_conf conf;
    starpu_conf_init(&conf);
    conf.ncpus = threads;
    conf.ncuda = 0;
    conf.nopencl = 0;
    conf.nmic = 0;
    conf.nmpi_ms = 0;
    int ret = starpu_init(&conf);
    if (ret) {
        fprintf(stderr, "starpu: starpu_init failed: %d\n", ret);
        nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 3;
    }
    if ((int)starpu_cpu_worker_get_count() != threads) {
        fprintf(stderr, "starpu: asked for %d CPU workers, got %u\n", threads,
                starpu_cpu_worker_get_count());
        ok = 0;
    }

    /* Handles are registered once, outside the timing. The data live in main memory and
     * only CPU workers run, so the buffers are used in place and can be reset and checked
     * directly between repetitions (after starpu_task_wait_for_all). */
    starpu_variable_data_register(&chain_h, STARPU_MAIN_RAM, (uintptr_t)&to_chain_x,
                                  sizeof to_chain_x);
    starpu_variable_data_register(&fan_h, STARPU_MAIN_RAM, (uintptr_t)&to_fan_x,
                                  sizeof to_fan_x);
    if (pattern == TO_WAVEFRONT) {
        wave_h = malloc(sizeof *wave_h * TO_WAVE_N * TO_WAVE_N);
        if (!wave_h) {
            fprintf(stderr, "starpu: out of memory\n");
            return 3;
        }
        for (int i = 0; i < TO_WAVE_N; i++)
            for (int j = 0; j < TO_WAVE_N; j++)
                starpu_variable_data_register(&wave_h[i * TO_WAVE_N + j], STARPU_MAIN_RAM,
                                              (uintptr_t)to_wave_at(i, j), sizeof(uint64_t));
    }

    if (ok)
        ok = to_time_reps(pattern, reps, run_pattern, ns);

    starpu_data_unregister(chain_h);
    starpu_data_unregister(fan_h);
    if (wave_h) {
        for (int c = 0; c < TO_WAVE_N * TO_WAVE_N; c++)
            starpu_data_unregister(wave_h[c]);
        free(wave_h);
    }
    starpu_shutdown();
    nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

    if (!ok) {
        fprintf(stderr, "starpu: %s on %d threads: wrong result\n", to_pattern_name(pattern),
                threads);
        return 1;
    }
    to_report("starpu", pattern, threads, reps, ns);
    return 0;
}
