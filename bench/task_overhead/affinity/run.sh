#!/usr/bin/env bash
# run.sh: the affinity hint's benchmark (affinity_omp.c), interleaved rounds: dagcc with
# the hint (DAG_AFFINITY=1) and without (0), libgomp and LLVM libomp (which accept the
# clause and do not place by it). Medians of ns per round; checksums must agree.
#   bash bench/task_overhead/affinity/run.sh BUILD_DIR [ROUNDS] [THREADS] [BLOCKS] [KIB] [R] [S]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:?usage: run.sh BUILD_DIR [ROUNDS] [THREADS] [BLOCKS] [KIB] [R] [S]}" && pwd)
n=${2:-5} thr=${3:-2} nb=${4:-16} kib=${5:-128} r=${6:-200} s=${7:-4}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$B/translator/dagcc" -O2 -fopenmp "$here/affinity_omp.c" -o "$tmp/dagcc"
gcc -O2 -fopenmp "$here/affinity_omp.c" -o "$tmp/libgomp"
clang -O2 -fopenmp "$here/affinity_omp.c" -o "$tmp/libomp" 2>/dev/null || rm -f "$tmp/libomp"
args=("$nb" "$kib" "$r" "$s")
for i in $(seq "$n"); do
  echo "dagcc-hint $(DAG_NUM_THREADS=$thr DAG_AFFINITY=1 "$tmp/dagcc" "${args[@]}")"
  echo "dagcc-nohint $(DAG_NUM_THREADS=$thr DAG_AFFINITY=0 "$tmp/dagcc" "${args[@]}")"
  echo "libgomp $(OMP_NUM_THREADS=$thr "$tmp/libgomp" "${args[@]}")"
  [ -x "$tmp/libomp" ] && echo "libomp $(OMP_NUM_THREADS=$thr "$tmp/libomp" "${args[@]}")"
done | python3 -c '
import sys, statistics as st
d, sums = {}, set()
for l in sys.stdin:
    k, a, c = l.split()
    d.setdefault(k, []).append(float(a.split("=")[1])); sums.add(c)
m = {k: st.median(v) for k, v in d.items()}
print("  ".join("%s %.0f" % kv for kv in m.items()))
print("hint / no hint %.3f, hint / best anchor %.3f" % (m["dagcc-hint"] / m["dagcc-nohint"],
      m["dagcc-hint"] / min(v for k, v in m.items() if not k.startswith("dagcc"))))
print("checksums agree" if len(sums) == 1 else "CHECKSUMS DIFFER: %s" % sums)'
echo "threads $thr, $nb blocks of $kib KiB, $r rounds of $s sweeps; load: $(cut -d" " -f1-3 /proc/loadavg)"
