#!/usr/bin/env bash
# Runs each fuzz target for a while (default 60 s). cargo-fuzz needs nightly features; the one
# stable toolchain here provides them with RUSTC_BOOTSTRAP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$ROOT/fuzz"
for target in message_parser webhook_verify; do
  echo "==> fuzzing $target for ${SECONDS_EACH}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$SECONDS_EACH" 2>&1 | tail -n 3
done
