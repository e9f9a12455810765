#!/usr/bin/env bash
# Installs what is missing, builds the playground (release) and serves it on loopback.
#   scripts/serve.sh            serves on http://127.0.0.1:8080/
#   PORT=9000 scripts/serve.sh  another port
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ensure_app_tools

PORT="${PORT:-8080}"
say "Traffic Cop will be served at http://127.0.0.1:$PORT/ (Ctrl-C stops it)"
exec trunk serve --release --offline --address 127.0.0.1 --port "$PORT" --no-autoreload
