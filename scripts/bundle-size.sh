#!/usr/bin/env bash
# Prints the size of a Trunk dist folder's wasm, JS and CSS, raw and gzipped (gzip -9).
#   scripts/bundle-size.sh [dist]
set -euo pipefail
dist="${1:-dist}"
[ -d "$dist" ] || { echo "no $dist folder: run trunk build --release first" >&2; exit 1; }
printf '%-6s %10s %10s\n' kind raw gzip
total_raw=0
total_gz=0
for kind in wasm js css; do
  raw=0
  gz=0
  while IFS= read -r -d '' f; do
    raw=$((raw + $(stat -c %s "$f")))
    gz=$((gz + $(gzip -9 -c "$f" | wc -c)))
  done < <(find "$dist" -maxdepth 1 -name "*.$kind" -print0)
  [ "$raw" -gt 0 ] || { echo "no .$kind file in $dist" >&2; exit 1; }
  printf '%-6s %10d %10d\n' "$kind" "$raw" "$gz"
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
done
printf '%-6s %10d %10d\n' total "$total_raw" "$total_gz"
