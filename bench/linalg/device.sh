#!/usr/bin/env bash
# device.sh: libdaglinalg on the GPU host (16 cores, one H100/H200), in one go:
#  1. 16 cores: 4 ranks x 4 threads of libdaglinalg against ScaLAPACK on 16 ranks (4x4
#     grid, OPENBLAS_NUM_THREADS=1), POTRF/GETRF/GEQRF/GEMM at N=$N, NB=$NB, and GETRF
#     with the tournament panel (DAG_LA_LU=tournament); the 16-thread OpenBLAS DGEMM
#     peak measured first;
#  2. one GPU: libdaglinalg Cholesky and GEMM with the CUDA variants (cuBLAS/cuSOLVER
#     tile kernels) against one cusolverDnDpotrf / cublasDgemm call (bench/gpu's
#     bench_gpu_linalg, same N), then out of core: the runtime's device memory capped at
#     2/3 of the matrices (DAG_CUDA_MEM_MB), i.e. the matrices are 1.5x what it may use;
#     and resident (LA_BENCH_RESIDENT=1: the matrices kept on the GPU between calls, the
#     input refilled there), the like-for-like case against the anchors on device data.
# ScaLAPACK is not installed there: on the development box first run
#   bash ../shared/gpu/pack.sh libscalapack-openmpi2.2 libscalapack-openmpi-dev
# and carry .device along (this script sources .device/unpack.sh). Logs go to $OUT.
# usage: bench/linalg/device.sh   (env: N=16384, NB=512, GNB=1024, OUT=bench/linalg/out,
#        QUICK=1 for N=8192, OPS= the CPU operations (empty: none), GPU_OPS= the GPU ones
#        (empty: none), GPU_WAYS=all (else no out-of-core run, no CPUs-and-GPU run), BUDGET=510 s for the
#        whole script: a run that would pass it
#        is cut (timeout) or skipped, and says so in its log)
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/bench/linalg/out}
mkdir -p "$out"
[ -f .device/unpack.sh ] && source .device/unpack.sh >/dev/null
source tests/gpu/clang-env.sh # libdaglinalg goes through the translator: needs libclang
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NCCL_NVLS_ENABLE=0
N=${N:-16384} NB=${NB:-512} GNB=${GNB:-1024} # GNB: tiles on the GPU
[ "${QUICK:-0}" = 1 ] && N=8192
BUILD=${BUILD:-build-la}
t0=$(date +%s)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAG_WITH_CUDA=ON \
  -DDAG_BUILD_TESTS=OFF -DDAG_BUILD_SAMPLES=OFF $DAG_CLANG_CMAKE >"$out/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" --target daglinalg dagrt_mpi dagrt_cuda la_bench \
    dagscalapack bench_gpu_linalg >>"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
LIBS="-L$BUILD/runtime -L$BUILD/runtime/linalg -L$BUILD/runtime/scalapack"
RP="-Wl,-rpath,$PWD/$BUILD/runtime:$PWD/$BUILD/runtime/linalg:$PWD/$BUILD/runtime/scalapack"
have_sl=0
if mpicc -O2 tests/linalg/scalapack_prog.c -o "$BUILD/scalapack_ref" -lscalapack-openmpi -lm \
     >>"$out/build.log" 2>&1; then
  mpicc -O2 tests/linalg/scalapack_prog.c -o "$BUILD/scalapack_dag" $LIBS $RP -ldagscalapack \
    -ldaglinalg -ldagrt -lscalapack-openmpi -lm >>"$out/build.log" 2>&1 && have_sl=1
fi
echo "built in $(($(date +%s) - t0)) s (ScaLAPACK programs: $have_sl)"
LB=$BUILD/bench/linalg/la_bench
deadline=$((t0 + ${BUDGET:-510})) # the whole script, build included, stays under 9 minutes
run() { # name, command... (output to the log; the last line is kept)
  local name=$1; shift
  local left=$((deadline - $(date +%s))) lim=${BENCH_TIMEOUT:-240}
  [ $left -lt $lim ] && lim=$left
  echo "== $name: $*" >>"$out/bench.log"
  if [ $lim -lt 10 ]; then
    echo "($name skipped: the ${BUDGET:-510} s budget is spent)" >"$out/$name.txt"
  else
    timeout $lim "$@" >"$out/$name.txt" 2>&1 || echo "($name exited $?)" >>"$out/$name.txt"
  fi
  cat "$out/$name.txt" >>"$out/bench.log"
}
table=$out/table.txt
: >"$table"
if [ -n "${OPS-x}" ]; then
  run peak env OPENBLAS_NUM_THREADS=16 $LB peak x $N $NB 16
  peak=$(awk '/^peak/ {print $6}' "$out/peak.txt")
  echo "DGEMM peak, 16 threads, n=$N: $peak GFLOP/s" | tee -a "$table"
fi
for op in ${OPS-potrf getrf getrf-tournament geqrf gemm}; do
  panel=gather
  [ $op = getrf-tournament ] && op=getrf panel=tournament
  name=dag-$op; [ $panel = tournament ] && name=dag-getrf-tournament
  run $name mpirun -np 4 --bind-to none -x DAG_NUM_THREADS=4 -x DAG_LA_DEVICE=cpu -x DAG_CUDA=0 \
    -x DAG_LA_LU=$panel $LB dag $op $N $NB
  g=$(awk '/^dag/ {print $6}' "$out/$name.txt")
  r=""
  if [ $have_sl = 1 ] && [ $panel = tournament ]; then # ScaLAPACK ran with the gather row
    r=$(awk -v o=pd$op -v q=pd${op}_${N}x$N '$1 == o || $1 == q {print $(NF-3)}' "$out/sl-$op.txt")
  elif [ $have_sl = 1 ]; then
    run sl-$op mpirun -np 16 -x OPENBLAS_NUM_THREADS=1 -x SCALAPACK_ONLY=$op \
      -x SCALAPACK_QR=bench "$BUILD/scalapack_ref" run $N $NB 4 4
    r=$(awk -v o=pd$op -v q=pd${op}_${N}x$N '$1 == o || $1 == q {print $(NF-3)}' "$out/sl-$op.txt")
  fi
  [ $panel = tournament ] && op=getrf-t
  awk -v op=$op -v g="$g" -v r="$r" -v p="$peak" 'BEGIN { printf "%-8s 16 cores: dagcc 4x4 %8.1f GFLOP/s (%3.0f%% of peak), ScaLAPACK 16 ranks %8s GFLOP/s, ratio %s\n", op, g, 100*g/p, r, (r > 0 ? sprintf("%.2fx", g/r) : "-") }' | tee -a "$table"
done
# one GPU: in core, then out of core (DAG_CUDA_MEM_MB = 2/3 of the matrices); every tile
# task on the GPU (DAG_LA_DEVICE=cuda) and placed by the scheduler (any); two calls each
# (LA_BENCH_REPS=2: the first pays the tiles' page-locking, the faster one is printed)
G=$BUILD/bench/gpu/bench_gpu_linalg
export LA_BENCH_REPS=${LA_BENCH_REPS:-2}
for op in ${GPU_OPS-potrf gemm}; do
  [ "${GPU_WAYS:-all}" = all ] && run gpu-any-$op env DAG_LA_DEVICE=any $LB dag $op $N $GNB
  run gpu-dag-$op env DAG_LA_DEVICE=cuda $LB dag $op $N $GNB
  case $op in potrf) mb=$((N * N * 8 / 1048576 * 2 / 3)); ref=chol ;;
              gemm) mb=$((3 * N * N * 8 / 1048576 * 2 / 3)); ref=gemm ;; esac
  [ "${GPU_WAYS:-all}" = all ] &&
    run gpu-ooc-$op env DAG_LA_DEVICE=cuda DAG_CUDA_MEM_MB=$mb $LB dag $op $N $GNB
  run gpu-res-$op env DAG_LA_DEVICE=cuda LA_BENCH_RESIDENT=1 LA_BENCH_REPS=3 $LB dag $op $N $GNB
  run gpu-ref-$op $G $ref $N $GNB
  ga=$(awk '/^dag/ {print $6}' "$out/gpu-any-$op.txt" 2>/dev/null)
  gi=$(awk '/^dag/ {print $6}' "$out/gpu-dag-$op.txt"); go=$(awk '/^dag/ {print $6}' "$out/gpu-ooc-$op.txt" 2>/dev/null)
  gr=$(awk '/^dag/ {print $6}' "$out/gpu-res-$op.txt")
  echo "$op one GPU N=$N: dagcc in-core $gi GFLOP/s (CPUs too: $ga), out-of-core ($mb MiB cap) $go GFLOP/s, resident $gr GFLOP/s;" \
    "cuBLAS/cuSOLVER: $(grep -E '^  library' "$out/gpu-ref-$op.txt" | head -2 | tr '\n' ' ')" | tee -a "$table"
done
echo; cat "$table"
