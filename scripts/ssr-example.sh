#!/usr/bin/env bash
# Runs the server-rendered example (examples/ssr) the way a Leptos user runs their app:
# `cargo leptos serve` in its directory, once scripts/setup.sh has installed cargo-leptos and
# the wasm-bindgen and wasm-opt it uses. Prints the page's URL once it serves; Ctrl-C stops it.
#
#   ./scripts/ssr-example.sh [--addr HOST:PORT] [--release]
#
#   --addr HOST:PORT   where the app listens (default: the example's site-addr, 127.0.0.1:3000)
#   --release          the release build (`cargo leptos serve --release`)
#
# Builds go to this repository's target/ (shared with its other builds). The proxy inside the
# app is configured by the DOTS_* variables (default: the local Dots sandbox, in-process).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() { printf 'ssr-example: %s\n' "$*" >&2; exit 1; }

ADDR="127.0.0.1:3000"
release=()
while [ $# -gt 0 ]; do
  case "$1" in
    --addr) [ $# -ge 2 ] || fail "--addr needs HOST:PORT"; ADDR="$2"; shift 2 ;;
    --addr=*) ADDR="${1#--addr=}"; shift ;;
    --release) release=(--release); shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument $1 (try --help)" ;;
  esac
done
[[ "$ADDR" =~ ^[^:]+:[0-9]+$ ]] || fail "--addr $ADDR is not HOST:PORT"
port="${ADDR##*:}"
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || fail "--addr $ADDR: no such port"
if (exec 3<>"/dev/tcp/${ADDR%:*}/$port") 2>/dev/null; then
  fail "port $port is already in use by another process: stop it, or pick another, e.g. --addr ${ADDR%:*}:$((port + 1))"
fi

# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
cd "$ROOT/examples/ssr"
export CARGO_TARGET_DIR="$ROOT/target" LEPTOS_SITE_ADDR="$ADDR"
exec cargo leptos serve "${release[@]}"
