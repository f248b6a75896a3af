#!/usr/bin/python3
"""Side-by-side benchmark: mlp against scikit-learn, PyTorch, numpy and FANN (see README.md).

Run through run.sh (which installs the peers and builds the drivers), or directly:
    /usr/bin/python3 bench/compare/compare.py --build-dir build-cmp [--quick] [--rounds R] ...

For every setting (thread count x OpenBLAS core selection) and every round, it starts one fresh
worker process per tool with the thread count pinned in the environment, then runs the workloads
one at a time, each in every tool in turn (the order of the tools rotates from round to round),
so that machine noise falls on all tools alike. Each worker times its own fixed units of work in
process (imports, data loading and process start excluded). The report gives, per setting, the
median over rounds, min..max, and mlp's ratio to each tool (ratio of medians).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"

# Row = (label, worker, command template); {t} is the minimum timed seconds, {E} the epoch count
# of scikit-learn's fit (for FANN's fixed-length fit); for f100_fit, {EP} is its epoch count and
# {IMG} / {LBL} the IDX files prepare_f100 wrote; {F100} in a title names that data. The first row
# of a workload is mlp's, the base of the ratios.
WORKLOADS = [
    ("digits_epoch", "digits training, steady state: samples/s (epochs over the 1437 rs42 "
     "training rows, batch 200 = 7 x 200 + 37, after 20 warm-up epochs)", [
        ("mlp (mlp_fit, warm start)", "mlp", "epoch {t}"),
        ("mlp bf16 (mlp_fit, warm start)", "mlp_bf16", "epoch {t}"),
        ("scikit-learn float32", "sklearn32", "epoch {t}"),
        ("scikit-learn float64", "sklearn64", "epoch {t}"),
        ("PyTorch", "torch", "epoch {t}"),
        ("FANN RPROP (default)", "fann", "epoch {t} 0 0"),
        ("FANN incremental", "fann", "epoch {t} 1 0"),
        ("FANN RPROP, exact sigmoid", "fann", "epoch {t} 0 1"),
    ]),
    ("digits_fit", "digits whole fit, rs42 split, seed 42: seconds (scikit-learn's stopping rule, "
     "max_iter 500; FANN: a fixed {E} epochs)", [
        ("mlp (mlp_fit)", "mlp", "fit"),
        ("scikit-learn float32", "sklearn32", "fit"),
        ("scikit-learn float64", "sklearn64", "fit"),
        ("PyTorch (same stopping rule)", "torch", "fit"),
        ("FANN RPROP (default), {E} epochs", "fann", "fit {E} 0"),
        ("FANN RPROP, exact sigmoid, {E} epochs", "fann", "fit {E} 1"),
    ]),
    ("predict_1", "digits inference, batch 1: samples/s (1797 calls of one row, probabilities)", [
        ("mlp", "mlp", "predict 1 {t}"),
        ("scikit-learn float32 (predict_proba)", "sklearn32", "predict 1 {t}"),
        ("scikit-learn float64 (predict_proba)", "sklearn64", "predict 1 {t}"),
        ("PyTorch (inference_mode, softmax)", "torch", "predict 1 {t}"),
        ("FANN (fann_run)", "fann", "predict 1 {t}"),
    ]),
    ("predict_1797", "digits inference, batch 1797: samples/s (one call for all rows)", [
        ("mlp", "mlp", "predict 1797 {t}"),
        ("scikit-learn float32 (predict_proba)", "sklearn32", "predict 1797 {t}"),
        ("scikit-learn float64 (predict_proba)", "sklearn64", "predict 1797 {t}"),
        ("PyTorch (inference_mode, softmax)", "torch", "predict 1797 {t}"),
        ("FANN (1797 x fann_run: no batch API)", "fann", "predict 1797 {t}"),
    ]),
    ("big_step", "784-1024-1024-10 training step (ReLU, softmax CE, Adam), batch 256: samples/s", [
        ("mlp (mlp_train_step)", "mlp", "big_step {t}"),
        ("mlp bf16 (mlp_train_step)", "mlp_bf16", "big_step {t}"),
        ("PyTorch", "torch", "big_step {t}"),
        ("numpy: the step's 8 GEMMs only", "numpy", "big_gemm {t}"),
        ("mlp's GEMMs only (cblas_sgemm)", "mlp", "big_gemm {t}"),
    ]),
    ("f100_fit", "784-100-10 fit on {F100}: training samples/s of the whole fit call ({EP} "
     "epochs, no early stop; ReLU, softmax, Adam lr 1e-3, alpha 1e-4, batch 200, seed 42)", [
        ("mlp (mlp_fit)", "mlp", "f100_fit {EP} {IMG} {LBL}"),
        ("mlp bf16 (mlp_fit)", "mlp_bf16", "f100_fit {EP} {IMG} {LBL}"),
        ("scikit-learn float32", "sklearn32", "f100_fit {EP} {IMG} {LBL}"),
        ("scikit-learn float64", "sklearn64", "f100_fit {EP} {IMG} {LBL}"),
        ("PyTorch", "torch", "f100_fit {EP} {IMG} {LBL}"),
    ]),
]

# mlp_bf16: the same driver training in bf16 (precision bf16: oneDNN on the matrix units).
ALL_TOOLS = ["mlp", "mlp_bf16", "sklearn32", "sklearn64", "torch", "numpy", "fann"]

# The 784-100-10 fit: rows of Fashion-MNIST's training set and epochs (see prepare_f100).
F100_ROWS, F100_EPOCHS = 60000, 5


def worker_cmd(tool, threads, build_dir, data_dir):
    if tool in ("mlp", "mlp_bf16"):
        return [os.path.join(build_dir, "compare", "mlp_driver"), str(threads), data_dir] + (
            ["bf16"] if tool == "mlp_bf16" else [])
    if tool == "fann":
        return [os.path.join(build_dir, "compare", "fann_driver"), str(threads), data_dir]
    return [PY, os.path.join(HERE, "py_worker.py"), tool, str(threads), data_dir]


# The "env" setting keeps OPENBLAS_CORETYPE as the environment has it; when the environment sets
# none (then "env" would be the same as "unset"), it runs with this core instead, so that the AVX2
# kernels are measured beside the auto-detected ones.
ENV_DEFAULT_CORE = "Haswell"


def env_coretype():
    """(value OPENBLAS_CORETYPE gets in the "env" setting, where it comes from)."""
    ct = os.environ.get("OPENBLAS_CORETYPE")
    if ct:
        return ct, "environment"
    return ENV_DEFAULT_CORE, "compare.py"


def setting_env(threads, mode):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    if mode == "unset":
        env.pop("OPENBLAS_CORETYPE", None)
    else:
        env["OPENBLAS_CORETYPE"] = env_coretype()[0]
    return env


# ------------------------------------------------------------------------------------------------
# f100_fit data: the first ROWS rows of Debian's Fashion-MNIST training set (dataset-fashion-mnist),
# written once as uncompressed IDX files that every worker reads the same way; without the package,
# a deterministic synthetic set of the same shape (784 ubyte features, 10 classes).

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def write_idx(path, arr):
    import struct
    import numpy as np
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    with open(path + ".tmp", "wb") as f:
        f.write(bytes([0, 0, 8, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.tobytes())
    os.replace(path + ".tmp", path)


def synthetic_f100(rows):
    """Class prototypes (smooth random 28x28 images) with brightness jitter and pixel noise,
    clipped to 0..255, the same on every run. Easier than Fashion-MNIST (5 epochs reach a loss of
    ~0.01): a stand-in for timing only, the work per epoch is the same."""
    import numpy as np
    rng = np.random.default_rng(20261201)
    proto = rng.random((10, 7, 7)).repeat(4, 1).repeat(4, 2).reshape(10, 784)
    y = rng.integers(0, 10, rows)
    X = np.empty((rows, 784), np.uint8)
    for s in range(0, rows, 10000):
        e = min(rows, s + 10000)
        v = 255 * proto[y[s:e]] * rng.uniform(0.5, 1.0, (e - s, 1))
        v += rng.normal(0, 60, (e - s, 784))
        X[s:e] = np.clip(v, 0, 255).astype(np.uint8)
    return X.reshape(rows, 28, 28), y.astype(np.uint8)


def prepare_f100(out_dir, rows):
    """Writes out_dir/f100-{images,labels}.idx; returns (images, labels, description, note)."""
    import gzip
    import numpy as np
    os.makedirs(out_dir, exist_ok=True)
    img, lbl = (os.path.join(out_dir, f"f100-{k}.idx") for k in ("images", "labels"))
    src = [os.path.join(FASHION_DIR, f"train-{k}.gz") for k in ("images-idx3-ubyte",
                                                                 "labels-idx1-ubyte")]
    if all(os.path.exists(p) for p in src):
        with gzip.open(src[0]) as f:
            X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(src[1]) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        if rows > len(y):
            raise SystemExit(f"compare.py: --f100-rows {rows} > the {len(y)} Fashion-MNIST rows")
        desc, note = (f"Fashion-MNIST (the training set's first {rows} rows, pixels / 255)", None)
    else:
        X, y = synthetic_f100(rows)
        desc = (f"SYNTHETIC data ({rows} rows, 784 features, 10 classes: Fashion-MNIST is not "
                f"installed)")
        note = (f"f100_fit: {FASHION_DIR} not found (apt-get install dataset-fashion-mnist); "
                f"it ran on a deterministic synthetic 784-feature, 10-class set of {rows} rows")
    write_idx(img, X[:rows])
    write_idx(lbl, y[:rows])
    return img, lbl, desc, note


class Worker:
    def __init__(self, tool, cmd, env):
        self.tool = tool
        self.p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise RuntimeError(f"{self.tool}: worker exited (status {self.p.wait()}) on '{line}'")
        res = json.loads(out)
        if "error" in res:
            raise RuntimeError(f"{self.tool}: {res['error']}")
        return res

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=30)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    model = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    flags = sh("grep -m1 '^flags' /proc/cpuinfo")
    isa = "AVX-512" if " avx512f" in flags else ("AVX2" if " avx2" in flags else "no AVX2")
    return {"cpu": model, "isa": isa, "cpus": os.cpu_count(), "kernel": platform.release(),
            "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE")}


def cpu_mark():
    """(wall, busy CPU seconds of the whole machine, CPU seconds of this process and its
    waited-for children)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait
    t = os.times()
    return time.time(), busy, t.user + t.system + t.children_user + t.children_system


def foreign_cpus(m0, m1):
    """Average number of CPUs kept busy by other processes between two marks."""
    wall = max(m1[0] - m0[0], 1e-3)
    return max(0.0, ((m1[1] - m0[1]) - (m1[2] - m0[2])) / wall)


def wait_quiet(limit, max_wait):
    """Waits (at most max_wait s) until other processes use at most `limit` CPUs."""
    t0 = time.time()
    while True:
        m0 = cpu_mark()
        time.sleep(0.5)
        f = foreign_cpus(m0, cpu_mark())
        if f <= limit or time.time() - t0 >= max_wait:
            return f


# ------------------------------------------------------------------------------------------------


def fmt_rate(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k" if x < 1e5 else f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def fmt_ratio(r):
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def used_core(info):
    """The OpenBLAS core the tools of one setting actually ran on (mlp's, else the others')."""
    cores = [info[t].get("core", "?") for t in ALL_TOOLS if t in info and t != "fann"]
    if "mlp" in info:
        return info["mlp"].get("core", "?")
    return cores[0] if len(set(cores)) == 1 else "/".join(sorted(set(cores))) or "?"


def setting_label(meta, mode, info):
    """A setting's heading: the kernels used, and how OPENBLAS_CORETYPE was set for them."""
    core = used_core(info)
    if mode == "unset":
        return f"{core} kernels (OPENBLAS_CORETYPE unset: OpenBLAS auto-detects)"
    ct, src = meta.get("env_coretype"), meta.get("env_coretype_from")
    if ct is None:  # a run saved before env_coretype was recorded
        ct = meta["machine"].get("openblas_coretype_env")
        src = "environment" if ct else None
    if src == "environment":
        return f"{core} kernels (OPENBLAS_CORETYPE={ct}, as the environment sets it)"
    if src:
        return (f"{core} kernels (OPENBLAS_CORETYPE={ct}, set by compare.py: the environment "
                f"sets none)")
    return f"{core} kernels (OPENBLAS_CORETYPE not set: auto-detected)"


def render(meta, settings, results, tools_info, fann_epochs):
    out = []
    m = meta["machine"]
    out.append(f"Machine: {m['cpu']} ({m['isa']}), {m['cpus']} CPUs, {m['os']}, Linux "
               f"{m['kernel']}. {meta['date']}. Rounds: {meta['rounds']}, minimum timed block "
               f"{meta['min_time']} s, {meta.get('wall_seconds', '?')} s in all.")
    out.append("")
    versions = []
    for tool in ALL_TOOLS:
        inf = next((tools_info[s][tool] for s in tools_info if tool in tools_info[s]), None)
        if inf:
            versions.append(f"{tool} {inf.get('version', '?')}")
    out.append("Versions: " + ", ".join(versions) + ".")
    out.append("Ratios: mlp's median / the tool's median (samples/s); for the whole fit, the "
               "tool's median seconds / mlp's. Above 1 = mlp faster.")
    for threads, mode in settings:
        skey = f"{threads}t-{mode}"
        info = tools_info.get(skey, {})
        how = setting_label(meta, mode, info)
        head = "headline" if threads == 1 else "min..max matters: 2-thread figures vary"
        out.append("")
        out.append(f"### {threads} thread{'s' if threads > 1 else ''}, {how} ({head})")
        out.append("")
        cores = []
        for tool in ALL_TOOLS:
            if tool in info:
                c = info[tool].get("core", "?")
                if tool == "torch":
                    c += f" (ATen {info[tool].get('aten_cpu_capability', '?')})"
                cores.append(f"{tool}: {c}")
        out.append("OpenBLAS core per tool (openblas_get_corename via mlp_blas_corename; "
                   "threadpoolctl for numpy/scikit-learn/PyTorch): " + "; ".join(cores) + ".")
        fc = meta.get("foreign_cpus", {}).get(skey)
        if fc:
            lim = meta.get("max_foreign", 0.15)
            busy = sum(f > lim for f in fc)
            out.append("")
            out.append(f"CPUs used by other processes during each round: "
                       f"{', '.join(f'{f:.2f}' for f in fc)}"
                       + (f" — WARNING: {busy} of {len(fc)} rounds ran on a busy machine "
                          f"(> {lim} CPUs); treat their spread with suspicion." if busy else "."))
        out.append("")
        out.append("| workload | tool | core | median | min..max | mlp ÷ tool | notes |")
        out.append("|---|---|---|---|---|---|---|")
        for wl_key, wl_title, rows in WORKLOADS:
            res = results.get(skey, {}).get(wl_key, {})
            if not res:
                continue
            base = None
            f1 = meta.get("f100", {})
            title = (wl_title.replace("{E}", str(fann_epochs))
                     .replace("{EP}", str(f1.get("epochs", "?")))
                     .replace("{F100}", f1.get("data") or "?"))
            first = True
            for label, tool, _cmd in rows:
                label = label.replace("{E}", str(fann_epochs))
                runs = res.get(label)
                if not runs:
                    continue
                core = info.get(tool, {}).get("core", "?")
                wname = title if first else ""
                first = False
                if wl_key == "digits_fit":
                    secs = [r["seconds"] for r in runs]
                    med = statistics.median(secs)
                    if base is None:
                        base = med
                    ratio = med / base
                    accs = sorted({round(100 * r["accuracy"], 2) for r in runs})
                    eps = sorted({r["epochs"] for r in runs})
                    sps = statistics.median(r["samples_per_s"] for r in runs)
                    note = (f"{'/'.join(map(str, eps))} epochs, "
                            f"{'/'.join(f'{a:.2f}' for a in accs)}% test accuracy, "
                            f"{fmt_rate(sps)} samples/s")
                    out.append(f"| {wname} | {label} | {core} | {med:.3f} s | "
                               f"{min(secs):.3f}..{max(secs):.3f} s | {fmt_ratio(ratio)} | {note} |")
                elif wl_key == "f100_fit":
                    rates = [r["samples_per_s"] for r in runs]
                    med = statistics.median(rates)
                    if base is None:
                        base = med
                    secs = statistics.median(r["seconds"] for r in runs)
                    eps = sorted({r["epochs"] for r in runs})
                    losses = sorted({f"{r['loss']:.4f}" for r in runs})
                    loss = losses[0] if len(losses) == 1 else f"{losses[0]}..{losses[-1]}"
                    note = (f"{secs:.2f} s for {'/'.join(map(str, eps))} epochs x "
                            f"{runs[0]['rows']} rows, final training loss {loss}")
                    out.append(f"| {wname} | {label} | {core} | {fmt_rate(med)} | "
                               f"{fmt_rate(min(rates))}..{fmt_rate(max(rates))} | "
                               f"{fmt_ratio(base / med)} | {note} |")
                else:
                    rates = [r["samples_per_s"] for r in runs]
                    med = statistics.median(rates)
                    if base is None:
                        base = med
                    ratio = base / med
                    note = ""
                    if wl_key == "predict_1":
                        note = f"{1e6 / med:.2f} µs per call"
                    elif wl_key == "big_step" and "GEMMs only" in label and tool == "mlp":
                        note = f"mlp's step runs at {100 * base / med:.0f}% of its GEMM floor"
                    elif wl_key == "big_step" and tool == "numpy":
                        mf = res.get("mlp's GEMMs only (cblas_sgemm)")
                        if mf:
                            f = statistics.median(r["samples_per_s"] for r in mf)
                            note = f"same GEMMs straight through cblas_sgemm from C: {f / med:.2f}x numpy's rate"
                    elif wl_key == "digits_epoch" and tool == "fann":
                        note = "single-threaded library" if threads > 1 else ""
                    out.append(f"| {wname} | {label} | {core} | {fmt_rate(med)} | "
                               f"{fmt_rate(min(rates))}..{fmt_rate(max(rates))} | "
                               f"{fmt_ratio(ratio)} | {note} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-cmp"))
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "data"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.4, help="seconds per timed block")
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds, 0.05 s blocks (~3 minutes: the 784-100-10 fits keep their "
                    "length)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--modes", default="env,unset",
                    help="env: OPENBLAS_CORETYPE as the environment has it (Haswell if it has "
                    "none); unset: removed (OpenBLAS auto-detects)")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS))
    ap.add_argument("--workloads", default=",".join(w[0] for w in WORKLOADS))
    ap.add_argument("--f100-rows", type=int, default=F100_ROWS,
                    help="training rows of the 784-100-10 fit (Fashion-MNIST's first rows)")
    ap.add_argument("--f100-epochs", type=int, default=F100_EPOCHS,
                    help="epochs of the 784-100-10 fit (run exactly: no early stop)")
    ap.add_argument("--max-foreign", type=float, default=0.15,
                    help="CPUs other processes may use during a block before it is re-run")
    ap.add_argument("--retries", type=int, default=2, help="re-runs of a block seen busy")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds: no re-runs or waiting beyond this (default 720, quick 180)")
    ap.add_argument("--json", help="write raw results here (default BUILD_DIR/compare/results.json)")
    ap.add_argument("--markdown", help="also write the tables to this file")
    ap.add_argument("--render", metavar="JSON", help="only print the tables of a saved run")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            saved = json.load(f)
        m = saved["meta"]
        sets = sorted({(int(k.split("t-")[0]), k.split("t-")[1]) for k in saved["results"]},
                      key=lambda s: (s[0], s[1] != "env"))
        print(render(m, sets, saved["results"], saved["info"], saved["fann_epochs"]))
        return
    if a.quick:
        a.rounds, a.min_time = 2, 0.05
    if a.budget is None:
        a.budget = 180.0 if a.quick else 720.0
    build_dir = os.path.abspath(a.build_dir)
    data_dir = os.path.abspath(a.data_dir)
    tools = [t for t in a.tools.split(",") if t]
    wls = set(a.workloads.split(","))
    modes = [m for m in a.modes.split(",") if m]
    settings = [(int(t), m) for t in a.threads.split(",") for m in modes]

    # Tools that cannot run here are dropped with a note.
    notes = []
    avail = []
    for t in tools:
        cmd = worker_cmd(t, 1, build_dir, data_dir)
        if t in ("mlp", "mlp_bf16", "fann") and not os.access(cmd[0], os.X_OK):
            notes.append(f"{t}: driver {cmd[0]} not built, skipped")
            continue
        if t == "mlp_bf16":
            probe = subprocess.run(cmd, input="info\nquit\n", capture_output=True, text=True)
            if probe.returncode != 0:
                notes.append(f"mlp_bf16: {probe.stdout.strip() or probe.stderr.strip()}: skipped")
                continue
        if t not in ("mlp", "mlp_bf16", "fann"):
            mod = {"sklearn32": "sklearn", "sklearn64": "sklearn", "torch": "torch",
                   "numpy": "numpy"}[t]
            if subprocess.run([PY, "-c", f"import {mod}, threadpoolctl"],
                              capture_output=True).returncode != 0:
                notes.append(f"{t}: python3 module {mod} (or threadpoolctl) not importable, skipped")
                continue
        avail.append(t)
    tools = avail
    for n in notes:
        print("note:", n, file=sys.stderr)

    # The 784-100-10 fit's data, written once (untimed) for every worker.
    f100 = {"EP": a.f100_epochs, "IMG": "", "LBL": "", "F100": ""}
    if "f100_fit" in wls:
        img, lbl, desc, note = prepare_f100(os.path.join(build_dir, "compare"), a.f100_rows)
        f100.update(IMG=img, LBL=lbl, F100=desc)
        if note:
            notes.append(note)
            print("note:", note, file=sys.stderr)

    ct, ct_from = env_coretype()
    meta = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": machine(), "rounds": a.rounds, "min_time": a.min_time,
            "command": " ".join(sys.argv), "notes": notes,
            "env_coretype": ct, "env_coretype_from": ct_from,
            "f100": {"rows": a.f100_rows, "epochs": a.f100_epochs, "data": f100["F100"]},
            "load_before": " ".join(open("/proc/loadavg").read().split()[:3])}

    # FANN's fixed-length fit runs as many epochs as scikit-learn's float64 fit (deterministic
    # for random_state=42); measured once here, untimed.
    fann_epochs = 187
    if "sklearn64" in tools:
        w = Worker("sklearn64", worker_cmd("sklearn64", 1, build_dir, data_dir), setting_env(1, "env"))
        fann_epochs = w.ask("fit")["epochs"]
        w.close()

    def run_block(r, threads, mode):
        """One round of one setting: fresh workers, every workload in every tool. Returns
        {workload: {label: result}}, {tool: info}."""
        env = setting_env(threads, mode)
        workers, out, infos = {}, {}, {}
        try:
            for t in tools:
                workers[t] = Worker(t, worker_cmd(t, threads, build_dir, data_dir), env)
            for t, w in workers.items():
                infos[t] = w.ask("info")
            for wl_key, _title, rows in WORKLOADS:
                if wl_key not in wls:
                    continue
                rows = [x for x in rows if x[1] in workers]
                k = r % len(rows) if rows else 0
                for label, tool, cmd in rows[k:] + rows[:k]:
                    time.sleep(0.02)  # let the previous tool's spinning threads go idle
                    res = workers[tool].ask(cmd.format(t=a.min_time, E=fann_epochs, **f100))
                    res["round"] = r
                    res["core"] = infos[tool].get("core", "?")
                    out.setdefault(wl_key, {})[label.replace("{E}", str(fann_epochs))] = res
        finally:
            for w in workers.values():
                w.close()
        return out, infos

    results = {}      # setting -> workload -> label -> [run dicts]
    tools_info = {}   # setting -> tool -> info
    foreign = {}      # setting -> [CPUs used by other processes during each kept block]
    n_blocks = a.rounds * len(settings)
    done = 0
    t_start = time.time()
    for r in range(a.rounds):
        for si in range(len(settings)):
            threads, mode = settings[(si + r) % len(settings)]
            skey = f"{threads}t-{mode}"
            best = None
            for attempt in range(1 + a.retries):
                elapsed = time.time() - t_start
                avg = elapsed / done if done else 25.0
                spare = a.budget - elapsed - avg * (n_blocks - done)
                if attempt > 0 and spare < avg:
                    break  # no time left for another attempt
                wait_quiet(a.max_foreign, min(20.0, max(0.0, spare / 2)))
                m0 = cpu_mark()
                out, infos = run_block(r, threads, mode)
                f = foreign_cpus(m0, cpu_mark())
                if best is None or f < best[0]:
                    best = (f, out, infos)
                if f <= a.max_foreign:
                    break
                print(f"  other processes used {f:.2f} CPUs during {skey} round {r + 1} "
                      f"(attempt {attempt + 1})", file=sys.stderr, flush=True)
            f, out, infos = best
            done += 1
            foreign.setdefault(skey, []).append(round(f, 3))
            for wl_key, by_label in out.items():
                for label, res in by_label.items():
                    res["foreign_cpus"] = round(f, 3)
                    results.setdefault(skey, {}).setdefault(wl_key, {}).setdefault(label, []).append(res)
            for t, inf in infos.items():
                prev = tools_info.setdefault(skey, {}).get(t)
                if prev and prev.get("core") != inf.get("core"):  # never seen; be loud
                    inf["core"] = f"{prev['core']} / {inf.get('core')}"
                tools_info[skey][t] = inf
            print(f"round {r + 1}/{a.rounds} {skey} done ({time.time() - t_start:.0f} s, "
                  f"other processes {f:.2f} CPUs)", file=sys.stderr, flush=True)
    meta["foreign_cpus"] = foreign
    meta["max_foreign"] = a.max_foreign
    meta["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    meta["wall_seconds"] = round(time.time() - t_start)

    # 1-thread settings first (the headline), then 2 threads.
    settings.sort(key=lambda s: (s[0], modes.index(s[1])))
    text = render(meta, settings, results, tools_info, fann_epochs)
    print(text)
    for n in notes:
        print(f"\nNote: {n}")
    js = a.json or os.path.join(build_dir, "compare", "results.json")
    os.makedirs(os.path.dirname(js), exist_ok=True)
    with open(js, "w") as f:
        json.dump({"meta": meta, "fann_epochs": fann_epochs, "info": tools_info,
                   "results": results}, f, indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    print(f"\n(raw results: {js}; {meta['wall_seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
