#!/usr/bin/env python3
"""Plot the training histories that `mlp train --history FILE` writes.

    examples/plot_history.py run1.csv run2.json ... -o out.png

Each run (CSV or JSON, chosen by the extension as mlp writes them) draws its training loss per
epoch as a solid line and, when the run used --early-stopping, its validation loss as a dashed
line of the same colour. The legend names each run by its file name, or by --label. Needs only
matplotlib (Debian: python3-matplotlib); draws without a display (the Agg backend).
"""

import argparse
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def number(value):
    """A history field as a float: empty (CSV) and null (JSON) are NaN."""
    if value is None or value == "":
        return math.nan
    return float(value)


def read_history(path):
    """The rows of one history file as dicts of floats, in epoch order."""
    with open(path, newline="") as f:
        if path.endswith(".json"):
            rows = json.load(f)
        elif path.endswith(".csv"):
            rows = list(csv.DictReader(f))
        else:
            sys.exit(f"plot_history.py: {path}: expected a .csv or .json history")
    keys = ("epoch", "loss", "val_score", "val_loss", "lr", "seconds")
    try:
        return [{k: number(row.get(k)) for k in keys} for row in rows]
    except (TypeError, ValueError, AttributeError) as e:
        sys.exit(f"plot_history.py: {path}: not an mlp history ({e})")


def main():
    ap = argparse.ArgumentParser(description="Plot mlp train --history files.")
    ap.add_argument("runs", nargs="+", help="history files (.csv or .json)")
    ap.add_argument("-o", "--out", required=True, help="the PNG to write")
    ap.add_argument("--label", action="append", default=[],
                    help="legend name of a run, in order (default: its file name)")
    ap.add_argument("--title", default="mlp train: loss per epoch")
    ap.add_argument("--log", action="store_true", help="logarithmic loss axis")
    args = ap.parse_args()

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for i, path in enumerate(args.runs):
        rows = read_history(path)
        name = args.label[i] if i < len(args.label) else os.path.basename(path)
        epochs = [r["epoch"] for r in rows]
        (line,) = ax.plot(epochs, [r["loss"] for r in rows], label=f"{name}: training loss")
        val = [r["val_loss"] for r in rows]
        if any(not math.isnan(v) for v in val):
            ax.plot(epochs, val, linestyle="--", color=line.get_color(),
                    label=f"{name}: validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if args.log:
        ax.set_yscale("log")
    ax.set_title(args.title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
