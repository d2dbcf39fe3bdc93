#!/usr/bin/env bash
# Runs every test of dots-flow and prints a pass/fail summary. `.ci/run` calls exactly this.
#
#   lint         cargo fmt --check; clippy -D warnings (native workspace; the component as csr and hydrate for wasm32, and as ssr)
#   docs         rustdoc of the library crates, warnings denied (broken links, missing docs)
#   doc-tests    the rustdoc examples of dots-flow as a client-rendered and a server-rendered app
#   native       cargo test --workspace (wire types, proxy, sandbox; real HTTP between them; the
#                example host's own journey test against the sandbox kit)
#   proxy-lean   the proxy library without the local sandbox (`--no-default-features`), as a
#                host mounts it in production
#   browser      wasm-bindgen-test of the component in headless Chromium (chromedriver)
#   ssr          the component rendered natively with Leptos' `ssr` feature (no `window`)
#   build-*      the demo (trunk, release), the servers, the SSR example (`cargo leptos build`
#                in examples/ssr, as a Leptos user builds it), the custom element
#                (scripts/build-element.sh → pkg/element), the npm test kit
#                (scripts/build-sandbox-testing.sh → pkg/sandbox-testing)
#   end2end      the built demo + proxy + sandbox on free loopback ports, and the SSR example
#                under `cargo leptos serve`, driven by Playwright
#   bench-smoke  the benchmark program at tiny sizes (proves it still runs; no figures kept)
#   package      `cargo package` of the published crates (dots-api, dots-sandbox, dots-proxy,
#                dots-flow), each verified by building it from its own package
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh" || { echo "setup failed"; exit 1; }
# Keep going after a failed step so the summary covers everything.
set +e

LOGS="$(mktemp -d)"

# A throwaway PostgreSQL cluster on a free loopback port, for the proxy's database tests.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PG_DIR="$(mktemp -d /tmp/dots-flow-pg.XXXXXX)"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
start_postgres() {
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  chmod 755 "$PG_DIR" && as_root chown postgres "$PG_DIR" &&
    as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null &&
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
      -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null &&
    export DOTS_PROXY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}
stop_postgres() {
  [ -f "$PG_DIR/data/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null
  as_root rm -rf "$PG_DIR"
}
trap 'stop_postgres; rm -rf "$LOGS"' EXIT
if start_postgres; then
  say "PostgreSQL for the tests at ${DOTS_PROXY_TEST_POSTGRES_URL}"
else
  echo "could not start PostgreSQL; the proxy's PostgreSQL test will fail"; cat "$PG_DIR/log" 2>/dev/null
fi
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

run fmt bash -c "cargo fmt --all --check && cargo fmt --manifest-path examples/ssr/Cargo.toml --check && cargo fmt --manifest-path crates/dots-flow-element/Cargo.toml --check"
run clippy cargo clippy --workspace --all-targets -- -D warnings
run clippy-wasm cargo clippy -p dots-flow --features "csr lang-es" --all-targets --target wasm32-unknown-unknown -- -D warnings
run clippy-hydrate cargo clippy -p dots-flow --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings
run clippy-ssr cargo clippy -p dots-flow --features ssr --all-targets -- -D warnings
run clippy-example bash -c "cargo clippy --manifest-path examples/ssr/Cargo.toml --target-dir target --features ssr -- -D warnings && cargo clippy --manifest-path examples/ssr/Cargo.toml --target-dir target --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings"
run clippy-element cargo clippy --manifest-path crates/dots-flow-element/Cargo.toml --target-dir target --target wasm32-unknown-unknown -- -D warnings
run docs env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p dots-flow -p dots-api -p dots-proxy -p dots-sandbox
# dots-flow as docs.rs builds it (with `csr`: the component and hooks; without a mode, above, it is the engine only).
run docs-csr env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p dots-flow --features csr
run native cargo test --workspace
# The examples in dots-flow's rustdoc, in the modes where the component exists (the native run
# above covers the crate without a mode, and the other crates).
run doc-tests bash -c "cargo test --doc -p dots-flow --features csr && cargo test --doc -p dots-flow --features ssr"
run proxy-lean bash -c "cargo clippy -p dots-proxy --no-default-features --lib -- -D warnings && cargo test -p dots-proxy --no-default-features --lib"
run browser cargo test -p dots-flow --features csr --target wasm32-unknown-unknown --tests
run ssr cargo test -p dots-flow --features ssr --test ssr
run build-demo trunk build --release
run build-servers cargo build -p dots-proxy -p dots-sandbox
run build-ssr-example bash -c "cd examples/ssr && CARGO_TARGET_DIR='$ROOT/target' cargo leptos build"
run build-element ./scripts/build-element.sh
run build-sandbox-testing ./scripts/build-sandbox-testing.sh
run end2end bash -c "cd end2end && node --test --test-concurrency=1 tests/"
# `cargo package` builds each crate against the others it packages through a temporary local
# registry, whose sources it extracts under $CARGO_HOME/registry/src/-<hash>/ and never refreshes
# while the version stays the same: a copy left by an earlier run would be built instead of this
# checkout's. Those copies (our crates only, never a crates.io one) go first.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/dots-{api,sandbox,proxy,flow}-*
run package cargo package --allow-dirty -p dots-api -p dots-sandbox -p dots-proxy -p dots-flow
run bench-smoke cargo run -q -p dots-bench -- --quick --repetitions 1 --proxy-bin target/debug/dots-proxy --sandbox-bin target/debug/dots-sandbox

echo
say "summary"
printf '%s\n' "${report[@]}"
echo
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed steps: ${failed_steps[*]}"
fi
echo "summary: $total_passed passed, $total_failed failed"
[ ${#failed_steps[@]} -eq 0 ]
