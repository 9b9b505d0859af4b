#!/usr/bin/env bash
# lead-run.sh: the lead's one device call (not in CI): chain.sh, then the Cholesky
# variants, libdaglinalg on the GPU and the nn device script; everything under $OUT.
out=${OUT:-/tmp/lead}; mkdir -p "$out"
OUT=$out BUDGET=${CHAIN_BUDGET:-300} bash bench/gpu/chain.sh >/dev/null 2>&1; cat "$out/summary.txt"
B=build-gpu
{
for v in ${CHOL_VARIANTS:-BENCH_TRSM=inv}; do
  echo "== chol $v"; env $v timeout 40 $B/bench/gpu/bench_gpu_linalg chol 16384 1024 | grep -E "dag|resident"
done
cmake --build $B -j16 --target la_bench daglinalg >/dev/null 2>&1
for v in ${LA_VARIANTS:-DAG_LA_DEVICE=cuda}; do
  echo "== la potrf $v"; env LA_BENCH_REPS=3 $v timeout 50 $B/bench/linalg/la_bench dag potrf 16384 1024 2>&1 | tail -2
done
} 2>&1 | tee "$out/extra.txt"
[ "${NN:-0}" = 1 ] && { OUT=$out REPS=2 timeout ${NN_TIMEOUT:-200} bash bench/nn/device.sh >"$out/nn.log" 2>&1; grep -E "^(mlp|cnn) |gradient check" "$out/nn.log" | head -30; cat "$out"/nn-device/summary.txt 2>/dev/null | head -30; (cd "$out" && tar czf nn.tgz nn-device nn.log && rm -rf nn-device); }
