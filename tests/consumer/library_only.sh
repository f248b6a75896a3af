#!/usr/bin/env bash
# The library-only test (ctest: "library_only"): what a user who has only a C compiler, CMake,
# OpenBLAS and zlib gets. C++ is made unavailable (CMAKE_CXX_COMPILER names no file) and so is
# pkg-config (CMAKE_DISABLE_FIND_PACKAGE_PkgConfig: OpenBLAS is then found by find_package(BLAS)).
#   1. README's `cmake -S . -B build -DMLP_BUILD_TESTS=OFF -DMLP_BUILD_BENCH=OFF` configures,
#      builds (library, tool, examples) and installs into a fresh prefix;
#   2. a C-only project links the installed tree with find_package(mlp CONFIG) (shared and
#      static) and a plain `cc -I -L -lmlp` does too; the programs run and learn AND;
#   3. configured with tests and bench ON while CMocka and C++ are missing, the
#      configure succeeds and says which parts it switched off and which package installs them;
#   4. configured without OpenBLAS, it fails with an error naming libopenblas-openmp-dev.
# usage: library_only.sh <mlp source dir> <work dir>
# environment: CC (default cc); MLP_JOBS (parallel build jobs, default 2).
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
cc=${CC:-cc}
jobs=${MLP_JOBS:-2}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
log=$work/log.txt
no_cxx=-DCMAKE_CXX_COMPILER=/nonexistent/c++
no_pc=-DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON
step() { echo "=== $*"; }
die() {
    echo "FAIL: $*" >&2
    exit 1
}
run() {
    local what=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        die "$what"
    fi
}
# expect <text> <what>: the last command's output contains text.
expect() {
    grep -qF -- "$1" "$log" || {
        cat "$log" >&2
        die "$2: no '$1' in the output"
    }
}

step "library only: configure (no C++, no pkg-config), build, install"
run "configure" cmake -S "$src" -B "$work/build" -DCMAKE_C_COMPILER="$cc" "$no_cxx" "$no_pc" \
    -DMLP_BUILD_TESTS=OFF -DMLP_BUILD_BENCH=OFF
expect "OpenBLAS (FindBLAS)" "configure"
# (With C++ enabled, the configure would have failed on the missing compiler.)
if grep -q "switched off" "$log"; then
    cat "$log" >&2
    die "a library-only configure warns about parts it was told to leave out"
fi
run "build" cmake --build "$work/build" -j "$jobs"
run "install" cmake --install "$work/build" --prefix "$prefix"
libdir=$(sed -nE 's/^CMAKE_INSTALL_LIBDIR:PATH=(.*)/\1/p' "$work/build/CMakeCache.txt")
for f in include/mlp/mlp.h "${libdir:-lib}/libmlp.so.0" "${libdir:-lib}/libmlp.a" \
    "${libdir:-lib}/cmake/mlp/mlpConfig.cmake" bin/mlp share/mlp/data/digits.csv.gz; do
    [ -e "$prefix/$f" ] || die "not installed: $f"
done
libdir=$prefix/${libdir:-lib}

step "a C project links the installed tree (find_package, and cc -lmlp)"
run "configure the consumer" cmake -S "$src/tests/consumer" -B "$work/consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" "$no_cxx" -DMLP_CONSUMER_CXX=OFF \
    -DCMAKE_BUILD_TYPE=Release
run "build the consumer" cmake --build "$work/consumer" -j "$jobs"
for p in and_gate_shared and_gate_static; do
    run "$p" "$work/consumer/$p"
    echo "  $p: $(tail -n 1 "$log")"
done
run "cc -lmlp" "$cc" -std=c11 -Wall -Wextra -Werror -DMLP_CONSUMER_C_ONLY -I"$prefix/include" \
    "$src/tests/consumer/and_gate.c" -L"$libdir" -lmlp -Wl,-rpath,"$libdir" -lm \
    -o "$work/and_gate_cc"
run "and_gate (cc -lmlp)" "$work/and_gate_cc"
echo "  and_gate (cc -lmlp): $(tail -n 1 "$log")"
run "installed mlp" "$prefix/bin/mlp" --version
echo "  $(head -n 1 "$log")"

step "tests and bench ON without CMocka and C++: switched off, with the reason"
run "configure" cmake -S "$src" -B "$work/optional" -DCMAKE_C_COMPILER="$cc" "$no_cxx" "$no_pc" \
    -DCMAKE_DISABLE_FIND_PACKAGE_cmocka=ON \
    -DMLP_BUILD_TESTS=ON -DMLP_BUILD_BENCH=ON -DMLP_BUILD_EXAMPLES=OFF
expect "MLP_BUILD_TESTS switched off" "configure"
expect "libcmocka-dev" "configure"
expect "MLP_BUILD_BENCH switched off" "configure"
expect "(Debian: g++)" "configure"
echo "  $(grep -c "switched off" "$log") parts switched off, each with the package to install"

step "no OpenBLAS: a clear error"
if cmake -S "$src" -B "$work/no-blas" -DCMAKE_C_COMPILER="$cc" "$no_cxx" "$no_pc" \
    -DCMAKE_DISABLE_FIND_PACKAGE_BLAS=ON -DMLP_BUILD_TESTS=OFF -DMLP_BUILD_BENCH=OFF \
    >"$log" 2>&1; then
    cat "$log" >&2
    die "configure without OpenBLAS succeeded"
fi
expect "libopenblas-openmp-dev" "configure without OpenBLAS"
echo "  $(grep -m 1 -o "mlp: OpenBLAS.*found" "$log")"
echo "OK: library only: builds and installs without C++ or pkg-config; a C program links it"
