// The local sandbox's hosted flow pages, one per step kind, embedded by a parent page on
// another origin: the exact messages the parent receives, what each step changes, and
// Flow Styles applied to computed colours.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startSandbox, launchBrowser, accessibilityViolations } from "./harness.js";

let PARENT;
let parentServer;
let sandbox;
let browser;

// Parent pages are served from another loopback port, so the flow runs on another origin.
const parentPages = new Map();
let nextPage = 0;

before(async () => {
  sandbox = await startSandbox();
  browser = await launchBrowser();
  parentServer = createServer((req, res) => {
    const html = req.url === "/done" ? "<p id=done>back home</p>" : parentPages.get(req.url);
    res.writeHead(html ? 200 : 404, { "content-type": "text/html" });
    res.end(html || "not found");
  });
  await new Promise((resolve) => parentServer.listen(0, "127.0.0.1", resolve));
  PARENT = `http://127.0.0.1:${parentServer.address().port}`;
});

after(async () => {
  await browser?.close();
  await sandbox?.stop();
  await new Promise((resolve) => parentServer?.close(resolve));
});

let phoneCounter = 0;
async function newUser(lastName = "Lovelace") {
  phoneCounter += 1;
  return sandbox.api("POST", "/v2/users", {
    first_name: "Ada",
    last_name: lastName,
    email: "ada@example.com",
    country_code: "1",
    phone_number: `41555${String(10000 + phoneCounter).slice(-5)}`,
  });
}

/**
 * Opens a parent page on another origin embedding `link`, recording every message that
 * comes from the sandbox's origin. Returns the page, the frame and the message list.
 */
async function embed(link, { allow = "", query = "" } = {}) {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  const messages = [];
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.exposeFunction("recordMessage", (origin, data) => messages.push({ origin, data }));
  const html = `<!doctype html><html lang="en"><head><title>Parent page</title></head><body>
    <iframe id="flow" title="Dots flow" src="${link}${query}" allow="${allow}" style="width:100%;border:0"></iframe>
    <script>
      window.addEventListener("message", (event) => {
        if (event.origin === ${JSON.stringify(sandbox.base)}) window.recordMessage(event.origin, event.data);
      });
    </script></body></html>`;
  nextPage += 1;
  parentPages.set(`/parent-${nextPage}`, html);
  await page.goto(`${PARENT}/parent-${nextPage}`);
  const frame = page.frameLocator("#flow");
  await frame.locator("#panel").waitFor();
  return { context, page, frame, messages, errors };
}

async function waitForStep(messages, step) {
  for (let i = 0; i < 200; i += 1) {
    const found = messages.find((m) => m.data && m.data.step === step);
    if (found) return found.data;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no {step: ${step}} message; got ${JSON.stringify(messages)}`);
}

/** Every message is exactly one of the two documented shapes. */
function assertOnlyDocumentedMessages(messages) {
  assert.ok(messages.length > 0, "the frame posted messages");
  assert.ok("height" in messages[0].data, "the first message is the height");
  for (const { data } of messages) {
    const keys = Object.keys(data).sort().join(",");
    assert.ok(keys === "height" || keys === "status,step", `undocumented message ${JSON.stringify(data)}`);
    if (keys === "height") assert.ok(Number.isInteger(data.height) && data.height > 0, `height ${data.height}`);
  }
}

async function flowFor(steps, user) {
  return sandbox.api("POST", "/v2/flows", user ? { steps, user_id: user.id } : { steps });
}

test("onboarding signs in by phone and binds the user to the flow", async () => {
  const flow = await flowFor(["background-check"]);
  const { context, frame, messages } = await embed(flow.link);
  await frame.locator('input[name="first_name"]').fill("Ada");
  await frame.locator('input[name="last_name"]').fill("Lovelace");
  await frame.locator('input[name="email"]').fill("ada@example.com");
  await frame.locator('input[name="phone_number"]').fill("4155559876");
  await frame.locator("#send-code").click();
  await frame.locator('input[name="code"]').fill("000000");
  await frame.locator("#verify-code").click();
  await frame.locator("#error").waitFor();
  assert.match(await frame.locator("#error").textContent(), /Incorrect token/);
  await frame.locator('input[name="code"]').fill("123456");
  await frame.locator("#verify-code").click();
  await frame.locator('#panel[data-step="background-check"]').waitFor();
  const updated = await sandbox.api("GET", `/v2/flows/${flow.id}`);
  assert.ok(updated.user_id, "the flow has a user_id after onboarding");
  assertOnlyDocumentedMessages(messages);
  await context.close();
});

test("compliance validates, then records the TIN", async () => {
  const user = await newUser();
  const flow = await flowFor(["compliance"], user);
  const { context, frame, messages } = await embed(flow.link);
  const form = frame.locator("#compliance-form");
  await frame.locator('input[name="tin"]').fill("12345");
  await frame.locator("#complete-step").click();
  assert.equal(await form.evaluate((f) => f.checkValidity()), false, "a short TIN does not pass the form");
  await frame.locator('input[name="tin"]').fill("123456789");
  await frame.locator('input[name="date_of_birth"]').fill("1990-04-01");
  await frame.locator('input[name="line_1"]').fill("1 Main St");
  await frame.locator('input[name="city"]').fill("San Francisco");
  await frame.locator('input[name="state"]').fill("CA");
  await frame.locator('input[name="postcode"]').fill("94107");
  await frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(messages, "compliance"), { step: "compliance", status: "completed" });
  const after = await sandbox.api("GET", `/v2/users/${user.id}`);
  assert.equal(after.compliance.tax_id_verification, "pending");
  assertOnlyDocumentedMessages(messages);
  await context.close();
});

test("a field the server refuses keeps every entry, and is named for a person", async () => {
  const user = await newUser();
  const flow = await flowFor(["compliance"], user);
  const { context, frame, messages } = await embed(flow.link);
  const entries = { tin: "123-45-6789", date_of_birth: "1850-04-01", line_1: "1 Main St", line_2: "Apt 4",
    city: "San Francisco", state: "CA", postcode: "94107" };
  for (const [name, value] of Object.entries(entries)) await frame.locator(`input[name="${name}"]`).fill(value);
  await frame.locator("#complete-step").click();
  // The date picker accepts 1850; the server does not.
  await frame.locator("#error").waitFor();
  const error = await frame.locator("#error").textContent();
  assert.match(error, /^Date of birth: enter a valid date/, error);
  assert.ok(!error.includes("YYYY"), `no format a date picker's user never typed: ${error}`);
  for (const [name, value] of Object.entries(entries)) {
    assert.equal(await frame.locator(`input[name="${name}"]`).inputValue(), value, `${name} kept`);
  }
  const dob = frame.locator('input[name="date_of_birth"]');
  assert.equal(await dob.getAttribute("aria-invalid"), "true");
  assert.equal(await dob.evaluate((el) => el === document.activeElement), true, "focused");
  await dob.fill("1990-04-01");
  await frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(messages, "compliance"), { step: "compliance", status: "completed" });
  await context.close();
});

test("id-verification works without a camera and offers one only when allowed", async () => {
  const user = await newUser();
  const flow = await flowFor(["id-verification"], user);
  const without = await embed(flow.link);
  assert.equal(await without.frame.locator("#use-camera").count(), 0, "no camera button without allow=camera");
  await without.frame.locator("#use-sample-id").click();
  await without.frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(without.messages, "id-verification"), { step: "id-verification", status: "completed" });
  assert.equal((await sandbox.api("GET", `/v2/users/${user.id}`)).compliance.id_verified, true);
  await without.context.close();

  const other = await flowFor(["id-verification"], await newUser());
  const withCamera = await embed(other.link, { allow: "camera" });
  assert.equal(await withCamera.frame.locator("#use-camera").count(), 1, "a camera button when the iframe allows it");
  await withCamera.context.close();
});

test("background-check needs consent", async () => {
  const user = await newUser("Consider");
  const flow = await flowFor(["background-check"], user);
  const { context, frame, messages } = await embed(flow.link);
  await frame.locator('input[name="consent"]').check();
  await frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(messages, "background-check"), { step: "background-check", status: "completed" });
  const after = await sandbox.api("GET", `/v2/users/${user.id}`);
  assert.equal(after.compliance.background_check.status, "consider");
  assert.equal(after.compliance.has_criminal_activity, true);
  await context.close();
});

test("manage-payouts: completed when changed, completed-saved when saved unchanged", async () => {
  const user = await newUser();
  const first = await embed((await flowFor(["manage-payouts"], user)).link);
  await first.frame.locator('input[name="email"]').fill("ada@example.com");
  await first.frame.locator("#add-method").click();
  await first.frame.locator("#payout-methods li").first().waitFor();
  await first.frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(first.messages, "manage-payouts"), { step: "manage-payouts", status: "completed" });
  await first.context.close();
  assert.equal((await sandbox.api("GET", `/v2/users/${user.id}`)).default_payout_method, "paypal");

  const second = await embed((await flowFor(["manage-payouts"], user)).link);
  await second.frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(second.messages, "manage-payouts"), { step: "manage-payouts", status: "completed-saved" });
  assertOnlyDocumentedMessages(second.messages);
  await second.context.close();
});

test("manage-payouts with hide_continue_button keeps the user on the step", async () => {
  const user = await newUser();
  const flow = await flowFor([{ name: "manage-payouts", hide_continue_button: true }], user);
  const { context, frame, messages } = await embed(flow.link);
  assert.equal(await frame.locator("#complete-step").count(), 0, "no continue button");
  await frame.locator('input[name="email"]').fill("ada@example.com");
  await frame.locator("#add-method").click();
  assert.deepEqual(await waitForStep(messages, "manage-payouts"), { step: "manage-payouts", status: "completed" });
  await frame.locator('#panel[data-step="manage-payouts"]').waitFor();
  await context.close();
});

test("hide_continue_button keeps the user on every step Dots documents it for", async () => {
  // Without the option the page goes on to the next step; with it, the done step stays shown
  // with no way on (the app moves on, e.g. on the step's message). Redirect does not navigate.
  const finish = {
    compliance: async (frame) => {
      await frame.locator('input[name="tin"]').fill("123-45-6789");
      await frame.locator('input[name="date_of_birth"]').fill("1990-04-01");
      await frame.locator('input[name="line_1"]').fill("1 Main St");
      await frame.locator('input[name="city"]').fill("Oakland");
      await frame.locator('input[name="state"]').fill("CA");
      await frame.locator('input[name="postcode"]').fill("94612");
      await frame.locator("#complete-step").click();
    },
    "id-verification": async (frame) => {
      await frame.locator("#use-sample-id").click();
      await frame.locator("#complete-step").click();
    },
    "background-check": async (frame) => {
      await frame.locator('input[name="consent"]').check();
      await frame.locator("#complete-step").click();
    },
    "manage-payments": async (frame) => {
      await frame.locator('input[name="routing_number"]').fill("110000000");
      await frame.locator('input[name="account_number"]').fill("000123456789");
      await frame.locator("#complete-step").click();
    },
    redirect: async (frame) => frame.locator("#complete-step").click(),
  };
  for (const [step, act] of Object.entries(finish)) {
    for (const hide of [true, false]) {
      const first = step === "redirect" ? { name: step, redirect_url: `${PARENT}/done`, hide_continue_button: hide } : { name: step, hide_continue_button: hide };
      const flow = await flowFor([first, { name: "pdf-form-fill", template_id: "tpl_1" }], await newUser());
      const { context, page, frame, messages } = await embed(flow.link);
      await act(frame);
      assert.deepEqual(await waitForStep(messages, step), { step, status: "completed" }, step);
      if (hide) {
        await frame.locator(`#panel[data-step="${step}"] #step-done`).waitFor();
        assert.equal(await frame.locator("#panel button, #panel input").count(), 0, `${step}: nothing to go on with`);
        await new Promise((r) => setTimeout(r, 400));
        assert.equal(page.url().startsWith(`${PARENT}/parent-`), true, `${step}: the parent stays`);
        assert.equal(await frame.locator('#panel').getAttribute("data-step"), step, `${step}: still shown`);
      } else if (step === "redirect") {
        await page.waitForURL(`${PARENT}/done`);
      } else {
        await frame.locator('#panel[data-step="pdf-form-fill"]').waitFor();
      }
      await context.close();
    }
  }
});

test("manage-payments connects a bank account", async () => {
  const flow = await flowFor(["manage-payments"], await newUser());
  const { context, frame, messages } = await embed(flow.link);
  await frame.locator('input[name="routing_number"]').fill("110000000");
  await frame.locator('input[name="account_number"]').fill("000123456789");
  await frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(messages, "manage-payments"), { step: "manage-payments", status: "completed" });
  await context.close();
});

test("payout withdraws the wallet", async () => {
  const user = await newUser();
  await sandbox.api("POST", "/v2/transfers", { amount: -1500, user_id: user.id });
  const flow = await flowFor(["payout"], user);
  const { context, frame, messages } = await embed(flow.link);
  assert.equal(await frame.locator("#wallet-balance").textContent(), "$15.00");
  await frame.locator('input[name="email"]').fill("ada@example.com");
  await frame.locator("#add-method").click();
  await frame.locator("#complete-step:not([disabled])").click();
  assert.deepEqual(await waitForStep(messages, "payout"), { step: "payout", status: "completed" });
  const after = await sandbox.api("GET", `/v2/users/${user.id}`);
  assert.equal(after.wallet.amount, 0, "the wallet is empty after withdrawal");
  const payouts = await sandbox.api("GET", `/v2/transfers?user_id=${user.id}&type=payout`);
  assert.equal(payouts.data.length, 1);
  // The captured dialect (the sandbox's default) writes amounts as Dots' service does: text.
  assert.equal(payouts.data[0].amount, "1500");
  await context.close();
});

test("pdf-form-fill needs a signature", async () => {
  const flow = await flowFor([{ name: "pdf-form-fill", template_id: "tpl_w4" }], await newUser());
  const { context, frame, messages } = await embed(flow.link);
  assert.match(await frame.locator("#panel").textContent(), /tpl_w4/);
  await frame.locator('input[name="full_name"]').fill("Ada Lovelace");
  await frame.locator('input[name="signature"]').fill("Ada Lovelace");
  await frame.locator("#complete-step").click();
  assert.deepEqual(await waitForStep(messages, "pdf-form-fill"), { step: "pdf-form-fill", status: "completed" });
  await context.close();
});

test("redirect completes, then navigates the top window to the http(s) URL", async () => {
  const flow = await flowFor([{ name: "redirect", redirect_url: `${PARENT}/done` }], await newUser());
  const { context, page, frame, messages } = await embed(flow.link);
  await frame.locator("#complete-step").click();
  await page.waitForURL(`${PARENT}/done`);
  assert.deepEqual(await waitForStep(messages, "redirect"), { step: "redirect", status: "completed" });
  assert.equal(await page.locator("#done").textContent(), "back home");
  await context.close();
});

test("Flow Styles change computed colours; malformed styles are ignored", async () => {
  const flow = await flowFor(["pdf-form-fill"].map((name) => ({ name, template_id: "tpl_1" })), await newUser());
  const styles = {
    theme: "dark",
    variables: { buttonBackgroundColor: "#ff0000", buttonTextColor: "#00ff00", borderRadius: "20px", backgroundColor: "not a colour" },
  };
  const styled = await embed(flow.link, { query: `?styles=${encodeURIComponent(JSON.stringify(styles))}` });
  const button = styled.frame.locator("#complete-step");
  const css = await button.evaluate((b) => {
    const s = getComputedStyle(b);
    return { bg: s.backgroundColor, color: s.color, radius: s.borderTopLeftRadius, theme: document.documentElement.dataset.theme, body: getComputedStyle(document.body).backgroundColor };
  });
  assert.equal(css.bg, "rgb(255, 0, 0)");
  assert.equal(css.color, "rgb(0, 255, 0)");
  assert.equal(css.radius, "20px");
  assert.equal(css.theme, "dark");
  assert.equal(css.body, "rgb(11, 16, 32)", "an invalid colour keeps the theme's value");
  await styled.context.close();

  for (const query of ["?styles=%7Bnot%20json", "?styles=42", "?styles=%5B%5D", "?styles=%7B%22variables%22%3A7%7D"]) {
    const broken = await embed(flow.link, { query });
    const bg = await broken.frame.locator("#complete-step").evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(bg, "rgb(79, 70, 229)", `${query}: default colours`);
    assert.deepEqual(broken.errors, [], `${query}: no page errors`);
    await broken.context.close();
  }
});

test("an expired pre-authenticated link says so", async () => {
  const flow = await flowFor(["payout"], await newUser());
  const response = await fetch(`${sandbox.base}/_sandbox/clock/advance`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ seconds: 16 * 60 }),
  });
  assert.equal(response.status, 200);
  const { context, frame } = await embed(flow.link);
  assert.match(await frame.locator("#panel h1").textContent(), /expired/);
  await context.close();
});

test("the page fits a 320px-wide frame", async () => {
  const flow = await flowFor(["compliance"], await newUser());
  const { context, page, frame } = await embed(flow.link);
  await page.setViewportSize({ width: 320, height: 700 });
  await page.locator("#flow").evaluate((f) => { f.style.width = "320px"; });
  await frame.locator("#complete-step").waitFor();
  const overflow = await frame.locator("body").evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
  await context.close();
});

test("every hosted page, in each state and both themes, has no serious accessibility violation (issue 11)", async () => {
  const failures = [];
  const scan = async (page, label) => {
    for (const line of await accessibilityViolations(page)) failures.push(`${label}: ${line}`);
  };
  const steps = [
    ["compliance"],
    ["id-verification"],
    ["background-check"],
    ["manage-payouts"],
    [{ name: "manage-payouts", hide_continue_button: true }],
    ["manage-payments"],
    ["payout"],
    [{ name: "pdf-form-fill", template_id: "tpl_w9" }],
    [{ name: "redirect", redirect_url: `${PARENT}/done` }],
  ];
  for (const theme of ["light", "dark"]) {
    const query = `?styles=${encodeURIComponent(JSON.stringify({ theme }))}`;
    // Sign-in: the phone form, a wrong code's error, then the step.
    const signIn = await embed((await flowFor(["background-check"])).link, { query });
    await scan(signIn.page, `${theme} sign-in`);
    await signIn.frame.locator('input[name="first_name"]').fill("Ada");
    await signIn.frame.locator('input[name="last_name"]').fill("Lovelace");
    await signIn.frame.locator('input[name="email"]').fill("ada@example.com");
    await signIn.frame.locator('input[name="phone_number"]').fill(`41555${String(20000 + phoneCounter++).slice(-5)}`);
    await signIn.frame.locator("#send-code").click();
    await signIn.frame.locator('input[name="code"]').fill("000000");
    await signIn.frame.locator("#verify-code").click();
    await signIn.frame.locator("#error").waitFor();
    await scan(signIn.page, `${theme} sign-in, wrong code`);
    await signIn.context.close();

    for (const step of steps) {
      const label = `${theme} ${typeof step[0] === "string" ? step[0] : JSON.stringify(step[0])}`;
      const { context, page, frame } = await embed((await flowFor(step, await newUser())).link, { query });
      await scan(page, label);
      if (step[0] === "background-check") {
        await frame.locator('input[name="consent"]').check();
        await frame.locator("#complete-step").click();
        await frame.locator('#panel[data-step="done"]').waitFor();
        await scan(page, `${label}, done`);
      }
      await context.close();
    }

    const expired = await flowFor(["payout"], await newUser());
    await fetch(`${sandbox.base}/_sandbox/clock/advance`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ seconds: 16 * 60 }),
    });
    const gone = await embed(expired.link, { query });
    await scan(gone.page, `${theme} expired link`);
    await gone.context.close();
  }
  assert.deepEqual(failures, [], "no serious or critical violation on any hosted page");
});
