#!/usr/bin/env bash
# `mpirun -np P mlp train` end to end (ctest "mpi_cli", builds with -DMLP_WITH_MPI=ON):
#  - 2 ranks: one result on stdout (rank 0's JSON line), progress from rank 0 only, model saved;
#  - the same seed on 1 process (plain `mlp train`) and on 2 ranks reaches the same accuracy;
#  - --deterministic: the saved models of 1 (no launcher), 2 and 3 ranks are byte-identical;
#  - a checkpoint saved by 2 ranks resumes (--init-model) on 3 ranks and on 1 process;
#  - usage errors are reported once.
# usage: cli_mpi.sh <mlp> <tmpdir> <mpiexec> <numproc flag> [mpiexec flags...]
set -euo pipefail
mlp=$1 tmp=$2 mpiexec=$3 npflag=$4
shift 4
flags=("$@")
rm -rf "$tmp"
mkdir -p "$tmp"
fail=0 passed=0
ok() {
    echo "ok: $*"
    passed=$((passed + 1))
}
bad() {
    echo "FAIL: $*"
    fail=$((fail + 1))
}
run() { # run <np> <mlp args...>: stdout to $tmp/out, stderr to $tmp/err
    local np=$1
    shift
    "$mpiexec" "$npflag" "$np" "${flags[@]}" "$mlp" "$@" >"$tmp/out" 2>"$tmp/err"
}
json() { # json <key> < line: the value of a number/string/bool key of one JSON line
    sed -nE "s/.*\"$1\": \"?([^,\"}]*)\"?[,}].*/\1/p"
}
common=(train --data digits --hidden 50 --max-iter 40 --seed 42 --json)

# 2 ranks: rank 0 alone reports.
if run 2 "${common[@]}" -o "$tmp/m2.mlp"; then
    lines=$(wc -l <"$tmp/out")
    starts=$(grep -c '^Training ' "$tmp/err" || true)
    epoch1=$(grep -c '^epoch 1/' "$tmp/err" || true)
    ranks=$(json ranks <"$tmp/out")
    acc2=$(json accuracy <"$tmp/out")
    if [ "$lines" -eq 1 ] && [ "$starts" -eq 1 ] && [ "$epoch1" -eq 1 ] && [ "$ranks" = 2 ] &&
        [ -s "$tmp/m2.mlp" ]; then
        ok "2 ranks: one JSON line, one progress stream, model saved (accuracy $acc2)"
    else
        bad "2 ranks: $lines stdout lines, $starts headers, $epoch1 'epoch 1' lines, ranks=$ranks"
        cat "$tmp/out" "$tmp/err"
    fi
else
    bad "2 ranks: mlp train failed"
    cat "$tmp/out" "$tmp/err"
    acc2=none
fi

# Plain single process, same seed: same accuracy (the weights differ by rounding only).
if "$mlp" "${common[@]}" >"$tmp/out" 2>"$tmp/err"; then
    acc1=$(json accuracy <"$tmp/out")
    if [ "$acc1" = "$acc2" ]; then
        ok "1 process and 2 ranks reach the same test accuracy ($acc1)"
    else
        bad "accuracy: 1 process $acc1, 2 ranks $acc2"
    fi
else
    bad "single-process mlp train failed"
    cat "$tmp/err"
fi

# --deterministic: byte-identical models for 1, 2 and 3 ranks.
det=(train --data digits --hidden 32 --max-iter 15 --seed 7 --batch-size 100 --deterministic -q)
if "$mlp" "${det[@]}" -o "$tmp/d1.mlp" >/dev/null 2>"$tmp/err" &&
    run 2 "${det[@]}" -o "$tmp/d2.mlp" && run 3 "${det[@]}" -o "$tmp/d3.mlp"; then
    if cmp -s "$tmp/d1.mlp" "$tmp/d2.mlp" && cmp -s "$tmp/d1.mlp" "$tmp/d3.mlp"; then
        ok "--deterministic: models of 1, 2 and 3 ranks are byte-identical"
    else
        bad "--deterministic: the models of 1, 2 and 3 ranks differ"
    fi
else
    bad "--deterministic runs failed"
    cat "$tmp/err"
fi

# Resume the 2-rank checkpoint on 3 ranks and on 1 process.
if [ -s "$tmp/m2.mlp" ] &&
    run 3 train --data digits --init-model "$tmp/m2.mlp" --max-iter 5 --json -o "$tmp/m3.mlp" &&
    grep -q '"init_model"' "$tmp/out" && [ -s "$tmp/m3.mlp" ] &&
    "$mlp" train --data digits --init-model "$tmp/m2.mlp" --max-iter 5 -q -o "$tmp/m1.mlp" \
        >/dev/null; then
    ok "a 2-rank checkpoint resumes on 3 ranks and on 1 process"
else
    bad "resuming the 2-rank checkpoint failed"
    cat "$tmp/out" "$tmp/err"
fi

# A usage error is printed once (by rank 0), exit status 2.
if run 2 train --init-model "$tmp/m2.mlp" --hidden 10; then
    bad "--init-model with --hidden was accepted"
else
    n=$(grep -c '^mlp: --init-model' "$tmp/err" || true)
    if [ "$n" -eq 1 ]; then ok "usage error reported once"; else bad "usage error printed $n times"; fi
fi

echo "mpi_cli: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
