// Starts the built demo (dist/) behind the dots-proxy with its in-process local sandbox, on free
// loopback ports, and a headless Chromium. Everything stops by itself after the tests.
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { cpSync, existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "..", "..");
export const outputDir = path.resolve(here, "..", "output");

export const API_KEY = "e2e-secret-api-key-5b1d";
export const E2E_CLIENT_ID = "e2e-client";
export const SANDBOX_CLIENT_ID = "pages-client";
export const SANDBOX_API_KEY = "pages-secret-key-91c2";

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function listening(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitForHealth(url, child, logs, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${logs.join("")}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy:\n${logs.join("")}`);
}

/** Starts a binary of the workspace on `port` (default: a free one) and waits for its /healthz. */
export async function startServer(name, args, env, port = undefined) {
  port = port ?? (await freePort());
  const bin = path.join(process.env.DOTS_BIN_DIR || path.join(root, "target", "debug"), name);
  const logs = [];
  const child = spawn(bin, ["--addr", `127.0.0.1:${port}`, ...args], {
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => logs.push(d.toString()));
  child.stderr.on("data", (d) => logs.push(d.toString()));
  // Never outlive the test run.
  const killer = setTimeout(() => child.kill("SIGKILL"), 5 * 60 * 1000);
  killer.unref();
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(`${base}/healthz`, child, logs, 20000);
  return {
    base,
    port,
    logs,
    child,
    stop: async () => {
      clearTimeout(killer);
      // A child killed by a signal has no exit code but has exited: waiting for its "exit"
      // again would never end (the two-instance test kills one with SIGKILL).
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** Starts dots-sandbox on its own (Basic auth with the given credentials; `extraEnv` adds settings). */
export async function startSandbox(extraEnv = {}) {
  const server = await startServer("dots-sandbox", [], {
    DOTS_CLIENT_ID: SANDBOX_CLIENT_ID,
    DOTS_API_KEY: SANDBOX_API_KEY,
    ...extraEnv,
  });
  const auth = "Basic " + Buffer.from(`${SANDBOX_CLIENT_ID}:${SANDBOX_API_KEY}`).toString("base64");
  server.api = async (method, apiPath, body) => {
    const response = await fetch(`${server.base}/api${apiPath}`, {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => null);
    if (!response.ok) throw new Error(`${method} ${apiPath} → ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  return server;
}

/**
 * Starts dots-proxy serving dist/ with the local sandbox in-process (`extraEnv` adds settings;
 * its `DOTS_PROXY_STATIC_DIR` serves another built page instead of the demo).
 */
export async function startStack(extraEnv = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "dots-proxy-e2e-"));
  const sandboxPort = await freePort();
  const staticDir = extraEnv.DOTS_PROXY_STATIC_DIR ?? path.join(root, "dist");
  const stack = await startServer("dots-proxy", ["--static-dir", staticDir, "--data-dir", dataDir], {
    DOTS_ENV: "local",
    DOTS_PROXY_DEMO: "1",
    DOTS_API_KEY: API_KEY,
    DOTS_CLIENT_ID: E2E_CLIENT_ID,
    DOTS_SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`,
    // These tests open many fresh browser contexts (new identities) from one address within a
    // minute, far more than a person does; the limits themselves are tested in the proxy's
    // tests, and the demo-command test walks the demo with the default ones.
    DOTS_PROXY_FLOWS_PER_MINUTE_PER_IDENTITY: "1000",
    DOTS_PROXY_FLOWS_PER_MINUTE_PER_CLIENT: "1000",
    DOTS_PROXY_NEW_IDENTITIES_PER_MINUTE_PER_CLIENT: "1000",
    ...extraEnv,
  });
  // The in-process sandbox, for its control plane and for counting what reached "Dots".
  stack.sandbox = `http://127.0.0.1:${sandboxPort}`;
  const auth = "Basic " + Buffer.from(`${E2E_CLIENT_ID}:${API_KEY}`).toString("base64");
  stack.upstreamFlows = async () => {
    const response = await fetch(`${stack.sandbox}/api/v2/flows?limit=100`, { headers: { authorization: auth } });
    return (await response.json()).data.length;
  };
  stack.fault = async (rule) => {
    const response = await fetch(`${stack.sandbox}/_sandbox/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(rule),
    });
    if (!response.ok) throw new Error(`fault ${JSON.stringify(rule)}: ${response.status}`);
  };
  return stack;
}

/** A static site: `page` (a directory with index.html) plus the built element under element/. */
export function siteWith(page) {
  const element = path.join(root, "pkg", "element");
  assert.ok(existsSync(path.join(element, "dots-flow.js")), "pkg/element is built (./scripts/build-element.sh)");
  const site = mkdtempSync(path.join(tmpdir(), "dots-flow-element-"));
  cpSync(page, site, { recursive: true });
  cpSync(element, path.join(site, "element"), { recursive: true });
  return site;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // Playwright gives every launch a fresh, empty profile directory of its own.
  });
}

export function ensureOutputDir() {
  mkdirSync(outputDir, { recursive: true });
  return outputDir;
}

/**
 * How fast the tests act: `FAST` fills inputs at once; `PERSON` types each key with a delay and
 * pauses between steps, as someone using the page would.
 */
export const FAST = { typeDelay: 0, pause: 0 };
export const PERSON = { typeDelay: 60, pause: 700 };

/** Waits as long as `pace` pauses between steps (a locator's or page's owner does the waiting). */
export async function pauseFor(pace) {
  if (pace.pause > 0) await new Promise((r) => setTimeout(r, pace.pause));
}

/** Fills the inputs of a hosted flow page, by name, at `pace`. */
export async function fill(frame, values, pace = FAST) {
  for (const [name, value] of Object.entries(values)) {
    const input = frame.locator(`input[name="${name}"]`);
    // A date field is a picker: a person picks a date, keys would go to its segments.
    if (pace.typeDelay > 0 && (await input.getAttribute("type")) !== "date") {
      await input.click();
      await input.pressSequentially(value, { delay: pace.typeDelay });
    } else {
      await input.fill(value);
    }
  }
}

/**
 * Signs a new user up and completes compliance in the demo's onboarding frame. `atState(name)`
 * is called at each state of the hosted page (e.g. for an accessibility scan).
 */
export async function onboardAndComplete(frame, { pace = FAST, atState = async () => {} } = {}) {
  await frame.locator('#panel[data-step="onboarding"]').waitFor();
  await atState("hosted page: sign-in");
  await fill(frame, { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone_number: "4155550199" }, pace);
  await pauseFor(pace);
  await frame.locator("#send-code").click();
  await frame.locator('input[name="code"]').waitFor();
  await atState("hosted page: code");
  await fill(frame, { code: "123456" }, pace);
  await pauseFor(pace);
  await frame.locator("#verify-code").click();
  await frame.locator('#panel[data-step="compliance"]').waitFor();
  await atState("hosted page: compliance");
  await fill(frame, { tin: "123-45-6789", date_of_birth: "1990-04-01", line_1: "1 Main St", city: "San Francisco", state: "CA", postcode: "94107" }, pace);
  await pauseFor(pace);
  await frame.locator("#complete-step").click();
}

/**
 * Whether the withdrawal's payout flow asks the user to sign in again. The money-path issue (#12)
 * makes money-moving steps of cookie sessions require it: flip this one line when it lands.
 */
export const WITHDRAWAL_SIGNS_IN = true;

/** Signs the demo's user in again on a hosted page (the same details, then the sandbox code). */
async function signInAgain(frame, pace) {
  await frame.locator('#panel[data-step="onboarding"]').waitFor();
  await fill(frame, { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone_number: "4155550199" }, pace);
  await pauseFor(pace);
  await frame.locator("#send-code").click();
  await frame.locator('input[name="code"]').waitFor();
  await fill(frame, { code: "123456" }, pace);
  await frame.locator("#verify-code").click();
}

/** Polls `check` (async, truthy when done) until it holds, or fails with `message`. */
export async function eventually(check, message, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check().catch((err) => err);
    if (last && !(last instanceof Error)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${message} (last: ${last})`);
}

/** A colour as `#rrggbb`, from `#rrggbb` or `rgb(r, g, b)`. */
function hex(colour) {
  const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(colour.trim());
  if (!rgb) return colour.trim().toLowerCase();
  return "#" + rgb.slice(1, 4).map((n) => Number(n).toString(16).padStart(2, "0")).join("");
}

/**
 * The demo's payout journey, as the README tells it: onboard (sign-in + compliance in the
 * embedded flow), the new user appears, the host pays $25, the user withdraws; then the theme
 * editor re-themes the flows. `pace` is how fast to act; `atState(name)` is called at each state
 * of the page and of the hosted flow page in it.
 */
export async function walkPayoutJourney(page, { pace = FAST, atState = async () => {} } = {}) {
  const base = new URL(page.url()).origin;
  const log = page.locator("#event-log");

  // 1. Onboarding + compliance in the embedded flow.
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 30000 });
  const src = await page.locator(".dots-flow >> nth=0 >> iframe.dots-flow__frame").getAttribute("src");
  assert.match(src, /^http:\/\/127\.0\.0\.1:\d+\/flow\/[0-9a-f-]{36}$/, "the iframe shows the sandbox's hosted page");
  assert.notEqual(new URL(src).origin, base, "the flow runs on another origin than the page");
  assert.equal(await page.locator("#user-id").textContent(), "not onboarded yet");
  assert.equal(await page.locator("#pay-user").isDisabled(), true, "nobody to pay yet");
  assert.equal(
    await page.locator(".dots-flow >> nth=0 >> [role=status]").textContent(),
    "Dots onboarding is ready.",
    "the component's live region says the flow is ready",
  );
  // The page's own stylesheets apply (a policy blocking them once left the live region in
  // plain sight under `trunk serve`): the live region is read, not seen.
  const region = await page.locator(".dots-flow >> nth=0 >> [role=status]").evaluate((el) => {
    const s = getComputedStyle(el);
    return `${s.position} ${s.width} ${s.height}`;
  });
  assert.equal(region, "absolute 1px 1px", "the component's stylesheet is applied");
  const frame = page.frameLocator(".dots-flow >> nth=0 >> iframe");
  await onboardAndComplete(frame, { pace, atState });
  await log.locator('li[data-kind="step"][data-source="onboarding"]').first().waitFor();
  // The sign-in step is reported too (under the name this Dots gives it); compliance follows.
  const stepItems = await log.locator('li[data-kind="step"]').allTextContents();
  assert.ok(stepItems.some((t) => /compliance completed/.test(t)), `steps: ${stepItems}`);
  // The raw postMessages are logged too, exactly as the frame sent them.
  const raw = await log.locator('li[data-kind="raw"][data-source="frame"]').allTextContents();
  assert.ok(raw.some((t) => t.includes('{"step":"compliance","status":"completed"}')), `raw messages: ${raw.slice(0, 3)}`);
  assert.ok(raw.some((t) => /\{"height":\d+\}/.test(t)), "raw height messages");
  await page.waitForSelector("#flow-status:text('completed')");
  assert.equal(
    await page.locator(".dots-flow >> nth=0 >> [role=status]").textContent(),
    "Dots onboarding: every step is complete.",
    "the live region announces the end of the flow",
  );

  // 2. The user id arrives from the server (webhook → proxy → event stream).
  await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.querySelector("#user-id")?.textContent ?? ""));
  await log.locator('li[data-kind="user_bound"][data-source="server"]').waitFor();
  assert.equal(await page.locator("#app-wallet").textContent(), "$100.00", "sandbox apps start with $100");
  assert.equal(await page.locator("#user-wallet").textContent(), "$0.00");
  await atState("demo: onboarded");
  await pauseFor(pace);

  // 3. The host backend pays the user $25 (at a person's pace, with the keyboard: from the
  // amount, Tab to the button and press Enter).
  if (pace.typeDelay > 0) {
    await page.locator("#amount").focus();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "pay-user", "Tab reaches the pay button");
    await page.keyboard.press("Enter");
  } else {
    // An impatient double click: one intended payment, paid once (issue 12).
    await page.locator("#pay-user").dblclick();
  }
  await page.waitForSelector("#transfer-status:text('completed')");
  await page.waitForSelector("#pay-user:not([disabled])");
  assert.equal(await page.locator("#user-wallet").textContent(), "$25.00", "paid once");
  assert.equal(await page.locator("#app-wallet").textContent(), "$75.00", "charged once");
  await log.locator('li[data-kind="transfer_updated"]').first().waitFor();
  await atState("demo: paid");
  await pauseFor(pace);

  // 4. A payout flow for the same user: money moves only after the user signs in again (a
  // session cookie alone is not enough); then the wallet drops to zero.
  if (pace.typeDelay > 0) {
    await page.locator("#start-payout").focus();
    await page.keyboard.press("Enter");
  } else {
    await page.locator("#start-payout").click();
  }
  const payoutFrame = page.frameLocator("section[aria-labelledby=step4] iframe");
  if (WITHDRAWAL_SIGNS_IN) await signInAgain(payoutFrame, pace);
  await payoutFrame.locator('#panel[data-step="payout"]').waitFor();
  await atState("hosted page: payout");
  assert.equal(await payoutFrame.locator("#wallet-balance").textContent(), "$25.00");
  await fill(payoutFrame, { email: "ada@example.com" }, pace);
  await pauseFor(pace);
  await payoutFrame.locator("#add-method").click();
  await payoutFrame.locator("#complete-step:not([disabled])").click();
  await page.waitForSelector("#payout-status:text('completed')");
  await page.waitForSelector("#user-wallet:text('$0.00')");
  await atState("demo: withdrawn");
  await pauseFor(pace);

  // Theme editor. A swatch left alone shows the flow's own default for the chosen theme, marked
  // "not set": the colour the hosted page really uses.
  const swatch = page.locator('input[data-variable="buttonBackgroundColor"]');
  const swatchState = page.locator('[data-state-of="buttonBackgroundColor"]');
  const inEffect = () =>
    payoutFrame.locator("html").evaluate((html) => getComputedStyle(html).getPropertyValue("--dots-buttonBackgroundColor"));
  const themeOfFrame = () => payoutFrame.locator("html").getAttribute("data-theme");
  assert.equal(await swatchState.textContent(), "not set");
  await eventually(async () => hex(await inEffect()) === (await swatch.inputValue()), "light: the swatch shows the default in effect");
  await page.locator("#theme-select").selectOption("dark");
  await eventually(async () => (await themeOfFrame()) === "dark", "the flow re-themes to dark");
  assert.equal(await swatchState.textContent(), "not set");
  await eventually(async () => hex(await inEffect()) === (await swatch.inputValue()), "dark: the swatch shows the dark default in effect");
  await pauseFor(pace);

  // A preset and a colour re-theme every embedded flow; the Rust code and the chrome follow.
  const frameSrc = () => page.locator("section[aria-labelledby=step4] iframe").getAttribute("src");
  const before = await frameSrc();
  await page.locator('button[data-preset="dark"]').click();
  await eventually(async () => (await frameSrc()) !== before, "the preset re-themes the flow");
  assert.match(decodeURIComponent((await frameSrc()).split("styles=")[1]), /"theme":"dark"/);
  assert.equal(await swatchState.textContent(), "#c88bc4", "a preset's value shows as set");
  await pauseFor(pace);
  await swatch.evaluate((input) => {
    input.value = "#ff0000";
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  await eventually(async () => decodeURIComponent(await frameSrc()).includes('"buttonBackgroundColor":"#ff0000"'), "the picked colour reaches the flow");
  await eventually(async () => hex(await inEffect()) === "#ff0000", "the flow uses the picked colour");
  assert.equal(await swatchState.textContent(), "#ff0000");
  const code = await page.locator("#rust-code").textContent();
  assert.match(code, /FlowStyle::light\(\)\.with_theme\(Theme::Dark\)/);
  assert.match(code, /\.with\(StyleVariable::ButtonBackgroundColor, "#ff0000"\)/);
  const chrome = await page.locator(".dots-flow").first().evaluate((el) => el.style.getPropertyValue("--dots-flow-button-background"));
  assert.equal(chrome.trim(), "#ff0000", "the component's chrome follows");
  await atState("demo: themed");
  await pauseFor(pace);
  // Reset: back to "not set", and the flow back to its own default.
  await page.getByRole("button", { name: "Reset buttonBackgroundColor to the default" }).click();
  await eventually(async () => !decodeURIComponent(await frameSrc()).includes("buttonBackgroundColor"), "a reset variable leaves the link");
  assert.equal(await swatchState.textContent(), "not set");
  await eventually(async () => hex(await inEffect()) === (await swatch.inputValue()), "after a reset the swatch shows the default in effect");
}

/**
 * axe-core's serious and critical WCAG 2.1 A/AA violations on `page`, the frames in it included,
 * one line each, naming whether the node is on the page itself or inside a frame.
 */
export async function accessibilityViolations(page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const lines = [];
  for (const violation of results.violations) {
    if (violation.impact !== "serious" && violation.impact !== "critical") continue;
    for (const node of violation.nodes) {
      const where = node.target.length > 1 ? `in frame ${node.target[0]}` : "on the page";
      lines.push(`${violation.id} (${violation.impact}) ${where}: ${node.target.at(-1)} — ${node.failureSummary?.split("\n").slice(1).join(" ")}`);
    }
  }
  return lines;
}

/**
 * Records what a page does wrong (uncaught errors, console errors, HTTP answers ≥ 400 with
 * their paths; the console's own "Failed to load resource" line, which has no URL, is left to
 * the last) and the bodies of the flows it asks for (`POST /api/flows`).
 */
export function watchPage(page) {
  const problems = [];
  const creates = [];
  page.on("pageerror", (err) => problems.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) problems.push(msg.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  page.on("request", (request) => {
    if (request.method() === "POST" && new URL(request.url()).pathname === "/api/flows") {
      creates.push(JSON.parse(request.postData() ?? "null"));
    }
  });
  return { problems, creates };
}

/**
 * A function counting the `message` listeners on `page`'s window, through the DevTools
 * protocol (what a removed component must leave behind: none of its own).
 */
export async function messageListenerCounter(context, page) {
  const cdp = await context.newCDPSession(page);
  return async () => {
    const { result } = await cdp.send("Runtime.evaluate", { expression: "window" });
    const { listeners } = await cdp.send("DOMDebugger.getEventListeners", { objectId: result.objectId });
    return listeners.filter((l) => l.type === "message").length;
  };
}
