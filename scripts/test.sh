#!/usr/bin/env bash
# Installs what is missing, then runs every suite:
#   formatting and lints, native engine and CLI tests (the tshark pcap check among them),
#   the third-party HTTP conformance corpus against the release CLI (where ../shared/peer-http
#   exists beside the repository; it is not part of it, and the step says so when it skips),
#   a bounded fuzz run of the link decoder and scenario loader,
#   the headless-Chromium wasm-bindgen-test suites, a release build of the app, the page
#   checks of the built page (axe-core, a phone's viewport, the dark theme, an embed in a
#   frame, a second visit offline), and a smoke test of the serve command in headless Chromium.
# A missing tool fails the run; no suite is skipped but the corpus, which lives outside the
# repository.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ensure_test_tools

export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"

step "format" cargo fmt --all -- --check
step "lint (native)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "lint (wasm app)" cargo clippy -p traffic-cop --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
step "engine, CLI and app-logic tests (native)" cargo test -p lbsim -p lbsim-cli -p traffic-cop --locked
# The HTTP/1.1 conformance corpus (third-party cases with expected verdicts, read where it is:
# it is not copied into the repository): every case must pass through `lbsim send`.
http_conformance() {
  local corpus="$REPO_ROOT/../shared/peer-http"
  if [ ! -x "$corpus/run.sh" ]; then
    echo "skipped: no HTTP conformance corpus at $corpus (run.sh not found there)"
    return 0
  fi
  cargo build --release -p lbsim-cli --locked || return 1
  # What did not plainly pass, and the summary. run.sh exits 1 when a case failed, and
  # pipefail carries that out of the pipeline.
  "$corpus/run.sh" -j 2 "$REPO_ROOT/target/release/lbsim" | grep -v "^PASS "
}
step "HTTP conformance corpus (../shared/peer-http)" http_conformance
step "fuzz the link decoder, scenario loader and packet dissector" scripts/fuzz.sh
step "browser tests (headless Chromium)" cargo test -p traffic-cop --target wasm32-unknown-unknown --locked
step "release build of the app" trunk build --release --offline
step "bundle size" scripts/bundle-size.sh dist
step "page checks in headless Chromium (axe-core, phone, dark theme, embed, offline)" \
  python3 scripts/page_checks.py dist "$AXE_JS"

# The README's serve command, run for real: the served page must render in headless Chromium.
serve_smoke() {
  local port log pid html
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log=$(mktemp)
  PORT="$port" setsid scripts/serve.sh >"$log" 2>&1 &
  pid=$!
  trap 'kill -- -'"$pid"' 2>/dev/null || true' RETURN
  for _ in $(seq 1 600); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=2)" 2>/dev/null; then
      break
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "serve command exited" >&2; return 1; }
    sleep 1
  done
  html=$(timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-background-networking --disable-component-update --disable-sync --disable-quic \
    --no-first-run --user-data-dir="$(mktemp -d)" --virtual-time-budget=10000 \
    --dump-dom "http://127.0.0.1:$port/" 2>/dev/null)
  if ! grep -q 'class="tc-title">Traffic Cop<' <<<"$html"; then
    echo "the served page did not render the app; page was:" >&2
    head -c 2000 <<<"$html" >&2
    return 1
  fi
  echo "served page rendered the app at http://127.0.0.1:$port/"
}
step "serve command renders in headless Chromium" serve_smoke

say "all suites passed"
