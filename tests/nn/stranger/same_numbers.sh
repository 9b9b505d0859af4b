#!/usr/bin/env bash
# same_numbers.sh: two runs' epoch and test lines agree: losses to a relative 1e-5 and
# accuracies to 1e-4, every other word exactly. On a GPU the loss is summed over the batch
# with atomic adds, whose order (so the last bits) changes from run to run (seen on an
# H100: test losses 0.488415479 to 0.488415723 over one_gpu.sh's four ways); on CPUs the
# ways print the same digits. Usage: same_numbers.sh REFERENCE OTHER LABEL
set -euo pipefail
paste -d' ' "$1" "$2" | awk -v k="$3" '
  function rel(a, b) { d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a; return m > 0 ? d / m : d }
  { n = NF / 2
    for (i = 1; i <= n; i++) {
      a = $i; b = $(i + n)
      if (a ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) {
        tol = ($(i - 1) == "accuracy") ? 1e-4 : 1e-5
        if (rel(a, b) > tol) { print "FAIL: " k " differs from the first: " $0; bad = 1 }
      } else if (a != b) { print "FAIL: " k " differs from the first: " $0; bad = 1 }
    } }
  END { exit bad }' || { diff "$1" "$2"; exit 1; }
