#!/usr/bin/env bash
# Builds parrot on a CUDA machine against the LibTorch inside its PyTorch (sm_90 + PTX).
# toml++ comes from .deps/ when the machine lacks it (see docs/gpu.md). report.html's chart
# libraries come from build/report-assets when a CPU build left them there (the GPU machine has no
# npm registry). Usage: scripts/build-gpu.sh [BUILD_DIR] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-gpu}
shift || true
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
assets=()
if [[ -f $root/build/report-assets/vega.min.js ]]; then
  assets=(-DPARROT_REPORT_ASSETS_FROM="$root/build/report-assets")
fi
cmake -S "$root" -B "$root/$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$root/.deps/usr" -DCMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" \
  -DPARROT_REPORT_ASSETS=OFF "${assets[@]}"
cmake --build "$root/$build" -j "$(nproc)" ${1:+--target "$@"}
