#!/usr/bin/env bash
# Installs every Debian package parrot needs on a fresh Debian 12 machine (run as root), then builds.
# Usage: scripts/setup.sh [BUILD_DIR]   (default: build)
set -euo pipefail
packages=(
  cmake ninja-build g++ git
  libtorch-dev libopenblas0-pthread
  libtomlplusplus-dev libboost-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format
  chromium
)
# npm fetches the chart libraries report.html inlines; a Node.js from elsewhere may bundle it.
command -v npm >/dev/null || packages+=(nodejs npm)
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
cmake -S "$root" -B "$root/$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$root/$build" -j "$(nproc)"
