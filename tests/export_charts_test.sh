#!/usr/bin/env bash
# scripts/export-charts.mjs on a report.html: one SVG file per chart of the page, each drawing
# lines. Usage: export_charts_test.sh SCRIPT REPORT_HTML NODE_MODULES OUT_DIR
set -euo pipefail
script=$1 report=$2 modules=$3 out=$4
rm -rf "$out"
node "$script" "$report" "$out" "$modules"
charts=$(grep -c '<div class="chart" id=' "$report")
files=$(find "$out" -name '*.svg' | wc -l)
if [[ $charts -eq 0 || $files -ne $charts ]]; then
  echo "FAIL: $charts charts in $report, $files SVG files in $out" >&2
  exit 1
fi
for file in "$out"/*.svg; do
  if ! grep -q 'class="mark-line role-mark' "$file"; then
    echo "FAIL: $file has no line marks" >&2
    exit 1
  fi
done
echo "$files charts exported, each with line marks"
