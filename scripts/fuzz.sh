#!/usr/bin/env bash
# Fuzzes the share-link decoder, the scenario loader and the packet dissector for a bounded
# time each (FUZZ_SECONDS, default 60). Any panic fails the run and leaves the input in
# engine/fuzz/artifacts/. Seeds: every preset's link, the shipped scenarios, the presets'
# scenarios and real packets of the standard scenario. cargo fuzz needs nightly flags;
# RUSTC_BOOTSTRAP lets the stable toolchain take them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ensure_rust
ensure_cargo_fuzz

seconds="${FUZZ_SECONDS:-60}"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/link" "$seeds/scenario" "$seeds/packet"

cargo run --quiet --locked -p lbsim-cli -- presets \
  | sed -n 's/.*characters: #//p' \
  | awk -v dir="$seeds/link" '{ print > (dir "/" NR ".txt") }'
cp engine/scenarios/*.json "$seeds/scenario/"
python3 - "$seeds/scenario" engine/presets/*.json <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for path in sys.argv[2:]:
    preset = json.loads(pathlib.Path(path).read_text())
    (out / ("preset-" + pathlib.Path(path).name)).write_text(json.dumps(preset["scenario"]))
PY

# Packets: the first packets of the standard scenario's capture, one file each.
cargo run --quiet --locked -p lbsim-cli -- run engine/scenarios/standard.json --until 200ms \
  --quiet --pcap "$seeds/standard.pcap"
python3 - "$seeds/standard.pcap" "$seeds/packet" <<'PY'
import pathlib, struct, sys
data = pathlib.Path(sys.argv[1]).read_bytes()
order = ">" if data[:4] == bytes.fromhex("a1b2c3d4") else "<"
at, n = 24, 0
while at + 16 <= len(data) and n < 200:
    incl = struct.unpack(order + "I", data[at + 8:at + 12])[0]
    pathlib.Path(sys.argv[2], f"{n}.bin").write_bytes(data[at + 16:at + 16 + incl])
    at, n = at + 16 + incl, n + 1
PY

cd engine/fuzz
for target in link scenario packet; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  say "fuzzing $target for ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --release "$target" "$corpus" "$seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>&1 \
    | grep -Ev '^(#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|"|###### |[[:space:]]+NEW_FUNC)' || { echo "fuzz target $target failed" >&2; exit 1; }
done
