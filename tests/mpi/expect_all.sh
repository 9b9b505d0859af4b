#!/bin/sh
# expect_all.sh 'REGEX1|||REGEX2...' CMD...: runs CMD and passes only if its output (stdout
# and stderr) matches every regex. Ranks write concurrently, so lines from different
# ranks interleave in any order: each message is checked on its own, not their sequence.
pats=$1
shift
out=$("$@" 2>&1)
printf '%s\n' "$out"
rest=$pats
while [ -n "$rest" ]; do
  p=${rest%%|||*}
  case $rest in *'|||'*) rest=${rest#*|||} ;; *) rest= ;; esac
  printf '%s\n' "$out" | grep -Eq -- "$p" || { echo "expect_all: no line matches: $p"; exit 1; }
done
