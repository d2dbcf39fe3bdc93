// The fault matrix, end to end: for each fault the local Dots injects on flow creation, what the
// proxy answers, what state the component shows, and how many flows reached "Dots" (never more
// than the browser asked for). Prints the matrix.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, launchBrowser } from "./harness.js";

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

const CASES = [
  { name: "latency 1.5 s", rule: { fault: "latency", latency_ms: 1500 }, proxy: 200, state: "ready", created: 1 },
  { name: "500", rule: { fault: "status", status: 500 }, proxy: 502, code: "upstream_unavailable", state: "error", created: 0 },
  { name: "502", rule: { fault: "status", status: 502 }, proxy: 502, code: "upstream_unavailable", state: "error", created: 0 },
  { name: "429", rule: { fault: "status", status: 429, retry_after: 3 }, proxy: 429, code: "rate_limited", state: "error", created: 0 },
  { name: "dropped connection", rule: { fault: "drop" }, proxy: 502, code: "upstream_unavailable", state: "error", created: 0 },
  // Dots created the flow but its answer was cut: the proxy must not retry the create.
  { name: "malformed body", rule: { fault: "malformed" }, proxy: 502, code: "upstream_unavailable", state: "error", created: 1 },
];

test("each fault on create: the proxy's answer, the component's state, flows created upstream", async () => {
  const rows = [];
  for (const c of CASES) {
    await stack.fault({ path: "/v2/flows", method: "POST", count: 1, ...c.rule });
    const before = await stack.upstreamFlows();
    const context = await browser.newContext();
    const page = await context.newPage();
    const answers = [];
    page.on("response", async (response) => {
      if (response.url().endsWith("/api/flows") && response.request().method() === "POST") {
        answers.push({ status: response.status(), body: await response.json().catch(() => null) });
      }
    });
    const started = Date.now();
    await page.goto(stack.base);
    const component = page.locator(".dots-flow").first();
    await page.waitForFunction(
      () => ["ready", "error"].includes(document.querySelector(".dots-flow")?.dataset.status),
      null,
      { timeout: 20000 },
    );
    const state = await component.getAttribute("data-status");
    const elapsed = Date.now() - started;
    const created = (await stack.upstreamFlows()) - before;
    const answer = answers[0];
    rows.push({ fault: c.name, proxy: `${answer.status} ${answer.body?.error ?? ""}`.trim(), component: state, "flows upstream": created, ms: elapsed });

    assert.equal(answer.status, c.proxy, `${c.name}: proxy status`);
    if (c.code) assert.equal(answer.body.error, c.code, `${c.name}: typed error`);
    assert.equal(state, c.state, `${c.name}: component state`);
    assert.equal(created, c.created, `${c.name}: flows created upstream`);
    if (c.state === "error") {
      assert.ok(await component.locator("[role=alert] .dots-flow__retry").isVisible(), `${c.name}: a retry button`);
      // The fault was for one request: retrying works and creates exactly one more flow.
      await component.locator(".dots-flow__retry").click();
      await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 20000 });
      assert.equal((await stack.upstreamFlows()) - before, c.created + 1, `${c.name}: one flow per retry`);
    } else {
      assert.ok(elapsed >= 1500, `${c.name}: the component waited (${elapsed} ms)`);
    }
    await context.close();
  }
  console.log("fault matrix (create):");
  console.table(rows);
});
