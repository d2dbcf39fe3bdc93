// Issue 23: Dots' guide says a flow posts `{height}` "when the flow is loaded for the first
// time". With the sandbox posting it only then, a person walks the whole demo journey at 375 px
// and at desktop width and reaches every field and button of every step, the tall W-9 form
// included: the component gives a flow that told its height once a window-tall frame after a
// silent step boundary, and the page scrolls inside it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startStack, launchBrowser, ensureOutputDir, walkPayoutJourney, eventually } from "./harness.js";

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

async function sandbox(method, route, body) {
  const response = await fetch(`${stack.sandbox}/_sandbox/${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${route}: ${response.status}`);
  return response.json();
}

/** Every visible field and button of the frame's current step can be brought into view and
 *  receives the pointer (Playwright scrolls the page and the frame as a person would). */
async function everyControlReachable(page, frame, where) {
  await frame.locator("#panel").waitFor();
  const controls = frame.locator("#panel input:not([type=hidden]), #panel select, #panel textarea, #panel button");
  const count = await controls.count();
  assert.ok(count > 0, `${where}: controls to reach`);
  const viewport = page.viewportSize();
  let reached = 0;
  for (let i = 0; i < count; i++) {
    const control = controls.nth(i);
    if (!(await control.isVisible())) continue;
    await control.hover({ trial: true, timeout: 5000 });
    const box = await control.boundingBox();
    assert.ok(box, `${where}: control ${i} has a box`);
    const middle = box.y + box.height / 2;
    assert.ok(middle >= 0 && middle <= viewport.height, `${where}: control ${i} in view (${middle} of ${viewport.height})`);
    reached += 1;
  }
  return reached;
}

async function walkWithFirstLoadHeights(page, width) {
  const dir = ensureOutputDir();
  const onboardingFrame = page.frameLocator(".dots-flow >> nth=0 >> iframe");
  const payoutFrame = page.frameLocator("section[aria-labelledby=step4] iframe");
  const frameHeight = (selector) =>
    page.locator(selector).evaluate((el) => Math.round(el.getBoundingClientRect().height));
  const reached = {};
  await walkPayoutJourney(page, {
    atState: async (state) => {
      if (state === "hosted page: sign-in") {
        reached[state] = await everyControlReachable(page, onboardingFrame, `${width}px ${state}`);
      }
      if (state === "hosted page: compliance") {
        // The flow told its height once (on first load); after the sign-in boundary it is
        // silent, and the frame grows to the window.
        const raw = await page.locator('#event-log li[data-kind="raw"][data-source="frame"]').allTextContents();
        const heights = raw.filter((t) => /\{"height":\d+\}/.test(t));
        assert.equal(heights.length, 1, `one height, on first load: ${heights}`);
        const window = page.viewportSize().height;
        await eventually(
          async () => (await frameHeight(".dots-flow >> nth=0 >> iframe")) === window,
          `${width}px: the frame grows to the window (${window}px) after a silent boundary`,
        );
        reached[state] = await everyControlReachable(page, onboardingFrame, `${width}px ${state}`);
        await page.screenshot({ path: path.join(dir, `first-load-heights-${width}-compliance.png`) });
      }
      if (state === "hosted page: payout") {
        reached[state] = await everyControlReachable(page, payoutFrame, `${width}px ${state}`);
      }
    },
  });
  assert.deepEqual(Object.keys(reached).sort(), ["hosted page: compliance", "hosted page: payout", "hosted page: sign-in"]);
  // The W-9 form has the most: SSN, date of birth, address lines, city, state, ZIP, save.
  assert.ok(reached["hosted page: compliance"] >= 8, JSON.stringify(reached));
}

test("heights on first load only, desktop: switched on from the demo's fault panel", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(stack.base);
  await page.locator('button[data-fault="first-load-heights"]').click();
  await page.waitForSelector("#fault-note:text('first load')");
  assert.equal((await sandbox("GET", "behaviour")).heights, "first-load");
  await page.reload();
  await walkWithFirstLoadHeights(page, 1280);
  await page.locator('button[data-fault="clear"]').click();
  await eventually(async () => (await sandbox("GET", "behaviour")).heights === "every-resize", "Clear restores every height");
  await context.close();
});

test("heights on first load only, 375 px", async () => {
  await sandbox("POST", "reset", {});
  await sandbox("PUT", "behaviour", { heights: "first-load" });
  const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(stack.base);
  await walkWithFirstLoadHeights(page, 375);
  await context.close();
});
