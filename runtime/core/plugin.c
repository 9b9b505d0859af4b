/* plugin.c: loading the optional layers (plugin.h); the public calls that forward to
 * them are in forward.c, above the runtime's start (init.c), which calls this file. A plugin is looked up in $DAG_PLUGIN_DIR, else next to libdagrt.so (found
 * with dladdr), else by plain name (the dynamic loader's search path). A plugin is
 * loaded at most once per process and never unloaded (MPI and CUDA cannot be restarted).
 * A program linked with the static libdagrt.a cannot load them: a plugin would bring a
 * second copy of the core; it runs on one rank, on the CPU. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "../comm/comm.h" /* dist_host_announce */
#include "runtime.h"

_Static_assert(offsetof(struct dag_comm_plugin, core) == offsetof(struct dag_cuda_plugin, core),
               "load() reads abi and core the same way from both entry tables");

const struct dag_comm_plugin *plugin_comm;
const struct dag_cuda_plugin *plugin_cuda;

/* 1 if this core is libdagrt.so (not libdagrt.a linked into a program); *dir gets its
 * directory. */
static int core_is_shared(char *dir, size_t size)
{
    Dl_info info;
    if (!dladdr((void *)&plugin_comm_load, &info) || !info.dli_fname)
        return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    const char *base = slash ? slash + 1 : info.dli_fname;
    if (strncmp(base, "libdagrt.so", 11) != 0)
        return 0;
    dir[0] = 0;
    if (slash && (size_t)(slash - info.dli_fname) < size) {
        memcpy(dir, info.dli_fname, (size_t)(slash - info.dli_fname));
        dir[slash - info.dli_fname] = 0;
    }
    return 1;
}

static int try_open(void **h, const char *dir, const char *name, char *err, size_t errsz)
{
    char path[PATH_MAX];
    if (dir) {
        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
            return 0;
    } else {
        snprintf(path, sizeof path, "%s", name);
    }
    *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*h) {
        const char *e = dlerror();
        if (e && !err[0])
            snprintf(err, errsz, "%s", e);
    }
    return *h != NULL;
}

/* dlopen()s plugin `name` and returns its entry table `sym`; NULL (with a warning when
 * `warn`) if it cannot be loaded or does not belong to this core. */
static const void *load(const char *name, const char *sym, int warn)
{
    char dir[PATH_MAX], err[512] = "";
    if (!core_is_shared(dir, sizeof dir)) {
        if (warn)
            fprintf(stderr, "dagrt: warning: %s not loaded: this program uses the static "
                            "libdagrt.a (link libdagrt.so to use it)\n", name);
        return NULL;
    }
    void *h = NULL;
    const char *over = getenv("DAG_PLUGIN_DIR");
    if (over && *over)
        try_open(&h, over, name, err, sizeof err);
    else if (!(dir[0] && try_open(&h, dir, name, err, sizeof err)))
        try_open(&h, NULL, name, err, sizeof err);
    if (!h) {
        if (warn)
            fprintf(stderr, "dagrt: warning: cannot load %s: %s\n", name, err);
        return NULL;
    }
    const int *abi = dlsym(h, sym);
    const struct runtime *const *core = abi ? (const void *)((const char *)abi +
        offsetof(struct dag_comm_plugin, core)) : NULL;
    if (!abi || *abi != DAG_PLUGIN_ABI || *core != &rt) {
        if (warn)
            fprintf(stderr, "dagrt: warning: %s does not match this libdagrt (%s)\n", name,
                    !abi ? "no entry table" : *abi != DAG_PLUGIN_ABI ? "version" : "another copy");
        dlclose(h);
        return NULL;
    }
    return abi;
}

/* ---- communication (runtime/comm) ---- */

static long env_size(const char *name)
{
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 10) : -1;
}

int plugin_comm_load(void)
{
    static int tried;
    if (plugin_comm || tried)
        return plugin_comm != NULL;
    const char *s = getenv("DAG_COMM");
    if (s && !strcmp(s, "none"))
        return 0;
    long n = env_size("OMPI_COMM_WORLD_SIZE");
    if (n < 0)
        n = env_size("PMI_SIZE");
    int launched = n > 1 || (n < 0 && getenv("PMIX_RANK"));
    /* the program started (or links) MPI itself: the plugin decides from MPI */
    int has_mpi = dlsym(RTLD_DEFAULT, "MPI_Initialized") != NULL;
    if (!launched && !has_mpi)
        return 0;
    tried = 1;
    plugin_comm = load("libdagrt_mpi.so", "dagrt_comm_plugin", n > 1);
    return plugin_comm != NULL;
}

/* ---- CUDA (runtime/cuda) ---- */

/* DAG_CUDA: "0" never, "init" at dag_init, else (default) at the first task that can
 * use a GPU (plugin_cuda_want). */
static int cuda_mode(void)
{
    const char *e = getenv("DAG_CUDA");
    if (e && !strcmp(e, "0"))
        return 0;
    return e && !strcmp(e, "init") ? 2 : 1;
}

/* dlopen()s the plugin if the driver reports a device; once per process. */
static int cuda_load(void)
{
    static int tried;
    if (plugin_cuda || tried)
        return plugin_cuda != NULL;
#ifndef DAG_HAVE_CUDA
    return 0; /* built without CUDA: there is no plugin to look for */
#endif
    tried = 1;
    /* a device exists? Asked of the driver alone, which is small and absent on
     * machines without a GPU; the CUDA runtime and libraries come with the plugin. */
    void *cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cu)
        return 0;
    int (*cu_init)(unsigned) = (int (*)(unsigned))dlsym(cu, "cuInit");
    int (*cu_count)(int *) = (int (*)(int *))dlsym(cu, "cuDeviceGetCount");
    int n = 0;
    if (!cu_init || !cu_count) {
        dlclose(cu);
        return 0;
    }
    if (cu_init(0) != 0 || cu_count(&n) != 0 || n <= 0)
        return 0;
    /* cu stays open: the driver was initialised and must not be unloaded */
    plugin_cuda = load("libdagrt_cuda.so", "dagrt_cuda_plugin", 1);
    return plugin_cuda != NULL;
}

/* The runtime generation (rt.gen + 1) in which the CUDA layer was started, or found
 * unusable: it is decided once per dag_init .. dag_finalize. */
static _Atomic unsigned cuda_decided;
static pthread_mutex_t cuda_lock = PTHREAD_MUTEX_INITIALIZER;

int plugin_cuda_load(void)
{
    if (cuda_mode() != 2)
        return 0; /* started on demand: a CPU-only program never pays for the GPU */
    atomic_store_explicit(&cuda_decided, rt.gen + 1, RELEASE);
    return cuda_load();
}

int plugin_cuda_decided(void)
{
    return atomic_load_explicit(&cuda_decided, ACQUIRE) == rt.gen + 1;
}

void plugin_cuda_want(void)
{
    if (atomic_load_explicit(&cuda_decided, ACQUIRE) == rt.gen + 1)
        return;
    pthread_mutex_lock(&cuda_lock);
    if (atomic_load_explicit(&cuda_decided, RELAXED) != rt.gen + 1 &&
        atomic_load_explicit(&rt.state, ACQUIRE) == RT_RUNNING) {
        if (cuda_mode() && cuda_load()) {
            plugin_cuda->start(); /* installs rt.dev when a device is usable */
            rt_drain_at_exit_again();
            dist_host_announce(); /* the matrices created before it */
        }
        atomic_store_explicit(&cuda_decided, rt.gen + 1, RELEASE);
    }
    pthread_mutex_unlock(&cuda_lock);
}
