#!/bin/sh
# run-bcast.sh: benchmark (b), point-to-point vs broadcast tree vs MPI one-sided on a
# broadcast-heavy DAG: the panel broadcasts of a tiled Cholesky (`bench_mpi cholesky`,
# dummy kernels) on 4 ranks. Runs the configurations p2p, tree, rma (p2p) and rma+tree,
# interleaved, REPEATS times, and prints per configuration the median and best time,
# the message counts from dag_dist_stats (total, busiest rank's sends) and the time
# ratio to p2p. Then `bench_mpi latency` (-np 2) under DAG_COMM=mpi and rma.
# Usage: bench/mpi/run-bcast.sh [BUILD_DIR (build-rma)] [REPEATS (5)] [NT (16)] [NB (128)]
#        [GRID (1x4: column-cyclic, every panel tile read by every rank)]
# Extra mpirun arguments: MPIRUN_ARGS="-x DAG_NUM_THREADS=1" bench/mpi/run-bcast.sh
set -eu
build=${1:-build-rma}
reps=${2:-5}
nt=${3:-16}
nb=${4:-128}
grid=${5:-1x4}
bench=$build/bench/mpi/bench_mpi
[ -x "$bench" ] || { echo "run-bcast: $bench not built" >&2; exit 1; }
mpirun="mpirun --oversubscribe --allow-run-as-root ${MPIRUN_ARGS:-}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
configs="p2p:mpi:p2p tree:mpi:tree rma:rma:p2p rma+tree:rma:tree"

i=1
while [ "$i" -le "$reps" ]; do
    for c in $configs; do
        name=${c%%:*}; rest=${c#*:}; comm=${rest%%:*}; bcast=${rest#*:}
        $mpirun -np 4 -x DAG_COMM="$comm" -x DAG_COMM_BCAST="$bcast" \
            "$bench" cholesky "$nt" "$nb" "$grid" 2>&1 |
            sed -n 's/.*: \([0-9.]*\) s, \([0-9]*\) messages (busiest rank sent \([0-9]*\)).*/\1 \2 \3/p' \
            >> "$tmp/$name"
    done
    i=$((i + 1))
done

echo "cholesky panel broadcasts: ${nt}x${nt} tiles of ${nb}^2 doubles, grid $grid, 4 ranks, $reps runs"
printf '%-9s %9s %9s %9s %12s %9s\n' config median_s best_s messages busiest_sent vs_p2p
p2p_med=
for c in $configs; do
    name=${c%%:*}
    [ -s "$tmp/$name" ] || { echo "$name: no result" >&2; continue; }
    med=$(cut -d' ' -f1 "$tmp/$name" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    best=$(cut -d' ' -f1 "$tmp/$name" | sort -n | head -1)
    msgs=$(head -1 "$tmp/$name" | cut -d' ' -f2)
    busy=$(head -1 "$tmp/$name" | cut -d' ' -f3)
    [ -n "$p2p_med" ] || p2p_med=$med
    printf '%-9s %9s %9s %9s %12s %8.2fx\n' "$name" "$med" "$best" "$msgs" "$busy" \
        "$(echo "$med $p2p_med" | awk '{print $1 / $2}')"
done

echo "latency / bandwidth (bench_mpi latency, 2 ranks):"
for comm in mpi rma; do
    $mpirun -np 2 -x DAG_COMM="$comm" "$bench" latency 2>&1 | sed "s/^/  $comm: /"
done
