#!/bin/sh
# run_cmake.sh: a CMake project configured with -DCMAKE_C_COMPILER=dagcc.
# usage: run_cmake.sh DAGCC SRCDIR WORKDIR CMAKE
set -eu
dagcc=$1 src=$2 work=$3 cmake=$4
rm -rf "$work"; mkdir -p "$work/src"
cp "$src/app.c" "$src/lib.c" "$src/lib.h" "$src/CMakeLists.txt" "$work/src"
"$cmake" -S "$work/src" -B "$work/build" -DCMAKE_C_COMPILER="$dagcc" >/dev/null
"$cmake" --build "$work/build" -j2 >/dev/null
"$work/build/app"
