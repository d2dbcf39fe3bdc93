// The server-rendered example (issues 14 and 26), run as a Leptos user runs their app:
// `cargo leptos serve` in examples/ssr, with cargo-leptos' LEPTOS_SITE_ADDR on a free port
// (built beforehand by the test command's `cargo leptos build`, so this only checks that nothing
// changed). The flow is created while the page renders, so its iframe is in the first HTML and
// loads while the wasm is held back; hydration then adopts that same iframe (one load of the
// flow document, the same element) and replays what the flow posted before the wasm arrived.
// All of it under the page's nonce-based CSP, with no console error or warning. Ctrl-C stops
// cargo-leptos and the app.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { root, freePort, launchBrowser, onboardAndComplete, eventually, listening } from "./harness.js";

let browser;
let example;

/** Starts `cargo leptos serve` on a free port; resolves once the app says it listens. */
async function startExample() {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), "dots-flow-ssr-"));
  const child = spawn("cargo", ["leptos", "serve"], {
    cwd: path.join(root, "examples/ssr"),
    env: {
      ...process.env,
      NO_COLOR: "1",
      CARGO_TARGET_DIR: path.join(root, "target"),
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      DOTS_PROXY_DATA_DIR: dataDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = { child, port, dataDir, output: [] };
  child.stdout.on("data", (d) => run.output.push(d.toString()));
  child.stderr.on("data", (d) => run.output.push(d.toString()));
  run.text = () => run.output.join("");
  run.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const killer = setTimeout(() => child.kill("SIGKILL"), 10 * 60 * 1000);
  killer.unref();
  await new Promise((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/\S+?)\/?\s/.exec(run.text());
      if (match) {
        run.url = match[1];
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    run.exited.then(({ code }) => reject(new Error(`cargo leptos serve exited (${code}):\n${run.text().slice(-4000)}`)));
  });
  assert.equal(run.url, `http://127.0.0.1:${port}`, "the app listens where cargo-leptos says");
  // (cargo-leptos colours its words whatever NO_COLOR says.)
  assert.match(run.text(), new RegExp(`Serving\\S*\\s+at http://127\\.0\\.0\\.1:${port}\\b`), "cargo-leptos announced that address");
  return run;
}

before(async () => {
  browser = await launchBrowser();
  example = await startExample();
});

after(async () => {
  await browser?.close();
  if (example && example.child.exitCode === null) example.child.kill("SIGKILL");
  if (example) rmSync(example.dataDir, { recursive: true, force: true });
});

test("the first HTML holds the flow's iframe, a nonce CSP and the session cookie; a second view reuses the flow", async () => {
  const first = await fetch(`${example.url}/`);
  assert.equal(first.status, 200);
  const html = await first.text();
  const csp = first.headers.get("content-security-policy") ?? "";
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce, `a nonce in the policy: ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline/, "no 'unsafe-inline' anywhere");
  assert.match(csp, new RegExp(`style-src 'self' 'nonce-${nonce}';`), "inline styles only with the nonce");
  assert.match(csp, /frame-src http:\/\/127\.0\.0\.1:\d+;/, "frames only from the flow's origin");
  // Every inline script carries this response's nonce.
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
  assert.ok(scripts.length >= 3, "the early listener, the hydration loader, the resource data");
  for (const attrs of scripts) {
    if (!/\bsrc=/.test(attrs)) assert.match(attrs, new RegExp(`nonce="${nonce}"`), `inline <script${attrs}> has the nonce`);
  }
  assert.match(html, /window\.__dotsFlowEarly/, "the early message listener is in the page");
  // The component's stylesheet comes with the page (<DotsFlowStyles/>), with the nonce.
  const styles = [...html.matchAll(/<style([^>]*)>([\s\S]*?)<\/style>/g)];
  assert.ok(styles.some(([, attrs, css]) => attrs.includes(`nonce="${nonce}"`) && css.includes(".dots-flow__frame")), "the component's stylesheet is inline with the nonce");
  for (const [, attrs] of styles) assert.match(attrs, new RegExp(`nonce="${nonce}"`), `<style${attrs}> has the nonce`);
  // The app's own stylesheet, as cargo-leptos built it from its style-file.
  const appCss = await fetch(`${example.url}/pkg/dots_flow_ssr_example.css`);
  assert.equal(appCss.status, 200, "the app's style-file, built by cargo-leptos");
  const frame = /<iframe[^>]* src="(http:\/\/127\.0\.0\.1:\d+\/flow\/([0-9a-f-]+))"/.exec(html);
  assert.ok(frame, "the iframe with the flow link is in the first HTML");
  assert.doesNotMatch(html, /style="/, "no style attribute (the CSP has no style-src-attr)");
  const cookie = first.headers.get("set-cookie") ?? "";
  assert.match(cookie, /^dots_flow_session=[^;]+;.*HttpOnly/, "the session cookie is set by the page");
  assert.match(cookie, /SameSite=Lax/);

  const second = await fetch(`${example.url}/`, { headers: { cookie: cookie.split(";")[0] } });
  const again = /<iframe[^>]* src="(http:\/\/127\.0\.0\.1:\d+\/flow\/([0-9a-f-]+))"/.exec(await second.text());
  assert.equal(again?.[2], frame[2], "the same visitor's next view reuses the unfinished flow");
  assert.equal(second.headers.get("set-cookie"), null, "a fresh session is not set again");
  const third = await fetch(`${example.url}/`);
  const other = /\/flow\/([0-9a-f-]+)"/.exec(await third.text());
  assert.notEqual(other?.[1], frame[2], "another visitor gets a flow of their own");
});

test("the flow loads before the wasm arrives; hydration adopts the same iframe and replays its messages", async () => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  const flowDocuments = [];
  page.on("request", (r) => {
    if (r.isNavigationRequest() && r.frame() !== page.mainFrame()) flowDocuments.push(r.url());
  });
  // Hold the wasm back until the flow has loaded and posted.
  let release;
  const released = new Promise((r) => (release = r));
  let wasmRequested = false;
  await page.route("**/*.wasm", async (route) => {
    wasmRequested = true;
    await released;
    await route.continue();
  });

  await page.goto(`${example.url}/`, { waitUntil: "domcontentloaded" });
  const flowFrame = await eventually(async () => page.frames().find((f) => f.url().includes("/flow/")), "the flow's frame");
  await flowFrame.locator("#panel").waitFor();
  // The flow is up and has posted its height, to nobody but the early listener.
  await eventually(
    () => page.evaluate(() => (window.__dotsFlowEarly || []).some((e) => e.data && typeof e.data === "object" && "height" in e.data)),
    "the flow's {height} was kept by the early listener",
  );
  assert.ok(wasmRequested, "the page asked for its wasm (and is still waiting for it)");
  assert.equal(await page.locator(".dots-flow").getAttribute("data-status"), "loading", "not hydrated yet");
  assert.equal(await page.locator("#events li").count(), 0);
  await flowFrame.evaluate(() => (window.__loadedOnce = true));
  await page.evaluate(() => (window.__serverFrame = document.querySelector("iframe")));
  const heightBefore = await page.locator("iframe").evaluate((f) => f.getBoundingClientRect().height);
  assert.ok(heightBefore >= 240, `the stylesheet alone gives the frame a height before hydration (${heightBefore})`);

  release();
  await page.locator('.page[data-flow-status="ready"]').waitFor();
  await page.locator("#events li", { hasText: "ready" }).waitFor();
  assert.equal(await page.evaluate(() => document.querySelector("iframe") === window.__serverFrame), true, "hydration kept the server's iframe element");
  assert.equal(await flowFrame.evaluate(() => window.__loadedOnce === true), true, "the flow document was not reloaded");
  assert.equal(flowDocuments.length, 1, `the flow document is requested once: ${flowDocuments.join(", ")}`);
  // The replayed {height} sized the frame (the flow posts its page's height).
  const posted = await page.evaluate(() => window.__dotsFlowEarly.filter((e) => e.data && "height" in e.data).at(-1).data.height);
  // (After the stylesheet's short height transition.)
  await eventually(async () => {
    const shown = await page.locator("iframe").evaluate((f) => f.getBoundingClientRect().height);
    return Math.abs(shown - Math.max(240, posted)) <= 2 || new Error(`frame height ${shown}, posted ${posted}`);
  }, "the frame's height follows the replayed {height}");

  await onboardAndComplete(flowFrame);
  await page.locator("#events li", { hasText: "step compliance completed" }).waitFor();
  const events = await page.locator("#events li").allTextContents();
  assert.equal(events.filter((e) => e === "step compliance completed").length, 1, `one step callback: ${events}`);
  assert.equal(events.filter((e) => e === "ready").length, 1, `one ready: ${events}`);

  const violations = [];
  for (const frame of page.frames()) violations.push(...(await frame.evaluate(() => window.__cspViolations || []).catch(() => [])));
  assert.deepEqual(violations, [], "no CSP violation");
  assert.deepEqual(problems, [], "no console error or warning (hydration included)");
  await context.close();
});

test("Ctrl-C stops cargo-leptos and the app, which drains first", async () => {
  example.child.kill("SIGINT");
  const exit = await Promise.race([example.exited, new Promise((r) => setTimeout(() => r("timeout"), 20000))]);
  assert.notEqual(exit, "timeout", "stops within 20 s");
  assert.match(example.text(), /stopping: event streams told to reconnect/, "the app drained before it stopped");
  assert.equal(await listening(example.port), false, "nothing listens on its port any more");
  // Issue 14: the component's cleanup panicked when the server dropped a page on another thread.
  assert.doesNotMatch(example.text(), /panicked/, "the server never panicked");
});
