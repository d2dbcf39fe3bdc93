// Time to iframe, in headless Chromium on loopback: from the component's mount (its root
// appearing in the DOM) to the iframe's src being set, and to `ready` (the frame posted its
// first height). Median of N page loads (default 20). A benchmark: prints figures.
//   node bench/time-to-iframe.js [loads]
import { startStack, launchBrowser } from "../tests/harness.js";

const loads = Number(process.argv[2] || 20);
const stack = await startStack();
const browser = await launchBrowser();
const toSrc = [];
const toReady = [];
try {
  for (let i = 0; i < loads; i += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.__times = {};
      new MutationObserver(() => {
        const root = document.querySelector(".dots-flow");
        const t = window.__times;
        if (root && t.mount === undefined) t.mount = performance.now();
        if (root && t.src === undefined && root.querySelector("iframe[src]")) t.src = performance.now();
        if (root && t.ready === undefined && root.dataset.status === "ready") {
          t.ready = performance.now();
          console.debug("time-to-iframe: ready");
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    // Nothing is asked of the page until it is ready: `waitForSelector` would inject
    // Playwright's selector engine and run it on the main thread inside the measured window.
    const ready = page.waitForEvent("console", { predicate: (m) => m.text() === "time-to-iframe: ready", timeout: 20000 });
    await Promise.all([ready, page.goto(stack.base, { waitUntil: "commit" })]);
    const t = await page.evaluate(() => window.__times);
    toSrc.push(t.src - t.mount);
    toReady.push(t.ready - t.mount);
    await context.close();
  }
} finally {
  await browser.close();
  await stack.stop();
}
const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `min ${sorted[0].toFixed(1)} ms, median ${median.toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
};
console.log(`time to iframe over ${loads} loads of the demo (release build, loopback):`);
console.log(`  mount → iframe src set: ${stats(toSrc)}`);
console.log(`  mount → ready:          ${stats(toReady)}`);
