#!/bin/sh
# run-detect.sh: detection time of a killed and of a stuck rank, per transport, on one
# node (bench_detect.c): from the failure to the survivors' dag_taskwait returning.
# Cases per transport: kill (defaults: a same-node rank's process is watched), kill with
# DAG_COMM_PID_WATCH=0 (only the heartbeat timeout, DAG_COMM_TIMEOUT_MS=1500: what a rank
# on another node gets), stuck with DAG_COMM_STUCK_MS=1000 (the figure includes that limit).
# Prints the median over REPEATS runs of the slowest survivor, and the exit status seen.
# Usage: bench/mpi/run-detect.sh [BUILD_DIR (build)] [REPEATS (5)] [NP (4)]
set -u
build=${1:-build}
reps=${2:-5}
np=${3:-4}
bench=$build/bench/mpi/bench_detect
[ -x "$bench" ] || { echo "run-detect: $bench not built" >&2; exit 1; }
transports=${TRANSPORTS:-"mpi rma ucx"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END{if(NR==0){print "-"}else{print a[int((NR+1)/2)]}}'; }
printf '%-5s %-22s %10s %10s %s\n' transport case median_ms max_ms "exit statuses"
for tr in $transports; do
  for case in kill kill_heartbeat stuck; do
    mode=kill; extra=""
    [ $case = kill_heartbeat ] && extra="-x DAG_COMM_PID_WATCH=0 -x DAG_UCX_ERR_MODE=none"
    [ $case = stuck ] && { mode=stuck; extra="-x DAG_COMM_STUCK_MS=1000"; }
    : > "$tmp/t"; rcs=""
    i=1
    while [ $i -le "$reps" ]; do
      out=$(timeout 120 mpirun --oversubscribe --allow-run-as-root --enable-recovery -np "$np" \
            -x DAG_COMM="$tr" $extra "$bench" $mode "$tmp/mark" 2>&1)
      rcs="$rcs$? "
      printf '%s\n' "$out" | awk '$1=="detect_ms"{print $3}' | sort -n | tail -1 >> "$tmp/t"
      i=$((i + 1))
    done
    printf '%-5s %-22s %10s %10s %s\n' "$tr" "$case" "$(median < "$tmp/t")" \
      "$(sort -n "$tmp/t" | tail -1)" "$rcs"
  done
done
