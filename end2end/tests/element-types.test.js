// Issue 16: dots-flow.d.ts is what TypeScript users type <dots-flow> with. `tsc --strict` checks
// a file of the element's uses: the right ones compile, and every `@ts-expect-error` line (a
// misspelt step option, an undocumented step, a wrong fee party, writing the read-only status,
// a height read as a string) must be refused by the typings, or tsc fails.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { root } from "./harness.js";

test("the element's typings accept its uses and refuse its misuses", () => {
  const tsc = path.join(root, "end2end", "node_modules", ".bin", "tsc");
  const project = path.join(root, "end2end", "element", "typescript", "tsconfig.json");
  const run = spawnSync(tsc, ["-p", project], { encoding: "utf8" });
  assert.equal(run.status, 0, `tsc:\n${run.stdout}${run.stderr}`);
});
