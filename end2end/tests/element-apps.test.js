// Issue 16: <dots-flow> in apps built with Vite from npm packages — React 19 (which sets an
// array prop as the element's property) and Vue 3 (which does too, and binds `onDots…` handlers
// as listeners; written with render functions, so no Vue plugin). Each app is served by the real
// proxy with its in-process sandbox and driven in headless Chromium: the element's properties and
// events through the framework, and the framework unmounting it removes its listener.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "vite";
import { startStack, launchBrowser, onboardAndComplete, root, eventually, watchPage, messageListenerCounter } from "./harness.js";

let browser;

before(async () => {
  assert.ok(existsSync(path.join(root, "pkg", "element", "dots-flow.js")), "pkg/element is built (./scripts/build-element.sh)");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** The app in end2end/element/<id>/ built by Vite into a fresh folder, served by a fresh stack. */
async function serveApp(id) {
  const site = mkdtempSync(path.join(tmpdir(), `dots-flow-${id}-`));
  await build({
    configFile: path.join(root, "end2end", "element", id, "vite.config.js"),
    build: { outDir: site, emptyOutDir: true },
  });
  return startStack({ DOTS_PROXY_STATIC_DIR: site });
}

for (const [name, id] of [["React", "react"], ["Vue", "vue"]]) {
  test(`a ${name} app embeds the element: property, events into ${name} state, unmount cleans up`, async () => {
    const stack = await serveApp(id);
    try {
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
      assert.equal(await page.locator(`#${id}-status`).textContent(), "ready", `dots-ready reached ${name}`);
      assert.deepEqual(creates, [{ steps: ["compliance"] }], `the steps property ${name} set`);
      const frame = page.locator("dots-flow iframe");
      assert.equal(await frame.getAttribute("title"), `Tax details (${name})`);
      assert.equal(JSON.parse(new URL(await frame.getAttribute("src")).searchParams.get("styles")).theme, "dark");

      const messageListeners = await messageListenerCounter(context, page);
      const mounted = await messageListeners();

      await onboardAndComplete(page.frameLocator("dots-flow >> iframe"));
      await page.waitForSelector(`#${id}-status:text("completed onboarding,compliance")`, { timeout: 15000 });
      assert.deepEqual(
        await page.locator(`#${id}-steps li`).allTextContents(),
        ["onboarding completed", "compliance completed"],
        JSON.stringify(await page.evaluate(() => window.__events)),
      );

      await page.locator("#toggle").click();
      await eventually(async () => (await page.locator("dots-flow").count()) === 0, `${name} removed the element`);
      await eventually(async () => (await messageListeners()) === mounted - 1, "its listener went with it");
      await page.locator("#toggle").click();
      await page.waitForSelector('dots-flow[status="ready"]', { timeout: 30000 });
      assert.equal(creates.length, 2, "mounted again: a fresh flow");
      assert.deepEqual(problems, []);
      await context.close();
    } finally {
      await stack.stop();
    }
  });
}
