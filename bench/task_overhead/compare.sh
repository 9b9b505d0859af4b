#!/usr/bin/env bash
# compare.sh: interleaved per-task-cost runs for a shared machine: for each pattern and
# thread count, ROUNDS rounds of (dagcc, libgomp, libomp[, BASE]) one process each, then
# the median per implementation and dagcc's ratio to the best anchor. BASE may name the
# task_overhead_dagcc binary of an older build ("before" column).
#   bash bench/task_overhead/compare.sh BUILD_DIR [ROUNDS] ["patterns"] ["threads"]
set -euo pipefail
B=${1:?usage: compare.sh BUILD_DIR [ROUNDS] [patterns] [threads]}/bench/task_overhead
n=${2:-5}; pats=${3:-"independent chain fanout wavefront"}; thr=${4:-"1 2"}
for p in $pats; do for t in $thr; do for i in $(seq "$n"); do
  [ -n "${BASE:-}" ] && echo "$p $t before $("$BASE" "$p" "$t" 7 | grep -o 'ns_per_task=[0-9.]*')"
  for impl in dagcc libgomp libomp; do
    [ -x "$B/task_overhead_$impl" ] &&
      echo "$p $t $impl $("$B/task_overhead_$impl" "$p" "$t" 7 | grep -o 'ns_per_task=[0-9.]*')"
  done
done; done; done | sed 's/ns_per_task=//' | python3 -c '
import sys, statistics as st
d, order = {}, []
for line in sys.stdin:
    p, t, k, v = line.split()
    if (p, t) not in order:
        order.append((p, t))
    d.setdefault((p, t), {}).setdefault(k, []).append(float(v))
for key in order:
    m = {k: st.median(v) for k, v in d[key].items()}
    best = min(m.get("libgomp", 1e99), m.get("libomp", 1e99))
    cols = "  ".join("%s %.1f" % (k, m[k]) for k in ("before", "dagcc", "libgomp", "libomp") if k in m)
    print("%-11s %s  %s  dagcc/best %.2f" % (key[0], key[1], cols, m["dagcc"] / best))
'
