#!/usr/bin/env bash
# Hardening checks, run by CI after the test and ASan steps (docs/ERRORS.md, docs/FUZZING.md):
#   1. the libFuzzer targets (tests/fuzz/, clang, ASan + UBSan): fuzz-found regression inputs
#      replayed, then each target fuzzed for MLP_FUZZ_SECONDS (default 50) from the seed corpus
#      the build generates, two targets at a time;
#   2. valgrind memcheck over the unit-test executables of an existing build (MLP_BUILD_DIR,
#      default build/), and over the mlp tool as test_cli and test_bad_input run it: zero errors,
#      no definite, indirect or possible leaks (tests/valgrind.supp documents the one
#      suppression), the allocation-failure sweep included;
#   3. the kill-during-save test again with MLP_HARDENING_KILLS (default 500) kills;
#   4. a summary.
# The allocation-failure sweep (tests/test_alloc_fail.c), the kill-during-save test
# (tests/test_kill_save.c), the thread tests (tests/test_threads.c) and the bad-input tests
# (tests/test_bad_input.c) are ordinary suites: ctest already ran them in both builds.
# Installs clang, libclang-rt-14-dev and valgrind if missing (Debian 12; root or sudo).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${MLP_BUILD_DIR:-build}
FUZZ_DIR=${MLP_FUZZ_DIR:-build-fuzz}
FUZZ_SECONDS=${MLP_FUZZ_SECONDS:-50}
KILLS=${MLP_HARDENING_KILLS:-500}
JOBS=$(nproc)
failures=()

# ---- dependencies ----------------------------------------------------------------------------
bash scripts/setup.sh clang libclang-rt-14-dev valgrind || exit 1

# The unit tests to check under valgrind come from an existing build; make one if there is none.
if ! ls "$BUILD"/tests/test_* > /dev/null 2>&1; then
  echo "=== no test executables in $BUILD: building"
  cmake -S . -B "$BUILD" -DMLP_WERROR=ON -DMLP_BUILD_BENCH=OFF > /dev/null && \
    cmake --build "$BUILD" -j"$JOBS" > /dev/null || exit 1
fi

BUILD=$(cd "$BUILD" && pwd)

# ---- 1. fuzzers ------------------------------------------------------------------------------
echo "=== fuzz targets: build (clang, ASan + UBSan)"
fuzz_ok=1
mkdir -p "$FUZZ_DIR"
if ! { cmake -S tests/fuzz -B "$FUZZ_DIR" -DCMAKE_C_COMPILER=clang > "$FUZZ_DIR/configure.log" 2>&1 &&
       cmake --build "$FUZZ_DIR" -j"$JOBS" > "$FUZZ_DIR/build.log" 2>&1; }; then
  cat "$FUZZ_DIR/configure.log" "$FUZZ_DIR/build.log" 2>/dev/null | tail -40
  failures+=("fuzz build")
  fuzz_ok=0
fi
FUZZ_ABS=$(cd "$FUZZ_DIR" 2>/dev/null && pwd)
TARGETS=(model_load csv idx cli)
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

fuzz_flags() { # target -> extra libFuzzer flags
  local f=()
  [ -f "tests/fuzz/$1.dict" ] && f+=("-dict=$ROOT/tests/fuzz/$1.dict")
  [ "$1" = cli ] && f+=("-close_fd_mask=3")
  echo "${f[@]}"
}

if [ $fuzz_ok = 1 ]; then
  echo "=== fuzz targets: replay of fuzz-found regression inputs (tests/fuzz/regressions/)"
  for t in "${TARGETS[@]}"; do
    dir="$ROOT/tests/fuzz/regressions/$t"
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
      # shellcheck disable=SC2046
      if "$FUZZ_ABS/fuzz_$t" -runs=0 $(fuzz_flags "$t") "$dir" > "$FUZZ_ABS/replay_$t.log" 2>&1; then
        echo "fuzz_$t: $(find "$dir" -type f | wc -l) regression inputs pass"
      else
        tail -30 "$FUZZ_ABS/replay_$t.log"
        failures+=("fuzz_$t regression inputs")
      fi
    fi
  done

  echo "=== fuzz targets: ${FUZZ_SECONDS} s each, $JOBS at a time"
  run_target() {
    local t=$1
    mkdir -p "$FUZZ_ABS/corpus/$t" "$FUZZ_ABS/artifacts"
    # shellcheck disable=SC2046
    "$FUZZ_ABS/fuzz_$t" "$FUZZ_ABS/corpus/$t" "$FUZZ_ABS/seeds/$t" -max_total_time="$FUZZ_SECONDS" \
      -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$FUZZ_ABS/artifacts/$t-" $(fuzz_flags "$t") > "$FUZZ_ABS/fuzz_$t.log" 2>&1
    echo $? > "$FUZZ_ABS/fuzz_$t.rc"
  }
  i=0
  for t in "${TARGETS[@]}"; do
    run_target "$t" &
    i=$((i + 1))
    [ $((i % JOBS)) -eq 0 ] && wait
  done
  wait
  for t in "${TARGETS[@]}"; do
    rc=$(cat "$FUZZ_ABS/fuzz_$t.rc" 2>/dev/null || echo 1)
    if [ "$rc" != 0 ]; then
      echo "--- fuzz_$t FAILED (exit $rc): the input is in $FUZZ_ABS/artifacts/"
      grep -E "ERROR|SUMMARY|invariant|#0|#1|#2|#3|#4|#5" "$FUZZ_ABS/fuzz_$t.log" | head -30
      failures+=("fuzz_$t")
    fi
  done
fi

# ---- 2. valgrind -----------------------------------------------------------------------------
# test_threads, test_determinism and test_concurrent_predict are left out: valgrind runs threads
# one at a time, which makes their concurrent work (test_determinism: 8-thread teams, a barrier
# per phase; test_concurrent_predict: 8 threads predicting for seconds) take many minutes;
# memcheck is no race detector, and ASan + UBSan run these suites in CI.
echo "=== valgrind memcheck over the unit-test suites of $BUILD"
VG_SKIP=${MLP_VALGRIND_SKIP:-test_threads test_determinism test_concurrent_predict}
VG_LOG_DIR="$BUILD/valgrind"
mkdir -p "$VG_LOG_DIR"
rm -f "$VG_LOG_DIR"/*.log "$VG_LOG_DIR"/*.rc
# The slowest suites first, so that the others fill the second core meanwhile.
suites=()
for name in test_net test_cli test_fit; do
  [ -x "$BUILD/tests/$name" ] && [[ " $VG_SKIP " != *" $name "* ]] && suites+=("$name")
done
for exe in "$BUILD"/tests/test_*; do
  if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then continue; fi
  name=$(basename "$exe")
  [[ " $VG_SKIP " == *" $name "* ]] && continue
  [[ " ${suites[*]} " == *" $name "* ]] && continue
  suites+=("$name")
done
vg_one() {
  local name=$1 build=$2 supp=$3
  local start=$SECONDS extra=()
  # The suites that run the mlp tool check it under memcheck too.
  case $name in test_cli | test_bad_input) extra+=(--trace-children=yes) ;; esac
  # OMP_WAIT_POLICY=passive: libgomp's spinning threads are very slow under valgrind.
  # somalloc=nouserintercepts: test_alloc_fail's own malloc stays in place (it forwards to
  # glibc's, which valgrind replaces), so the sweep runs under memcheck too.
  (cd "$build/tests" && OMP_WAIT_POLICY=passive MLP_KILL_SAVE_ITERS=20 \
    valgrind -q --error-exitcode=1 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect,possible \
      --show-leak-kinds=definite,indirect,possible --suppressions="$supp" \
      --soname-synonyms=somalloc=nouserintercepts --child-silent-after-fork=yes "${extra[@]}" \
      "./$name") > "$build/valgrind/$name.log" 2>&1
  echo "$? $((SECONDS - start))" > "$build/valgrind/$name.rc"
}
export -f vg_one
# shellcheck disable=SC2016 # $1..$3 are expanded by the inner bash
printf '%s\n' "${suites[@]}" | \
  xargs -P "$JOBS" -I{} bash -c 'vg_one "$1" "$2" "$3"' _ {} "$BUILD" "$ROOT/tests/valgrind.supp"
vg_bad=0
for name in "${suites[@]}"; do
  read -r rc secs < "$VG_LOG_DIR/$name.rc" || { rc=1; secs=0; }
  errs=$(grep -cE "^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination|Argument)|are (definitely|indirectly|possibly) lost" "$VG_LOG_DIR/$name.log")
  status=ok
  if [ "$rc" != 0 ]; then
    status=FAILED
    vg_bad=$((vg_bad + 1))
    failures+=("valgrind $name")
  fi
  printf '  %-20s %-6s %4s s  %s memcheck reports\n' "$name" "$status" "$secs" "$errs"
done
if [ $vg_bad -gt 0 ]; then
  for name in "${suites[@]}"; do
    read -r rc _ < "$VG_LOG_DIR/$name.rc" || rc=1
    [ "$rc" != 0 ] || continue
    echo "--- $name (full log: $VG_LOG_DIR/$name.log)"
    grep -E "^==|FAILED|ERROR" "$VG_LOG_DIR/$name.log" | head -60
  done
fi

# ---- 3. kill during save ---------------------------------------------------------------------
echo "=== crash-safe saves: $KILLS SIGKILLs during saves"
if ! (cd "$BUILD/tests" && MLP_KILL_SAVE_ITERS=$KILLS ./test_kill_save > "$BUILD/kill_save.log" 2>&1); then
  tail -20 "$BUILD/kill_save.log"
  failures+=("kill during save")
fi

# ---- 4. summary ------------------------------------------------------------------------------
echo
echo "=== hardening summary"
if [ $fuzz_ok = 1 ]; then
  printf '  %-16s %12s %8s %8s %8s\n' "fuzz target" executions "exec/s" corpus result
  for t in "${TARGETS[@]}"; do
    log="$FUZZ_ABS/fuzz_$t.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" 2>/dev/null | tail -1)
    corpus=$(find "$FUZZ_ABS/corpus/$t" -type f 2>/dev/null | wc -l)
    rc=$(cat "$FUZZ_ABS/fuzz_$t.rc" 2>/dev/null || echo 1)
    printf '  %-16s %12s %8s %8s %8s\n' "fuzz_$t" "${runs:-?}" "${rate:-?}" "$corpus" \
      "$([ "$rc" = 0 ] && echo ok || echo CRASH)"
  done
fi
echo "  valgrind: ${#suites[@]} suites, $vg_bad with errors (skipped: $VG_SKIP)"
line=$(grep -h "\[ alloc-fail \] total" "$VG_LOG_DIR/test_alloc_fail.log" 2>/dev/null | tail -1)
echo "  allocation failures (under valgrind): ${line#*total: }"
line=$(grep -h "\[ kill-save \]" "$BUILD/kill_save.log" 2>/dev/null | tail -1)
echo "  kill during save: ${line#*\] }"
if [ ${#failures[@]} -gt 0 ]; then
  echo "HARDENING FAILED: ${failures[*]}"
  exit 1
fi
echo "hardening: all checks passed"
