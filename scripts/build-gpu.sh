#!/usr/bin/env bash
# Builds parrot on a CUDA machine against the LibTorch inside its PyTorch (sm_90 + PTX).
# toml++ comes from .deps/ when the machine lacks it (see docs/gpu.md). Usage: scripts/build-gpu.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-gpu}
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S "$root" -B "$root/$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$root/.deps/usr" -DCMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" \
  -DPARROT_REPORT_ASSETS=OFF
cmake --build "$root/$build" -j "$(nproc)"
