// The built front end (what ships to browsers) contains no secret: not the keys the end-to-end
// run uses, not the sandbox's built-in credentials or webhook secret.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { root, API_KEY, SANDBOX_API_KEY } from "./harness.js";

const SECRETS = {
  "end-to-end API key": API_KEY,
  "pages test API key": SANDBOX_API_KEY,
  "sandbox default API key": "sandbox-api-key",
  "sandbox default webhook secret": "ZG90cy1mbG93LWxvY2FsLXNhbmRib3gtc2VjcmV0",
  "decoded sandbox webhook key": "dots-flow-local-sandbox-secret",
};

test("the built wasm, js, html and css hold no secret", () => {
  const dist = path.join(root, "dist");
  const files = readdirSync(dist).filter((f) => /\.(wasm|js|html|css)$/.test(f));
  assert.ok(files.some((f) => f.endsWith(".wasm")) && files.some((f) => f.endsWith(".js")), `built files: ${files}`);
  for (const file of files) {
    const bytes = readFileSync(path.join(dist, file));
    const text = bytes.toString("latin1");
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!text.includes(secret), `${file} contains the ${name}`);
    }
  }
});
