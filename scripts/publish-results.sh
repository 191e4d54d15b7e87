#!/usr/bin/env bash
# Publishes a suite's results folder in docs/results/<folder name>/: the run records and
# suite.json (so that `suite report docs/results/<name>` judges them again), report.md, runs.csv,
# curves.csv and the charts as SVG files. Failed expectations are published too: they are results.
# Usage: scripts/publish-results.sh RESULTS_DIR [BUILD_DIR]
set -euo pipefail
results=${1:?usage: scripts/publish-results.sh RESULTS_DIR [BUILD_DIR]}
build=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
target=$root/docs/results/$(basename "$results")
rm -rf "$target"
mkdir -p "$target"
cp "$results"/*.jsonl "$results"/suite.json "$target"/
status=0
"$build"/suite report "$target" || status=$?
if ((status > 1)); then exit "$status"; fi  # 1: an expectation failed; 2: unreadable results
node "$root"/scripts/export-charts.mjs "$target"/report.html "$target" "$build"/web-report/node_modules
rm "$target"/report.html "$target"/junit.xml  # the page inlines 900 kB of libraries
echo "published $target"
