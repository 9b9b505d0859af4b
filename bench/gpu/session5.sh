#!/usr/bin/env bash
# session5.sh: the lead's combined device call (not in CI): chol-col.sh (the Cholesky
# variants and anchors, about 4 minutes), then libdaglinalg's GPU Cholesky as the library
# is now built (its graphs translated by dagcc-translate, so libclang comes from .device)
# through bench/linalg/device.sh with no CPU case, in what is left of BUDGET (560 s).
out=${OUT:-/tmp/s5}; mkdir -p "$out"; t0=$(date +%s)
OUT=$out/chol bash bench/gpu/chol-col.sh
left=$(( ${BUDGET:-560} - ($(date +%s) - t0) ))
if [ $left -gt 150 ]; then
  OUT=$out/la N=${N:-16384} OPS=" " GPU_OPS="${LA_GPU_OPS:-potrf}" BUDGET=$left \
    bash bench/linalg/device.sh 2>&1 | tail -8
else
  echo "libdaglinalg GPU run skipped: $left s left"
fi
echo "session5 total $(( $(date +%s) - t0 )) s"
