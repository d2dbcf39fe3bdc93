// Issue 13: a pre-authenticated link that expires while the user is filling in a step. The
// component used to reload the frame 60 s before the expiry whatever the user was doing, so a
// half-filled form was lost. The real stack: proxy + in-process sandbox + the built demo page in
// headless Chromium. Time is moved on both sides: the sandbox's clock (the link expires at
// "Dots") and the page's clock (Playwright's fake clock, so the component's timers fire).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, launchBrowser, onboardAndComplete, fill, pauseFor, PERSON, eventually } from "./harness.js";

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

/** Moves the sandbox's clock (where the link lives) on by `seconds`. */
async function advanceSandbox(seconds) {
  const response = await fetch(`${stack.sandbox}/_sandbox/clock/advance`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ seconds }),
  });
  assert.equal(response.status, 200, "the sandbox clock moved");
}

test("a link that expires while the user types is never reloaded under them", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.clock.install(); // runs in real time until the test moves it
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  // Every document the flow frames load, in order (a reload is a new entry).
  const loads = [];
  page.on("framenavigated", (frame) => {
    if (frame !== page.mainFrame() && frame.url().includes("/flow/")) loads.push(frame.url());
  });
  await page.goto(stack.base);
  const log = page.locator("#event-log");

  // A known user: onboarding binds this browser's session to a Dots user.
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 30000 });
  await onboardAndComplete(page.frameLocator(".dots-flow >> nth=0 >> iframe"));
  await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.querySelector("#user-id")?.textContent ?? ""));

  // Compliance again: a pre-authenticated link (no sign-in), valid 15 minutes.
  await page.locator('button[data-try="compliance"]').click();
  const card = page.locator('.demo-try[data-trying="compliance"]');
  const frame = page.frameLocator('.demo-try[data-trying="compliance"] iframe');
  await frame.locator('#panel[data-step="compliance"]').waitFor();
  await card.locator('.dots-flow[data-status="ready"]').waitFor();
  const src = await card.locator("iframe").getAttribute("src");
  const loadsBefore = loads.filter((u) => u.startsWith(src.split("?")[0])).length;
  assert.equal(loadsBefore, 1, "the compliance page loaded once");
  // A mark in the page's document: gone if the frame ever reloads.
  await frame.locator("#panel").evaluate(() => { window.__sameDocument = "yes"; });

  // Half the form, typed as a person types.
  await fill(frame, { tin: "123-45-6789", date_of_birth: "1990-04-01", line_1: "1 Main St" }, PERSON);
  await pauseFor(PERSON);

  // The link's lifetime passes (16 minutes) at Dots and in the page.
  await advanceSandbox(16 * 60);
  await page.clock.fastForward("16:00");
  await new Promise((r) => setTimeout(r, 1500));

  assert.equal(await frame.locator("#panel").evaluate(() => window.__sameDocument), "yes", "the frame was not reloaded");
  assert.equal(await card.locator("iframe").getAttribute("src"), src, "the frame still shows its link");
  assert.equal(await frame.locator('input[name="tin"]').inputValue(), "123-45-6789", "what was typed is still there");
  assert.equal(await frame.locator('input[name="line_1"]').inputValue(), "1 Main St");
  assert.equal(await log.locator('li[data-kind="refreshed"]').count(), 0, "no new link under a step in progress");

  // The user finishes; the page opened in time still works, and the step completes.
  await fill(frame, { city: "Oakland", state: "CA", postcode: "94612" }, PERSON);
  await pauseFor(PERSON);
  await frame.locator("#complete-step").click();
  await log.locator('li[data-kind="step"][data-source="compliance"]').waitFor();
  await card.locator('.dots-flow[data-status="completed"]').waitFor();
  assert.equal(await frame.locator("#panel").evaluate(() => window.__sameDocument), "yes", "never reloaded");
  assert.equal(loads.filter((u) => u.startsWith(src.split("?")[0])).length, 1, "one load of the compliance page in all");
  const flowId = new URL(src).pathname.split("/").pop();
  const upstream = await fetch(`${stack.sandbox}/api/v2/flows/${flowId}`, {
    headers: { authorization: "Basic " + Buffer.from("e2e-client:e2e-secret-api-key-5b1d").toString("base64") },
  }).then((r) => r.json());
  assert.deepEqual(upstream.completed_steps, ["compliance"], "Dots recorded the step");

  // An expired frame is noticed: ID verification opens (pre-authenticated), the lifetime
  // passes while it shows, then a re-theme reloads the frame — the old link's page would now
  // say "expired"; the component swaps in a fresh link instead.
  await page.locator('button[data-try="id-verification"]').click();
  const idCard = page.locator('.demo-try[data-trying="id-verification"]');
  const idFrame = page.frameLocator('.demo-try[data-trying="id-verification"] iframe');
  await idFrame.locator('#panel[data-step="id-verification"]').waitFor();
  await idCard.locator('.dots-flow[data-status="ready"]').waitFor();
  const oldSrc = await idCard.locator("iframe").getAttribute("src");
  await advanceSandbox(16 * 60);
  await page.clock.fastForward("16:00");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await idCard.locator("iframe").getAttribute("src"), oldSrc, "still no swap while the step shows");
  await page.locator("#theme-select").selectOption("dark");
  await log.locator('li[data-kind="refreshed"][data-source="id-verification"]').waitFor();
  await eventually(async () => {
    const now = await idCard.locator("iframe").getAttribute("src");
    return now.split("?")[0] !== oldSrc.split("?")[0];
  }, "the frame shows a fresh link");
  await idFrame.locator('#panel[data-step="id-verification"]').waitFor();
  assert.equal(await idFrame.locator("html").getAttribute("data-theme"), "dark", "re-themed");
  await idCard.locator('.dots-flow[data-status="ready"]').waitFor();
  assert.equal(await idCard.locator("[role=alert]").count(), 0, "no error, no expired state");
  assert.deepEqual(errors, [], "no page errors");
  await context.close();
});
