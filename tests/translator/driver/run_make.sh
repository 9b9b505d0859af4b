#!/bin/sh
# run_make.sh: `CC=dagcc make` with make's implicit rules and a static library.
# usage: run_make.sh DAGCC SRCDIR WORKDIR
set -eu
dagcc=$1 src=$2 work=$3
rm -rf "$work"; mkdir -p "$work"
cp "$src/app.c" "$src/lib.c" "$src/lib.h" "$src/Makefile" "$work"
cd "$work"
make -s CC="$dagcc" CFLAGS=-O2
./app
