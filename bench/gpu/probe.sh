#!/usr/bin/env bash
# probe.sh: one device call that times the GPU Cholesky paths under a few settings and
# keeps a trace of each, to see where the time goes (the lead's diagnostic; not in CI).
# usage (device): OUT=... bash bench/gpu/probe.sh
set -u
out=${OUT:-/tmp/probe}; mkdir -p "$out/p"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh # libdaglinalg goes through the translator: needs libclang
B=build-probe
{ cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DDAG_WITH_CUDA=ON -DDAG_BUILD_TESTS=OFF \
    -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE && cmake --build $B -j16 --target daglinalg dagrt_cuda la_bench \
    bench_gpu_linalg; } >"$out/p/build.log" 2>&1 || { tail -30 "$out/p/build.log"; exit 1; }
G=$B/bench/gpu/bench_gpu_linalg LB=$B/bench/linalg/la_bench
N=${N:-16384}
r() { local name=$1; shift; echo "== $name: $*"; timeout 120 env "$@" 2>&1 | tee "$out/p/$name.txt" | tail -8; }
r chol-u4 $G chol $N 1024
r chol-u0 DAG_CUDA_URGENT=0 $G chol $N 1024
r chol-inv-u4 BENCH_TRSM=inv $G chol $N 1024
r chol-inv-u0 BENCH_TRSM=inv DAG_CUDA_URGENT=0 $G chol $N 1024
r chol-inv-2048 BENCH_TRSM=inv $G chol $N 2048
r chol-trace BENCH_TRSM=inv DAG_TRACE=$out/p/chol.json $G chol $N 1024
r la-cuda LA_BENCH_REPS=3 DAG_LA_DEVICE=cuda $LB dag potrf $N 1024
r la-cuda-u0 LA_BENCH_REPS=3 DAG_LA_DEVICE=cuda DAG_CUDA_URGENT=0 $LB dag potrf $N 1024
nvidia-smi -L >"$out/p/smi.txt"
tar -C "$out" -czf "$out/probe.tgz" p && rm -rf "$out/p"
