#!/usr/bin/env bash
# Builds <dots-flow>, the component as a custom element, into pkg/element/ (outside dist/, which
# trunk empties on every build): dots-flow.js (the ES module to import; it loads the wasm and
# registers the element), dots-flow-core.js + dots-flow-core_bg.wasm (the component's engine
# and markup, release, wasm-opt -Oz; the modules and the stylesheet minified), dots-flow.d.ts
# and package.json. Vendor the folder or publish it to npm as it is. Prints the gzip size of
# what a page loads.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"

CRATE="$ROOT/crates/dots-flow-element"
OUT="$ROOT/pkg/element"
wasm="$ROOT/target/wasm32-unknown-unknown/release/dots_flow_element.wasm"

say "building the element's core (csr, release)"
cargo build --manifest-path "$CRATE/Cargo.toml" --target-dir "$ROOT/target" \
  --lib --target wasm32-unknown-unknown --release
rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name dots-flow-core "$wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals "$OUT/dots-flow-core_bg.wasm" -o "$OUT/dots-flow-core_bg.wasm"
# The element's module with the component's stylesheet in it (adopted by each shadow root).
esbuild --minify --log-level=warning "$ROOT/style/dots-flow.css" --outfile="$OUT/dots-flow.min.css"
python3 - "$CRATE/js/dots-flow.js" "$OUT/dots-flow.min.css" "$OUT/dots-flow.js" <<'PY'
import json, sys
module, css, out = sys.argv[1:]
text = open(module).read()
marker = '"/*DOTS_FLOW_CSS*/"'
assert marker in text, "the CSS marker is missing from dots-flow.js"
open(out, "w").write(text.replace(marker, json.dumps(open(css).read())))
PY
rm "$OUT/dots-flow.min.css"
cp "$CRATE/js/dots-flow.d.ts" "$CRATE/js/package.json" "$OUT/"
# Both modules minified (esbuild, from end2end's npm packages): wasm-bindgen's bindings are
# written to be read; minified they are 2.5 KiB gzip lighter.
for file in dots-flow.js dots-flow-core.js; do
  esbuild --minify --format=esm --log-level=warning "$OUT/$file" --outfile="$OUT/$file" --allow-overwrite
done

gz() { gzip -9 -c "$1" | wc -c; }
total=0
for file in dots-flow.js dots-flow-core.js dots-flow-core_bg.wasm; do
  total=$((total + $(gz "$OUT/$file")))
done
say "built $OUT: $(awk -v b="$total" 'BEGIN { printf "%.1f KiB", b / 1024 }') gzip for a page (dots-flow.js + dots-flow-core.js + the wasm)"
