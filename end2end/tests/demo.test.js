// The thin vertical slice, end to end: the demo page creates a flow through the proxy, the
// sandbox's hosted page loads in the iframe, a completed step shows up in the event log and in
// the proxy's view of the flow.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startStack, launchBrowser, ensureOutputDir, API_KEY } from "./harness.js";

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("a step completed in the iframe reaches the event log and the server", async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(`${msg.text()} @ ${msg.location().url}`));
  page.on("pageerror", (err) => consoleErrors.push(String(err)));

  await page.goto(stack.base);
  const component = page.locator(".dots-flow");
  await component.waitFor();
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 20000 });

  const frameElement = page.locator("iframe.dots-flow__frame");
  const src = await frameElement.getAttribute("src");
  assert.match(src, /^http:\/\/127\.0\.0\.1:\d+\/flow\/[0-9a-f-]{36}$/, "the iframe shows the sandbox's hosted page");
  assert.notEqual(new URL(src).origin, new URL(stack.base).origin, "the flow runs on another origin than the page");
  const frameHeight = await frameElement.evaluate((el) => el.getBoundingClientRect().height);
  assert.ok(frameHeight >= 240, `the frame follows the flow's height (got ${frameHeight}px)`);

  const log = page.locator("#event-log");
  await log.locator('li[data-kind="created"]').waitFor();
  await log.locator('li[data-kind="ready"]').waitFor();
  const flowId = (await page.locator("#flow-id").textContent()).trim();
  assert.match(flowId, /^[0-9a-f-]{36}$/, "the demo shows the flow id");

  const frame = page.frameLocator("iframe.dots-flow__frame");
  // The flow was created without a user: it starts by signing in (onboarding).
  await frame.locator('input[name="first_name"]').fill("Ada");
  await frame.locator('input[name="last_name"]').fill("Lovelace");
  await frame.locator('input[name="email"]').fill("ada@example.com");
  await frame.locator('input[name="phone_number"]').fill("4155550199");
  await frame.locator("#send-code").click();
  await frame.locator('input[name="code"]').fill("123456");
  await frame.locator("#verify-code").click();

  // Compliance: a real form with validation.
  await frame.locator('#panel[data-step="compliance"]').waitFor();
  await frame.locator('input[name="tin"]').fill("123-45-6789");
  await frame.locator('input[name="date_of_birth"]').fill("1990-04-01");
  await frame.locator('input[name="line_1"]').fill("1 Main St");
  await frame.locator('input[name="city"]').fill("San Francisco");
  await frame.locator('input[name="state"]').fill("CA");
  await frame.locator('input[name="postcode"]').fill("94107");
  await frame.locator("#complete-step").click();

  const stepEntry = log.locator('li[data-kind="step"]');
  await stepEntry.first().waitFor();
  assert.match(await stepEntry.first().textContent(), /compliance completed/, "the step event is logged");
  assert.equal(await page.locator("#flow-status").textContent(), "ready", "one of two steps is not the flow");

  await page.waitForFunction(() => document.querySelector("#server-completed")?.textContent.includes("compliance"));

  const response = await page.request.get(`${stack.base}/api/flows/${flowId}`);
  assert.equal(response.status(), 200);
  const body = await response.text();
  assert.deepEqual(JSON.parse(body).completed_steps, ["compliance"], "the proxy reports the completed step");
  assert.ok(!body.includes(API_KEY), "no key in the proxy's answer");

  const dir = ensureOutputDir();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(dir, "demo-desktop.png") });

  // Finish the flow: add a payout method, save; the component reports completion.
  await frame.locator('#panel[data-step="manage-payouts"]').waitFor();
  await frame.locator('input[name="email"]').fill("ada@example.com");
  await frame.locator("#add-method").click();
  await frame.locator("#payout-methods li").first().waitFor();
  await frame.locator("#complete-step").click();
  await page.waitForSelector('.dots-flow[data-status="completed"]');
  await log.locator('li[data-kind="flow-completed"]').waitFor();
  assert.match(
    (await log.locator('li[data-kind="step"]').nth(1).textContent()).trim(),
    /manage-payouts completed$/,
    "a changed payout setup is `completed`, not `completed-saved`",
  );

  await page.setViewportSize({ width: 375, height: 760 });
  await page.screenshot({ path: path.join(dir, "demo-375.png") });

  assert.deepEqual(consoleErrors, [], "no console errors");
  const html = await page.content();
  assert.ok(!html.includes(API_KEY), "no key in the page");
  assert.ok(!stack.logs.join("").includes(API_KEY), "no key in the proxy's logs");
  await context.close();
});

test("a bad request from the page is a typed error; a cross-site one is refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(stack.base);
  const answer = await page.evaluate(async () => {
    const response = await fetch("/api/flows", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ steps: ["compliance", "compliance"] }),
    });
    return { status: response.status, body: await response.json() };
  });
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error, "invalid_request");
  assert.equal(answer.body.field, "steps[1]");

  // A request that does not come from the page's origin (no Origin header) is refused.
  const forged = await page.request.post(`${stack.base}/api/flows`, { data: { steps: ["payout"] } });
  assert.equal(forged.status(), 403);
  assert.equal((await forged.json()).error, "forbidden_origin");
  await context.close();
});
