#!/usr/bin/env bash
# Runs the demo: installs what is missing, starts the dots-proxy (with the local Dots sandbox
# in-process) and `trunk serve` (the page, with /api forwarded to the proxy), and prints the
# page's URL once it is served. Ctrl-C stops everything.
#
#   DEMO_PORT          the page (trunk serve)                          default 8080
#   DEMO_PROXY_PORT    the dots-proxy                                  default 3000
#   DEMO_SANDBOX_PORT  the local Dots sandbox (the flows' own pages)   default 0: any free port
#   DEMO_DATA_DIR      the proxy's database for this run               default: a new temporary
#                      directory, removed on exit
#
# Nothing is written inside the checkout while the demo runs (trunk watches it and would reload
# the page on every write). The sandbox keeps its users and flows in memory, so a new run starts
# from scratch on both sides.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"

DEMO_PORT="${DEMO_PORT:-8080}"
DEMO_PROXY_PORT="${DEMO_PROXY_PORT:-3000}"
DEMO_SANDBOX_PORT="${DEMO_SANDBOX_PORT:-0}"
HOST=127.0.0.1

fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for var in DEMO_PORT DEMO_PROXY_PORT DEMO_SANDBOX_PORT; do
  [[ "${!var}" =~ ^[0-9]+$ ]] && [ "${!var}" -le 65535 ] || fail "$var=${!var} is not a port number"
done
[ "$DEMO_PORT" -ne 0 ] && [ "$DEMO_PROXY_PORT" -ne 0 ] || fail "DEMO_PORT and DEMO_PROXY_PORT need a fixed port"
[ "$DEMO_PORT" -ne "$DEMO_PROXY_PORT" ] || fail "DEMO_PORT and DEMO_PROXY_PORT must differ"

# Something already answers on this port?
port_taken() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for var in DEMO_PORT DEMO_PROXY_PORT DEMO_SANDBOX_PORT; do
  port="${!var}"
  if [ "$port" -ne 0 ] && port_taken "$port"; then
    fail "port $port ($var) is already in use by another process: stop it, or pick another port, e.g. $var=$((port + 1)) ./scripts/demo.sh"
  fi
done

# The raw answer (status line, headers, body) to GET $2 on port $1; nothing if none comes.
http_get() {
  ( exec 3<>"/dev/tcp/$HOST/$1" &&
    printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$2" "$HOST" "$1" >&3 &&
    timeout 5 cat <&3 ) 2>/dev/null || true
}

say "building the proxy"
cargo build -p dots-proxy

DATA_DIR="${DEMO_DATA_DIR:-}"
made_data_dir=""
if [ -z "$DATA_DIR" ]; then
  DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dots-flow-demo.XXXXXX")"
  made_data_dir="$DATA_DIR"
fi
mkdir -p "$DATA_DIR" || fail "DEMO_DATA_DIR=$DATA_DIR cannot be created"
case "$(cd "$DATA_DIR" && pwd -P)/" in
  "$(pwd -P)/"*) fail "DEMO_DATA_DIR=$DATA_DIR is inside the checkout, which trunk watches: every write would reload the page" ;;
esac

# Each child runs in a process group of its own (setsid), so stopping it stops what it started
# too (trunk's cargo and wasm-bindgen). A terminal's Ctrl-C reaches only this script: background
# jobs of a script ignore SIGINT, so the trap below does the stopping.
pids=()
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$made_data_dir" ] && rm -rf "$made_data_dir"
  say "demo stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
alive() { kill -0 "$1" 2>/dev/null; }

say "starting dots-proxy on $HOST:$DEMO_PROXY_PORT (data in $DATA_DIR)"
# The page is served by trunk on another port, so its origin must be allowed explicitly.
DOTS_ENV=local DOTS_PROXY_DEMO=1 \
DOTS_PROXY_ADDR="$HOST:$DEMO_PROXY_PORT" \
DOTS_SANDBOX_ADDR="$HOST:$DEMO_SANDBOX_PORT" \
DOTS_PROXY_DATA_DIR="$DATA_DIR" \
DOTS_PROXY_ALLOWED_ORIGINS="http://$HOST:$DEMO_PORT,http://localhost:$DEMO_PORT" \
  setsid "$ROOT/target/debug/dots-proxy" &
proxy=$!
pids+=("$proxy")
# Healthy on its port while our process is alive: the port was free, so that is our proxy.
until [[ "$(http_get "$DEMO_PROXY_PORT" /healthz)" == "HTTP/1."?" 200 "* ]]; do
  alive "$proxy" || fail "dots-proxy did not start (see its message above)"
  sleep 0.1
done

say "building and serving the page on $HOST:$DEMO_PORT (the first build takes a while)"
# trunk 0.21 refuses NO_COLOR values other than true/false (the convention is "any value").
[ -n "${NO_COLOR:-}" ] && export NO_COLOR=true
# Its own dist dir under target/ (not watched): dist/ is for release builds, and a dev build
# there would carry trunk's live-reload script into them.
setsid trunk serve --address "$HOST" --port "$DEMO_PORT" --dist "$ROOT/target/demo-serve" \
  --proxy-backend "http://$HOST:$DEMO_PROXY_PORT/api/" &
trunk=$!
pids+=("$trunk")
# Served means the built page: trunk's index.html with the wasm preloaded.
until page="$(http_get "$DEMO_PORT" /)" && [[ "$page" == "HTTP/1."?" 200 "* && "$page" == *"_bg.wasm"* ]]; do
  alive "$trunk" || fail "trunk serve stopped before serving the page (see its messages above)"
  alive "$proxy" || fail "dots-proxy stopped"
  sleep 0.5
done

say "demo: http://$HOST:$DEMO_PORT  (Ctrl-C stops everything)"
set +e
wait -n "${pids[@]}"
status=$?
alive "$proxy" || echo "demo: dots-proxy stopped (exit $status)" >&2
alive "$trunk" || echo "demo: trunk serve stopped (exit $status)" >&2
exit "$status"
