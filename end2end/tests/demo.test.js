// The thin vertical slice, end to end: the demo page creates a flow through the proxy, the
// sandbox's hosted page loads in the iframe, a completed step shows up in the event log and in
// the proxy's view of the flow.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startStack, launchBrowser, ensureOutputDir, fill, onboardAndComplete, API_KEY } from "./harness.js";

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


test("the payout journey: onboard, user appears, host pays, user withdraws; theme editor", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(`${msg.text()} @ ${msg.location().url}`));
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(stack.base);

  // 1. Onboarding + compliance in the embedded flow.
  const onboarding = page.locator(".dots-flow").first();
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 20000 });
  const frameElement = onboarding.locator("iframe.dots-flow__frame");
  const src = await frameElement.getAttribute("src");
  assert.match(src, /^http:\/\/127\.0\.0\.1:\d+\/flow\/[0-9a-f-]{36}$/, "the iframe shows the sandbox's hosted page");
  assert.notEqual(new URL(src).origin, new URL(stack.base).origin, "the flow runs on another origin than the page");
  assert.equal(await page.locator("#user-id").textContent(), "not onboarded yet");
  assert.equal(await page.locator("#pay-user").isDisabled(), true, "nobody to pay yet");
  const frame = page.frameLocator(".dots-flow >> nth=0 >> iframe");
  await onboardAndComplete(frame);
  const log = page.locator("#event-log");
  await log.locator('li[data-kind="step"][data-source="onboarding"]').first().waitFor();
  assert.match(await log.locator('li[data-kind="step"]').first().textContent(), /compliance completed/);
  // The raw postMessages are logged too, exactly as the frame sent them.
  const raw = await log.locator('li[data-kind="raw"][data-source="frame"]').allTextContents();
  assert.ok(raw.some((t) => t.includes('{"step":"compliance","status":"completed"}')), `raw messages: ${raw.slice(0, 3)}`);
  assert.ok(raw.some((t) => /\{"height":\d+\}/.test(t)), "raw height messages");
  await page.waitForSelector("#flow-status:text('completed')");

  // 2. The user id arrives from the server (webhook → proxy → event stream).
  await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.querySelector("#user-id")?.textContent ?? ""));
  await log.locator('li[data-kind="user_bound"][data-source="server"]').waitFor();
  assert.equal(await page.locator("#app-wallet").textContent(), "$100.00", "sandbox apps start with $100");
  assert.equal(await page.locator("#user-wallet").textContent(), "$0.00");

  // 3. The host backend pays the user $25.
  await page.locator("#pay-user").click();
  await page.waitForSelector("#transfer-status:text('completed')");
  assert.equal(await page.locator("#user-wallet").textContent(), "$25.00");
  assert.equal(await page.locator("#app-wallet").textContent(), "$75.00");
  await log.locator('li[data-kind="transfer_updated"]').first().waitFor();

  const dir = ensureOutputDir();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(400); // let the cross-origin frames repaint after scrolling
  await page.screenshot({ path: path.join(dir, "demo-desktop.png") });

  // 4. A payout flow for the same user: no sign-in, then the wallet drops to zero.
  await page.locator("#start-payout").click();
  const payoutFrame = page.frameLocator("section[aria-labelledby=step4] iframe");
  await payoutFrame.locator('#panel[data-step="payout"]').waitFor();
  assert.equal(await payoutFrame.locator("#wallet-balance").textContent(), "$25.00");
  await fill(payoutFrame, { email: "ada@example.com" });
  await payoutFrame.locator("#add-method").click();
  await payoutFrame.locator("#complete-step:not([disabled])").click();
  await page.waitForSelector("#payout-status:text('completed')");
  await page.waitForSelector("#user-wallet:text('$0.00')");

  // Theme editor: a preset and a colour re-theme every embedded flow; the Rust code follows.
  const before = await page.locator("section[aria-labelledby=step4] iframe").getAttribute("src");
  await page.locator('button[data-preset="dark"]').click();
  await page.waitForFunction(() => document.querySelector("section[aria-labelledby=step4] iframe")?.src.includes("styles="));
  const themed = await page.locator("section[aria-labelledby=step4] iframe").getAttribute("src");
  assert.notEqual(themed, before);
  assert.match(decodeURIComponent(themed.split("styles=")[1]), /"theme":"dark"/);
  const picker = page.locator('input[data-variable="buttonBackgroundColor"]');
  await picker.evaluate((input) => {
    input.value = "#ff0000";
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  await page.waitForFunction(() => decodeURIComponent(document.querySelector("section[aria-labelledby=step4] iframe")?.src ?? "").includes('"buttonBackgroundColor":"#ff0000"'));
  const code = await page.locator("#rust-code").textContent();
  assert.match(code, /FlowStyle::light\(\)\.with_theme\(Theme::Dark\)/);
  assert.match(code, /\.with\(StyleVariable::ButtonBackgroundColor, "#ff0000"\)/);
  const chrome = await page.locator(".dots-flow").first().getAttribute("style");
  assert.match(chrome, /--dots-flow-button-background:#ff0000/, "the component's chrome follows");

  // The event log filters by kind.
  await page.locator("#log-filter").selectOption("step");
  const kinds = await log.locator("li").evaluateAll((items) => items.map((li) => li.dataset.kind));
  assert.ok(kinds.length > 0 && kinds.every((k) => k === "step"), `filtered: ${kinds}`);

  await page.setViewportSize({ width: 375, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(400);
  await page.screenshot({ path: path.join(dir, "demo-375.png") });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 375px (${overflow}px)`);
  await page.setViewportSize({ width: 320, height: 700 });
  const narrow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(narrow <= 0, `no horizontal scrolling at 320px (${narrow}px)`);
  // Keyboard: the primary controls are reachable with Tab.
  await page.locator("#amount").focus();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "pay-user", "Tab moves from the amount to the pay button");

  assert.deepEqual(consoleErrors, [], "no console errors");
  const html = await page.content();
  assert.ok(!html.includes(API_KEY), "no key in the page");
  assert.ok(!stack.logs.join("").includes(API_KEY), "no key in the proxy's logs");
  await context.close();
});

test("every other step kind can be tried alone", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(stack.base);
  for (const step of ["id-verification", "background-check", "manage-payouts", "manage-payments", "redirect", "pdf-form-fill"]) {
    await page.locator(`button[data-try="${step}"]`).click();
    const tryFrame = page.locator(`.demo-try[data-trying="${step}"] iframe`);
    await tryFrame.waitFor();
    const frame = page.frameLocator(`.demo-try[data-trying="${step}"] iframe`);
    // A new visitor signs in first; the step follows.
    await frame.locator("#panel").waitFor();
    assert.match(await frame.locator("#rail").textContent(), /Sign in/, `${step}: onboarding comes first`);
    if (step === "id-verification") {
      assert.equal(await tryFrame.getAttribute("allow"), "camera", "camera allowed for ID verification");
    }
  }
  await context.close();
});

test("the fault switch: an upstream error shows the retry state", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(stack.base);
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 20000 });
  await page.locator('button[data-fault="errors"]').click();
  await page.waitForSelector("#fault-note:text('502')");
  await page.locator('button[data-try="background-check"]').click();
  const card = page.locator('.demo-try[data-trying="background-check"] .dots-flow');
  await card.locator("[role=alert]").waitFor();
  assert.equal(await card.getAttribute("data-status"), "error");
  await card.locator(".dots-flow__retry").click();
  await page.waitForSelector('.demo-try[data-trying="background-check"] .dots-flow[data-status="ready"]', { timeout: 20000 });
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
