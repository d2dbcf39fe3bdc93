#!/usr/bin/env bash
# Builds and runs the server-rendered example (examples/ssr): a Leptos + axum app whose page
# has <DotsFlow/> with the flow created on the server, under a strict CSP, with the dots-flow
# proxy (and the local Dots sandbox, in-process) in the same server. Prints the page's URL once
# it serves; Ctrl-C stops it.
#
#   ./scripts/ssr-example.sh [--addr HOST:PORT] [--build-only]
#
#   --addr HOST:PORT   where the app listens (default 127.0.0.1:3000)
#   --build-only       build the server and the client, then stop
#
# The two builds cargo-leptos would do, with cargo and wasm-bindgen (offline; cargo-leptos
# downloads its tools): the server binary with `ssr`, the client wasm with `hydrate`
# (release, then wasm-bindgen and wasm-opt into target/ssr-example/site/pkg). The proxy is
# configured by the same DOTS_* variables as dots-proxy (default: DOTS_ENV=local); its data
# goes to a new temporary directory unless DOTS_PROXY_DATA_DIR is set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

fail() { printf 'ssr-example: %s\n' "$*" >&2; exit 1; }

ADDR="127.0.0.1:3000"
BUILD_ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --addr) [ $# -ge 2 ] || fail "--addr needs HOST:PORT"; ADDR="$2"; shift 2 ;;
    --addr=*) ADDR="${1#--addr=}"; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument $1 (try --help)" ;;
  esac
done
[[ "$ADDR" =~ ^[^:]+:[0-9]+$ ]] || fail "--addr $ADDR is not HOST:PORT"
HOST="${ADDR%:*}"
PORT="${ADDR##*:}"
[ "$PORT" -le 65535 ] || fail "--addr $ADDR: no such port"

# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"

EXAMPLE="$ROOT/examples/ssr"
TARGET="$ROOT/target"
SITE="$TARGET/ssr-example/site"
NAME="dots_flow_ssr_example"

say "building the example's client (hydrate, release)"
cargo build --manifest-path "$EXAMPLE/Cargo.toml" --target-dir "$TARGET" \
  --lib --target wasm32-unknown-unknown --features hydrate --release
wasm="$TARGET/wasm32-unknown-unknown/release/$NAME.wasm"
mkdir -p "$SITE/pkg"
# wasm-bindgen and wasm-opt only when the wasm changed.
if [ ! -f "$SITE/pkg/${NAME}_bg.wasm" ] || [ "$wasm" -nt "$SITE/pkg/${NAME}_bg.wasm" ]; then
  wasm-bindgen --target web --no-typescript --out-dir "$SITE/pkg" --out-name "$NAME" "$wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals "$SITE/pkg/${NAME}_bg.wasm" -o "$SITE/pkg/${NAME}_bg.wasm"
fi
cp "$ROOT/style/dots-flow.css" "$EXAMPLE/style/example.css" "$SITE/pkg/"

say "building the example's server (ssr)"
cargo build --manifest-path "$EXAMPLE/Cargo.toml" --target-dir "$TARGET" \
  --bin dots-flow-ssr-example --features ssr
[ -n "$BUILD_ONLY" ] && { say "built: $TARGET/debug/dots-flow-ssr-example and $SITE"; exit 0; }

port_taken() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
if [ "$PORT" -ne 0 ] && port_taken "$PORT"; then
  fail "port $PORT is already in use by another process: stop it, or pick another, e.g. --addr $HOST:$((PORT + 1))"
fi

made_data_dir=""
if [ -z "${DOTS_PROXY_DATA_DIR:-}" ]; then
  DOTS_PROXY_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dots-flow-ssr.XXXXXX")"
  made_data_dir="$DOTS_PROXY_DATA_DIR"
fi
export DOTS_PROXY_DATA_DIR

server=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  [ -n "$made_data_dir" ] && rm -rf "$made_data_dir"
  say "ssr example stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

out="$(mktemp)"
LEPTOS_SITE_ROOT="$SITE" "$TARGET/debug/dots-flow-ssr-example" --addr "$ADDR" > >(tee "$out") &
server=$!
# The server prints its address (the port, when --addr asked for any) once it listens.
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^dots-flow SSR example on \(http:[^ ]*\)$/\1/p' "$out" | head -1)"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || fail "the example's server stopped (see its message above)"
  sleep 0.1
done
rm -f "$out"
[ -n "$url" ] || fail "the example's server did not start listening"
say "ssr example: $url/  (Ctrl-C stops it)"
set +e
wait "$server"
