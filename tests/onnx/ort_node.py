"""ONNX Runtime for the ONNX export tests: onnxruntime-node from the npm registry, installed into a
build directory (never the repository), and run on a batch of models through ort_run.js.

Debian 12 packages no ONNX Runtime; npm's onnxruntime-node ships the CPU binaries in the package.
ONNXRUNTIME_NODE_INSTALL=skip stops its install script, which would otherwise try to download
CUDA providers from outside the registry. Used by tests/onnx/check_onnx.py (ctest) and
python/tests/test_onnx.py."""
import json
import os
import shutil
import subprocess
import tempfile

PACKAGE = "onnxruntime-node@1.31.1"  # pinned: the tests compare numbers, not versions
HERE = os.path.dirname(os.path.abspath(__file__))


class Unavailable(Exception):
    """Node or npm is not on this machine: the ONNX Runtime part of a test is skipped."""


def ensure(node_dir):
    """onnxruntime-node under node_dir (installed once; later calls find it). Raises Unavailable
    where node or npm is missing, RuntimeError when the install fails."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise Unavailable("%s is not installed (ONNX Runtime comes from npm's onnxruntime-node "
                              "and runs under Node.js)" % tool)
    if os.path.isfile(os.path.join(node_dir, "node_modules", "onnxruntime-node", "package.json")):
        return
    os.makedirs(node_dir, exist_ok=True)
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix",
                        node_dir, PACKAGE], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("npm install %s into %s failed:\n%s" % (PACKAGE, node_dir,
                                                                   r.stderr[-2000:]))


def run(node_dir, jobs):
    """Each job (model path, input name, rows) run by ONNX Runtime: a list of
    {"outputs": {name: {"type", "dims", "data"}}} or {"error": message}, in job order."""
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = os.path.join(tmp, "job.json"), os.path.join(tmp, "out.json")
        with open(job_path, "w") as f:
            json.dump(jobs, f)
        r = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), node_dir, job_path,
                            out_path], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("ort_run.js failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
        with open(out_path) as f:
            return json.load(f)
