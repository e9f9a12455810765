#!/usr/bin/env bash
# Builds the app with variants of the wasm-release profile and prints each bundle's size.
# Variants override the profile through Cargo's CARGO_PROFILE_* environment variables.
#   scripts/measure-profile.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_app_tools
out=$(mktemp -d)
variant() {
  local name="$1"; shift
  env "$@" trunk build --release --offline --dist "$out/$name" >/dev/null 2>&1 || { echo "$name: build failed"; return; }
  local wasm js
  wasm=$(find "$out/$name" -name '*.wasm')
  js=$(find "$out/$name" -name '*.js')
  printf '%-34s wasm %7d B (gzip %6d)  js %6d B (gzip %5d)\n' "$name" \
    "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)" "$(stat -c %s "$js")" "$(gzip -9 -c "$js" | wc -c)"
}
variant "chosen: z, fat LTO, 1 CGU, abort"
variant "opt-level s"               CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL=s
variant "opt-level 3"               CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL=3
variant "thin LTO"                  CARGO_PROFILE_WASM_RELEASE_LTO=thin
variant "no LTO"                    CARGO_PROFILE_WASM_RELEASE_LTO=false
variant "16 codegen units"          CARGO_PROFILE_WASM_RELEASE_CODEGEN_UNITS=16
variant "panic = unwind"            CARGO_PROFILE_WASM_RELEASE_PANIC=unwind
