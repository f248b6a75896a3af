#!/usr/bin/env bash
# Installs the Debian 12 packages mlp builds with, plus any package named on the command line, if
# missing. Needs root (or sudo) only when something is missing.
#   scripts/setup.sh [EXTRA_PACKAGE...]
# Quiet: one line says what is being installed; apt's whole output goes to a log file
# (MLP_SETUP_LOG, default ${TMPDIR:-/tmp}/mlp-setup-apt.log), which a failure names.
set -euo pipefail
pkgs=(cmake make gcc g++ pkg-config libopenblas-openmp-dev libcmocka-dev libbenchmark-dev zlib1g-dev
      liblbfgs-dev libdnnl-dev python3-onnx python3-numpy
      "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

log=${MLP_SETUP_LOG:-${TMPDIR:-/tmp}/mlp-setup-apt.log}
echo "setup: installing ${missing[*]} (apt log: $log)"
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
# env after sudo: sudo does not pass DEBIAN_FRONTEND on.
if ! { "${SUDO[@]}" apt-get update &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; } \
     >"$log" 2>&1; then
  echo "setup: installing ${missing[*]} failed; the end of $log:" >&2
  tail -n 15 "$log" >&2
  echo "setup: the whole apt log is $log" >&2
  exit 1
fi
