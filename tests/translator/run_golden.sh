#!/bin/sh
# run_golden.sh: translates SRC with dagcc-translate and compares with SRC's .expected
# file. DAGCC_UPDATE_GOLDEN=1 rewrites the expected file instead.
# usage: run_golden.sh DAGCC_TRANSLATE SRC [translator flags...]
set -eu
tool=$1 src=$2
shift 2
dir=$(dirname "$src")
name=$(basename "$src" .c)
cd "$dir"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$tool" "$@" -I../../../include "$name.c" -o "$tmp"
if [ "${DAGCC_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$tmp" "$name.expected"
    echo "updated $name.expected"
    exit 0
fi
diff -u "$name.expected" "$tmp"
echo PASS
