#!/usr/bin/env bash
# Runs every test of dots-flow and prints a pass/fail summary. `.ci/run` calls exactly this.
#
#   lint         cargo fmt --check; clippy -D warnings (native workspace and the wasm component)
#   native       cargo test --workspace (wire types, proxy, sandbox; real HTTP between them)
#   browser      wasm-bindgen-test of the component in headless Chromium (chromedriver)
#   ssr          the component rendered natively with Leptos' `ssr` feature (no `window`)
#   end2end      the built demo + proxy + sandbox on free loopback ports, driven by Playwright
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh" || { echo "setup failed"; exit 1; }
# Keep going after a failed step so the summary covers everything.
set +e

LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT
total_passed=0
total_failed=0
failed_steps=()
report=()

# run NAME COMMAND...: runs a step, shows its output, and counts the tests it reports.
run() {
  local name="$1"; shift
  local log="$LOGS/$name.log" started=$SECONDS status passed failed
  say "$name: $*"
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # cargo test / wasm-bindgen-test-runner: "test result: ok. N passed; M failed"
  passed=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
  failed=$(grep -oE '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
  # node --test (TAP): "# pass N" / "# fail M"
  passed=$((passed + $(grep -oE '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')))
  failed=$((failed + $(grep -oE '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')))
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  local verdict="ok"
  if [ "$status" -ne 0 ]; then verdict="FAILED (exit $status)"; failed_steps+=("$name"); fi
  report+=("$(printf '%-16s %-20s %4s passed %3s failed  %4ss' "$name" "$verdict" "$passed" "$failed" "$((SECONDS - started))")")
}

run fmt cargo fmt --all --check
run clippy cargo clippy --workspace --all-targets -- -D warnings
run clippy-wasm cargo clippy -p dots-flow --all-targets --target wasm32-unknown-unknown -- -D warnings
run clippy-ssr cargo clippy -p dots-flow --no-default-features --features ssr --all-targets -- -D warnings
run native cargo test --workspace
run browser cargo test -p dots-flow --target wasm32-unknown-unknown --tests
run ssr cargo test -p dots-flow --no-default-features --features ssr --test ssr
run build-demo trunk build --release
run build-servers cargo build -p dots-proxy -p dots-sandbox
run end2end bash -c "cd end2end && node --test --test-concurrency=1 tests/"

echo
say "summary"
printf '%s\n' "${report[@]}"
echo
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed steps: ${failed_steps[*]}"
fi
echo "summary: $total_passed passed, $total_failed failed"
[ ${#failed_steps[@]} -eq 0 ]
