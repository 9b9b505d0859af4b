#!/bin/sh
# bench/moe/run.sh: MoE training steps (forward + backward + SGD of one layer) under
# Zipf-skewed routing, s = 0, 1.0, 1.5: dynamic scheduling (chunk tasks, stealing,
# priorities) against (a) static expert placement in the same runtime (bench_moe runs
# both, steps interleaved) and (b) a plain PyTorch loop over experts (torch_moe.py,
# Debian python3-torch on the CPU, with 1 thread and with all cores). Installs
# python3-torch with apt-get when missing (the all-core PyTorch run uses
# OMP_WAIT_POLICY=PASSIVE: spinning OpenMP threads collapse on a shared machine). Prints a
# table of tokens/s, p99 step times, and the median over steps of static / dynamic time.
# Environment: BUILD (build tree, default build-bench), STEPS (40), MOE_ARGS (tokens
# experts d_model d_hidden top_k chunk; default "2048 32 128 256 2 0"), DAG_NUM_THREADS.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-bench}
steps=${STEPS:-40}
args=${MOE_ARGS:-2048 32 128 256 2 0}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDAG_WITH_CUDA=OFF >/dev/null
cmake --build "$build" -j2 --target bench_moe >/dev/null
py=/usr/bin/python3
if ! $py -c 'import torch' 2>/dev/null; then
    echo "run.sh: installing python3-torch"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch >/dev/null ||
        echo "run.sh: python3-torch could not be installed; no PyTorch anchor"
fi
log=$(mktemp)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u)"
for s in 0 1.0 1.5; do
    # shellcheck disable=SC2086
    nice "$build/bench/moe/bench_moe" "$s" "$steps" $args | tee -a "$log"
    # the tokens / experts / d_model / d_hidden / top_k arguments, without chunk
    targs=$(echo "$args" | cut -d' ' -f1-5)
    if $py -c 'import torch' 2>/dev/null; then
        # shellcheck disable=SC2086
        TORCH_THREADS=1 nice $py "$root/bench/moe/torch_moe.py" "$s" "$steps" $targs |
            sed 's/^RESULT torch/RESULT torch1/' | tee -a "$log"
        # shellcheck disable=SC2086
        OMP_WAIT_POLICY=PASSIVE nice $py "$root/bench/moe/torch_moe.py" "$s" "$steps" $targs |
            tee -a "$log"
    fi
done
echo
echo "| s | dynamic tok/s | static tok/s | dyn/static | paired median | p99 dyn ms | p99 static ms | torch 1 thr tok/s | torch all tok/s | dyn/best torch |"
echo "|---|---|---|---|---|---|---|---|---|---|"
awk '
/^RESULT s=/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } s = v["s"];
               dyn[s] = v["dyn_tps"]; st[s] = v["st_tps"]; r[s] = v["ratio"];
               dp[s] = v["dyn_p99_ms"]; sp[s] = v["st_p99_ms"]; pm[s] = v["paired"]; order[++n] = s }
/^RESULT torch1 / { split($3, a, "="); split($4, b, "="); t1[a[2]] = b[2] }
/^RESULT torch / { split($3, a, "="); split($4, b, "="); ta[a[2]] = b[2] }
END { for (i = 1; i <= n; i++) { s = order[i]; best = t1[s] > ta[s] ? t1[s] : ta[s];
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, dyn[s], st[s], r[s], pm[s], dp[s],
             sp[s], t1[s] ? t1[s] : "-", ta[s] ? ta[s] : "-",
             best ? sprintf("%.2f", dyn[s] / best) : "-" } }' "$log"
rm -f "$log"
