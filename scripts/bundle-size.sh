#!/usr/bin/env bash
# Prints the gzip size of the demo's wasm + js next to a bare Leptos hello-world built the same
# way (trunk --release, opt-level z, LTO, wasm-opt -Oz), and a page with just one <DotsFlow/>:
# that page minus hello-world is what the component costs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
measure() {  # dir dist [no-opt]
  local dir="$1" out="$2" target="index.html"
  if [ "${3:-}" = "no-opt" ]; then
    # The same page with wasm-opt switched off (a temporary copy beside the original).
    target="index.no-wasm-opt.html"
    sed 's/data-wasm-opt="z"/data-wasm-opt="0"/' "$dir/index.html" > "$dir/$target"
  fi
  (cd "$dir" && trunk build --release --dist "$out" "$target" >/dev/null 2>&1)
  [ "$target" = "index.html" ] || rm -f "$dir/$target"
  local wasm js
  wasm=$(gzip -9 -c "$out"/*_bg.wasm | wc -c)
  js=$(cat "$out"/*.js | gzip -9 | wc -c)
  echo $((wasm + js)) "$wasm" "$js"
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
read -r demo demo_wasm demo_js < <(measure "$ROOT" "$work/demo")
read -r component component_wasm component_js < <(measure "$ROOT/benches/component-only" "$work/component")
read -r hello hello_wasm hello_js < <(measure "$ROOT/benches/hello-world" "$work/hello")
read -r component_noopt _ _ < <(measure "$ROOT/benches/component-only" "$work/component-noopt" no-opt)
read -r hello_noopt _ _ < <(measure "$ROOT/benches/hello-world" "$work/hello-noopt" no-opt)
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
echo "bundle sizes (trunk --release with wasm-opt -Oz), gzip -9:"
echo "  demo (component + demo UI): $(kib "$demo")  (wasm $(kib "$demo_wasm"), js $(kib "$demo_js"))"
echo "  one <DotsFlow/> on a page:  $(kib "$component")  (wasm $(kib "$component_wasm"), js $(kib "$component_js"))"
echo "  bare Leptos hello-world:    $(kib "$hello")  (wasm $(kib "$hello_wasm"), js $(kib "$hello_js"))"
echo "  the component's cost:       $(kib $((component - hello)))  (one <DotsFlow/> minus hello-world)"
echo "  the demo's cost:            $(kib $((demo - hello)))  (ratio $(awk -v a="$demo" -v b="$hello" 'BEGIN { printf "%.2f", a / b }'))"
echo "without wasm-opt:"
echo "  one <DotsFlow/> on a page:  $(kib "$component_noopt")"
echo "  bare Leptos hello-world:    $(kib "$hello_noopt")"
echo "  the component's cost:       $(kib $((component_noopt - hello_noopt)))"
