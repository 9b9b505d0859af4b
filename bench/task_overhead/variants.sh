#!/usr/bin/env bash
# variants.sh: interleaved medians of task_overhead binaries under several settings, for a
# shared machine: ROUNDS rounds, one process per variant per round.
#   bash bench/task_overhead/variants.sh BUILD_DIR ROUNDS PATTERN THREADS VARIANT...
# VARIANT is LABEL:ENV (ENV: "X=1" for none, or "DAG_BIND=none DAG_SPIN_US=0", ...). LABEL
# picks the binary: libgomp / libomp the anchors, before* the dagcc binary named by $BASE
# (an older build), anything else this build's task_overhead_dagcc.
set -euo pipefail
B=${1:?usage: variants.sh BUILD_DIR ROUNDS PATTERN THREADS LABEL:ENV...}/bench/task_overhead
n=$2; p=$3; t=$4; shift 4
for i in $(seq "$n"); do for v in "$@"; do
  lab=${v%%:*}; e=${v#*:}
  case $lab in
  before*) bin=${BASE:?set BASE to an older task_overhead_dagcc} ;;
  libgomp|libomp) bin=$B/task_overhead_$lab ;;
  *) bin=$B/task_overhead_dagcc ;;
  esac
  # shellcheck disable=SC2086
  echo "$lab $(env $e "$bin" "$p" "$t" 7 | grep -o 'ns_per_task=[0-9.]*' | cut -d= -f2)"
done; done | python3 -c '
import sys, statistics as st
d = {}
for l in sys.stdin:
    k, v = l.split()
    d.setdefault(k, []).append(float(v))
for k, v in d.items():
    print("%-12s median %8.1f ns  all %s" % (k, st.median(v), " ".join("%.0f" % x for x in v)))'
echo "load: $(cut -d" " -f1-3 /proc/loadavg)"
