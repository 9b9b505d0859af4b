#!/usr/bin/env bash
# demo.sh: the first quick-start command: installs what is missing, builds dagcc and runs
# the flagship demo, a tiled Cholesky factorisation written as a sequential C program
# with `#pragma dag task` annotations, compiled by dagcc and checked against LAPACK.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec build/samples/cholesky "${1:-16}" "${2:-256}"
