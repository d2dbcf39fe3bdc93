// The fault matrix, end to end: for each fault the local Dots injects on flow creation, what the
// proxy answers, what state the component shows, and how many flows reached "Dots" (never more
// than the browser asked for). Prints the matrix.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, launchBrowser, onboardAndComplete } from "./harness.js";

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
  { name: "malformed body", rule: { fault: "malformed" }, proxy: 502, code: "upstream_unreadable", state: "error", created: 1 },
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


const RETRIEVE_CASES = [
  { name: "latency 1.5 s", rule: { fault: "latency", latency_ms: 1500 }, proxy: 200 },
  { name: "500", rule: { fault: "status", status: 500 }, proxy: 502, code: "upstream_unavailable" },
  { name: "502", rule: { fault: "status", status: 502 }, proxy: 502, code: "upstream_unavailable" },
  { name: "429", rule: { fault: "status", status: 429, retry_after: 3 }, proxy: 429, code: "rate_limited" },
  { name: "dropped connection", rule: { fault: "drop" }, proxy: 502, code: "upstream_unavailable" },
  { name: "malformed body", rule: { fault: "malformed" }, proxy: 502, code: "upstream_unreadable" },
];

test("each fault on retrieve: the proxy's answer to the component's confirmation, its state, flows upstream", async () => {
  const rows = [];
  for (const c of RETRIEVE_CASES) {
    await fetch(`${stack.sandbox}/_sandbox/faults`, { method: "DELETE" });
    const before = await stack.upstreamFlows();
    const context = await browser.newContext();
    const page = await context.newPage();
    const confirmations = [];
    page.on("response", async (response) => {
      if (/\/api\/flows\/[^/]+$/.test(new URL(response.url()).pathname) && response.request().method() === "GET") {
        confirmations.push({ status: response.status(), body: await response.json().catch(() => null) });
      }
    });
    await page.goto(stack.base);
    await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 20000 });
    // Every retrieve from Dots fails from now on (more than the proxy's retries use).
    await stack.fault({ path: "/v2/flows/", method: "GET", count: 50, ...c.rule });
    const frame = page.frameLocator(".dots-flow >> nth=0 >> iframe");
    await onboardAndComplete(frame);
    // The step message completes the flow; the confirmation the component then asks for fails
    // (or is slow) and changes nothing it shows. (The sign-in step's message asks for one too,
    // before compliance: the one that counts is the last, after the flow completed.)
    const component = page.locator(".dots-flow").first();
    await page.waitForSelector('.dots-flow[data-status="completed"]', { timeout: 15000 });
    const deadline = Date.now() + 15000;
    while (confirmations.length < 2 && Date.now() < deadline) await page.waitForTimeout(50);
    await page.waitForTimeout(200);
    const state = await component.getAttribute("data-status");
    const answer = confirmations[confirmations.length - 1];
    const created = (await stack.upstreamFlows()) - before;
    rows.push({ fault: c.name, proxy: answer ? `${answer.status} ${answer.body?.error ?? ""}`.trim() : "none", component: state, "flows upstream": created });

    assert.ok(answer, `${c.name}: the component asked the server to confirm`);
    assert.equal(answer.status, c.proxy, `${c.name}: proxy status`);
    if (c.code) assert.equal(answer.body.error, c.code, `${c.name}: typed error`);
    assert.equal(state, "completed", `${c.name}: the component keeps what the frame reported`);
    assert.equal(await component.locator("[role=alert]").count(), 0, `${c.name}: no error panel`);
    assert.equal(created, 1, `${c.name}: one flow upstream, retrieves create nothing`);
    await context.close();
  }
  await fetch(`${stack.sandbox}/_sandbox/faults`, { method: "DELETE" });
  console.log("fault matrix (retrieve):");
  console.table(rows);
});
