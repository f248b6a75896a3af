#!/usr/bin/env bash
# The consumer test (ctest: "consumer", "mpi_consumer" in an MPI build): installs the mlp build tree
# into a fresh prefix and builds the programs of this folder against it, as a downstream project
# would:
#   1. CMake: find_package(mlp CONFIG) with CMAKE_PREFIX_PATH, mlp::mlp and mlp::mlp_static, and
#      the training-loop program of docs/API.md on the installed digits data;
#   2. pkg-config: a plain compiler call with `pkg-config --cflags --libs mlp` (shared) and the
#      static recipe of README.md / docs/API.md (libmlp.a by name, Libs.private);
#   3. a shared library that embeds libmlp.a: it must not re-export mlp's API;
#   4. with MLP_WITH_MPI: libmlp_mpi through find_package(mlp COMPONENTS mpi) (mlp::mpi) and
#      through mlp-mpi.pc, each program run on 2 ranks under mpirun;
#   5. the installed `mlp` tool: runs from the prefix and trains on the installed digits data,
#      which it finds relative to its own executable (the prefix is not the configured one).
# Each program must run and learn AND; ldd must show libmlp from the prefix (shared builds) and
# OpenBLAS from its OpenMP directory.
#
# usage: run.sh <mlp build dir> <work dir>
# environment (set by ctest): CC, CXX (compilers of the mlp build; CXX empty: no C++ compiler, the
# C++ header check is left out), MLP_LIBDIR (lib dir relative to the prefix, default lib),
# MLP_CONSUMER_FLAGS (extra compile and link flags: the sanitizer flags of an MLP_SANITIZE build),
# MLP_CONSUMER_MPIEXEC (mpiexec of an MPI build: check the mpi component) and
# MLP_CONSUMER_MPIEXEC_FLAGS (its flags, e.g. --allow-run-as-root --oversubscribe).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
work=$2
cc=${CC:-cc}
cxx=${CXX-c++}
libdir=${MLP_LIBDIR:-lib}
flags=${MLP_CONSUMER_FLAGS:-}
mpiexec=${MLP_CONSUMER_MPIEXEC:-}
read -r -a mpiexec_flags <<<"${MLP_CONSUMER_MPIEXEC_FLAGS:-}"

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
mpi_files=(include/mlp/mpi.h "$libdir"/libmlp_mpi.a "$libdir"/pkgconfig/mlp-mpi.pc
    "$libdir"/cmake/mlp/mlpMpiTargets.cmake)
for f in "${mpi_files[@]}"; do
    if [ -n "$mpiexec" ]; then
        [ -e "$prefix/$f" ] || die "not installed: $f"
    else
        [ ! -e "$prefix/$f" ] || die "installed without MLP_WITH_MPI: $f"
    fi
done
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
openblas_dir=$(pkg-config --variable=openblas_libdir mlp)
[ -n "$openblas_dir" ] || die "mlp.pc has no openblas_libdir"
expect_from "$prefix/$libdir/libmlp.so" libopenblas.so.0 "$openblas_dir"
expect_runpath "$prefix/$libdir/libmlp.so" "$openblas_dir"

# The C++ header check needs a C++ compiler; without one the programs are C only.
if [ -n "$cxx" ]; then
    cxx_cmake=(-DMLP_CONSUMER_CXX=ON -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags")
else
    echo "(no C++ compiler: the C++ header check is left out)"
    cxx_cmake=(-DMLP_CONSUMER_CXX=OFF)
fi
mpi_cmake=(-DMLP_CONSUMER_MPI=OFF)
[ -z "$mpiexec" ] || mpi_cmake=(-DMLP_CONSUMER_MPI=ON)

step "CMake: find_package(mlp CONFIG)"
run "configure the consumer" cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" "${cxx_cmake[@]}" "${mpi_cmake[@]}"
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
    c_only=()
    [ -n "$cxx" ] || c_only=(-DMLP_CONSUMER_C_ONLY)
    run "compile with pkg-config" "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $flags -c \
        $(pkg-config --cflags mlp) "${c_only[@]}" "$here/and_gate.c" -o "$work/pc/and_gate.o"
    objs=("$work/pc/and_gate.o")
    linker=$cc
    if [ -n "$cxx" ]; then
        run "compile with pkg-config (C++)" "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror \
            $flags -c $(pkg-config --cflags mlp) "$here/headers.cpp" -o "$work/pc/headers.o"
        objs+=("$work/pc/headers.o")
        linker=$cxx
    fi
    run "link with pkg-config (shared)" "$linker" $flags "${objs[@]}" $(pkg-config --libs mlp) \
        -Wl,-rpath,"$(pkg-config --variable=libdir mlp)" -lm -o "$work/pc/and_gate_shared"
    # The static recipe of README.md and docs/API.md, word for word: libmlp.a by name (-lmlp
    # would pick libmlp.so), its private dependencies from Libs.private.
    static_libs=$(pkg-config --static --libs mlp | sed 's/-lmlp\b/-l:libmlp.a/')
    case " $static_libs " in
    *" -l:libmlp.a "*) ;;
    *) die "no -lmlp in: $(pkg-config --static --libs mlp)" ;;
    esac
    run "link with pkg-config --static" "$linker" $flags "${objs[@]}" $static_libs \
        -o "$work/pc/and_gate_static"
}
check_programs "$work/pc"

step "a shared library that embeds libmlp.a"
# It links every object of libmlp.a into itself and exports only its own function: the objects
# of libmlp.a carry no export attribute (MLP_STATIC_DEFINE), so mlp's API stays inside.
printf '%s\n' '#include <mlp/mlp.h>' 'const char *embed_version(void);' \
    'const char *embed_version(void) { return mlp_version(); }' >"$work/pc/embed.c"
# shellcheck disable=SC2046,SC2086
run "link libembed.so" "$cc" -std=c11 -shared -fPIC $flags $(pkg-config --cflags mlp) \
    "$work/pc/embed.c" -Wl,--whole-archive "$prefix/$libdir/libmlp.a" -Wl,--no-whole-archive \
    $(pkg-config --static --libs mlp | sed 's/-lmlp\b//') -o "$work/pc/libembed.so"
leaked=$(nm -D --defined-only "$work/pc/libembed.so" | awk 'NF >= 3 && $3 ~ /^mlp_/ {print $3}')
[ -z "$leaked" ] ||
    die "a shared library embedding libmlp.a re-exports: $(tr '\n' ' ' <<<"$leaked")"
nm -D --defined-only "$work/pc/libembed.so" | grep -qw embed_version ||
    die "libembed.so does not export embed_version"
echo "  libembed.so exports embed_version and no mlp_ symbol"

if [ -n "$mpiexec" ]; then
    step "MPI: find_package(mlp COMPONENTS mpi) and mlp-mpi.pc, 2 ranks"
    run "mpi_digits (mlp::mpi), 2 ranks" "$mpiexec" -np 2 "${mpiexec_flags[@]}" \
        "$work/cmake/mpi_digits" "$prefix/share/mlp/data"
    cat "$log"
    # shellcheck disable=SC2046,SC2086
    run "build with pkg-config mlp-mpi" "$cc" -std=c11 -Wall -Wextra -Werror $flags \
        "$here/mpi_digits.c" $(pkg-config --cflags --libs mlp-mpi) -o "$work/pc/mpi_digits"
    [ -z "$(resolved "$work/pc/mpi_digits" libmlp.so.0)" ] ||
        die "mpi_digits (mlp-mpi.pc) loads libmlp.so: it must hold the static core only"
    expect_from "$work/pc/mpi_digits" libopenblas.so.0 "$openblas_dir"
    run "mpi_digits (mlp-mpi.pc), 2 ranks" "$mpiexec" -np 2 "${mpiexec_flags[@]}" \
        "$work/pc/mpi_digits" "$prefix/share/mlp/data"
    cat "$log"
fi

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
# The digits data: found relative to the executable (this prefix is not the configured one), and
# MLP_DATA_DIR still overrides it.
data_dir=$(cd "$prefix/share/mlp/data" && pwd -P)
run "mlp --help" env -u MLP_DATA_DIR "$prefix/bin/mlp" --help
grep -qF "default $data_dir)" "$log" || {
    cat "$log" >&2
    die "the installed mlp does not default to its installed data folder $data_dir"
}
MLP_DATA_DIR=/nonexistent/mlp-data run "mlp --help (MLP_DATA_DIR set)" "$prefix/bin/mlp" --help
grep -qF "default /nonexistent/mlp-data)" "$log" || {
    cat "$log" >&2
    die "MLP_DATA_DIR does not override the installed data folder"
}
run "mlp train --data digits" env -u MLP_DATA_DIR "$prefix/bin/mlp" train --data digits \
    --hidden 16 --max-iter 100 --seed 1 --quiet --json
accuracy=$(sed -nE 's/.*"accuracy": ([0-9.eE+-]+).*/\1/p' "$log" | tail -n 1)
awk -v a="${accuracy:-0}" 'BEGIN { exit !(a >= 0.9) }' || {
    cat "$log" >&2
    die "mlp train on the installed digits data: accuracy '${accuracy}', expected >= 0.9"
}
echo "  mlp train --data digits (data from $data_dir): test accuracy $accuracy"
what="find_package, pkg-config (shared and static) and its CLI"
[ -z "$mpiexec" ] || what="$what, and libmlp_mpi on 2 ranks"
echo "OK: the installed mlp works through $what"
