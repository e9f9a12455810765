# shellcheck shell=bash
# Shared by scripts/serve.sh and scripts/test.sh: installs what is missing, idempotently.
# Versions are pinned here and nowhere else; see shared TOOLCHAIN notes for why each one.

TRUNK_VERSION="0.21.14"          # 0.22 needs a newer rustc than this machine's
WASM_BINDGEN_VERSION="0.2.130"   # must equal the `wasm-bindgen` crate pin in Cargo.toml
BINARYEN_VERSION="132.0.0"       # Debian's binaryen is too old for current Rust wasm output
CARGO_FUZZ_VERSION="0.13.2"      # runs on stable with RUSTC_BOOTSTRAP=1 (see scripts/fuzz.sh)
AXE_VERSION="4.14.1"             # axe-core, the accessibility checks of scripts/page_checks.py

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$REPO_ROOT/.tools"
export PATH="$TOOLS_DIR/binaryen/node_modules/.bin:$HOME/.cargo/bin:$PATH"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a named step and reports its wall time; a failing step fails the script.
step() {
  local name="$1"; shift
  say "$name"
  local start=$SECONDS
  "$@" || die "step failed: $name"
  say "$name: ok ($((SECONDS - start)) s)"
}

ensure_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_wasm_bindgen() {
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ] ||
     ! command -v wasm-bindgen-test-runner >/dev/null; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
    # No --locked: a version in its lock file is no longer in the registry.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (about 10 minutes on 2 cores)"
    cargo install trunk --version "$TRUNK_VERSION" --locked --force
  fi
}

ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    command -v npm >/dev/null || die "npm not found: it is needed to install binaryen (wasm-opt)"
    say "installing wasm-opt from the npm package binaryen@$BINARYEN_VERSION"
    mkdir -p "$TOOLS_DIR/binaryen"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/binaryen" "binaryen@$BINARYEN_VERSION"
  fi
}

# ensure_packages COMMAND=PACKAGE ...: installs each Debian package whose command is missing.
ensure_packages() {
  local missing=()
  local pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# What building and serving the app needs.
ensure_app_tools() {
  ensure_rust
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_wasm_opt
  ensure_trunk
}

ensure_cargo_fuzz() {
  if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
  fi
}

# axe-core from the npm registry, into .tools/axe.
AXE_JS="$TOOLS_DIR/axe/node_modules/axe-core/axe.min.js"
ensure_axe() {
  if ! grep -qs "\"version\": \"$AXE_VERSION\"" "$TOOLS_DIR/axe/node_modules/axe-core/package.json"; then
    command -v npm >/dev/null || die "npm not found: it is needed to install axe-core"
    say "installing axe-core $AXE_VERSION from npm"
    mkdir -p "$TOOLS_DIR/axe"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/axe" "axe-core@$AXE_VERSION"
  fi
}

# What the test suites need on top: a headless browser, its driver, the pcap decoder, the
# fuzzer and axe-core.
ensure_test_tools() {
  ensure_app_tools
  ensure_cargo_fuzz
  ensure_axe
  ensure_packages chromium=chromium chromedriver=chromium-driver tshark=tshark
}
