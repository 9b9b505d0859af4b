#!/bin/sh
# run.sh DAGCC SRCDIR WORKDIR [RUNTIME_HAS_CUDA]: the dagcc driver's CUDA options, checked on the command
# lines it prints with --dagcc-dry-run, against a fake toolkit and a fake nvidia-smi (no
# GPU or CUDA needed); then, where a real toolkit is installed, a real build and run.
set -eu
dagcc=$1 src=$2 work=$3 rt_cuda=${4:-1} # 0: libdagrt was built without CUDA
rm -rf "$work" && mkdir -p "$work/cuda/bin" "$work/cuda/include" "$work/cuda/lib64" "$work/bin"
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }

# the fake toolkit: ROOT/bin/nvcc, ROOT/include/cuda_runtime_api.h, ROOT/lib64/libcudart.so
printf '#!/bin/sh\necho "$@" >> %s/nvcc.args\n' "$work" > cuda/bin/nvcc
printf 'typedef struct CUstream_st *cudaStream_t;\n' > cuda/include/cuda_runtime_api.h
: > cuda/lib64/libcudart.so
chmod +x cuda/bin/nvcc
export DAGCC_NVCC="$work/cuda/bin/nvcc"
# two GPUs of one kind, as nvidia-smi reports them
printf '#!/bin/sh\necho 9.0\necho 9.0\n' > bin/nvidia-smi
chmod +x bin/nvidia-smi
oldpath=$PATH
PATH="$work/bin:$PATH"

# .cu: the GPU's architecture by default
"$dagcc" --dagcc-dry-run -c "$src/k.cu" -o k.o 2> cu1.txt
grep -q -- "-arch=sm_90" cu1.txt || fail "no -arch=sm_90: $(cat cu1.txt)"
grep -q -- "-c .*k.cu -o k.o" cu1.txt || fail "nvcc line: $(cat cu1.txt)"
# -Xnvcc: passed on; an architecture chosen there replaces the default
"$dagcc" --dagcc-dry-run -Xnvcc=-arch=sm_80 -Xnvcc -fmad=false -c "$src/k.cu" 2> cu2.txt
grep -q -- "-arch=sm_80" cu2.txt || fail "-Xnvcc=-arch=sm_80 lost: $(cat cu2.txt)"
grep -q -- "-fmad=false" cu2.txt || fail "-Xnvcc -fmad=false lost: $(cat cu2.txt)"
! grep -q -- "sm_90" cu2.txt || fail "default architecture despite -Xnvcc=-arch: $(cat cu2.txt)"
# GPUs of two kinds: one -gencode each
printf '#!/bin/sh\necho 8.0\necho 9.0\n' > bin/nvidia-smi
"$dagcc" --dagcc-dry-run -c "$src/k.cu" 2> cu3.txt
grep -q -- "-gencode=arch=compute_80,code=sm_80" cu3.txt &&
  grep -q -- "-gencode=arch=compute_90,code=sm_90" cu3.txt || fail "gencode: $(cat cu3.txt)"
# no nvidia-smi that works: nvcc's own default
printf '#!/bin/sh\nexit 9\n' > bin/nvidia-smi
"$dagcc" --dagcc-dry-run -c "$src/k.cu" 2> cu4.txt
! grep -q -- "-arch\|-gencode" cu4.txt || fail "an architecture without a GPU: $(cat cu4.txt)"
! "$dagcc" -c "$src/k.cu" -Xnvcc= 2>/dev/null || fail "-Xnvcc= without a value accepted"

# a C file that includes <dag/cuda.h>: the translator and cc find cuda_runtime_api.h
"$dagcc" --dagcc-dry-run -c "$src/main.c" -o main.o 2> c1.txt || fail "translation: $(cat c1.txt)"
grep -q -- "-idirafter $work/cuda/include" c1.txt || fail "no CUDA include path: $(cat c1.txt)"
"$dagcc" -Wall -Werror -c "$src/main.c" -o main.o || fail "compiling main.c with the stub toolkit"
"$dagcc" --dagcc-dry-run main.o -o app 2> l1.txt
grep -q -- "--as-needed -lcudart" l1.txt || fail "link line: $(cat l1.txt)"

# a real toolkit, when there is one: build and run main.c
PATH=$oldpath
unset DAGCC_NVCC
if [ "$rt_cuda" = 1 ] && { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; }; then
  "$dagcc" -O2 -Wall -Werror "$src/main.c" -o app_real || fail "real toolkit: main.c"
  ./app_real | grep -q '^x3=5 stream=1' || fail "app_real printed: $(./app_real)"
  echo "ok (real toolkit too)"
else
  echo "ok (no real toolkit, or a runtime built without CUDA)"
fi
