#!/usr/bin/env bash
# Builds <dots-flow>, the component as a custom element, into pkg/element/ (outside dist/, which
# trunk empties on every build):
#   dots-flow.js    the ES module to import: it loads the wasm and registers the element
#                   (js/dots-flow.js with the component's stylesheet and wasm-bindgen's
#                   bindings, bundled and minified by esbuild: one request, not two in a row)
#   dots-flow.wasm  the component's engine and markup (release, wasm-opt -Oz)
#   dots-flow.d.ts, package.json
# Vendor the folder or publish it to npm as it is. Prints the gzip size of what a page loads.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"

CRATE="$ROOT/crates/dots-flow-element"
OUT="$ROOT/pkg/element"
wasm="$ROOT/target/wasm32-unknown-unknown/release/dots_flow_element.wasm"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

say "building the element's core (release, wasm32)"
# The checkout's path out of the panic locations: the same bytes from any checkout (the budget
# below has little room).
RUSTFLAGS="--remap-path-prefix=$ROOT=dots-flow" \
  cargo build --manifest-path "$CRATE/Cargo.toml" --target-dir "$ROOT/target" \
  --lib --target wasm32-unknown-unknown --release
rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$work" --out-name dots-flow-core "$wasm"
wasm-opt -Oz --flatten --rereloop -Oz --converge --strip-producers --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals "$work/dots-flow-core_bg.wasm" -o "$OUT/dots-flow.wasm"
# The element's module with the component's stylesheet in it (adopted by each shadow root),
# next to the bindings it imports, then bundled into one module.
esbuild --minify --log-level=warning "$ROOT/style/dots-flow.css" --outfile="$work/dots-flow.min.css"
python3 - "$CRATE/js/dots-flow.js" "$work/dots-flow.min.css" "$work/dots-flow.js" <<'PY'
import json, sys
module, css, out = sys.argv[1:]
text = open(module).read()
marker = '"/*DOTS_FLOW_CSS*/"'
assert marker in text, "the CSS marker is missing from dots-flow.js"
open(out, "w").write(text.replace(marker, json.dumps(open(css).read())))
PY
esbuild --bundle --minify --format=esm --log-level=warning "$work/dots-flow.js" \
  --outfile="$work/bundle.js"
# The bindings' own default URL of the wasm names it as wasm-bindgen did: the file is
# dots-flow.wasm (bundlers such as Vite resolve this URL at build time and warn if it is missing).
grep -q 'dots-flow-core_bg\.wasm' "$work/bundle.js"
sed 's/dots-flow-core_bg\.wasm/dots-flow.wasm/g' "$work/bundle.js" > "$OUT/dots-flow.js"
cp "$CRATE/js/dots-flow.d.ts" "$CRATE/js/package.json" "$OUT/"

gz() { gzip -9 -c "$1" | wc -c; }
js=$(gz "$OUT/dots-flow.js")
wasm_gz=$(gz "$OUT/dots-flow.wasm")
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
total=$((js + wasm_gz))
say "built $OUT: $(kib "$total") gzip for a page (dots-flow.js $(kib "$js"), dots-flow.wasm $(kib "$wasm_gz"))"
# The budget (issue 16): everything a page loads for the element, at most 60 KiB gzip.
budget=$((60 * 1024))
if [ "$total" -gt "$budget" ]; then
  echo "the element is over its budget: $(kib "$total") > $(kib "$budget") gzip" >&2
  exit 1
fi
