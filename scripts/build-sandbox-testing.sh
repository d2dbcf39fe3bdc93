#!/usr/bin/env bash
# Builds dots-sandbox-testing, the npm package of the sandbox test kit, into pkg/sandbox-testing/
# (as scripts/build-element.sh builds pkg/element/):
#   index.js, index.d.ts  Playwright helpers (signIn, completeStep, ...) and SandboxControl
#   control-plane.yaml    the sandbox's control plane as OpenAPI
#   package.json, README.md
# Vendor the folder or publish it to npm as it is (`npm pack pkg/sandbox-testing`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/crates/dots-sandbox/js"
OUT="$ROOT/pkg/sandbox-testing"

rm -rf "$OUT"
mkdir -p "$OUT"
cp "$SRC/index.js" "$SRC/index.d.ts" "$SRC/package.json" "$SRC/README.md" "$OUT/"
cp "$ROOT/crates/dots-sandbox/control-plane.yaml" "$OUT/"
# The module loads, and exports exactly what its types declare.
node -e '
  const fs = require("node:fs");
  const [js, dts] = process.argv.slice(1);
  import(js).then((kit) => {
    const declared = [...fs.readFileSync(dts, "utf8").matchAll(/^export (?:const|function|class) (\w+)/gm)]
      .map((m) => m[1]).sort();
    const actual = Object.keys(kit).sort();
    if (JSON.stringify(declared) !== JSON.stringify(actual)) {
      console.error("index.d.ts declares", declared, "but index.js exports", actual);
      process.exit(1);
    }
  });
' "$OUT/index.js" "$OUT/index.d.ts"
echo "built $OUT"
