/* test_gpu_mpi.c: distributed runs with data on GPUs (run under mpirun, 2+ ranks sharing
 * the node's devices). A tile written by a GPU task on its owner and read by a task on
 * another rank leaves the device in pieces, each sent as soon as it is home (staging,
 * DAG_COMM_STAGE); received tiles feed GPU tasks there. Tile sizes that are and are not
 * multiples of the piece size; results compared with what a sequential run computes.
 * Usage: mpirun -np 2 test_gpu_mpi [tile MiB] [rounds]. Exit 77: no device (skipped). */
#include <cuda_runtime_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dag.h>
#include <dag/cuda.h>
#include <dag/dist.h>

#include "../mpi/mpitest.h" /* CHECK */

struct fill { unsigned char *p; size_t n; int v; };

/* GPU: p[i] = v for every byte (cudaMemsetAsync on the task's stream) */
static int fill_cuda(void *a, struct dag_cuda_ctx *ctx)
{
    struct fill *f = a;
    void *d = dag_cuda_ptr(ctx, f->p);
    if (!d)
        return 101;
    return cudaMemsetAsync(d, f->v, f->n, dag_cuda_stream(ctx)) != cudaSuccess;
}

static int fill_cpu(void *a)
{
    struct fill *f = a;
    memset(f->p, f->v, f->n);
    return 0;
}

/* CPU, on the reader's rank: out[0] = number of bytes of in that differ from v */
struct verify { const unsigned char *in; size_t n; int v; uint64_t *out; };
static int verify_cpu(void *a)
{
    struct verify *w = a;
    uint64_t bad = 0;
    for (size_t i = 0; i < w->n; i++)
        bad += w->in[i] != (unsigned char)w->v;
    w->out[0] = bad;
    return 0;
}

/* GPU on the reader's rank: copy in -> dst on the device (a received tile goes in) */
struct copy { const unsigned char *in; unsigned char *dst; size_t n; };
static int copy_cuda(void *a, struct dag_cuda_ctx *ctx)
{
    struct copy *c = a;
    const void *s = dag_cuda_ptr(ctx, c->in);
    void *d = dag_cuda_ptr(ctx, c->dst);
    if (!s || !d)
        return 101;
    return cudaMemcpyAsync(d, s, c->n, cudaMemcpyDeviceToDevice, dag_cuda_stream(ctx)) !=
           cudaSuccess;
}

static int copy_cpu(void *a)
{
    struct copy *c = a;
    memcpy(c->dst, c->in, c->n);
    return 0;
}

int main(int argc, char **argv)
{
    double mib = argc > 1 ? atof(argv[1]) : 20.3; /* not a multiple of the 8 MiB piece */
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    /* results stay on the GPU until a send needs them, so that every round's sends are
     * staged (auto may write a tile back early, once its last submitted writer is done) */
    setenv("DAG_CUDA_WRITEBACK", "lazy", 0);
    CHECK(dag_init(NULL) == DAG_OK);
    /* DAG_TEST_CPU_ONLY=1: the same flow with CPU bodies (checks the test without a GPU) */
    const char *cpu_only = getenv("DAG_TEST_CPU_ONLY");
    int gpu = !(cpu_only && atoi(cpu_only));
    int where = gpu ? DAG_DEVICE_CUDA : DAG_DEVICE_CPU;
    if (gpu && dag_cuda_device_count() < 1) {
        fprintf(stderr, "test_gpu_mpi: no CUDA device: skipped\n");
        dag_finalize();
        return 77;
    }
    int me = dag_rank(), n = dag_nranks();
    CHECK(n >= 2);
    size_t bytes = (size_t)(mib * 1048576.0);
    /* A: n tiles, tile r owned by rank r; B: result words; C: n tiles for GPU copies */
    dag_dist_t cyc = {.kind = DAG_DIST_CYCLIC};
    dag_matrix_t *A, *C, *R;
    CHECK(dag_matrix_create(&A, n, 1, bytes, &cyc) == DAG_OK);
    CHECK(dag_matrix_create(&C, n, 1, bytes, &cyc) == DAG_OK);
    CHECK(dag_matrix_create(&R, n, 1, sizeof(uint64_t), &cyc) == DAG_OK);
    unsigned long long regs_first = 0; /* host ranges page-locked in the first round */
    for (int round = 0; round < rounds; round++) {
        if (round == 1 && gpu) {
            dag_cuda_stats_t cs;
            CHECK(dag_cuda_stats(&cs) == DAG_OK);
            regs_first = cs.host_registers;
        }
        for (int r = 0; r < n; r++) { /* the owner fills its tile on the GPU */
            unsigned char *a = dag_tile(A, r, 0);
            struct fill f = {a, bytes, 17 + 13 * round + r};
            dag_dep_t d = {a, bytes, DAG_OUT};
            dag_task_attr_t at = {.label = "fill", .cuda = fill_cuda, .device = where};
            CHECK(dag_submit(fill_cpu, &f, sizeof f, &d, 1, &at) == DAG_OK);
        }
        for (int r = 0; r < n; r++) { /* rank r+1 checks tile r on its CPU ... */
            int src = r, dst = (r + 1) % n;
            const unsigned char *a = dag_tile(A, src, 0);
            uint64_t *out = dag_tile(R, dst, 0);
            struct verify v = {a, bytes, 17 + 13 * round + src, out};
            dag_dep_t d[2] = {{(void *)a, bytes, DAG_IN}, {out, sizeof *out, DAG_OUT}};
            dag_task_attr_t at = {.label = "verify"};
            CHECK(dag_submit(verify_cpu, &v, sizeof v, d, 2, &at) == DAG_OK);
            /* ... and copies it on its GPU into its tile of C */
            unsigned char *c = dag_tile(C, dst, 0);
            struct copy cp = {a, c, bytes};
            dag_dep_t e[2] = {{(void *)a, bytes, DAG_IN}, {c, bytes, DAG_OUT}};
            dag_task_attr_t ct = {.label = "copy", .cuda = copy_cuda, .device = where};
            CHECK(dag_submit(copy_cpu, &cp, sizeof cp, e, 2, &ct) == DAG_OK);
        }
        for (int r = 0; r < n; r++) /* every rank calls the same: the flow is replicated */
            CHECK(dag_dist_fetch(dag_tile(R, r, 0), sizeof(uint64_t), -1) == DAG_OK);
        CHECK(dag_taskwait() == DAG_OK);
        for (int r = 0; r < n; r++) {
            uint64_t bad = *(uint64_t *)dag_tile(R, r, 0);
            if (bad)
                fprintf(stderr, "rank %d: round %d: tile %d: %llu bytes wrong\n", me, round,
                        (r + n - 1) % n, (unsigned long long)bad);
            CHECK(bad == 0);
        }
        const unsigned char *c = dag_tile(C, me, 0); /* mine: a copy of tile me-1 */
        int want = 17 + 13 * round + (me + n - 1) % n;
        for (size_t i = 0; i < bytes; i += 4093)
            CHECK(c[i] == (unsigned char)want);
        CHECK(c[bytes - 1] == (unsigned char)want);
    }
    dag_dist_stats_t st;
    CHECK(dag_dist_stats(&st) == DAG_OK);
    const char *stage = getenv("DAG_COMM_STAGE");
    int staging = !stage || atoi(stage) != 0;
    const char *comm = getenv("DAG_COMM");
    if (gpu && (!comm || !strcmp(comm, "mpi")))
        CHECK(staging ? st.staged_sends >= (unsigned long long)rounds : st.staged_sends == 0);
    /* the tiles are the runtime's: page-locked once, kept across the rounds' waits (unless
     * outdated copies give their pages back, DAG_COMM_STALE_MB=0, or keeping is off) */
    unsigned long long regs = 0;
    if (gpu) {
        dag_cuda_stats_t cs;
        CHECK(dag_cuda_stats(&cs) == DAG_OK);
        regs = cs.host_registers;
        const char *keep = getenv("DAG_CUDA_PIN_KEEP_MB"), *stale = getenv("DAG_COMM_STALE_MB");
        if (rounds > 1 && (!keep || atoi(keep) > 0) && (!stale || atoi(stale) > 0)) {
            if (regs != regs_first)
                fprintf(stderr, "rank %d: %llu host registrations after round 1, %llu at the "
                        "end\n", me, regs_first, regs);
            CHECK(regs == regs_first);
        }
    }
    printf("rank %d: %d rounds of %.1f MiB tiles: %llu sends (%llu staged from the GPU), "
           "%llu receives, %llu host registrations: ok\n", me, rounds, mib, st.sends,
           st.staged_sends, st.recvs, regs);
    dag_matrix_destroy(A);
    dag_matrix_destroy(C);
    dag_matrix_destroy(R);
    CHECK(dag_finalize() == DAG_OK);
    return 0;
}
