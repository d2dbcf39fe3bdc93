// Issue 27: a host's own test of its page, written only against the npm test kit
// (pkg/sandbox-testing, built by ./scripts/build-sandbox-testing.sh): the element's plain page
// served by the real proxy and its local sandbox, a person onboarding in the iframe through the
// kit's helpers, and the sandbox's control plane through the kit's client (webhooks held and
// released, a fault on one operation, what Dots made). Its types are checked with tsc.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { startStack, launchBrowser, root, siteWith } from "./harness.js";

const kitDir = path.join(root, "pkg", "sandbox-testing");
assert.ok(existsSync(path.join(kitDir, "index.js")), "pkg/sandbox-testing is built (./scripts/build-sandbox-testing.sh)");
const { signIn, completeStep, pageError, SandboxControl, TIN_MISMATCH } = await import(
  pathToFileURL(path.join(kitDir, "index.js")).href
);

let stack;
let browser;

before(async () => {
  stack = await startStack({ DOTS_PROXY_STATIC_DIR: siteWith(path.join(root, "end2end", "element", "plain")) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("the kit's types fit Playwright's frames and refuse wrong uses (tsc --strict)", () => {
  const tsc = path.join(root, "end2end", "node_modules", ".bin", "tsc");
  const run = spawnSync(tsc, ["-p", path.join(root, "end2end", "sandbox-testing", "tsconfig.json")], { encoding: "utf8" });
  assert.equal(run.status, 0, `tsc:\n${run.stdout}${run.stderr}`);
});

test("a person onboards in the element's iframe; webhooks held, released; a fault on one operation", async () => {
  const dots = new SandboxControl(stack.sandbox);
  await dots.holdWebhooks();
  const page = await (await browser.newContext()).newPage();
  await page.goto(stack.base);
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  const frame = page.frameLocator("dots-flow#onboarding >> iframe");

  // A wrong code is the page's refusal, as the person sees it.
  await assert.rejects(signIn(frame, { phone: "(415) 555-0177", firstName: "Grace", code: "000000" }), /the page says/);
  assert.ok(await pageError(frame), "the page shows the error");
  await page.reload();
  await signIn(frame, { phone: "(415) 555-0177", firstName: "Grace", typeDelay: 15 });
  await completeStep(frame, "compliance", { tin: TIN_MISMATCH }, { typeDelay: 15 });
  // The page's own messages complete the element; the server's confirmation waits on Dots'
  // webhooks, which the sandbox is holding.
  await page.waitForSelector('dots-flow#onboarding[status="completed"]', { timeout: 15000 });
  const held = await dots.heldWebhooks();
  assert.ok(held.length >= 2 && held.every((h) => h.event_type === "flow.updated"), JSON.stringify(held));
  assert.equal((await dots.webhookAttempts()).length, 0, "nothing was sent while held");
  assert.equal(await dots.releaseWebhooks(), held.length);
  const deadline = Date.now() + 15000;
  while ((await dots.webhookAttempts()).filter((a) => a.delivered).length < held.length) {
    assert.ok(Date.now() < deadline, "the released webhooks reach the proxy");
    await new Promise((r) => setTimeout(r, 100));
  }
  const users = await dots.users();
  assert.deepEqual(users.map((u) => [u.first_name, u.phone_number?.phone_number]), [["Grace", "4155550177"]]);
  await dots.advanceClock(10);
  const [checked] = await dots.users();
  assert.equal(checked.compliance?.tax_id_verification, "mismatched", JSON.stringify(checked.compliance));

  // The next flow Dots is asked for fails once; the element says so, and its retry works.
  const flowsAsked = async () => (await dots.requests()).filter((r) => r.method === "POST" && r.path === "/v2/flows").length;
  const before = await flowsAsked();
  await dots.failNext("create-flow", 1, { fault: "status", status: 503 });
  await page.reload();
  await page.waitForSelector('dots-flow#onboarding[status="error"]', { timeout: 15000 });
  assert.deepEqual(await dots.faults(), [], "the rule retired after one call");
  await page.evaluate(() => document.querySelector("#onboarding").retry());
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 15000 });
  assert.equal(await flowsAsked(), before + 2, "Dots was asked twice: refused, then the retry");
});
