#!/usr/bin/env bash
# Reruns the measurements of docs/SCALING.md: step time and its phases for 1 and 2 ranks (one
# thread each), shared memory and TCP over loopback, FAST and EXACT, on 784-1024-1024-10 and
# 784-256-128-10 with batch 200, plus compute time against rows per rank and allreduce time
# against message size. Each figure printed by bench_mpi_step is a median; this script repeats
# every run REPEAT times (default 3) so that run-to-run noise shows.
# usage: tests/mpi/scaling.sh [build dir, default build-mpi]    (after scripts/mpi.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
bench=${1:-build-mpi}/tests/mpi/bench_mpi_step
repeat=${REPEAT:-3}
mpi=(mpirun --allow-run-as-root --oversubscribe)
tcp=(--mca btl self,tcp)
for net in 1024,1024 256,128; do
    for i in $(seq "$repeat"); do
        echo "=== $net run $i: 1 process, 1 thread"
        "${mpi[@]}" -np 1 "$bench" --hidden "$net" --threads 1
        echo "=== $net run $i: 1 process, 2 threads"
        "${mpi[@]}" -np 1 --bind-to none "$bench" --hidden "$net" --threads 2
        echo "=== $net run $i: 2 ranks x 1 thread, shared memory"
        "${mpi[@]}" -np 2 "$bench" --hidden "$net" --threads 1
        echo "=== $net run $i: 2 ranks x 1 thread, TCP over loopback"
        "${mpi[@]}" -np 2 "${tcp[@]}" "$bench" --hidden "$net" --threads 1
        echo "=== $net run $i: EXACT, 1 rank and 2 ranks"
        "${mpi[@]}" -np 1 "$bench" --hidden "$net" --threads 1 --mode exact
        "${mpi[@]}" -np 2 "$bench" --hidden "$net" --threads 1 --mode exact
    done
    echo "=== $net: compute time against rows (1 thread)"
    "${mpi[@]}" -np 1 "$bench" --hidden "$net" --threads 1 --epochs 2 --rows-sweep
done
for i in $(seq "$repeat"); do
    echo "=== allreduce against size, 2 ranks, shared memory (run $i)"
    "${mpi[@]}" -np 2 "$bench" --hidden 16 --epochs 1 --size-sweep | grep allreduce_bytes
    echo "=== allreduce against size, 2 ranks, TCP over loopback (run $i)"
    "${mpi[@]}" -np 2 "${tcp[@]}" "$bench" --hidden 16 --epochs 1 --size-sweep |
        grep allreduce_bytes
done
