// cublas_fmnist.cu: the GPU anchor of bench/nn/device.sh (PyTorch is not on the GPU host):
// hand-written cuBLAS training loops of samples/nn/fmnist's two models with the same batch
// size, optimiser (Adam lr 1e-3), dropout and seeded shuffle per epoch:
//   mlp: 784-512-256-10, ReLU, dropout 0.2 after each hidden layer;
//   cnn: conv 16 3x3 pad 1, ReLU, max-pool 2, conv 32 3x3 pad 1, ReLU, max-pool 2,
//        dense 128, ReLU, dropout 0.25, dense 10 (convolutions as im2col + one GEMM over
//        the whole batch, activations channel-major inside the convolutional part).
// Softmax cross-entropy. The whole training set lives on the device and a step gathers its
// batch there: one stream, no synchronisation inside an epoch. Prints fmnist's line format.
//
//   cublas_fmnist [--model mlp|cnn] [--data DIR] [--epochs N] [--batch B] [--lr X]
//                 [--limit N] [--seed S] [--check]
// --check: the analytic gradients of a few parameters of every layer against central
// differences (dropout off, biases moved off 0: see the check), then exit (status 1 when
// they differ by 2% of the block's largest gradient or more). CHECK_VERBOSE=1 prints each.
#ifndef NN_CUDA_EMU // tests/nn/cuda_emu.h runs this file on the CPU (bench/nn/emu_anchor.sh)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#define LAUNCH_(k, g, b, s, ...) k<<<g, b, 0, s>>>(__VA_ARGS__)
#endif
#define LAUNCH(k, cfg, ...) LAUNCH_(k, cfg, __VA_ARGS__)
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <vector>

#define CK(x)                                                                                \
    do {                                                                                     \
        cudaError_t e_ = (x);                                                                \
        if (e_ != cudaSuccess) {                                                             \
            fprintf(stderr, "cublas_fmnist: %s: %s\n", #x, cudaGetErrorString(e_));         \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)
#define CB(x)                                                                                \
    do {                                                                                     \
        if ((x) != CUBLAS_STATUS_SUCCESS) {                                                  \
            fprintf(stderr, "cublas_fmnist: %s failed\n", #x);                               \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static double now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// a gzipped IDX file: n items of *item bytes after a header of hdr bytes
static std::vector<unsigned char> read_idx(const char *path, size_t hdr, int *n, int *item) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cublas_fmnist: cannot open %s\n", path);
        exit(1);
    }
    unsigned char h[16];
    if (gzread(f, h, (unsigned)hdr) != (int)hdr) exit(1);
    *n = (int)be32(h + 4);
    *item = hdr == 16 ? (int)(be32(h + 8) * be32(h + 12)) : 1;
    std::vector<unsigned char> v((size_t)*n * *item);
    if (gzread(f, v.data(), (unsigned)v.size()) != (int)v.size()) {
        fprintf(stderr, "cublas_fmnist: %s is truncated\n", path);
        exit(1);
    }
    gzclose(f);
    return v;
}

__device__ __host__ static inline uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
__device__ __host__ static inline float uniform(uint64_t seed, uint64_t i) {
    return (float)(mix(seed ^ mix(i)) >> 40) * (1.0f / 16777216.0f);
}

#define GRID(n) (unsigned)(((size_t)(n) + 255) / 256), 256, st
#define TID (blockIdx.x * (size_t)blockDim.x + threadIdx.x)

__global__ void k_gather(const float *x, const int32_t *lab, const int *idx, float *xb,
                         int32_t *yb, int rows, int feat) {
    size_t i = TID;
    if (i >= (size_t)rows * feat) return;
    int r = (int)(i / feat), c = (int)(i % feat);
    xb[i] = x[(size_t)idx[r] * feat + c];
    if (c == 0) yb[r] = lab[idx[r]];
}
// y = relu(y + b[(i / inner) % cols]); then dropout when mask (a scale 0 or 1/(1-p), kept)
__global__ void k_bias_relu(float *y, const float *b, float *mask, size_t n, int inner,
                            int cols, int relu, float p, uint64_t seed) {
    size_t i = TID;
    if (i >= n) return;
    float v = y[i] + b[(i / inner) % cols];
    if (relu) v = v > 0 ? v : 0;
    if (mask) {
        float s = uniform(seed, i) < p ? 0.0f : 1.0f / (1.0f - p);
        mask[i] = s;
        v *= s;
    }
    y[i] = v;
}
// backward through dropout (mask, or none) and ReLU (output y > 0)
__global__ void k_relu_bwd(float *dy, const float *y, const float *mask, size_t n) {
    size_t i = TID;
    if (i < n) dy[i] = y[i] > 0 ? dy[i] * (mask ? mask[i] : 1.0f) : 0.0f;
}
// one thread per row: softmax, dz = (p - onehot) * scale, loss and correct count
__global__ void k_xent(const float *z, const int32_t *y, float *dz, double *stats, int rows,
                       int classes, float scale) {
    size_t r = TID;
    if (r >= (size_t)rows) return;
    const float *zr = z + r * classes;
    float mx = zr[0];
    int arg = 0;
    for (int c = 1; c < classes; c++)
        if (zr[c] > mx) mx = zr[c], arg = c;
    float s = 0;
    for (int c = 0; c < classes; c++) s += expf(zr[c] - mx);
    if (dz)
        for (int c = 0; c < classes; c++)
            dz[r * classes + c] = (expf(zr[c] - mx) / s - (c == y[r])) * scale;
    atomicAdd(&stats[0], (double)(logf(s) + mx - zr[y[r]]));
    atomicAdd(&stats[1], arg == y[r] ? 1.0 : 0.0);
}
__global__ void k_adam(float *p, const float *g, float *m, float *v, size_t n, float lr,
                       float b1t, float b2t) {
    size_t i = TID;
    if (i >= n) return;
    float gi = g[i];
    m[i] = 0.9f * m[i] + 0.1f * gi;
    v[i] = 0.999f * v[i] + 0.001f * gi * gi;
    p[i] -= lr * (m[i] / (1 - b1t)) / (sqrtf(v[i] / (1 - b2t)) + 1e-8f);
}
// 3x3, pad 1, stride 1 convolutions on channel-major activations x[c][b][h][w]:
// cols[(c*3+ky)*3+kx][b*h*w + y*w + x] = x[c][b][y+ky-1][x+kx-1] (0 outside)
__global__ void k_im2col(const float *x, float *cols, int cin, int nb, int h, int w) {
    size_t i = TID, n = (size_t)nb * h * w;
    if (i >= (size_t)cin * 9 * n) return;
    size_t col = i % n;
    int r = (int)(i / n), c = r / 9, ky = r % 9 / 3, kx = r % 3;
    int b = (int)(col / ((size_t)h * w)), y = (int)(col / w % h) + ky - 1,
        xx = (int)(col % w) + kx - 1;
    cols[i] = y >= 0 && y < h && xx >= 0 && xx < w
                  ? x[(((size_t)c * nb + b) * h + y) * w + xx] : 0.0f;
}
// the adjoint: dx[c][b][y][x] = sum over (ky, kx) of dcols at the output it fed
__global__ void k_col2im(const float *dcols, float *dx, int cin, int nb, int h, int w) {
    size_t i = TID, n = (size_t)nb * h * w;
    if (i >= (size_t)cin * n) return;
    int c = (int)(i / n);
    size_t rest = i % n;
    int b = (int)(rest / ((size_t)h * w)), y = (int)(rest / w % h), xx = (int)(rest % w);
    float s = 0;
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            int oy = y - ky + 1, ox = xx - kx + 1;
            if (oy >= 0 && oy < h && ox >= 0 && ox < w)
                s += dcols[(size_t)((c * 3 + ky) * 3 + kx) * n + ((size_t)b * h + oy) * w + ox];
        }
    dx[i] = s;
}
// 2x2 max-pooling of planes (h, w even); arg: the winner's offset within its window
__global__ void k_pool(const float *x, float *y, unsigned char *arg, size_t planes, int h,
                       int w) {
    size_t i = TID;
    int ho = h / 2, wo = w / 2;
    if (i >= planes * ho * wo) return;
    size_t p = i / ((size_t)ho * wo);
    int oy = (int)(i / wo % ho), ox = (int)(i % wo);
    const float *xp = x + p * h * w + (size_t)(2 * oy) * w + 2 * ox;
    float best = xp[0];
    int a = 0;
    if (xp[1] > best) best = xp[1], a = 1;
    if (xp[w] > best) best = xp[w], a = 2;
    if (xp[w + 1] > best) best = xp[w + 1], a = 3;
    y[i] = best;
    arg[i] = (unsigned char)a;
}
__global__ void k_pool_bwd(const float *dy, const unsigned char *arg, float *dx, size_t planes,
                           int h, int w) {
    size_t i = TID;
    int ho = h / 2, wo = w / 2;
    if (i >= planes * ho * wo) return;
    size_t p = i / ((size_t)ho * wo);
    int oy = (int)(i / wo % ho), ox = (int)(i % wo);
    float *dp = dx + p * h * w + (size_t)(2 * oy) * w + 2 * ox;
    dp[0] = arg[i] == 0 ? dy[i] : 0.0f;
    dp[1] = arg[i] == 1 ? dy[i] : 0.0f;
    dp[w] = arg[i] == 2 ? dy[i] : 0.0f;
    dp[w + 1] = arg[i] == 3 ? dy[i] : 0.0f;
}
// [c][b][p] <-> [b][c][p] (the flatten between the convolutional and the dense part)
__global__ void k_cb_to_bc(const float *x, float *y, int c, int nb, int p, int back) {
    size_t i = TID;
    if (i >= (size_t)c * nb * p) return;
    int ci = (int)(i / ((size_t)nb * p)), b = (int)(i / p % nb), q = (int)(i % p);
    size_t j = ((size_t)b * c + ci) * p + q;
    if (back) y[i] = x[j];
    else y[j] = x[i];
}

int main(int argc, char **argv) {
    const char *dir = "/usr/share/datasets/fashion-mnist", *model = "mlp";
    int epochs = 1, B = 64, limit = 0, check = 0;
    float lr = 1e-3f;
    unsigned long long seed = 42;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && !strcmp(a, "--data")) dir = v;
        else if (v && !strcmp(a, "--model")) model = v;
        else if (v && !strcmp(a, "--epochs")) epochs = atoi(v);
        else if (v && !strcmp(a, "--batch")) B = atoi(v);
        else if (v && !strcmp(a, "--lr")) lr = (float)atof(v);
        else if (v && !strcmp(a, "--limit")) limit = atoi(v);
        else if (v && !strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--check")) check = 1, i--;
        else B = 0;
    }
    int cnn = !strcmp(model, "cnn");
    if ((!cnn && strcmp(model, "mlp")) || B <= 0 || epochs < 1) {
        fprintf(stderr, "usage: cublas_fmnist [--model mlp|cnn] [--data DIR] [--epochs N] "
                        "[--batch B] [--lr X] [--limit N] [--seed S] [--check]\n");
        return 2;
    }
    char path[4096];
    int n, feat, nt, one;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    std::vector<unsigned char> xi = read_idx(path, 16, &n, &feat);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    std::vector<unsigned char> yi = read_idx(path, 8, &n, &one);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    std::vector<unsigned char> txi = read_idx(path, 16, &nt, &feat);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    std::vector<unsigned char> tyi = read_idx(path, 8, &nt, &one);
    if (feat != 28 * 28) {
        fprintf(stderr, "cublas_fmnist: expected 28x28 images\n");
        return 1;
    }
    int ntrain = limit > 0 && limit < n ? limit : n, steps = ntrain / B;

    // the dense stack: width[0] inputs (the image, or the flattened 32x7x7 maps)
    const int CV = cnn ? 2 : 0, cch[3] = {1, 16, 32}, chw[3] = {28, 14, 7};
    const int L = cnn ? 2 : 3;
    int width[4];
    float drop[3];
    if (cnn) width[0] = 32 * 7 * 7, width[1] = 128, width[2] = 10, drop[0] = 0.25f;
    else width[0] = feat, width[1] = 512, width[2] = 256, width[3] = 10, drop[0] = drop[1] = 0.2f;
    // parameters: the convolutions' (cout x cin*9 weights, cout biases), then the dense ones
    size_t cw[2], cb[2], woff[3], boff[3], np = 0;
    for (int l = 0; l < CV; l++) {
        cw[l] = np, np += (size_t)cch[l + 1] * cch[l] * 9;
        cb[l] = np, np += cch[l + 1];
    }
    for (int l = 0; l < L; l++) {
        woff[l] = np, np += (size_t)width[l] * width[l + 1];
        boff[l] = np, np += width[l + 1];
    }
    std::vector<float> hp(np, 0.0f); // He-uniform weights, zero biases
    auto he = [&](size_t off, size_t count, int fan_in, uint64_t s) {
        float a = sqrtf(6.0f / fan_in);
        for (size_t i = 0; i < count; i++) hp[off + i] = (2 * uniform(s, i) - 1) * a;
    };
    for (int l = 0; l < CV; l++) he(cw[l], cb[l] - cw[l], cch[l] * 9, seed + 0x100 + l);
    for (int l = 0; l < L; l++)
        he(woff[l], (size_t)width[l] * width[l + 1], width[l], seed + 0x200 + l);

    auto fdev = [](size_t count) {
        float *d;
        CK(cudaMalloc(&d, count * sizeof(float) + 16));
        CK(cudaMemset(d, 0, count * sizeof(float) + 16));
        return d;
    };
    auto images = [&](const std::vector<unsigned char> &v) {
        std::vector<float> f(v.size());
        for (size_t i = 0; i < v.size(); i++) f[i] = v[i] / 255.0f;
        float *d = fdev(f.size());
        CK(cudaMemcpy(d, f.data(), f.size() * sizeof(float), cudaMemcpyHostToDevice));
        return d;
    };
    auto labels = [](const std::vector<unsigned char> &v) {
        std::vector<int32_t> l(v.begin(), v.end());
        int32_t *d;
        CK(cudaMalloc(&d, l.size() * sizeof(int32_t)));
        CK(cudaMemcpy(d, l.data(), l.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
        return d;
    };
    float *X = images(xi), *TX = images(txi);
    int32_t *Y = labels(yi), *TY = labels(tyi);
    const int EB = 1000; // evaluation chunk
    const int R = B > EB ? B : EB;
    float *P = fdev(np), *G = fdev(np), *M = fdev(np), *V = fdev(np);
    double *stats;
    CK(cudaMalloc(&stats, 16));
    CK(cudaMemcpy(P, hp.data(), np * 4, cudaMemcpyHostToDevice));
    float *act[4], *dact[4], *mask[3];
    for (int l = 0; l <= L; l++) act[l] = fdev((size_t)R * width[l]), dact[l] = fdev((size_t)R * width[l]);
    for (int l = 0; l < L; l++) mask[l] = fdev((size_t)R * width[l + 1]);
    // convolutional part: in[l] (cin maps), the conv output y[l] (cout maps, pre-pool),
    // pooled[l]; one im2col buffer; all channel-major [c][b][h][w]
    float *cin_[2] = {0, 0}, *cy[2] = {0, 0}, *cdy[2] = {0, 0}, *cdin[2] = {0, 0}, *cols = 0,
          *dcols = 0, *pooled = 0, *dpooled = 0;
    unsigned char *parg[2] = {0, 0};
    size_t maxcols = 0;
    for (int l = 0; l < CV; l++) {
        size_t hw = (size_t)chw[l] * chw[l];
        cin_[l] = fdev((size_t)R * cch[l] * hw);
        cdin[l] = fdev((size_t)R * cch[l] * hw);
        cy[l] = fdev((size_t)R * cch[l + 1] * hw);
        cdy[l] = fdev((size_t)R * cch[l + 1] * hw);
        CK(cudaMalloc(&parg[l], (size_t)R * cch[l + 1] * hw / 4));
        if ((size_t)cch[l] * 9 * R * hw > maxcols) maxcols = (size_t)cch[l] * 9 * R * hw;
    }
    if (cnn) {
        cols = fdev(maxcols), dcols = fdev(maxcols);
        pooled = fdev((size_t)R * width[0]), dpooled = fdev((size_t)R * width[0]);
    }
    size_t nones = (size_t)R * 28 * 28;
    std::vector<float> h1(nones, 1.0f);
    float *ones = fdev(nones);
    CK(cudaMemcpy(ones, h1.data(), nones * 4, cudaMemcpyHostToDevice));
    int32_t *yb;
    int *didx;
    CK(cudaMalloc(&yb, (size_t)R * 4));
    CK(cudaMalloc(&didx, (size_t)ntrain * 4));
    cudaStream_t st;
    CK(cudaStreamCreate(&st));
    cublasHandle_t h;
    CB(cublasCreate(&h));
    CB(cublasSetStream(h, st));
    const float f1 = 1, f0 = 0;

    // forward of `rows` samples from src (rows x 784, sample-major); dropout when training
    auto forward = [&](const float *src, int rows, bool train, long t) {
        const float *x0 = src;
        for (int l = 0; l < CV; l++) {
            int ci = cch[l], co = cch[l + 1], hh = chw[l];
            size_t nhw = (size_t)rows * hh * hh;
            if (l == 0) x0 = src; // one input channel: [1][b][h][w] is the sample-major image
            else x0 = cin_[l];
            LAUNCH(k_im2col, GRID((size_t)ci * 9 * nhw), x0, cols, ci, rows, hh, hh);
            // y[co][nhw] = W[co][ci*9] cols[ci*9][nhw]
            CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)nhw, co, ci * 9, &f1, cols,
                           (int)nhw, P + cw[l], ci * 9, &f0, cy[l], (int)nhw));
            LAUNCH(k_bias_relu, GRID(co * nhw), cy[l], P + cb[l], NULL, co * nhw, (int)nhw, co, 1,
                                            0, 0);
            float *dst = l + 1 < CV ? cin_[l + 1] : pooled;
            LAUNCH(k_pool, GRID(co * nhw / 4), cy[l], dst, parg[l], (size_t)co * rows, hh, hh);
        }
        if (cnn) // [32][b][49] -> [b][32*49]
            LAUNCH(k_cb_to_bc, GRID((size_t)rows * width[0]), pooled, act[0], 32, rows, 49, 0);
        const float *a0 = cnn ? act[0] : src;
        for (int l = 0; l < L; l++) {
            int in = width[l], out = width[l + 1];
            // act[l+1] (rows x out) = act[l] (rows x in) W^T, W row-major out x in
            CB(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &f1, P + woff[l], in,
                           l ? act[l] : a0, in, &f0, act[l + 1], out));
            size_t ne = (size_t)rows * out;
            int hidden = l < L - 1;
            LAUNCH(k_bias_relu, GRID(ne), act[l + 1], P + boff[l], hidden && train ? mask[l] : NULL,
                                      ne, 1, out, hidden, hidden ? drop[l] : 0,
                                      mix(seed ^ ((uint64_t)t * 16 + l)));
        }
    };

    // gradients of the mean loss of the batch in xb (act[L] and dact[L] from k_xent) into G
    auto backward = [&](const float *xb) {
        for (int l = L - 1; l >= 0; l--) {
            int in = width[l], out = width[l + 1];
            // dW (out x in) = dY^T X ; db = column sums of dY ; dX = dY W
            CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, in, out, B, &f1, act[l], in,
                           dact[l + 1], out, &f0, G + woff[l], in));
            CB(cublasSgemv(h, CUBLAS_OP_N, out, B, &f1, dact[l + 1], out, ones, 1, &f0,
                           G + boff[l], 1));
            if (l > 0 || cnn)
                CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, B, out, &f1, P + woff[l], in,
                               dact[l + 1], out, &f0, dact[l], in));
            if (l > 0)
                LAUNCH(k_relu_bwd, GRID((size_t)B * in), dact[l], act[l], mask[l - 1],
                                                     (size_t)B * in);
        }
        if (cnn) // [b][32*49] -> [32][b][49]
            LAUNCH(k_cb_to_bc, GRID((size_t)B * width[0]), dact[0], dpooled, 32, B, 49, 1);
        for (int l = CV - 1; l >= 0; l--) {
            int ci = cch[l], co = cch[l + 1], hh = chw[l];
            size_t nhw = (size_t)B * hh * hh;
            LAUNCH(k_pool_bwd, GRID(co * nhw / 4), l + 1 < CV ? cdin[l + 1] : dpooled, parg[l],
                                               cdy[l], (size_t)co * B, hh, hh);
            LAUNCH(k_relu_bwd, GRID(co * nhw), cdy[l], cy[l], NULL, co * nhw);
            const float *x0 = l ? cin_[l] : xb;
            LAUNCH(k_im2col, GRID((size_t)ci * 9 * nhw), x0, cols, ci, B, hh, hh);
            // dW[co][ci*9] = dy[co][nhw] cols^T ; db = row sums of dy
            CB(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, ci * 9, co, (int)nhw, &f1, cols,
                           (int)nhw, cdy[l], (int)nhw, &f0, G + cw[l], ci * 9));
            CB(cublasSgemv(h, CUBLAS_OP_T, (int)nhw, co, &f1, cdy[l], (int)nhw, ones, 1,
                           &f0, G + cb[l], 1));
            if (l > 0) { // dcols[ci*9][nhw] = W^T dy, then back to the maps
                CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, (int)nhw, ci * 9, co, &f1, cdy[l],
                               (int)nhw, P + cw[l], ci * 9, &f0, dcols, (int)nhw));
                LAUNCH(k_col2im, GRID((size_t)ci * nhw), dcols, cdin[l], ci, B, hh, hh);
            }
        }
    };

    std::vector<int> idx(ntrain);
    double total = 0;
    double hs[2] = {0, 0};
    long t = 0;
    if (check) { // the gradients against central differences, dropout off (masks of 1)
        // At the initial point every bias is 0 and the background pixels are 0, so the
        // convolutions' pre-activations there are exactly 0: on ReLU's kink, where a central
        // difference of a bias straddles it (half of them turn on) and disagrees with the
        // derivative by ~8% (ReLU'(0) = 0). Check at a generic point: biases uniform in
        // +-0.1, a step of 1e-3 (much smaller than the biases, large enough for float).
        for (int l = 0; l < CV; l++)
            for (size_t i = cb[l]; i < cb[l] + (size_t)cch[l + 1]; i++)
                hp[i] = 0.2f * uniform(seed + 0x300, i) - 0.1f;
        for (int l = 0; l < L; l++)
            for (size_t i = boff[l]; i < boff[l] + (size_t)width[l + 1]; i++)
                hp[i] = 0.2f * uniform(seed + 0x300, i) - 0.1f;
        CK(cudaMemcpy(P, hp.data(), np * 4, cudaMemcpyHostToDevice));
        for (int i = 0; i < B; i++) idx[i] = i * 7 % ntrain;
        CK(cudaMemcpy(didx, idx.data(), (size_t)B * 4, cudaMemcpyHostToDevice));
        float *xb = cnn ? cin_[0] : act[0];
        LAUNCH(k_gather, GRID((size_t)B * feat), X, Y, didx, xb, yb, B, feat);
        for (int l = 0; l < L; l++)
            CK(cudaMemcpy(mask[l], ones, (size_t)B * width[l + 1] * 4, cudaMemcpyDeviceToDevice));
        auto loss = [&]() {
            CK(cudaMemsetAsync(stats, 0, 16, st));
            forward(xb, B, false, 0);
            LAUNCH(k_xent, GRID(B), act[L], yb, dact[L], stats, B, 10, 1.0f / B);
            CK(cudaMemcpyAsync(hs, stats, 16, cudaMemcpyDeviceToHost, st));
            CK(cudaStreamSynchronize(st));
            return hs[0] / B;
        };
        loss();
        backward(xb);
        std::vector<float> g(np);
        CK(cudaMemcpy(g.data(), G, np * 4, cudaMemcpyDeviceToHost));
        // per parameter block: its largest gradient and two more; differences relative to
        // the block's largest gradient (a layout, sign or scale error gives O(1))
        std::vector<size_t> blk;
        for (int l = 0; l < CV; l++) blk.push_back(cw[l]), blk.push_back(cb[l]);
        for (int l = 0; l < L; l++) blk.push_back(woff[l]), blk.push_back(boff[l]);
        std::sort(blk.begin(), blk.end());
        blk.push_back(np);
        double worst = 0;
        int tested = 0;
        const float eps = 1e-3f;
        for (size_t b = 0; b + 1 < blk.size(); b++) {
            size_t o = blk[b], cnt = blk[b + 1] - o, big = o;
            for (size_t k = o; k < o + cnt; k++)
                if (fabsf(g[k]) > fabsf(g[big])) big = k;
            for (size_t k : {big, o + cnt / 3, o + 2 * cnt / 3}) {
                float p0 = hp[k], pp = p0 + eps, pm = p0 - eps;
                CK(cudaMemcpy(P + k, &pp, 4, cudaMemcpyHostToDevice));
                double up = loss();
                CK(cudaMemcpy(P + k, &pm, 4, cudaMemcpyHostToDevice));
                double down = loss();
                CK(cudaMemcpy(P + k, &p0, 4, cudaMemcpyHostToDevice));
                double fd = (up - down) / (2.0 * eps);
                double err = fabs(fd - g[k]) / fmax(1e-6, fabs(g[big]));
                if (getenv("CHECK_VERBOSE"))
                    printf("block %zu param %zu analytic %.6e fd %.6e err %.3e\n", b, k,
                           (double)g[k], fd, err);
                if (err > worst) worst = err;
                tested++;
            }
        }
        printf("gradient check: %d parameters in %zu blocks, largest difference from central "
               "differences %.2e of the block's largest gradient %s\n", tested, blk.size() - 1,
               worst, worst < 0.02 ? "(ok)" : "(WRONG)");
        return worst < 0.02 ? 0 : 1;
    }
    printf("cublas_fmnist: %s, %zu parameters, batch %d, Adam lr %g, %d steps/epoch\n", model, np,
           B, lr, steps);
    for (int e = 0; e < epochs; e++) {
        for (int i = 0; i < ntrain; i++) idx[i] = i; // the epoch's shuffle from the seed
        for (int i = ntrain - 1; i > 0; i--) {
            int j = (int)(mix(seed * 1000003ull + (uint64_t)e * 7919ull + i) % (uint64_t)(i + 1));
            int tmp = idx[i];
            idx[i] = idx[j], idx[j] = tmp;
        }
        CK(cudaDeviceSynchronize());
        double t0 = now();
        CK(cudaMemcpyAsync(didx, idx.data(), (size_t)ntrain * 4, cudaMemcpyHostToDevice, st));
        CK(cudaMemsetAsync(stats, 0, 16, st));
        for (int s = 0; s < steps; s++, t++) {
            float *xb = cnn ? cin_[0] : act[0];
            LAUNCH(k_gather, GRID((size_t)B * feat), X, Y, didx + (size_t)s * B, xb, yb, B, feat);
            forward(xb, B, true, t);
            LAUNCH(k_xent, GRID(B), act[L], yb, dact[L], stats, B, 10, 1.0f / B);
            backward(xb);
            float b1t = powf(0.9f, (float)(t + 1)), b2t = powf(0.999f, (float)(t + 1));
            LAUNCH(k_adam, GRID(np), P, G, M, V, np, lr, b1t, b2t);
        }
        CK(cudaMemcpyAsync(hs, stats, 16, cudaMemcpyDeviceToHost, st));
        CK(cudaStreamSynchronize(st));
        double dt = now() - t0;
        total += dt;
        printf("epoch %d  loss %.4f  train acc %.4f  %.2f s  %.0f samples/s\n", e + 1,
               hs[0] / ((double)steps * B), hs[1] / ((double)steps * B), dt, steps * B / dt);
    }
    CK(cudaMemsetAsync(stats, 0, 16, st)); // test accuracy, no dropout
    for (int c = 0; c < nt; c += EB) {
        int rows = nt - c < EB ? nt - c : EB;
        forward(TX + (size_t)c * feat, rows, false, 0);
        LAUNCH(k_xent, GRID(rows), act[L], TY + c, NULL, stats, rows, 10, 0);
    }
    CK(cudaMemcpyAsync(hs, stats, 16, cudaMemcpyDeviceToHost, st));
    CK(cudaStreamSynchronize(st));
    CK(cudaGetLastError());
    printf("final: test accuracy %.4f  test loss %.4f  training %.1f s  %.0f samples/s\n",
           hs[1] / nt, hs[0] / nt, total, total > 0 ? (double)epochs * steps * B / total : 0.0);
    return 0;
}
