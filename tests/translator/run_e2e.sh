#!/bin/sh
# run_e2e.sh: compiles one program with dagcc and runs it; the program checks its own
# results (exit status 0 and "OK" on stdout).
# usage: run_e2e.sh DAGCC SRC WORKDIR [dagcc flags...]
set -eu
dagcc=$1 src=$2 work=$3
shift 3
mkdir -p "$work"
name=$(basename "$src" .c)
"$dagcc" -O2 -Wall -Wextra -Werror "$@" "$src" -o "$work/$name" -lm
out=$("$work/$name")
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -qx OK
