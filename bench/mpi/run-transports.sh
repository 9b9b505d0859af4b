#!/bin/sh
# run-transports.sh: benchmark (d), the distributed layer's MPI and UCX transports on one
# node. Runs `bench_mpi latency` and `bench_mpi compute` under DAG_COMM=mpi and
# DAG_COMM=ucx (mpirun -np 2), alternating the transports REPEATS times, and prints the
# median of each figure and the ratio ucx/mpi. The raw UCX ping-pong anchor
# (ucx_pingpong.c) is built with mpicc + pkg-config ucx when both are there.
# Usage: bench/mpi/run-transports.sh [BUILD_DIR (build-ucx)] [REPEATS (3)]
# Extra mpirun arguments: MPIRUN_ARGS="-x DAG_NUM_THREADS=1" bench/mpi/run-transports.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build-ucx}
reps=${2:-3}
bench=$build/bench/mpi/bench_mpi
[ -x "$bench" ] || { echo "run-transports: $bench not built" >&2; exit 1; }
mpirun="mpirun --oversubscribe --allow-run-as-root -np 2 ${MPIRUN_ARGS:-}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one run: the figures of interest, one "name value" per line, into $tmp/$tr.$i
measure() { # transport index
    out=$($mpirun -x DAG_COMM="$1" "$bench" latency 2>&1; \
          $mpirun -x DAG_COMM="$1" "$bench" compute 2>&1) || true
    if [ "$1" = ucx ] && printf '%s\n' "$out" | grep -q "no UCX transport"; then
        echo "run-transports: this build has no UCX transport" >&2; exit 1
    fi
    # h/g: every pattern sees the original line
    printf '%s\n' "$out" | sed -n -e h \
        -e 's/.*raw MPI one-way \([0-9.]*\) us.*/raw_mpi_8B_us \1/p' -e g \
        -e 's/.*task->task hop \([0-9.]*\) us.*/hop_8B_us \1/p' -e g \
        -e 's/^bandwidth 4 MiB: raw MPI \([0-9.]*\) GB\/s.*/raw_mpi_4MiB_GBs \1/p' -e g \
        -e 's/^bandwidth 4 MiB:.*dagrt \([0-9.]*\) GB\/s.*/dagrt_4MiB_GBs \1/p' -e g \
        -e 's/.*plain loop \([0-9.]*\) s.*/compute_plain_s \1/p' -e g \
        -e 's/.*dagrt with engine \([0-9.]*\) s.*/compute_dagrt_s \1/p' > "$tmp/$1.$2"
}

i=1
while [ "$i" -le "$reps" ]; do
    for tr in mpi ucx; do
        measure "$tr" "$i"
    done
    i=$((i + 1))
done

anchor=
if command -v mpicc >/dev/null 2>&1 && pkg-config --exists ucx 2>/dev/null; then
    pp=$build/bench/mpi/ucx_pingpong
    # shellcheck disable=SC2046
    if mpicc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 "$here/ucx_pingpong.c" -o "$pp" \
            $(pkg-config --cflags --libs ucx); then
        anchor=$($mpirun "$pp" 2>&1 | grep '^raw UCX' || true)
    fi
fi

median() { # name transport
    cat "$tmp/$2".* | awk -v n="$1" '$1 == n {print $2}' | sort -g |
        awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'
}

echo "bench_mpi under DAG_COMM=mpi and DAG_COMM=ucx, mpirun -np 2, median of $reps runs"
printf '%-34s %12s %12s %10s\n' figure mpi ucx ucx/mpi
for f in raw_mpi_8B_us hop_8B_us raw_mpi_4MiB_GBs dagrt_4MiB_GBs compute_plain_s \
         compute_dagrt_s; do
    a=$(median "$f" mpi)
    b=$(median "$f" ucx)
    r=$(awk -v a="$a" -v b="$b" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f", b / a;
                                        else print "-"}')
    printf '%-34s %12s %12s %10s\n' "$f" "$a" "$b" "$r"
done
echo "(us and s: lower is better; GB/s: higher is better. raw_mpi_* is the MPI anchor"
echo " measured inside each run; hop_8B_us is dagrt's task->task hop between the ranks)"
[ -n "$anchor" ] && echo "anchor: $anchor (ucx_pingpong, same node, busy polling)"
exit 0
