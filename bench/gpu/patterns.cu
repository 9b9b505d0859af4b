// patterns.cu: GPU task throughput on workload shapes, and the latency an empty GPU task
// adds over a bare kernel launch.
//   independent  N tasks, each on its own small region
//   chain        N inout tasks on one region
//   fork-join    rounds of one writer then W readers of the same region
//   random       N tasks over R regions of mixed sizes (4 KiB .. 4 MiB), 1-3 random
//                dependencies (in/inout) each, kernels of mixed length
//   latency      submit one empty GPU task + taskwait, against launch + stream sync
//   chain-bare   N dependent small kernels as tasks (each reads and writes one 4 KiB
//                region), against the same N kernels launched back to back on one
//                stream: what a host round trip between dependent tasks costs. With
//                chaining (DAG_CUDA_CHAIN=1, the default) a successor is launched right
//                behind its predecessor; run with DAG_CUDA_CHAIN=0 to compare.
// Usage: bench_gpu_patterns [N=4000]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <dag.h>
#include <dag/cuda.h>

#include "bench_cuda.h"

__global__ void empty() {}

static double now_us()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

struct kargs {
    float *x;
    size_t n;
    int iters;
    float *y; // optional second dependency (read)
};

static int k_cuda(void *a, dag_cuda_ctx *ctx)
{
    kargs *k = (kargs *)a;
    if (!k->x) {
        empty<<<1, 32, 0, dag_cuda_stream(ctx)>>>();
        return 0;
    }
    float *d = (float *)dag_cuda_ptr(ctx, k->x);
    size_t n = std::min<size_t>(k->n, 1 << 16); // the kernel's size, not the data's
    spin_kernel<<<(unsigned)((n + 255) / 256), 256, 0, dag_cuda_stream(ctx)>>>(d, n, k->iters);
    return cudaGetLastError() == cudaSuccess ? 0 : 1;
}

static int k_cpu(void *) { return 1; }

static void submit(float *x, size_t n, int iters, unsigned mode, float *y = nullptr,
                   size_t ny = 0)
{
    kargs a = {x, n, iters, y};
    dag_dep_t d[2] = {{x, n * 4, mode}, {y, ny * 4, DAG_IN}};
    dag_task_attr_t at = {};
    at.label = "k";
    at.device = DAG_DEVICE_CUDA;
    at.cuda = k_cuda;
    dag_submit(k_cpu, &a, sizeof a, d, x ? (y ? 2 : 1) : 0, &at);
}

static void report(const char *name, int ntasks, double us)
{
    printf("  %-14s %7d tasks %9.1f ms %10.0f tasks/s %7.2f us/task\n", name, ntasks, us / 1e3,
           ntasks / (us / 1e6), us / ntasks);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4000;
    if (dag_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device\n");
        return 0;
    }
    const size_t small = 1024; // 4 KiB regions
    float *pool = (float *)dag_cuda_malloc_host((size_t)64 << 20);
    for (size_t i = 0; i < ((size_t)64 << 20) / 4; i++)
        pool[i] = 1.0f;
    printf("GPU task patterns (%d threads, %d device(s))\n", dag_num_threads(),
           dag_cuda_device_count());
    // warm up: streams, handles, the allocator's cache
    for (int i = 0; i < 200; i++)
        submit(pool + (i % 64) * small, small, 16, DAG_INOUT);
    dag_taskwait();

    double t0 = now_us();
    for (int i = 0; i < n; i++)
        submit(pool + (size_t)(i % 4096) * small, small, 64, DAG_INOUT);
    dag_taskwait();
    report("independent", n, now_us() - t0);

    t0 = now_us();
    for (int i = 0; i < n; i++)
        submit(pool, small, 64, DAG_INOUT);
    dag_taskwait();
    report("chain", n, now_us() - t0);

    const int width = 16, rounds = std::max(1, n / (width + 1));
    t0 = now_us();
    for (int r = 0; r < rounds; r++) {
        submit(pool, small, 64, DAG_INOUT);
        for (int w = 0; w < width; w++)
            submit(pool + (size_t)(w + 1) * small, small, 64, DAG_INOUT, pool, small);
    }
    dag_taskwait();
    report("fork-join", rounds * (width + 1), now_us() - t0);

    const int nreg = 64;
    std::vector<float *> reg(nreg);
    std::vector<size_t> len(nreg);
    size_t off = 0;
    unsigned s = 12345;
    for (int i = 0; i < nreg; i++) {
        s = s * 1103515245u + 12345u;
        len[i] = (size_t)1024 << ((s >> 16) % 11); // 4 KiB .. 4 MiB
        reg[i] = pool + off;
        off += len[i];
    }
    t0 = now_us();
    for (int i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        int a = (s >> 8) % nreg, b = (s >> 16) % nreg;
        int iters = 16 << ((s >> 24) % 6);
        if (a == b || (s & 1))
            submit(reg[a], len[a], iters, (s & 2) ? DAG_INOUT : DAG_IN);
        else
            submit(reg[a], len[a], iters, DAG_INOUT, reg[b], len[b]);
    }
    dag_taskwait();
    report("random", n, now_us() - t0);

    // latency of one empty task, against a bare launch + sync
    const int lat = 2000;
    cudaStream_t st;
    cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
    for (int i = 0; i < 100; i++) {
        empty<<<1, 32, 0, st>>>();
        cudaStreamSynchronize(st);
    }
    t0 = now_us();
    for (int i = 0; i < lat; i++) {
        empty<<<1, 32, 0, st>>>();
        cudaStreamSynchronize(st);
    }
    double bare = (now_us() - t0) / lat;
    for (int i = 0; i < 100; i++) {
        submit(nullptr, 0, 0, DAG_IN);
        dag_taskwait();
    }
    t0 = now_us();
    for (int i = 0; i < lat; i++) {
        submit(nullptr, 0, 0, DAG_IN);
        dag_taskwait();
    }
    double task = (now_us() - t0) / lat;
    printf("  latency: bare launch+sync %.1f us, empty GPU task submit+wait %.1f us, added %.1f us\n",
           bare, task, task - bare);

    // a chain of n small dependent kernels: tasks against back-to-back launches
    float *dx = nullptr;
    CK(cudaMalloc(&dx, small * 4));
    CK(cudaMemcpy(dx, pool, small * 4, cudaMemcpyHostToDevice));
    const int kit = 64;
    for (int rep = 0; rep < 2; rep++) { // the first round warms up
        t0 = now_us();
        for (int i = 0; i < n; i++)
            spin_kernel<<<(unsigned)((small + 255) / 256), 256, 0, st>>>(dx, small, kit);
        CK(cudaStreamSynchronize(st));
        bare = (now_us() - t0) / n;
        dag_cuda_stats_reset();
        t0 = now_us();
        for (int i = 0; i < n; i++)
            submit(pool, small, kit, DAG_INOUT);
        dag_taskwait();
        task = (now_us() - t0) / n;
    }
    dag_cuda_stats_t cs;
    dag_cuda_stats(&cs);
    const char *ch = getenv("DAG_CUDA_CHAIN");
    printf("  chain-bare: %d dependent kernels: tasks %.2f us/kernel, bare stream %.2f us/kernel, "
           "bare/tasks %.2fx (DAG_CUDA_CHAIN=%s, %llu chained)\n", n, task, bare, bare / task,
           ch ? ch : "1", cs.chained);
    cudaFree(dx);
    dag_cuda_free_host(pool);
    return 0;
}
