#!/bin/sh
# run.sh: libdaglinalg against its anchors, in one run (results: bench/RESULTS.md).
#  1. one node: the DGEMM peak of threaded OpenBLAS (measured here, best of the runs
#     before and after), then for N in $NS: POTRF, GETRF, GEQRF, GEMM by LAPACKE on
#     threaded OpenBLAS, by the same tiled algorithm in OpenMP tasks (libgomp), and by
#     libdaglinalg with priorities and lookahead on, and off; GFLOP/s and the fraction of
#     the measured peak;
#  2. mpirun -np 2 (grid 1x2) and -np 4 (2x2): ScaLAPACK (Debian libscalapack-openmpi,
#     OPENBLAS_NUM_THREADS=1) pdpotrf/pdgetrf/pdgeqrf/pdgemm against libdaglinalg (native
#     API) and against the drop-in libdagscalapack (the same ScaLAPACK program relinked),
#     same N, NB and grid.
# GETRF runs twice in libdaglinalg: the gathered panel (partial pivoting, the default) and
# the tournament panel (DAG_LA_LU=tournament, CALU), a row each.
# The engines of one case run in turn, REPS rounds (A B C A B C ...), and the best round
# of each is kept: the development machine is shared, so its load changes from second to
# second (the load average is printed). GFLOP/cpu-s divides the work by the CPU time the
# run consumed (user + system, every thread of every rank): what each engine makes of
# the CPU it got, less sensitive to the neighbours than wall-clock GFLOP/s.
# usage: bench/linalg/run.sh [build dir]   (env: NS="4096 8192", NB=256, NPS="2 4",
#        DIST_NS="4096", THREADS=2, REPS=3, OPS="potrf getrf geqrf gemm"; NPS="" skips
#        the distributed part, NS="" the one-node part)
set -e
B=${1:-build}
NS=${NS-"4096 8192"}
NB=${NB:-256}
NPS=${NPS-"2 4"}
DIST_NS=${DIST_NS:-4096}
TH=${THREADS:-2}
REPS=${REPS:-3}
OPS=${OPS:-"potrf getrf geqrf gemm"}
LB=$B/bench/linalg/la_bench
REF=$B/tests/linalg/scalapack_ref
DAG=$B/tests/linalg/scalapack_dag
MPIRUN="mpirun --oversubscribe --allow-run-as-root"
export OMP_WAIT_POLICY=passive
for x in "$LB" "$REF" "$DAG"; do
  [ -x "$x" ] || { echo "missing $x (cmake --build $B --target la_bench scalapack_ref scalapack_dag)"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Fields of a la_bench line ("eng op n nb S G cpu C") or a ScaLAPACK program line
# ("pdop n=.. nb=.. grid PxQ: S s G GFLOP/s cpu C"): seconds, GFLOP/s, CPU seconds
# (all threads of all ranks), and GFLOP per CPU-second
field() { echo "$2" | awk -v w="$1" '{
  if ($1 ~ /^p[ds]/) { for (i = 1; i <= NF; i++) { if ($i == "s") s = $(i-1); if ($i == "GFLOP/s") g = $(i-1) } }
  else { s = $5; g = $6 }
  c = $NF
  if (w == "s") print s; else if (w == "g") print g; else if (w == "c") print c;
  else if (c > 0) printf "%.2f\n", g * s / c; else print 0 }'; }
gflops() { field g "$1"; }
secs() { field s "$1"; }
gpc() { field e "$1"; }
# keep NAME LINE: remember the line of engine NAME if it is its best so far
keep() {
  g=$(gflops "$2")
  [ -n "$g" ] || return 0
  if [ ! -f "$tmp/$1" ] || awk -v a="$g" -v b="$(gflops "$(cat "$tmp/$1")")" 'BEGIN {exit !(a > b)}'; then
    echo "$2" >"$tmp/$1"
  fi
}
best() { cat "$tmp/$1" 2>/dev/null || true; }

echo "# bench/linalg/run.sh  $(date -u '+%Y-%m-%d %H:%M UTC')  $(uname -n), $(nproc) cores,"\
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPS"); do keep peak "$(nice "$LB" peak x 4096 "$NB" "$TH")"; done

if [ -n "$NS" ]; then
  echo
  echo "## one node ($TH threads), nb=$NB, best of $REPS interleaved rounds"
  printf "%-6s %6s %-18s %9s %9s %7s %10s %11s %10s\n" op N engine seconds GFLOP/s "%peak" \
    "vs LAPACKE" GFLOP/cpu-s "vs LAPACKE"
  for n in $NS; do
    for op in $OPS; do
      rm -f "$tmp"/e-*
      for r in $(seq "$REPS"); do
        keep e-lapack "$(nice "$LB" lapack $op $n $NB "$TH")"
        keep e-omp "$(nice "$LB" omp $op $n $NB "$TH")"
        keep e-dag "$(DAG_NUM_THREADS=$TH nice "$LB" dag $op $n $NB)"
        keep e-dagnp "$(DAG_LA_PRIO=0 DAG_NUM_THREADS=$TH nice "$LB" dag $op $n $NB)"
        [ $op != getrf ] ||
          keep e-dagt "$(DAG_LA_LU=tournament DAG_NUM_THREADS=$TH nice "$LB" dag $op $n $NB)"
      done
      base=$(gflops "$(best e-lapack)"); cbase=$(gpc "$(best e-lapack)")
      for e in lapack:"LAPACKE(OpenBLAS)" omp:"OpenMP tasks" dag:"dagcc" dagnp:"dagcc no prio" \
               dagt:"dagcc tournament"; do
        l=$(best e-${e%%:*})
        [ -n "$l" ] || continue
        awk -v op=$op -v n=$n -v e="${e#*:}" -v s="$(secs "$l")" -v g="$(gflops "$l")" \
            -v p="$(gflops "$(best peak)")" -v b="$base" -v c="$(gpc "$l")" -v cb="$cbase" 'BEGIN {
          printf "%-6s %6d %-18s %9.3f %9.2f %6.0f%% %9.2fx %11.2f %9.2fx\n", op, n, e, s, g,
                 100*g/p, g/b, c, (cb > 0 ? c/cb : 0) }'
      done
    done
  done
fi

if [ -n "$NPS" ]; then
  echo
  echo "## distributed: ScaLAPACK vs dagcc, nb=$NB, best of $REPS interleaved rounds"
  printf "%-6s %6s %4s %5s %-26s %9s %12s %11s %12s\n" op N np grid engine GFLOP/s \
    "vs ScaLAPACK" GFLOP/cpu-s "vs ScaLAPACK"
  for np in $NPS; do
    case $np in 1) p=1; q=1 ;; 2) p=1; q=2 ;; 4) p=2; q=2 ;; 8) p=2; q=4 ;; *) p=1; q=$np ;; esac
    for n in $DIST_NS; do
      for op in $OPS; do
        rm -f "$tmp"/e-*
        for r in $(seq "$REPS"); do
          keep e-ref "$(OPENBLAS_NUM_THREADS=1 SCALAPACK_ONLY=$op SCALAPACK_QR=bench nice \
            $MPIRUN -np $np -x OPENBLAS_NUM_THREADS -x SCALAPACK_ONLY -x SCALAPACK_QR "$REF" \
            run $n $NB $p $q | grep -E "^pd$op(_${n}x$n)? ")"
          keep e-dag "$(nice $MPIRUN -np $np "$LB" dag $op $n $NB | tail -1)"
          [ $op != getrf ] || keep e-tour "$(DAG_LA_LU=tournament nice $MPIRUN -np $np \
            -x DAG_LA_LU "$LB" dag $op $n $NB | tail -1)"
          keep e-drop "$(OPENBLAS_NUM_THREADS=1 SCALAPACK_ONLY=$op SCALAPACK_QR=bench nice \
            $MPIRUN -np $np -x OPENBLAS_NUM_THREADS -x SCALAPACK_ONLY -x SCALAPACK_QR "$DAG" \
            run $n $NB $p $q | grep -E "^pd$op(_${n}x$n)? ")"
        done
        ref=$(gflops "$(best e-ref)"); cref=$(gpc "$(best e-ref)")
        for e in ref:"ScaLAPACK" dag:"dagcc (linalg API)" tour:"dagcc tournament (API)" \
                 drop:"dagcc (ScaLAPACK drop-in)"; do
          l=$(best e-${e%%:*})
          [ -n "$l" ] || continue
          awk -v op=$op -v n=$n -v np=$np -v gr=${p}x$q -v e="${e#*:}" -v g="$(gflops "$l")" \
              -v r="$ref" -v c="$(gpc "$l")" -v cr="$cref" 'BEGIN {
            printf "%-6s %6d %4d %5s %-26s %9.2f %11.2fx %11.2f %11.2fx\n", op, n, np, gr, e, g,
                   g/r, c, (cr > 0 ? c/cr : 0) }'
        done
      done
    done
  done
fi
for r in $(seq "$REPS"); do keep peak "$(nice "$LB" peak x 4096 "$NB" "$TH")"; done
echo
echo "DGEMM peak (threaded OpenBLAS, $TH threads, n=4096, best of $((2 * REPS)) runs before and"\
  "after): $(gflops "$(best peak)") GFLOP/s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
