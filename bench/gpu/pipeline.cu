// pipeline.cu: C chunks of S MiB, each host-to-device copy -> kernel -> device-to-host
// copy, written (1) by hand in CUDA on one stream, (2) by hand on four streams, (3) as dag
// tasks (one GPU task per chunk, inout on the chunk; the runtime inserts the copies and
// spreads the tasks over its streams). Prints the median of R runs of each and the ratios
// the issue sets as the bar: dag >= 0.95x four streams and >= 1.8x one stream.
// Usage: bench_gpu_pipeline [chunks=16] [MiB=16] [kernel_ms=0.63] [reps=15]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include <dag.h>
#include <dag/cuda.h>

#include "bench_cuda.h"

static double now_ms()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static size_t g_n;  // floats per chunk
static int g_iters; // kernel length

static void launch(float *d, cudaStream_t s)
{
    spin_kernel<<<(unsigned)((g_n + 255) / 256), 256, 0, s>>>(d, g_n, g_iters);
}

static double by_hand(float *host, float *dev, int chunks, int nstreams)
{
    std::vector<cudaStream_t> st(nstreams);
    for (auto &s : st)
        CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    double t0 = now_ms();
    for (int c = 0; c < chunks; c++) {
        cudaStream_t s = st[c % nstreams];
        float *h = host + c * g_n, *d = dev + c * g_n;
        CK(cudaMemcpyAsync(d, h, g_n * 4, cudaMemcpyHostToDevice, s));
        launch(d, s);
        CK(cudaMemcpyAsync(h, d, g_n * 4, cudaMemcpyDeviceToHost, s));
    }
    for (auto &s : st)
        CK(cudaStreamSynchronize(s));
    double t = now_ms() - t0;
    for (auto &s : st)
        CK(cudaStreamDestroy(s));
    return t;
}

struct chunk_args {
    float *x;
};

static int chunk_cuda(void *args, dag_cuda_ctx *ctx)
{
    float *d = (float *)dag_cuda_ptr(ctx, ((chunk_args *)args)->x);
    launch(d, dag_cuda_stream(ctx));
    return cudaGetLastError() == cudaSuccess ? 0 : 1;
}

static int chunk_cpu(void *) { return 1; } // forced to the GPU: never runs

static double with_dag(float *host, int chunks)
{
    double t0 = now_ms();
    for (int c = 0; c < chunks; c++) {
        chunk_args a = {host + c * g_n};
        dag_dep_t d = {a.x, g_n * 4, DAG_INOUT};
        dag_task_attr_t at = {};
        at.label = "chunk";
        at.device = DAG_DEVICE_CUDA;
        at.cuda = chunk_cuda;
        dag_submit(chunk_cpu, &a, sizeof a, &d, 1, &at);
    }
    if (dag_taskwait() != DAG_OK) {
        fprintf(stderr, "pipeline: a dag task failed\n");
        exit(1);
    }
    return now_ms() - t0;
}

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static void fill(float *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h[i] = (float)(i % 1000) * 0.001f;
}

int main(int argc, char **argv)
{
    int chunks = argc > 1 ? atoi(argv[1]) : 16;
    double mib = argc > 2 ? atof(argv[2]) : 16;
    double kms = argc > 3 ? atof(argv[3]) : 0.63;
    int reps = argc > 4 ? atoi(argv[4]) : 15;
    if (dag_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device\n");
        return 0;
    }
    g_n = (size_t)(mib * 1024 * 1024 / 4);
    size_t total = g_n * chunks;
    float *host, *dev, *ref;
    CK(cudaMallocHost(&host, total * 4)); // pinned, for both: a fair fight
    CK(cudaMalloc(&dev, total * 4));
    ref = (float *)malloc(total * 4);

    // calibrate the kernel to kms on one chunk
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    g_iters = 256;
    for (int round = 0; round < 6; round++) {
        CK(cudaEventRecord(e0));
        launch(dev, 0);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        g_iters = std::max(1, (int)(g_iters * kms / ms));
    }
    CK(cudaEventRecord(e0));
    launch(dev, 0);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float kernel_ms;
    CK(cudaEventElapsedTime(&kernel_ms, e0, e1));

    // correctness: the dag result equals the hand-written one, bit for bit
    fill(host, total);
    by_hand(host, dev, chunks, 4);
    memcpy(ref, host, total * 4);
    fill(host, total);
    with_dag(host, chunks);
    size_t bad = 0;
    for (size_t i = 0; i < total; i++)
        bad += host[i] != ref[i];
    if (bad) {
        fprintf(stderr, "pipeline: %zu floats differ between dag and hand-written\n", bad);
        return 1;
    }

    std::vector<double> t1, t4, td;
    for (int r = 0; r < reps; r++) {
        t1.push_back(by_hand(host, dev, chunks, 1));
        t4.push_back(by_hand(host, dev, chunks, 4));
        td.push_back(with_dag(host, chunks));
    }
    double m1 = median(t1), m4 = median(t4), md = median(td);
    dag_cuda_stats_t s;
    dag_cuda_stats(&s);
    printf("pipeline: %d chunks x %.0f MiB, kernel %.3f ms, median of %d runs (results checked)\n",
           chunks, mib, kernel_ms, reps);
    printf("  %-28s %8.2f ms\n", "hand-written, 1 stream", m1);
    printf("  %-28s %8.2f ms\n", "hand-written, 4 streams", m4);
    printf("  %-28s %8.2f ms\n", "dag tasks", md);
    printf("  dag speed vs 4 streams: %.3fx (bar 0.95x) %s\n", m4 / md, m4 / md >= 0.95 ? "PASS" : "FAIL");
    printf("  dag speed vs 1 stream:  %.3fx (bar 1.80x) %s\n", m1 / md, m1 / md >= 1.8 ? "PASS" : "FAIL");
    printf("  transfers by the runtime: %llu H2D, %llu D2H (%.0f MiB each way)\n", s.h2d_copies,
           s.d2h_copies, s.h2d_bytes / 1048576.0);
    cudaFreeHost(host);
    cudaFree(dev);
    free(ref);
    return 0;
}
