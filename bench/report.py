#!/usr/bin/env python3
"""Prints, from one bench_mlp JSON run, every training-step and GEMM-floor case at 1 and 2 threads:
median time, GFLOP/s, fraction of the FMA peak measured in the same process at the same thread
count, the 2-thread speed-up, and that speed-up relative to the peak's own 2-thread speed-up
(which is below 2 when the second vCPU behaves as an SMT sibling), and the cache-line round trip
between the two cores (BM_core_link: 2-thread figures slow down when it is long). Standard library only.
Usage: report.py RUN.json"""
import json
import re
import sys

run = json.load(open(sys.argv[1]))
ctx = run["context"]
peak = {1: float(ctx.get("fma_peak_1t_gflops", "nan")), 2: float(ctx.get("fma_peak_2t_gflops", "nan"))}
cases = {}
link = None  # ns per cache-line round trip between two cores (BM_core_link)
for b in run["benchmarks"]:
    if b.get("aggregate_name", "median") != "median":
        continue
    name = b.get("run_name", b["name"]).replace("/real_time", "")
    if name == "BM_core_link" and "ns/trip" in b:
        link = b["ns/trip"]
    m = re.match(r"BM_fma_peak/(\d+)$", name)
    if m and b.get("GFLOP/s"):
        # The case's median over its repetitions beats the one-shot measurement at start-up.
        g = b["GFLOP/s"]
        peak[int(m.group(1))] = max(peak.get(int(m.group(1)), 0.0), g / 1e9 if g > 1e6 else g)
    m = re.match(r"BM_(\w+?)_(step|floor)/(\d+)$", name)
    if not m:
        continue
    cases.setdefault((m.group(1), m.group(2)), {})[int(m.group(3))] = b
print(f"OpenBLAS core {ctx.get('blas_core', '?')}; FMA peak {peak[1]:.0f} GFLOP/s at 1 thread, "
      f"{peak[2]:.0f} at 2 ({peak[2] / peak[1]:.2f}x)"
      + (f"; core-to-core round trip {link:.0f} ns" if link else ""))
print(f"{'case':14} {'1T':>10} {'GFLOP/s':>8} {'peak':>5} | {'2T':>10} {'GFLOP/s':>8} {'peak':>5} "
      f"| {'2T/1T':>5} {'vs peak 2T/1T':>13}")
for (net, kind), by_t in sorted(cases.items()):
    if 1 not in by_t:
        continue
    row = f"{net + '_' + kind:14}"
    for t in (1, 2):
        b = by_t.get(t)
        if not b:
            row += f" {'-':>10} {'-':>8} {'-':>5} |"
            continue
        gf = b.get("GFLOP/s", 0.0) / 1e9 if b.get("GFLOP/s", 0) > 1e6 else b.get("GFLOP/s", 0.0)
        row += f" {b['real_time']:8.1f}{b['time_unit']:>2} {gf:8.1f} {gf / peak[t]:5.0%} |"
    if 2 in by_t:
        s = by_t[1]["real_time"] / by_t[2]["real_time"]
        row += f" {s:5.2f} {s / (peak[2] / peak[1]):13.2f}"
    print(row)

# bf16 against f32: the same step in both precisions, same run, same thread count.
pairs = [(net[:-5], net) for (net, kind) in cases if net.endswith("_bf16") and kind == "step"]
if pairs:
    print(f"bf16 GEMMs on {ctx.get('bf16_isa', '?')}: step time f32 / bf16")
    for f32, bf in sorted(pairs):
        a, b = cases.get((f32, "step"), {}), cases[(bf, "step")]
        ratios = [f"{t}T {a[t]['real_time'] / b[t]['real_time']:.2f}x" for t in (1, 2)
                  if t in a and t in b]
        print(f"  {f32:12} " + ", ".join(ratios))
