// First load of a page with the component, three ways, in one run (loads interleaved), headless
// Chromium on loopback, release servers:
//   CSR           benches/component-only: the wasm mounts <DotsFlow/>, which asks the proxy
//   CSR+prefetch  the same page built with `--features prefetch`: the flow is asked for as the
//                 wasm starts (a hover), the component mounts 150 ms later (the click)
//   SSR           examples/ssr: the server creates the flow while it renders; the iframe is in
//                 the first HTML
// Prints medians (ms) from navigation start: first byte of the page, the flow's creation request
// (CSR: POST /api/flows; SSR: inside the page's own request), the flow document's request (the
// iframe's navigation), the page's wasm arriving, the component `ready` (first {height}); and
// from the component's mount: its iframe's `src`, and `ready`.
//
//   cargo build --release -p dots-proxy
//   (cd benches/component-only && trunk build --release --dist /tmp/component-only &&
//    trunk build --release --features prefetch --dist /tmp/component-prefetch)
//   (cd examples/ssr && CARGO_TARGET_DIR=../../target cargo leptos build --release)
//   cd end2end && DOTS_BIN_DIR=../target/release node bench/first-load.js \
//     /tmp/component-only /tmp/component-prefetch ../target/release/dots-flow-ssr-example \
//     ../examples/ssr/target/site 20
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startStack, launchBrowser, freePort } from "../tests/harness.js";

const [csrDist, prefetchDist, ssrBin, ssrSite, loadsArg] = process.argv.slice(2);
if (!ssrSite) throw new Error("usage: node bench/first-load.js <csr dist> <prefetch dist> <ssr server> <ssr site root> [loads]");
const loads = Number(loadsArg || 20);

/** The SSR example's server on a free port (limits opened up: every load is a new visitor). */
async function startSsr() {
  const port = await freePort();
  // Run as `cargo leptos serve` runs it: the address and the site root from LEPTOS_*.
  const child = spawn(path.resolve(ssrBin), [], {
    env: {
      ...process.env,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.resolve(ssrSite),
      DOTS_ENV: "local",
      DOTS_PROXY_DATA_DIR: mkdtempSync(path.join(tmpdir(), "dots-ssr-bench-")),
      DOTS_PROXY_FLOWS_PER_MINUTE_PER_CLIENT: "1000",
      DOTS_PROXY_NEW_IDENTITIES_PER_MINUTE_PER_CLIENT: "1000",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening on http://")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`ssr server exited ${code}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: async () => child.kill("SIGTERM") };
}

const csr = await startStack({ DOTS_PROXY_STATIC_DIR: path.resolve(csrDist) });
const prefetch = await startStack({ DOTS_PROXY_STATIC_DIR: path.resolve(prefetchDist) });
const ssr = await startSsr();
const browser = await launchBrowser();
const pages = { CSR: csr.base, "CSR+prefetch": prefetch.base, SSR: `${ssr.base}/` };
const rows = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));

async function load(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    const t = (window.__t = {});
    addEventListener("message", (e) => {
      if (t.posted === undefined && e.data && typeof e.data === "object" && "height" in e.data) t.posted = e.timeStamp;
    });
    new MutationObserver(() => {
      const root = document.querySelector(".dots-flow");
      if (!root) return;
      const now = performance.now();
      if (t.mount === undefined) t.mount = now;
      if (t.src === undefined && root.querySelector("iframe[src]")) t.src = now;
      if (t.ready === undefined && root.dataset.status === "ready") {
        t.ready = now;
        console.debug("bench: ready");
      }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  // Nothing is asked of the page until it is ready (a console message): Playwright's own
  // scripts would run on the main thread inside what is measured.
  const ready = page.waitForEvent("console", { predicate: (m) => m.text() === "bench: ready", timeout: 20000 });
  await Promise.all([ready, page.goto(url, { waitUntil: "commit" })]);
  const row = await page.evaluate(() => {
    const t = window.__t;
    const entries = performance.getEntriesByType("resource");
    const nav = performance.getEntriesByType("navigation")[0];
    const create = entries.find((e) => e.name.includes("/api/flows"));
    const frame = entries.find((e) => e.initiatorType === "iframe" && e.name.includes("/flow/"));
    const wasm = entries.find((e) => e.name.endsWith(".wasm"));
    return {
      firstByte: nav.responseStart,
      create: create ? create.startTime : null,
      frame: frame ? frame.startTime : null,
      wasm: wasm ? wasm.responseEnd : null,
      posted: t.posted,
      ready: t.ready,
      mountSrc: t.src - t.mount,
      mountReady: t.ready - t.mount,
    };
  });
  await context.close();
  return row;
}

try {
  for (let i = 0; i < loads; i += 1) {
    for (const [name, url] of Object.entries(pages)) {
      rows[name].push(await load(url).catch((err) => Promise.reject(new Error(`${name}: ${err.message}`))));
    }
  }
} finally {
  await browser.close();
  await Promise.all([csr.stop(), prefetch.stop(), ssr.stop()]);
}

const median = (values) => {
  const known = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  return known.length ? known[Math.floor(known.length / 2)].toFixed(1) : "—";
};
const columns = [
  ["firstByte", "page first byte"],
  ["create", "flow create request"],
  ["frame", "flow document request"],
  ["wasm", "wasm arrived"],
  ["posted", "flow posts {height}"],
  ["ready", "ready"],
  ["mountSrc", "mount → src"],
  ["mountReady", "mount → ready"],
];
console.log(`medians of ${loads} loads each, ms from navigation start (last two: from the component's mount)`);
console.log(`| page | ${columns.map(([, label]) => label).join(" | ")} |`);
console.log(`|---|${columns.map(() => "---").join("|")}|`);
for (const [name, list] of Object.entries(rows)) {
  console.log(`| ${name} | ${columns.map(([key]) => median(list.map((r) => r[key]))).join(" | ")} |`);
}
