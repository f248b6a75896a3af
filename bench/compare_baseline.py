#!/usr/bin/env python3
"""Prints each benchmark's median beside the baseline's, with the ratio (now / baseline) of the
samples/s counter (above 1: faster than the baseline). Standard library only.
Usage: compare_baseline.py BASELINE.json NOW.json"""
import json
import sys


def medians(path):
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b["run_name"] if "run_name" in b else b["name"].rsplit("_median", 1)[0]
        rows[name] = b
    return rows


base, now = medians(sys.argv[1]), medians(sys.argv[2])
print(f"{'case':44} {'baseline':>14} {'now':>14} {'ratio':>7}")
for name, b in now.items():
    rate = b.get("samples/s") or b.get("elems/s")
    old = base.get(name, {})
    old_rate = old.get("samples/s") or old.get("elems/s")
    ratio = f"{rate / old_rate:7.2f}" if rate and old_rate else "      -"
    fmt = lambda r: f"{r / 1e6:11.3f} M/s" if r else "             -"
    print(f"{name:44} {fmt(old_rate)} {fmt(rate)} {ratio}")
