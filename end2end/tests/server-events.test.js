// Issue 15: the component hears the server. A step completed at "Dots" without the frame saying
// so (the hosted page posts nothing: the step is completed through the sandbox's control
// plane) reaches the component over the proxy's event stream, far sooner than its 10 s
// progress poll, and without a poll. The page's components and the demo's own listener share
// one EventSource (one HTTP/1.1 connection of the six a browser allows per server).
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

async function control(path, body) {
  const response = await fetch(`${stack.sandbox}/_sandbox${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${path}: ${await response.text()}`);
}

test("a step confirmed by the server reaches on_step_complete and on_flow_complete over the stream, not the poll", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  const streams = [];
  const polls = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname === "/api/events") streams.push({ url: request.url(), at: Date.now() });
    if (request.method() === "GET" && url.pathname.startsWith("/api/flows/")) polls.push({ path: url.pathname, at: Date.now() });
  });
  await page.goto(stack.base);
  const onboarding = page.locator(".dots-flow").first();
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 30000 });
  const src = await onboarding.locator("iframe").getAttribute("src");
  const flowId = new URL(src).pathname.split("/").filter(Boolean).pop();
  assert.ok(flowId, `a flow id in ${src}`);
  // The stream is open (the demo's log shows the session's server events as they come).
  await page.waitForFunction(() => true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(streams.length, 1, `one stream for the page: ${JSON.stringify(streams)}`);

  // At "Dots": the user signs in and completes compliance; the frame is not involved.
  const sent = Date.now();
  await control(`/flows/${flowId}/onboard`, {
    first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", country_code: "1", phone_number: "4155550190",
  });
  await control(`/flows/${flowId}/complete`, { step: "compliance" });
  await page.waitForSelector('#flow-status:text("completed")', { timeout: 9000 });
  const took = Date.now() - sent;

  const log = await page.locator("#event-log li").evaluateAll((items) =>
    items.map((li) => ({ source: li.dataset.source, kind: li.dataset.kind, detail: li.querySelector(".demo-log__detail")?.textContent ?? "" })),
  );
  const onboardingLog = log.filter((e) => e.source === "onboarding").reverse();
  const kinds = onboardingLog.map((e) => e.kind);
  assert.ok(kinds.includes("server-confirmed"), `a server event reached the component: ${JSON.stringify(onboardingLog)}`);
  assert.equal(kinds.filter((k) => k === "step").length, 1, `on_step_complete once: ${JSON.stringify(onboardingLog)}`);
  assert.ok(
    onboardingLog.some((e) => e.kind === "step" && e.detail === "compliance completed"),
    JSON.stringify(onboardingLog),
  );
  assert.equal(kinds.filter((k) => k === "flow-completed").length, 1, "on_flow_complete once");
  assert.equal(
    log.filter((e) => e.source === "frame" && e.detail.includes('"step"')).length,
    0,
    "the frame posted no step message: the server told the component",
  );
  const pollsAfter = polls.filter((p) => p.at >= sent && p.path.endsWith(flowId));
  assert.deepEqual(pollsAfter, [], "no progress poll was needed");
  console.log(`step completed at Dots → component completed: ${took} ms (the poll would take up to 10000 ms)`);
  assert.ok(took < 3000, `well before the 10 s poll: ${took} ms`);
  assert.equal(streams.length, 1, `still one stream: ${JSON.stringify(streams)}`);
  assert.deepEqual(errors, []);
  await context.close();
});
