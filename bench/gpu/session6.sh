#!/usr/bin/env bash
# session6.sh: the next device call after the fifth session (not in CI). It checks the fix
# of the distributed GPU hang (fe00662): the GPU suite with its MPI steps and libdaglinalg
# on 1 and 2 ranks sharing the GPU (tests/gpu/run.sh, core suites left out), then the nn
# loss test on 2 GPU ranks. Then, in what is left of BUDGET (560 s), the blocked Cholesky.
# Carry .device (Check, libclang).
out=${OUT:-/tmp/s6}; mkdir -p "$out"; t0=$(date +%s)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SKIP_CORESO=1 DAG_TEST_SEEDS=40 DAG_TEST_BIG_SEEDS=4 timeout ${SUITE_S:-330} bash tests/gpu/run.sh \
  >"$out/gpu-suite.log" 2>&1
echo "tests/gpu/run.sh exit $? after $(( $(date +%s) - t0 )) s"
grep -E "^== |Checks|:F:|:E:|ok$|FAIL|exited|Forwarding" "$out/gpu-suite.log" | head -40
B=${BUILD:-build-gpu}
cmake --build $B -j"$(nproc)" --target test_nn_train bench_gpu_chol_blocked >/dev/null 2>&1
r=$(DAG_NN_ALLREDUCE=mpi timeout 60 mpirun --oversubscribe --bind-to none -np 2 \
  "$B/tests/nn/test_nn_train" 30 64 2>&1 | tail -1)
echo "test_nn_train GPU 2 ranks (MPI exchange): $r"
left=$(( ${BUDGET:-560} - ($(date +%s) - t0) ))
if [ -n "${PROFILE_NN:-}" ]; then # the GPU step's profile (bench/nn/gpu-profile.sh) in what is left
  [ $left -gt 60 ] && BUILD=$PWD/$B MODELS=${MODELS:-mlp} timeout $((left - 10)) \
    bash bench/nn/gpu-profile.sh 2>&1 | grep -v "^ *$"
else
  [ $left -gt 40 ] && timeout $((left - 10)) "$B/bench/gpu/bench_gpu_chol_blocked" 16384 1024 |
    grep -E "cuSOLVER|hand|dag, dev"
fi
echo "session6 total $(( $(date +%s) - t0 )) s"
