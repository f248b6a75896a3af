#!/usr/bin/env bash
# The consumer test (ctest: "consumer"): installs the mlp build tree into a fresh prefix and builds
# the AND-gate program of this folder against it, as a downstream project would:
#   1. CMake: find_package(mlp CONFIG) with CMAKE_PREFIX_PATH, mlp::mlp and mlp::mlp_static, and
#      the training-loop program of docs/API.md on the installed digits data;
#   2. pkg-config: a plain compiler call with `pkg-config --cflags --libs mlp` (shared) and
#      `pkg-config --static --libs mlp` with libmlp.a (static);
#   3. the installed `mlp` tool: runs from the prefix and trains on the installed digits data.
# Each program must run and learn AND; ldd must show libmlp from the prefix (shared builds) and
# OpenBLAS from its OpenMP directory.
#
# usage: run.sh <mlp build dir> <work dir>
# environment (set by ctest): CC, CXX (compilers of the mlp build), MLP_LIBDIR (lib dir relative to
# the prefix, default lib), MLP_CONSUMER_FLAGS (extra compile and link flags: the sanitizer flags
# of an MLP_SANITIZE build), MLP_DEFAULT_DATA_DIR (data folder compiled into the installed CLI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
work=$2
cc=${CC:-cc}
cxx=${CXX:-c++}
libdir=${MLP_LIBDIR:-lib}
flags=${MLP_CONSUMER_FLAGS:-}

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
log=$work/log.txt
step() { echo "=== $*"; }
die() {
    echo "FAIL: $*" >&2
    exit 1
}
# run <what> <command...>: runs a command, shows its output only when it fails.
run() {
    local what=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        die "$what"
    fi
}
# resolved <binary> <soname>: the path ldd resolves soname to (empty if not needed).
resolved() { ldd "$1" | awk -v lib="$2" '$1 == lib {print $3}'; }
# expect_from <binary> <soname> <dir>: the binary loads soname from dir.
expect_from() {
    local got
    got=$(resolved "$1" "$2")
    [ -n "$got" ] || die "$1 does not load $2"
    [ "$(cd "$(dirname "$got")" && pwd -P)" = "$(cd "$3" && pwd -P)" ] ||
        die "$1 loads $2 from $got, expected it from $3"
    echo "  $(basename "$1"): $2 => $got"
}
# expect_runpath <binary> <dir>: dir is in the binary's RUNPATH, so that the loader looks there
# first whatever the system's default libopenblas.so.0 is.
expect_runpath() {
    readelf -d "$1" | grep -E '\((RUNPATH|RPATH)\)' | grep -qF "$2" || die "$1: no RUNPATH to $2"
}
# check_programs <dir>: runs dir/and_gate_shared and dir/and_gate_static (each must learn AND)
# and checks where they load libmlp and OpenBLAS from.
check_programs() {
    local kind
    for kind in shared static; do
        "$1/and_gate_$kind" || die "$1/and_gate_$kind"
    done
    expect_from "$1/and_gate_shared" libmlp.so.0 "$prefix/$libdir"
    expect_from "$1/and_gate_shared" libopenblas.so.0 "$openblas_dir"
    [ -z "$(resolved "$1/and_gate_static" libmlp.so.0)" ] ||
        die "$1/and_gate_static needs libmlp.so: it should contain libmlp.a"
    expect_from "$1/and_gate_static" libopenblas.so.0 "$openblas_dir"
    expect_runpath "$1/and_gate_static" "$openblas_dir"
}

step "install into $prefix"
run "cmake --install" cmake --install "$build" --prefix "$prefix"
for f in include/mlp/mlp.h include/mlp/fit.h include/mlp/data.h include/mlp/model.h \
    "$libdir"/libmlp.a "$libdir"/libmlp.so "$libdir"/libmlp.so.0 "$libdir"/pkgconfig/mlp.pc \
    "$libdir"/cmake/mlp/mlpConfig.cmake "$libdir"/cmake/mlp/mlpConfigVersion.cmake bin/mlp \
    share/mlp/data/digits.csv.gz; do
    [ -e "$prefix/$f" ] || die "not installed: $f"
done
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
openblas_dir=$(pkg-config --variable=openblas_libdir mlp)
[ -n "$openblas_dir" ] || die "mlp.pc has no openblas_libdir"
expect_from "$prefix/$libdir/libmlp.so" libopenblas.so.0 "$openblas_dir"
expect_runpath "$prefix/$libdir/libmlp.so" "$openblas_dir"

step "CMake: find_package(mlp CONFIG)"
run "configure the consumer" cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags"
grep -q "mlp [0-9.]* from $prefix/" "$log" || {
    cat "$log" >&2
    die "find_package did not pick the freshly installed mlp"
}
run "build the consumer" cmake --build "$work/cmake"
check_programs "$work/cmake"
run "train_loop (docs/API.md)" "$work/cmake/train_loop" "$prefix/share/mlp/data" "$work/digits.mlp"
cat "$log"

step "pkg-config: $(pkg-config --modversion mlp)"
mkdir -p "$work/pc"
# shellcheck disable=SC2046,SC2086
{
    run "compile with pkg-config" "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $flags -c \
        $(pkg-config --cflags mlp) "$here/and_gate.c" -o "$work/pc/and_gate.o"
    run "compile with pkg-config (C++)" "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror $flags \
        -c $(pkg-config --cflags mlp) "$here/headers.cpp" -o "$work/pc/headers.o"
    run "link with pkg-config (shared)" "$cxx" $flags "$work/pc/and_gate.o" "$work/pc/headers.o" \
        $(pkg-config --libs mlp) -Wl,-rpath,"$(pkg-config --variable=libdir mlp)" -lm \
        -o "$work/pc/and_gate_shared"
    # The static library by name (-l:libmlp.a), its private dependencies from Libs.private.
    static_libs=$(pkg-config --static --libs mlp)
    static_libs=" $static_libs "
    static_libs=${static_libs// -lmlp / -l:libmlp.a }
    case $static_libs in
    *-l:libmlp.a*) ;;
    *) die "no -lmlp in: $(pkg-config --static --libs mlp)" ;;
    esac
    run "link with pkg-config --static" "$cxx" $flags "$work/pc/and_gate.o" "$work/pc/headers.o" \
        $static_libs -o "$work/pc/and_gate_static"
}
check_programs "$work/pc"

step "the installed mlp tool"
# (A build whose CLI links the static core, e.g. with MPI, does not need libmlp.so at all.)
if [ -n "$(resolved "$prefix/bin/mlp" libmlp.so.0)" ]; then
    expect_from "$prefix/bin/mlp" libmlp.so.0 "$prefix/$libdir"
fi
run "mlp --version" "$prefix/bin/mlp" --version
grep -q "OpenMP build" "$log" || {
    cat "$log" >&2
    die "the installed mlp does not run on OpenBLAS's OpenMP build"
}
if [ -n "${MLP_DEFAULT_DATA_DIR:-}" ]; then
    run "mlp --help" "$prefix/bin/mlp" --help
    grep -qF "$MLP_DEFAULT_DATA_DIR" "$log" || {
        cat "$log" >&2
        die "the installed mlp does not default to the installed data folder $MLP_DEFAULT_DATA_DIR"
    }
fi
# Installed under another prefix than the configured one: MLP_DATA_DIR points at the data.
MLP_DATA_DIR="$prefix/share/mlp/data" run "mlp train --data digits" "$prefix/bin/mlp" train \
    --data digits --hidden 16 --max-iter 100 --seed 1 --quiet --json
accuracy=$(sed -nE 's/.*"accuracy": ([0-9.eE+-]+).*/\1/p' "$log" | tail -n 1)
awk -v a="${accuracy:-0}" 'BEGIN { exit !(a >= 0.9) }' || {
    cat "$log" >&2
    die "mlp train on the installed digits data: accuracy '${accuracy}', expected >= 0.9"
}
echo "  mlp train --data digits: test accuracy $accuracy"
echo "OK: the installed mlp works through find_package, pkg-config (shared and static) and its CLI"
