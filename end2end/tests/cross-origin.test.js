// Issue 14: a front end on another origin of the same site (app on one port of 127.0.0.1, the
// proxy on another) calls the proxy with its session cookie, allowed by CORS for the configured
// origins only. Real Chromium, real proxy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { startStack, launchBrowser, onboardAndComplete, root, watchPage } from "./harness.js";

let stack;
let browser;
let app;
let stranger;

/** The app's own server: a page, and under /element/ the built <dots-flow> (pkg/element). */
function pageServer() {
  const element = path.join(root, "pkg", "element");
  const types = { ".js": "text/javascript", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://app");
    if (url.pathname.startsWith("/element/")) {
      const file = path.join(element, path.basename(url.pathname));
      if (!existsSync(file)) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    if (url.pathname === "/element.html") {
      const api = url.searchParams.get("api");
      res.end(`<!doctype html><title>app</title><link rel="icon" href="data:,">
<script type="module" src="/element/dots-flow.js"></script>
<dots-flow steps="compliance" endpoint="${api}/api/flows" credentials="include"></dots-flow>`);
      return;
    }
    res.end("<!doctype html><title>app</title><p>app</p>");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

before(async () => {
  app = await pageServer();
  stranger = await pageServer();
  stack = await startStack({ DOTS_PROXY_ALLOWED_ORIGINS: `http://127.0.0.1:${app.address().port}` });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await new Promise((r) => app?.close(r));
  await new Promise((r) => stranger?.close(r));
});

/** Creates a flow, then reads it back, from a page at `origin`, with the cookie included. */
async function fromPage(origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(origin);
  const result = await page.evaluate(async (api) => {
    try {
      const created = await fetch(`${api}/api/flows`, {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ steps: ["compliance"] }),
      });
      const flow = await created.json();
      const again = await fetch(`${api}/api/flows/${flow.id}`, { credentials: "include" });
      return { created: created.status, link: flow.link, again: again.status };
    } catch (err) {
      return { error: String(err) };
    }
  }, stack.base);
  await context.close();
  return result;
}

test("an allowed origin calls the proxy with its session cookie", async () => {
  const result = await fromPage(`http://127.0.0.1:${app.address().port}/`);
  assert.equal(result.created, 200, JSON.stringify(result));
  assert.match(result.link, /\/flow\//);
  // The same session read it back: the cookie set by the first answer went with the second.
  assert.equal(result.again, 200, "the flow is this session's");
});

test("any other origin gets nothing it can read", async () => {
  const result = await fromPage(`http://127.0.0.1:${stranger.address().port}/`);
  assert.match(result.error ?? "", /Failed to fetch/, JSON.stringify(result));
});

test("the component on another origin: flows and its event stream from the proxy's origin, with the cookie", async () => {
  // Issue 15/16: the proxy names the stream by path; on a page of another origin that path is
  // the endpoint's origin's, not the page's. <dots-flow> is the component, served by the app.
  assert.ok(existsSync(path.join(root, "pkg", "element", "dots-flow.js")), "pkg/element is built");
  const context = await browser.newContext();
  const page = await context.newPage();
  const { problems, creates } = watchPage(page);
  const streams = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/events") streams.push(request.url());
  });
  await page.addInitScript(() => {
    window.__steps = [];
    document.addEventListener("dots-step-complete", (event) => window.__steps.push(event.detail.step));
  });
  const appOrigin = `http://127.0.0.1:${app.address().port}`;
  await page.goto(`${appOrigin}/element.html?api=${encodeURIComponent(stack.base)}`);
  await page.waitForSelector('dots-flow[status="ready"]', { timeout: 30000 });
  assert.equal(creates.length, 1);
  assert.equal(streams.length, 1, JSON.stringify(streams));
  assert.equal(new URL(streams[0]).origin, stack.base, "the stream is the proxy's, not the page's");
  await onboardAndComplete(page.frameLocator("dots-flow >> iframe"));
  await page.waitForSelector('dots-flow[status="completed"]', { timeout: 15000 });
  // The sign-in step is reported too (as what it is), and never counted: completion came with
  // compliance.
  assert.deepEqual(await page.evaluate(() => window.__steps), ["onboarding", "compliance"]);
  assert.deepEqual(problems, []);
  await context.close();
});
