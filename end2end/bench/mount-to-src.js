// Where the time between the component's mount and its iframe's `src` goes, on a page with
// just the component (benches/component-only, release build) served by dots-proxy: the
// request's start and network end (resource timing), when `fetch` resolves and the body is
// read (fetch wrapped in the page), when `src` appears, and, for comparison, the same request
// made once the page has settled. A benchmark: prints figures (medians of N loads).
// (Before 2026-11-24 it measured the demo page by mistake: the harness served dist/ whatever
// DOTS_PROXY_STATIC_DIR said.)
//   (cd benches/component-only && trunk build --release --dist /tmp/component-only)
//   node bench/mount-to-src.js /tmp/component-only [loads]
import { startStack, launchBrowser } from "../tests/harness.js";

const dist = process.argv[2];
const loads = Number(process.argv[3] || 20);
if (!dist) throw new Error("usage: node bench/mount-to-src.js <component-only dist dir> [loads]");
const stack = await startStack({ DOTS_PROXY_STATIC_DIR: dist });
const browser = await launchBrowser();
const rows = [];
const later = [];
try {
  for (let i = 0; i < loads; i += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const t = (window.__t = {});
      const original = window.fetch;
      window.fetch = async (...args) => {
        const response = await original(...args);
        if (String(args[0].url || args[0]).includes("/api/flows")) {
          t.resolved = performance.now();
          const text = response.text.bind(response);
          response.text = async () => {
            const body = await text();
            t.read = performance.now();
            return body;
          };
        }
        return response;
      };
      new MutationObserver(() => {
        const root = document.querySelector(".dots-flow");
        if (root && t.mount === undefined) t.mount = performance.now();
        if (root && t.src === undefined && root.querySelector("iframe[src]")) {
          t.src = performance.now();
          console.debug("dots-flow-bench: src");
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    // The page says when `src` is set (a console message) and nothing is asked of it until
    // then: `waitForSelector` injects Playwright's selector engine and `evaluate` runs a
    // script, each on the page's main thread, in the middle of what is measured (~5–30 ms).
    const srcSet = page.waitForEvent("console", { predicate: (m) => m.text() === "dots-flow-bench: src", timeout: 20000 });
    await Promise.all([srcSet, page.goto(stack.base, { waitUntil: "commit" })]);
    rows.push(
      await page.evaluate(() => {
        const t = window.__t;
        const e = performance.getEntriesByType("resource").find((x) => x.name.includes("/api/flows"));
        return { start: e.fetchStart - t.mount, end: e.responseEnd - t.mount, resolved: t.resolved - t.mount, read: t.read - t.mount, src: t.src - t.mount };
      }),
    );
    await page.waitForTimeout(300);
    later.push(
      await page.evaluate(async () => {
        const t0 = performance.now();
        const response = await fetch("/api/flows", { method: "POST", headers: { "content-type": "application/json" }, body: '{"steps":["compliance"]}' });
        await response.text();
        return performance.now() - t0;
      }),
    );
    await context.close();
  }
} finally {
  await browser.close();
  await stack.stop();
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)].toFixed(1);
console.log(`mount → (ms, median of ${loads} loads of benches/component-only):`);
for (const key of ["start", "end", "resolved", "read", "src"]) {
  const label = { start: "request start", end: "response end (network)", resolved: "fetch resolves", read: "body read", src: "iframe src set" }[key];
  console.log(`  ${label.padEnd(24)} ${median(rows.map((r) => r[key]))}`);
}
console.log(`the same request once the page has settled: ${median(later)} ms start → body read`);
