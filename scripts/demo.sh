#!/usr/bin/env bash
# Runs the demo: installs what is missing, starts the dots-proxy (with the local Dots sandbox
# in-process) on 127.0.0.1:3000 and `trunk serve` on 127.0.0.1:8080 (/api proxied to the
# proxy). Ctrl-C stops everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"

PROXY_ADDR="127.0.0.1:3000"   # Trunk.toml proxies /api here
DEMO_PORT="${DEMO_PORT:-8080}"

say "building the proxy"
cargo build -p dots-proxy

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

say "starting dots-proxy on $PROXY_ADDR"
# The page is served by trunk on another port, so its origin must be allowed explicitly.
DOTS_PROXY_ADDR="$PROXY_ADDR" DOTS_PROXY_DEMO=1 \
DOTS_PROXY_ALLOWED_ORIGINS="http://127.0.0.1:$DEMO_PORT,http://localhost:$DEMO_PORT" \
  "$ROOT/target/debug/dots-proxy" &
pids+=($!)
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/${PROXY_ADDR%:*}/${PROXY_ADDR#*:}") 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "dots-proxy failed to start" >&2; exit 1; }
  sleep 0.1
done

say "demo: http://127.0.0.1:$DEMO_PORT  (Ctrl-C stops everything)"
trunk serve --port "$DEMO_PORT" &
pids+=($!)
wait -n "${pids[@]}"
