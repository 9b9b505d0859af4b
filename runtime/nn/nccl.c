/* nccl.c: the data-parallel gradient exchange between GPUs through NCCL. Each bucket is
 * reduced by a task whose CUDA variant enqueues ncclAllReduce, in place, on the task's
 * stream: the runtime has the bucket on the device already (the backward tasks wrote it
 * there) and observes the collective's completion like any kernel's, so no CPU thread
 * waits and the exchange overlaps the backward pass of the layers below. Collectives must
 * be issued in one order on every rank: every all-reduce task also updates an order token
 * (inout), so they start in submission order, which is the same on every rank.
 *
 * NCCL is loaded at run time (dlopen libnccl.so.2): the library builds without NCCL's
 * headers (Debian 12 does not package them) and uses the host's NCCL where it exists.
 * The few prototypes below are NCCL's documented API (nccl.h, NCCL 2.x; the constants
 * are ncclSum = 0, ncclFloat32 = 7, a 128-byte ncclUniqueId). The communicator's unique
 * id goes from rank 0 to the others over MPI. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include "dag/cuda.h"
#include "nn_model.h"

#ifdef DAG_NN_HAVE_MPI
#include <mpi.h>
#endif

typedef struct nn_nccl_comm_s *nn_nccl_comm_t;
typedef struct { char internal[128]; } nn_nccl_id_t;
enum { NN_NCCL_SUCCESS = 0, NN_NCCL_SUM = 0, NN_NCCL_FLOAT32 = 7 };

static struct {
    pthread_once_t once;
    void *lib;
    int version;
    int (*get_unique_id)(nn_nccl_id_t *);
    int (*comm_init_rank)(nn_nccl_comm_t *, int, nn_nccl_id_t, int);
    int (*comm_destroy)(nn_nccl_comm_t);
    int (*all_reduce)(const void *, void *, size_t, int, int, nn_nccl_comm_t, cudaStream_t);
    const char *(*error_string)(int);
    int (*get_version)(int *);
} lib = {.once = PTHREAD_ONCE_INIT};

static void load(void) {
    const char *names[] = {"libnccl.so.2", "libnccl.so", "/usr/local/cuda/lib64/libnccl.so.2"};
    for (size_t i = 0; i < sizeof names / sizeof *names && !lib.lib; i++)
        lib.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib.lib) return;
    *(void **)&lib.get_unique_id = dlsym(lib.lib, "ncclGetUniqueId");
    *(void **)&lib.comm_init_rank = dlsym(lib.lib, "ncclCommInitRank");
    *(void **)&lib.comm_destroy = dlsym(lib.lib, "ncclCommDestroy");
    *(void **)&lib.all_reduce = dlsym(lib.lib, "ncclAllReduce");
    *(void **)&lib.error_string = dlsym(lib.lib, "ncclGetErrorString");
    *(void **)&lib.get_version = dlsym(lib.lib, "ncclGetVersion");
    if (!lib.get_unique_id || !lib.comm_init_rank || !lib.comm_destroy || !lib.all_reduce ||
        !lib.error_string || !lib.get_version || lib.get_version(&lib.version) ||
        lib.version < 2000) { /* 2.0-2.8: 2xyz, from 2.9: 2xxyy */
        dlclose(lib.lib);
        lib.lib = NULL;
    }
}

struct nn_nccl {
    nn_nccl_comm_t comm;
    int device, nranks;
    float *token; /* the order token: every all-reduce task updates it */
    pthread_mutex_t lock;
    double t_launch, exposed_ms;
    long exposed_n;
};

/* agree over the ranks: the minimum of v */
static int agree_min(int v, int nranks) {
#ifdef DAG_NN_HAVE_MPI
    int init = 0;
    if (nranks > 1 && (MPI_Initialized(&init), init)) {
        int r = v;
        MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        return r;
    }
#endif
    (void)nranks;
    return v;
}

static const char *why_not(int nranks) {
    pthread_once(&lib.once, load);
    if (!lib.lib) return "libnccl.so.2 was not found (or is older than NCCL 2.0)";
    int n = dag_cuda_device_count();
    if (n == 0) return "this rank has no CUDA device (or DAG_CUDA=0)";
    if (n > 1)
        return "this rank sees several CUDA devices; NCCL needs one per rank (set "
               "CUDA_VISIBLE_DEVICES per rank, or DAG_CUDA_DEVICES=1)";
#ifdef DAG_NN_HAVE_MPI
    int init = 0;
    if (nranks > 1 && (MPI_Initialized(&init), !init))
        return "MPI is not running, the NCCL id cannot reach the other ranks";
#else
    if (nranks > 1) return "built without MPI, the NCCL id cannot reach the other ranks";
#endif
    (void)nranks;
    return NULL;
}

/* whether two ranks use the same GPU (same host, same PCI bus id), which NCCL refuses:
 * every rank answers the same (collective; MPI is running when nranks > 1) */
static int shared_device(int nranks, int device) {
    int shared = 0;
#ifdef DAG_NN_HAVE_MPI
    int init = 0;
    if (nranks < 2 || (MPI_Initialized(&init), !init)) return 0;
    enum { K = 160 };
    char me[K];
    memset(me, 0, sizeof me);
    gethostname(me, 96);
    me[96] = '\0';
    size_t l = strlen(me);
    me[l++] = '/';
    if (cudaDeviceGetPCIBusId(me + l, (int)(K - 1 - l), device) != cudaSuccess)
        snprintf(me + l, K - l, "device %d", device);
    char *all = malloc((size_t)K * nranks);
    if (!all) return 1;
    MPI_Allgather(me, K, MPI_CHAR, all, K, MPI_CHAR, MPI_COMM_WORLD);
    for (int i = 0; i < nranks && !shared; i++)
        for (int j = i + 1; j < nranks && !shared; j++)
            shared = !strncmp(all + (size_t)i * K, all + (size_t)j * K, K);
    free(all);
#else
    (void)nranks, (void)device;
#endif
    return shared;
}

dag_status_t nn_nccl_create(nn_nccl_t **out, int forced, int rank, int nranks) {
    *out = NULL;
    const char *why = why_not(nranks);
    int ok = agree_min(!why, nranks);
    if (ok && shared_device(nranks, 0))
        ok = 0, why = "two ranks share one GPU, which NCCL refuses (one rank per GPU: "
                      "CUDA_VISIBLE_DEVICES per rank)";
    if (!ok) {
        if (!forced) return DAG_OK; /* auto: MPI then */
        fprintf(stderr, "dagnn: rank %d: DAG_NN_ALLREDUCE=nccl: %s\n", rank,
                why ? why : "NCCL cannot run on another rank");
        return DAG_ERR_UNSUPPORTED;
    }
    nn_nccl_t *c = calloc(1, sizeof *c);
    if (!c) return DAG_ERR_NOMEM;
    c->token = aligned_alloc(64, 64);
    if (!c->token) {
        free(c);
        return DAG_ERR_NOMEM;
    }
    memset(c->token, 0, 64);
    c->device = 0, c->nranks = nranks;
    pthread_mutex_init(&c->lock, NULL);
    nn_nccl_id_t id;
    memset(&id, 0, sizeof id);
    int r = cudaSetDevice(c->device) == cudaSuccess ? NN_NCCL_SUCCESS : -1;
    if (r == NN_NCCL_SUCCESS && rank == 0) r = lib.get_unique_id(&id);
    /* every rank has its device and rank 0 its id before anyone enters the init */
    if (agree_min(r == NN_NCCL_SUCCESS, nranks) == 0) {
        if (r == NN_NCCL_SUCCESS) r = -1;
    } else {
#ifdef DAG_NN_HAVE_MPI
        if (nranks > 1) MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
#endif
        r = lib.comm_init_rank(&c->comm, nranks, id, rank);
    }
    if (agree_min(r == NN_NCCL_SUCCESS, nranks) == 0) {
        fprintf(stderr, "dagnn: rank %d: NCCL communicator of %d ranks: %s\n", rank, nranks,
                r == NN_NCCL_SUCCESS ? "failed on another rank"
                : r < 0              ? "no NCCL id or device"
                                     : lib.error_string(r));
        if (r != NN_NCCL_SUCCESS) c->comm = NULL;
        nn_nccl_destroy(c);
        return forced ? DAG_ERR_COMM : DAG_OK; /* auto falls back to MPI */
    }
    *out = c;
    return DAG_OK;
}

void nn_nccl_destroy(nn_nccl_t *c) {
    if (!c) return;
    if (c->comm) lib.comm_destroy(c->comm);
    pthread_mutex_destroy(&c->lock);
    free(c->token);
    free(c);
}

typedef struct {
    nn_nccl_t *c;
    float *buf;
    size_t n;
    int timed;
} nn_nar_t;

/* the task is always placed on the device (attr.device = CUDA): its CPU body never runs */
static int k_nccl_cpu(void *p) {
    (void)p;
    return DAG_ERR_UNSUPPORTED;
}

static void CUDART_CB done(void *p) {
    nn_nccl_t *c = p;
    pthread_mutex_lock(&c->lock);
    c->exposed_ms += nn_now_ms() - c->t_launch;
    c->exposed_n++;
    pthread_mutex_unlock(&c->lock);
}

static int k_nccl(void *p, struct dag_cuda_ctx *ctx) {
    nn_nar_t *a = p;
    nn_nccl_t *c = a->c;
    if (dag_cuda_device(ctx) != c->device) {
        fprintf(stderr, "dagnn: NCCL all-reduce placed on device %d, communicator on %d\n",
                dag_cuda_device(ctx), c->device);
        return DAG_ERR_UNSUPPORTED;
    }
    float *d = dag_cuda_ptr(ctx, a->buf);
    cudaStream_t s = dag_cuda_stream(ctx);
    if (a->timed) {
        pthread_mutex_lock(&c->lock);
        c->t_launch = nn_now_ms();
        pthread_mutex_unlock(&c->lock);
    }
    int r = lib.all_reduce(d, d, a->n, NN_NCCL_FLOAT32, NN_NCCL_SUM, c->comm, s);
    if (r != NN_NCCL_SUCCESS) {
        fprintf(stderr, "dagnn: ncclAllReduce: %s\n", lib.error_string(r));
        return DAG_ERR_COMM;
    }
    if (a->timed && cudaLaunchHostFunc(s, done, c) != cudaSuccess) return DAG_ERR_COMM;
    return 0;
}

dag_status_t nn_nccl_allreduce(nn_nccl_t *c, float *buf, size_t n, int timed) {
    nn_nar_t a = {c, buf, n, timed};
    dag_dep_t d[2] = {{buf, n * sizeof(float), DAG_INOUT}, {c->token, sizeof(float), DAG_INOUT}};
    dag_task_attr_t at = {.label = "nn.allreduce.nccl", .file = __FILE__, .priority = 1,
                          .device = DAG_DEVICE_CUDA, .cuda = k_nccl};
    return dag_submit(k_nccl_cpu, &a, sizeof a, d, 2, &at);
}

void nn_nccl_stats(nn_nccl_t *c, double *ms, long *n) {
    pthread_mutex_lock(&c->lock);
    *ms = c->exposed_ms, *n = c->exposed_n;
    c->exposed_ms = 0, c->exposed_n = 0;
    pthread_mutex_unlock(&c->lock);
}
