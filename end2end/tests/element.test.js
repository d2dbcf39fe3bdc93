// Issue 16: <dots-flow>, the component as a custom element, on a plain HTML page with no Rust or
// framework of its own: one <script type=module> and one tag. The page and pkg/element (built by
// ./scripts/build-element.sh) are served by the real proxy with its in-process sandbox; the
// element is driven in headless Chromium through its attributes, properties, events and method.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startStack, launchBrowser, onboardAndComplete, root, eventually, watchPage, messageListenerCounter, siteWith } from "./harness.js";

let stack;
let browser;

before(async () => {
  stack = await startStack({ DOTS_PROXY_STATIC_DIR: siteWith(path.join(root, "end2end", "element", "plain")) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A page with the element's events recorded (window.__events) and its problems collected. */
async function openPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const { problems, creates } = watchPage(page);
  await page.addInitScript(() => {
    window.__events = [];
    for (const name of ["dots-ready", "dots-height", "dots-step-complete", "dots-flow-complete", "dots-error", "dots-expired"]) {
      document.addEventListener(name, (event) => {
        window.__events.push({ name, target: event.target.id, detail: event.detail, composed: event.composed, bubbles: event.bubbles });
      });
    }
  });
  await page.goto(stack.base);
  return { context, page, problems, creates };
}

const events = (page, target) =>
  page.evaluate((target) => window.__events.filter((e) => !target || e.target === target), target);

test("one tag: ready, themed, titled, status reflected, events with their details", async () => {
  const { context, page, problems, creates } = await openPage();
  const element = page.locator("dots-flow#onboarding");
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  const frame = element.locator("iframe");
  assert.equal(await frame.getAttribute("title"), "Tax details", "frame-title names the iframe");
  assert.equal(await element.getAttribute("title"), null, "no tooltip on the element itself");
  const styles = JSON.parse(new URL(await frame.getAttribute("src")).searchParams.get("styles"));
  assert.equal(styles.theme, "dark", JSON.stringify(styles));
  assert.equal(styles.variables.buttonBackgroundColor, "#7c3aed", "the styles attribute's variable");
  assert.deepEqual(creates, [{ steps: ["compliance"] }], "one flow asked for, with the tag's steps");
  const ready = await events(page, "onboarding");
  const first = ready.find((e) => e.name === "dots-ready");
  assert.ok(first, JSON.stringify(ready));
  assert.ok(first.bubbles && first.composed, "events bubble out of the shadow root");
  const height = ready.find((e) => e.name === "dots-height");
  assert.ok(height?.detail.height > 0, JSON.stringify(height));

  await onboardAndComplete(page.frameLocator("dots-flow#onboarding >> iframe"));
  await page.waitForSelector('dots-flow#onboarding[status="completed"]', { timeout: 15000 });
  const all = await events(page, "onboarding");
  const steps = all.filter((e) => e.name === "dots-step-complete").map((e) => e.detail);
  // The sign-in step is reported as what it is (and never counted: completion came with
  // compliance), each step once.
  assert.deepEqual(
    steps,
    [{ step: "onboarding", status: "completed" }, { step: "compliance", status: "completed" }],
    "each step once",
  );
  const done = all.filter((e) => e.name === "dots-flow-complete");
  assert.equal(done.length, 1);
  assert.deepEqual(done[0].detail.flow.completed_steps, ["onboarding", "compliance"]);
  assert.match(done[0].detail.flow.id, /^[0-9a-f-]{36}$/);
  assert.equal(await page.evaluate(() => document.querySelector("#onboarding").status), "completed");
  assert.deepEqual(problems, []);
  await context.close();
});

test("attributes re-theme or restart as the Leptos props do; steps with options through the property", async () => {
  const { context, page, problems, creates } = await openPage();
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  const frame = page.locator("dots-flow#onboarding iframe");
  const firstSrc = await frame.getAttribute("src");
  await page.evaluate(() => document.querySelector("#onboarding").setAttribute("theme", "light"));
  await eventually(async () => (await frame.getAttribute("src")) !== firstSrc, "re-themed");
  const themed = new URL(await frame.getAttribute("src"));
  assert.equal(JSON.parse(themed.searchParams.get("styles")).theme, "light");
  assert.equal(themed.pathname, new URL(firstSrc).pathname, "the same flow, re-themed");
  assert.equal(creates.length, 1, "a re-theme asks for no new flow");

  // Steps with their options, as objects, validated like the Rust types.
  const thrown = await page.evaluate(() => {
    try {
      document.querySelector("#onboarding").steps = [{ name: "manage-payouts", hide_continue_buton: true }];
      return null;
    } catch (err) {
      return `${err.name}: ${err.message}`;
    }
  });
  assert.match(thrown ?? "", /^TypeError: .*steps\[0\]\.hide_continue_buton/, "the unknown option is named");
  await page.evaluate(() => {
    document.querySelector("#onboarding").steps = [{ name: "manage-payouts", hide_continue_button: true }];
  });
  await eventually(async () => creates.length === 2, "a new flow for the new steps");
  assert.deepEqual(creates[1], { steps: [{ name: "manage-payouts", hide_continue_button: true }] });
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });

  // An option that does not apply to the step: the component refuses it before any request.
  await page.evaluate(() => {
    document.querySelector("#onboarding").steps = [{ name: "compliance", payout_fee_party: "user" }];
  });
  await page.waitForSelector('dots-flow#onboarding[status="error"]');
  const refused = (await events(page, "onboarding")).filter((e) => e.name === "dots-error").pop();
  assert.equal(refused.detail.kind, "invalid-steps");
  assert.equal(refused.detail.field, "steps[0].payout_fee_party");
  assert.equal(creates.length, 2, "nothing sent for refused steps");

  await page.evaluate(() => {
    document.querySelector("#onboarding").steps = ["compliance"];
  });
  await eventually(async () => creates.length === 3, "valid steps: a new flow");
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });

  // Attributes the component reads once restart it: once for several changes in one task.
  await page.evaluate(() => {
    const el = document.querySelector("#onboarding");
    el.setAttribute("min-height", "300");
    el.setAttribute("require-auth", "");
    el.setAttribute("hide-go-to-dashboard", "");
  });
  await eventually(async () => creates.length === 4, "one restart");
  assert.deepEqual(creates[3], { steps: ["compliance"], require_auth: true, hide_go_to_dashboard_on_complete: true });
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  // retry() starts over with a fresh flow.
  await page.evaluate(() => document.querySelector("#onboarding").retry());
  await eventually(async () => creates.length === 5, "retry asks for a fresh flow");
  await page.waitForTimeout(300);
  assert.equal(creates.length, 5);
  // Moved elsewhere in the page (disconnected, then connected): it starts afresh, with one
  // copy of its markup, not two.
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  await page.evaluate(() => {
    const moved = document.querySelector("#onboarding");
    const box = document.createElement("section");
    document.body.append(box);
    box.append(moved);
  });
  await eventually(async () => creates.length === 6, "a moved element asks for a fresh flow");
  await page.waitForSelector('section > dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  const copies = await page.evaluate(() => {
    const root = document.querySelector("#onboarding").shadowRoot;
    return [root.querySelectorAll(".dots-flow").length, root.querySelectorAll("iframe").length];
  });
  assert.deepEqual(copies, [1, 1], "one root and one frame after the move");
  assert.deepEqual(problems, []);
  await context.close();
});

test("a bad endpoint is a dots-error; two elements are isolated; removal leaves nothing listening", async () => {
  const { context, page, problems } = await openPage();
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  const messageListeners = await messageListenerCounter(context, page);
  const withOne = await messageListeners();

  await page.evaluate(() => {
    const bad = document.createElement("dots-flow");
    bad.id = "bad";
    bad.setAttribute("steps", "compliance");
    bad.setAttribute("endpoint", "/api/no-such-endpoint");
    document.body.append(bad);
    const second = document.createElement("dots-flow");
    second.id = "second";
    second.steps = ["compliance"]; // a property before the element is connected
    document.body.append(second);
  });
  await page.waitForSelector('dots-flow#bad[status="error"]', { timeout: 15000 });
  const error = (await events(page, "bad")).find((e) => e.name === "dots-error");
  assert.equal(error.detail.kind, "backend-rejected", JSON.stringify(error.detail));
  assert.equal(error.detail.status, 404);
  assert.ok(error.detail.message.length > 0);
  await page.waitForSelector('dots-flow#second[status="ready"]', { timeout: 30000 });
  assert.equal(await messageListeners(), withOne + 2, "each element listens while it is on the page");

  // A step completed in the second element's frame reaches the second element only.
  await onboardAndComplete(page.frameLocator("dots-flow#second >> iframe"));
  await page.waitForSelector('dots-flow#second[status="completed"]', { timeout: 15000 });
  assert.equal((await events(page, "second")).filter((e) => e.name === "dots-step-complete").length, 2, "sign-in and compliance");
  assert.equal((await events(page, "onboarding")).filter((e) => e.name === "dots-step-complete").length, 0);
  assert.equal(await page.locator("dots-flow#onboarding").getAttribute("status"), "ready");

  // Removed: its listener goes, and a message posted as its frame's would reach nobody.
  await page.evaluate(() => {
    for (const id of ["bad", "second", "onboarding"]) document.getElementById(id).remove();
  });
  await eventually(async () => (await messageListeners()) === withOne - 1, "every element's listener is gone");
  const before = (await events(page)).length;
  await page.waitForTimeout(500);
  assert.equal((await events(page)).length, before, "nothing fires after removal");
  assert.deepEqual(problems, ["404 /api/no-such-endpoint"], "only the bad endpoint's answer");
  await context.close();
});

test("the flow and metadata properties: a server-made flow is framed without a request; metadata goes with the next flow", async () => {
  const { context, page, problems, creates } = await openPage();
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  // A flow the page's server made (here the page asks the proxy itself, as a server would).
  const made = await page.evaluate(async () => {
    const answer = await fetch("/api/flows", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ steps: ["compliance"] }),
    });
    return answer.json();
  });
  assert.equal(creates.length, 2, "the tag's flow and the page's own");
  await page.evaluate((made) => {
    const element = document.createElement("dots-flow");
    element.id = "adopted";
    element.steps = ["compliance"];
    element.flow = made;
    document.body.append(element);
  }, made);
  await page.waitForSelector('dots-flow#adopted[status="ready"]', { timeout: 30000 });
  assert.equal(await page.locator("dots-flow#adopted iframe").getAttribute("src"), made.link, "the given flow, framed");
  assert.equal(creates.length, 2, "no request for a flow the element was given");
  const thrown = await page.evaluate(() => {
    try {
      document.querySelector("#adopted").flow = { id: "x", steps: [], completed_steps: [] };
      return null;
    } catch (err) {
      return `${err.name}: ${err.message}`;
    }
  });
  assert.match(thrown ?? "", /^TypeError: .*flow.*link/, "a flow without a link is refused, naming the field");

  await page.evaluate(() => {
    document.querySelector("#adopted").metadata = { order: "A-42", lines: [1, 2] };
  });
  await eventually(async () => creates.length === 3, "metadata restarts the element with a new flow");
  assert.deepEqual(creates[2].metadata, { order: "A-42", lines: [1, 2] });
  await page.waitForSelector('dots-flow#adopted[status="ready"]', { timeout: 30000 });
  assert.deepEqual(problems, []);
  await context.close();
});

test("the labels property: every text in another language, live; a bad label is refused naming it", async () => {
  const { context, page, problems } = await openPage();
  const element = page.locator("dots-flow#onboarding");
  await page.waitForSelector('dots-flow#onboarding[status="ready"]', { timeout: 30000 });
  const region = () => page.evaluate(() => document.querySelector("#onboarding").shadowRoot.querySelector("[role=status]").textContent);
  const lang = () => page.evaluate(() => document.querySelector("#onboarding").shadowRoot.querySelector("div").lang);
  assert.equal(await lang(), "en", "the built-in texts are English");
  assert.equal(await region(), "Tax details is ready.");

  await page.evaluate(() => {
    document.querySelector("#onboarding").labels = {
      lang: "es",
      ready: "{title} está lista.",
      stepCompleted: "{step}: completado.",
      completed: "{title}: todos los pasos están completos.",
      steps: { signIn: "Inicio de sesión", compliance: "Información fiscal" },
    };
  });
  assert.equal(await lang(), "es");
  assert.equal(await region(), "Tax details está lista.", "frame-title still names the flow");
  await onboardAndComplete(page.frameLocator("dots-flow#onboarding >> iframe"));
  await page.waitForSelector('dots-flow#onboarding[status="completed"]', { timeout: 15000 });
  assert.equal(await region(), "Tax details: todos los pasos están completos.");

  // A label that does not exist, or a text that is not a string: a TypeError naming it.
  const refused = await page.evaluate(() => {
    const said = [];
    for (const labels of [{ retyr: "x" }, { steps: { compliance: 3 } }]) {
      try {
        document.querySelector("#onboarding").labels = labels;
      } catch (err) {
        said.push(`${err.name}: ${err.message}`);
      }
    }
    return said;
  });
  assert.equal(refused.length, 2, JSON.stringify(refused));
  assert.match(refused[0], /^TypeError: <dots-flow> labels\.retyr: /);
  assert.match(refused[1], /^TypeError: <dots-flow> labels\.steps\.compliance: /);
  assert.equal(await lang(), "es", "a refused value changes nothing");
  assert.deepEqual(problems, []);
  await context.close();
});
