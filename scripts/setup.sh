#!/usr/bin/env bash
# Installs what dots-flow needs to build, run and test, skipping whatever is already present
# at the right version. Sourced by scripts/demo.sh and scripts/test.sh; safe to run alone.
#
#   wasm32-unknown-unknown target  rustup
#   trunk 0.21.14                  cargo install --locked (0.22 needs a newer rustc)
#   wasm-bindgen-cli               cargo install, exactly the wasm-bindgen version in Cargo.lock
#   cargo-leptos 0.3.10            cargo install --locked --features no_downloads (0.3.11 needs a
#                                  newer rustc; no_downloads: it uses the wasm-bindgen and
#                                  wasm-opt on PATH and never downloads a binary)
#   chromium + chromium-driver     Debian packages (browser tests)
#   postgresql                     Debian package (the proxy's database tests also run on it)
#   nginx                          Debian package (a load balancer for the two-instance test)
#   playwright-core, binaryen      npm ci in end2end/ (end-to-end tests; wasm-opt 132)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION="0.21.14"
CARGO_LEPTOS_VERSION="0.3.10"
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"

export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

setup_started=$SECONDS

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -qx "trunk $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 10 minutes, once)"
  cargo install "trunk@$TRUNK_VERSION" --locked --force
fi

if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION" ||
   ! command -v wasm-bindgen-test-runner >/dev/null; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  # Not --locked: its lockfile pins a crate version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! cargo leptos --version 2>/dev/null | grep -qx "cargo-leptos $CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads --force
fi

apt_packages=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt_packages+=(chromium chromium-driver)
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_packages+=(postgresql)
fi
# The load balancer in front of two proxy instances (end-to-end test).
if [ ! -x /usr/sbin/nginx ]; then
  apt_packages+=(nginx)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  say "installing ${apt_packages[*]} (Debian packages)"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_packages[@]}"
fi

lock_hash="$(sha256sum "$ROOT/end2end/package-lock.json" | cut -d' ' -f1)"
stamp="$ROOT/end2end/node_modules/.dots-flow-lock-hash"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing end2end npm packages (npm ci)"
  (cd "$ROOT/end2end" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$stamp"
fi

export CHROMEDRIVER=/usr/bin/chromedriver
export CHROMIUM_BIN=/usr/bin/chromium
say "tools ready in $((SECONDS - setup_started))s: $(trunk --version), $(cargo leptos --version), $(wasm-bindgen --version), $(wasm-opt --version | cut -d' ' -f1-3), $(/usr/bin/chromium --version 2>/dev/null)"
