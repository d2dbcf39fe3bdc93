// Issue 16: <dots-flow> in a Vue 3 app built with Vite from npm packages (Vue sets an array as
// the element's property and binds `onDots…` handlers as listeners), served by the real proxy with
// its in-process sandbox, in headless Chromium: the element's properties and events through Vue,
// and Vue unmounting it removes its listener.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "vite";
import { startStack, launchBrowser, onboardAndComplete, root, eventually, watchPage, messageListenerCounter } from "./harness.js";

let stack;
let browser;
let site;

before(async () => {
  assert.ok(existsSync(path.join(root, "pkg", "element", "dots-flow.js")), "pkg/element is built (./scripts/build-element.sh)");
  site = mkdtempSync(path.join(tmpdir(), "dots-flow-vue-"));
  await build({
    configFile: path.join(root, "end2end", "element", "vue", "vite.config.js"),
    build: { outDir: site, emptyOutDir: true },
  });
  stack = await startStack({ DOTS_PROXY_STATIC_DIR: site });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("a Vue app embeds the element: property, events into Vue state, unmount cleans up", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { problems, creates } = watchPage(page);
  await page.addInitScript(() => {
    window.__events = [];
    for (const name of ["dots-ready", "dots-step-complete", "dots-flow-complete", "dots-error"]) {
      document.addEventListener(name, (event) => window.__events.push({ name, detail: event.detail }));
    }
  });
  await page.goto(stack.base);
  await page.waitForSelector('dots-flow[status="ready"]', { timeout: 30000 });
  assert.equal(await page.locator("#vue-status").textContent(), "ready", "dots-ready reached Vue");
  assert.deepEqual(creates, [{ steps: ["compliance"] }], "the steps property Vue set");
  const frame = page.locator("dots-flow iframe");
  assert.equal(await frame.getAttribute("title"), "Tax details (Vue)");
  assert.equal(JSON.parse(new URL(await frame.getAttribute("src")).searchParams.get("styles")).theme, "dark");

  const messageListeners = await messageListenerCounter(context, page);
  const mounted = await messageListeners();

  await onboardAndComplete(page.frameLocator("dots-flow >> iframe"));
  await page.waitForSelector('#vue-status:text("completed compliance")', { timeout: 15000 });
  assert.deepEqual(
    await page.locator("#vue-steps li").allTextContents(),
    ["compliance completed"],
    JSON.stringify(await page.evaluate(() => window.__events)),
  );

  await page.locator("#toggle").click();
  await eventually(async () => (await page.locator("dots-flow").count()) === 0, "Vue removed the element");
  await eventually(async () => (await messageListeners()) === mounted - 1, "its listener went with it");
  await page.locator("#toggle").click();
  await page.waitForSelector('dots-flow[status="ready"]', { timeout: 30000 });
  assert.equal(creates.length, 2, "mounted again: a fresh flow");
  assert.deepEqual(problems, []);
  await context.close();
});
