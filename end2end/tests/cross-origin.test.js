// Issue 14: a front end on another origin of the same site (app on one port of 127.0.0.1, the
// proxy on another) calls the proxy with its session cookie, allowed by CORS for the configured
// origins only. Real Chromium, real proxy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startStack, launchBrowser } from "./harness.js";

let stack;
let browser;
let app;
let stranger;

function pageServer() {
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
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
