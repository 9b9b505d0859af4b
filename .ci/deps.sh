#!/usr/bin/env bash
# deps.sh: installs (as root, with apt-get) the Debian 12 packages dagcc builds, tests
# and benchmarks against; does nothing when they are all present already.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config git
  libhwloc-dev check libsubunit-dev
  clang-14 libclang-14-dev libomp-14-dev libclang-rt-14-dev
  libopenmpi-dev openmpi-bin libucx-dev
  libstarpu-dev libopenblas-dev liblapacke-dev libscalapack-openmpi-dev
  dataset-fashion-mnist chromium
  zlib1g-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
