# clang-env.sh: sourced by tests/gpu/run.sh and bench/gpu/run-all.sh on a GPU machine,
# after .device/unpack.sh. When Debian's libclang-14 was brought along (see
# ../shared/gpu/README.md: libclang1-14, libllvm14, libclang-common-14-dev, libz3-4 and
# the clang-c headers alone), it makes the translator buildable there: Debian's libclang
# finds its builtin headers (stddef.h, ...) only at fixed paths, so those paths get
# symlinks to the unpacked copy, and CMake is pointed at the library and the headers.
# Sets DAG_CLANG_CMAKE (CMake options; empty when libclang is not there).
DAG_CLANG_CMAKE=""
_d=/opt/dagdeps/usr
_llvm=$_d/lib/llvm-14
_lib=$_d/lib/x86_64-linux-gnu/libclang-14.so.1
if [ -f "$_llvm/include/clang-c/Index.h" ] && [ -e "$_lib" ] &&
   [ -d "$_llvm/lib/clang/14.0.6/include" ]; then
  for _p in /usr/lib/llvm-14/lib/clang/14.0.6 /usr/include/clang/14.0.6; do
    if [ ! -e "$_p/include/stddef.h" ]; then
      mkdir -p "$_p" 2>/dev/null && ln -sfn "$_llvm/lib/clang/14.0.6/include" "$_p/include" 2>/dev/null
    fi
  done
  if [ -e /usr/lib/llvm-14/lib/clang/14.0.6/include/stddef.h ] ||
     [ -e /usr/include/clang/14.0.6/include/stddef.h ]; then
    DAG_CLANG_CMAKE="-DDAGCC_CLANG_INCLUDE=$_llvm/include -DDAGCC_LIBCLANG=$_lib"
  else
    echo "clang-env.sh: cannot place libclang's builtin headers (no root?): no translator" >&2
  fi
fi
unset _d _llvm _lib _p
