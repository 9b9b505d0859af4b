#!/usr/bin/env bash
# pack-device.sh: fills .device/ (ignored by git; see ../shared/gpu/README.md) with the
# Debian packages the GPU suite needs on a GPU machine: Check, and libclang-14 for the
# translator, trimmed to what building and running it needs (35 MiB; the whole
# libclang-14-dev package alone is 23 MiB, of which only the clang-c headers are used:
# they are repacked as a small package). Run in the project root, where apt-get works.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
d=$root/.device
shared=${DAG_SHARED_GPU:-$root/../shared/gpu}
[ -f "$shared/unpack.sh" ] || shared=/work/shared/gpu
mkdir -p "$d/debs"
cp "$shared/unpack.sh" "$d/unpack.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download check libsubunit0 libsubunit-dev libllvm14 libclang1-14 \
  libclang-common-14-dev libz3-4 libclang-14-dev >/dev/null)
mv "$tmp"/check_*.deb "$tmp"/libsubunit*.deb "$tmp"/libllvm14_*.deb "$tmp"/libclang1-14_*.deb \
  "$tmp"/libclang-common-14-dev_*.deb "$tmp"/libz3-4_*.deb "$d/debs/"
# the clang-c headers of libclang-14-dev, alone
dpkg -x "$tmp"/libclang-14-dev_*.deb "$tmp/x"
mkdir -p "$tmp/mini/DEBIAN" "$tmp/mini/usr/lib/llvm-14/include"
cp -a "$tmp/x/usr/lib/llvm-14/include/clang-c" "$tmp/mini/usr/lib/llvm-14/include/"
cat >"$tmp/mini/DEBIAN/control" <<'CTL'
Package: dagcc-clang-c-14
Version: 14.0.6-12
Architecture: amd64
Maintainer: dagcc <dagcc@localhost>
Description: the clang-c headers of libclang-14-dev only
 (what building the dagcc translator against libclang1-14 needs)
CTL
dpkg-deb --build "$tmp/mini" "$d/debs/dagcc-clang-c-14_14.0.6-12_amd64.deb" >/dev/null
du -sh "$d"
