#!/usr/bin/env python3
"""Step-time model of docs/SCALING.md for 1 to 64 nodes (prints its Markdown tables).

    T(P) = T_c(rows per node) + T_fix + T_ar(P)
    T_ar(P) = 2(P-1)/P * S / BW + 2(P-1) * alpha          (ring allreduce of S bytes)

T_c is the measured forward + backward time of one thread of this machine (tests/mpi/scaling.sh,
rows sweep; linear between measured row counts), T_fix the per-step work every rank repeats on the
whole parameter vector (scaling, L2 term, Adam update; measured: step time of mlp_mpi_fit on one
rank minus T_c(200)), S = 4 (n_params + 2) bytes. With the allreduce overlapped with backward
(gradients reduced layer by layer as backward produces them, last layer first), the first layer's
gradient, produced last, stays exposed; the rest hides behind the backward work that remains when
it is ready (share r of T_c):

    T_ovl(P) = T_c + T_fix + (f1 * T_bw + L) + max(0, (1 - f1) * T_bw + L - r * T_c)

(T_bw and L = 2(P-1) alpha: the bandwidth and latency terms of T_ar; two buckets, two latencies.)

f1: the first layer's share of the parameters; r: the share of step FLOPs left after the second
layer's weight gradient (from the layer shapes). The measured constants are medians (a shared,
noisy 2-core VM, see docs/SCALING.md)."""

import math

NETS = {
    "784-1024-1024-10": dict(
        n_params=1863690,
        # ms of forward + backward for R rows, 1 thread (median of 2 sweeps of 21-rep medians)
        rows={1: 0.92, 2: 0.95, 4: 0.91, 8: 1.15, 16: 1.70, 25: 2.57, 32: 2.86, 50: 4.31,
              64: 5.25, 100: 7.99, 128: 10.03, 200: 15.3, 256: 19.2, 512: 37.65},
        t_fit=16.6,  # mlp_fit step, 1 process, 1 thread, batch 200
        t_fix=2.2,   # mlp_mpi_fit step on 1 rank (17.8) minus T_c(200) (15.6)
        layers=[(784, 1024), (1024, 1024), (1024, 10)],
    ),
    "784-256-128-10": dict(
        n_params=235146,
        rows={1: 0.088, 2: 0.092, 4: 0.090, 8: 0.121, 16: 0.176, 25: 0.259, 32: 0.297,
              50: 0.443, 64: 0.528, 100: 0.794, 128: 1.011, 200: 1.551, 256: 1.99, 512: 4.03},
        t_fit=1.63,
        t_fix=0.09,  # 1.65 - 1.56
        layers=[(784, 256), (256, 128), (128, 10)],
    ),
}
NETWORKS = {"10 Gbit/s": (1.25e9, 25e-6), "100 Gbit/s": (12.5e9, 3e-6)}  # bytes/s, alpha (s)
NODES = [1, 8, 16, 32, 64]


def t_compute(rows_ms, r):
    ks = sorted(rows_ms)
    if r <= ks[0]:
        return rows_ms[ks[0]]
    for a, b in zip(ks, ks[1:]):
        if r <= b:
            return rows_ms[a] + (rows_ms[b] - rows_ms[a]) * (r - a) / (b - a)
    return rows_ms[ks[-1]] * r / ks[-1]


def shares(layers):
    """f1 (first layer's parameter share) and r (backward share left after dW of layer 2)."""
    params = [i * o + o for i, o in layers]
    f1 = params[0] / sum(params)
    fwd = sum(i * o for i, o in layers)
    dw = fwd
    dx = sum(i * o for i, o in layers[1:])
    left = layers[1][0] * layers[1][1] + layers[0][0] * layers[0][1]  # D_1 and dW_1
    return f1, left / (fwd + dw + dx)


def model(net, P, rows_per_node, bw, alpha):
    n = NETS[net]
    S = 4 * (n["n_params"] + 2)
    tc = t_compute(n["rows"], rows_per_node)
    lat = 2 * (P - 1) * alpha * 1e3
    bw_ms = 2 * (P - 1) / P * S / bw * 1e3
    t = tc + n["t_fix"] + bw_ms + lat
    f1, r = shares(n["layers"])
    t_ovl = tc + n["t_fix"] + f1 * bw_ms + lat + max(0.0, (1 - f1) * bw_ms + lat - r * tc)
    if P == 1:
        t = t_ovl = n["t_fit"]
    return tc, bw_ms + lat, t, t_ovl


def table(net, weak):
    n = NETS[net]
    f1, r = shares(n["layers"])
    kind = "200 rows per node (global batch 200 P)" if weak else "global batch 200"
    print(f"\n{net} ({n['n_params']:,} parameters, {4 * (n['n_params'] + 2) / 1e6:.2f} MB "
          f"of gradients; f1 = {f1:.2f}, r = {r:.2f}), {kind}:\n")
    head = "| nodes | rows/node | T_c |"
    for k in NETWORKS:
        head += f" {k}: T_ar | T | speedup | T_ovl | speedup |"
    print(head)
    print("|---:" * (3 + 5 * len(NETWORKS)) + "|")
    for P in NODES:
        rows = 200 if weak else math.ceil(200 / P)
        line = f"| {P} | {rows} | {t_compute(n['rows'], rows):.2f} |"
        for bw, alpha in NETWORKS.values():
            tc, tar, t, to = model(net, P, rows, bw, alpha)
            scale = P if weak else 1  # throughput relative to one node with batch 200
            line += (f" {tar:.2f} | {t:.1f} | {scale * n['t_fit'] / t:.1f}x | {to:.1f} |"
                     f" {scale * n['t_fit'] / to:.1f}x |")
        print(line)


if __name__ == "__main__":
    for weak in (False, True):
        for net in NETS:
            table(net, weak)
