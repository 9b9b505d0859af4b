#!/bin/sh
# run_driver.sh: the dagcc driver as a drop-in cc: several inputs, -c/-o/-S/-E, objects
# and static libraries, --keep-translated, --version/--help, DAGCC_CC, -Werror builds of
# files that include a header with function tasks.
# usage: run_driver.sh DAGCC SRCDIR WORKDIR
set -eu
dagcc=$1 src=$2 work=$3
rm -rf "$work"; mkdir -p "$work"; cd "$work"
step() { echo "--- $*"; }
step "two inputs, link"; "$dagcc" -O2 "$src/app.c" "$src/lib.c" -o app1; ./app1
step "-c then link objects"; "$dagcc" -c "$src/app.c" "$src/lib.c"
[ -f app.o ] && [ -f lib.o ]; "$dagcc" app.o lib.o -o app2; ./app2
step "-c -o, static library"; "$dagcc" -c "$src/lib.c" -o l.o; ar rcs libl.a l.o
"$dagcc" "$src/app.c" -L. -ll -o app3; ./app3
step "-S"; "$dagcc" -S "$src/app.c" -o app.s; grep -q dag_submit app.s
step "-E"; "$dagcc" -E "$src/app.c" | grep -q dag_submit
step "--keep-translated"; "$dagcc" -c --keep-translated "$src/app.c" -o k.o
grep -q '#line' app.dagcc.c
step "-MD depfile names the user's file"; "$dagcc" -MD -c "$src/app.c" -o d.o
grep -q "$src/app.c" d.d; ! grep -q 'dagcc-' d.d
step "--version/--help"; "$dagcc" --version | grep -q '^dagcc '; "$dagcc" --help | grep -q fopenmp
step "DAGCC_CC"; DAGCC_CC=gcc "$dagcc" "$src/app.c" "$src/lib.c" -o app4; ./app4
step "-Wall -Wextra -Werror: a header's function-task pragma is not an unknown pragma"
"$dagcc" -O2 -Wall -Wextra -Werror "$src/app.c" "$src/lib.c" -o app5; ./app5
printf '#pragma dagx\nint x;\n' > other.c # other unknown pragmas are still reported
if "$dagcc" -Wall -Werror -c other.c -o other.o 2>/dev/null; then
    echo "an unknown pragma was silenced"; exit 1
fi
printf '#include "lib.h" // not /* a block comment\n#pragma other\nint y;\n' > inc.c
if "$dagcc" -I"$src" -Wall -Werror -c inc.c -o inc.o 2>inc.err; then
    echo "an unknown pragma after the header was silenced"; exit 1
fi
grep -q 'inc.c:2' inc.err
step "passthrough"; "$dagcc" -dumpmachine >/dev/null
step "error: no output"; printf 'int main(void){\n#pragma dag task bogus\nreturn 0;}\n' > bad.c
if "$dagcc" bad.c -o bad 2>/dev/null; then echo "accepted bad code"; exit 1; fi
[ ! -e bad ]
echo PASS
