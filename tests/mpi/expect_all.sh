#!/bin/sh
# expect_all.sh [-f|-0] 'REGEX1|||REGEX2|||!REGEX3...' CMD...: runs CMD and passes only if
# its output (stdout and stderr) matches every regex, and matches none of those written
# with a leading '!'. With -f, CMD must also fail (exit status non-zero); with -0 it must
# succeed (exit status 0). Ranks write
# concurrently, so lines from different ranks interleave in any order: each message is
# checked on its own, not their sequence.
must_fail=0
must_pass=0
if [ "$1" = "-f" ]; then
  must_fail=1
  shift
elif [ "$1" = "-0" ]; then
  must_pass=1
  shift
fi
pats=$1
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
echo "expect_all: exit status $rc"
if [ $must_fail = 1 ] && [ $rc = 0 ]; then
  echo "expect_all: the command succeeded but must fail"
  exit 1
fi
if [ $must_pass = 1 ] && [ $rc != 0 ]; then
  echo "expect_all: the command failed but must succeed"
  exit 1
fi
rest=$pats
while [ -n "$rest" ]; do
  p=${rest%%|||*}
  case $rest in *'|||'*) rest=${rest#*|||} ;; *) rest= ;; esac
  case $p in
    !*) if printf '%s\n' "$out" | grep -Eq -- "${p#!}"; then
          echo "expect_all: a line matches: ${p#!}"; exit 1
        fi ;;
    *) printf '%s\n' "$out" | grep -Eq -- "$p" || { echo "expect_all: no line matches: $p"; exit 1; } ;;
  esac
done
