#!/usr/bin/env bash
# bench/nn/subset.sh: a small Fashion-MNIST for the GPU host (the full set cannot travel
# there with the tree: 64 MiB in all). Writes ./fashion-mnist-subset (gitignored) from
# /usr/share/datasets/fashion-mnist: the first N training images and labels (10000, about
# 5 MB) re-gzipped as IDX files with their counts rewritten, and the test files as they
# are. The lead carries it: run(carry=["fashion-mnist-subset"]) bench/nn/device.sh.
#   bench/nn/subset.sh [N] [SRC] [DEST]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-10000}
SRC=${2:-/usr/share/datasets/fashion-mnist}
DEST=${3:-$root/fashion-mnist-subset}
mkdir -p "$DEST"
python3 - "$N" "$SRC" "$DEST" <<'PY'
import gzip, shutil, struct, sys
n, src, dest = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for name, hdr in (("train-images-idx3-ubyte.gz", 16), ("train-labels-idx1-ubyte.gz", 8)):
    with gzip.open(f"{src}/{name}") as f:
        h = bytearray(f.read(hdr))
        total = struct.unpack(">I", h[4:8])[0]
        if n > total:
            sys.exit(f"subset.sh: {name} has only {total} items")
        item = 1
        if hdr == 16:
            item = struct.unpack(">I", h[8:12])[0] * struct.unpack(">I", h[12:16])[0]
        body = f.read(n * item)
        if len(body) != n * item:
            sys.exit(f"subset.sh: {name} is truncated")
    h[4:8] = struct.pack(">I", n)
    with gzip.open(f"{dest}/{name}", "wb", compresslevel=9) as g:
        g.write(bytes(h) + body)
for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    shutil.copyfile(f"{src}/{name}", f"{dest}/{name}")
PY
du -sh "$DEST"
