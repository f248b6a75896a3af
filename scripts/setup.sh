#!/usr/bin/env bash
# Installs the Debian 12 packages mlp builds with, plus any package named on the command line, if
# missing. Needs root (or sudo) only when something is missing.
#   scripts/setup.sh [EXTRA_PACKAGE...]
set -euo pipefail
pkgs=(cmake make gcc g++ pkg-config libopenblas-openmp-dev libcmocka-dev libbenchmark-dev zlib1g-dev
      "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
