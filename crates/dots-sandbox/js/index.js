// dots-sandbox-testing: drive the local Dots sandbox's hosted flow pages as a person does, inside
// your page's iframe, and control the sandbox (faults, clock, webhooks) from your tests.
//
// The helpers take what Playwright gives for a frame: `page.frameLocator("iframe")`, a
// `FrameLocator` inside a custom element (`page.frameLocator("dots-flow >> iframe")`), or a
// `Frame`. They only type, click and wait, as a person would; nothing reaches around the page.

/** The sandbox's verification code: every phone number signs in with it. */
export const VERIFICATION_CODE = "123456";
/** A TIN the sandbox's check reports `mismatched` (it ends in 0000). */
export const TIN_MISMATCH = "123-45-0000";
/** A TIN the sandbox's check reports `matched`. */
export const TIN_MATCH = "123-45-6789";
/** A last name OFAC screening flags. */
export const OFAC_FLAGGED = "Flagged";
/** A last name OFAC screening sends to ID verification. */
export const OFAC_ID_VERIFICATION = "Sanctioned";
/** A last name whose background check comes back `consider`. */
export const BACKGROUND_CONSIDER = "Consider";
/** A PayPal address payouts to which fail. */
export const FAILING_PAYPAL = "fail@example.com";

const DEFAULT_TIMEOUT = 15000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Types `value` into the field named `name` (at `typeDelay` ms a key, or at once). */
async function type(frame, name, value, typeDelay) {
  const input = frame.locator(`#panel [name="${name}"]`);
  // A date field is a picker: its value is set, keys would go to its segments.
  if (typeDelay > 0 && (await input.getAttribute("type")) !== "date") {
    await input.click();
    await input.pressSequentially(String(value), { delay: typeDelay });
  } else {
    await input.fill(String(value));
  }
}

async function typeAll(frame, values, typeDelay) {
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) await type(frame, name, value, typeDelay);
  }
}

/** Waits until the page shows `step` (its panel's `data-step`). */
export async function waitForStep(frame, step, { timeout = DEFAULT_TIMEOUT } = {}) {
  await frame.locator(`#panel[data-step="${step}"]`).waitFor({ timeout });
}

/** The step the page shows now (`done` when every step is complete). */
export async function currentStep(frame) {
  return frame.locator("#panel").getAttribute("data-step");
}

/** The error the page shows, if any (`null` when none). */
export async function pageError(frame) {
  const error = frame.locator("#panel #error");
  return (await error.count()) > 0 ? error.textContent() : null;
}

/**
 * Signs in on the page's sign-in step with a US phone number and the sandbox's code, and waits
 * for the next step. `firstName`/`lastName` decide OFAC and background-check outcomes
 * (OFAC_FLAGGED, OFAC_ID_VERIFICATION, BACKGROUND_CONSIDER); `code` other than
 * VERIFICATION_CODE is refused (the page shows the error and the promise rejects).
 */
export async function signIn(frame, options) {
  const {
    phone,
    firstName = "Test",
    lastName = "Person",
    email,
    code = VERIFICATION_CODE,
    typeDelay = 0,
    timeout = DEFAULT_TIMEOUT,
  } = options ?? {};
  if (!phone) throw new TypeError("signIn: options.phone is required (a US number, e.g. 4155550100)");
  const digits = String(phone).replace(/\D/g, "");
  await waitForStep(frame, "onboarding", { timeout });
  await typeAll(frame, {
    first_name: firstName,
    last_name: lastName,
    email: email ?? `${firstName.toLowerCase().replace(/[^a-z0-9]/g, "") || "person"}.${digits}@example.com`,
    phone_number: digits,
  }, typeDelay);
  await frame.locator("#send-code").click();
  await frame.locator('#panel [name="code"]').waitFor({ timeout });
  await type(frame, "code", code, typeDelay);
  await frame.locator("#verify-code").click();
  await settle(frame, "onboarding", "signIn", timeout);
}

/** Waits until the page has left `step`; rejects with the page's error if it shows one. */
async function settle(frame, step, what, timeout) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const error = await pageError(frame);
    if (error) throw new Error(`${what}: the page says: ${error}`);
    const now = await currentStep(frame);
    const busy = (await frame.locator("#panel button[disabled]").count()) > 0;
    if (now !== step && now !== null) return;
    // A step left open on purpose (hide_continue_button) shows that it is done.
    if (!busy && (await frame.locator("#panel #step-done").count()) > 0) return;
    await sleep(50);
  }
  throw new Error(`${what}: the page still shows ${step} after ${timeout} ms`);
}

/**
 * Completes `step` as a person filling the page in correctly, then waits for the page to move
 * on. `data` replaces the defaults field by field: for `compliance` `{tin, date_of_birth,
 * line_1, city, state, postcode}` (e.g. `{tin: TIN_MISMATCH}`); for `manage-payouts` and
 * `payout` `{paypal}` (an address to add when there is no payout method; FAILING_PAYPAL makes
 * payouts fail); for `pdf-form-fill` `{full_name, signature}`; for `manage-payments`
 * `{routing_number, account_number}`. A refusal (the page's error) rejects the promise.
 */
export async function completeStep(frame, step, data = {}, { typeDelay = 0, timeout = DEFAULT_TIMEOUT } = {}) {
  await waitForStep(frame, step, { timeout });
  const submit = frame.locator("#complete-step");
  switch (step) {
    case "compliance":
      await typeAll(frame, {
        tin: TIN_MATCH, date_of_birth: "1990-04-12", line_1: "1 Main St", city: "Springfield",
        state: "IL", postcode: "62701", ...data,
      }, typeDelay);
      break;
    case "id-verification":
      await frame.locator("#use-sample-id").click();
      break;
    case "background-check":
      await frame.locator('#panel [name="consent"]').check();
      break;
    case "manage-payouts":
    case "payout": {
      if ((await frame.locator("#add-method-form").count()) > 0 && (data.paypal || (await frame.locator("#payout-methods li").count()) === 0)) {
        if ((await frame.locator("#platform").count()) > 0) await frame.locator("#platform").selectOption("paypal");
        await type(frame, "email", data.paypal ?? "payouts@example.com", typeDelay);
        const before = await frame.locator("#payout-methods li").count();
        await frame.locator("#add-method").click();
        if (step === "payout") {
          await frame.locator("#add-method-form").waitFor({ state: "detached", timeout });
        } else {
          const deadline = Date.now() + timeout;
          while ((await frame.locator("#payout-methods li").count()) === before) {
            const error = await pageError(frame);
            if (error) throw new Error(`completeStep(${step}): the page says: ${error}`);
            if (Date.now() > deadline) throw new Error(`completeStep(${step}): the payout method was not added`);
            await sleep(50);
          }
        }
      }
      // A manage-payouts step without its button (hide_continue_button) is saved by adding.
      if ((await submit.count()) === 0) return;
      await submit.waitFor({ state: "visible", timeout });
      break;
    }
    case "manage-payments":
      await typeAll(frame, { routing_number: "021000021", account_number: "123456789", ...data }, typeDelay);
      break;
    case "pdf-form-fill":
      await typeAll(frame, { full_name: "Test Person", signature: "Test Person", ...data }, typeDelay);
      break;
    default:
      break;
  }
  await frame.locator("#complete-step:not([disabled])").click({ timeout });
  await settle(frame, step, `completeStep(${step})`, timeout);
}

/**
 * A client of the sandbox's control plane (`/_sandbox/…`, described by control-plane.yaml in
 * this package and served at `/_sandbox/openapi.yaml`). `origin` is the sandbox's origin, e.g.
 * `http://127.0.0.1:4010`. Every method rejects with the sandbox's message when refused.
 */
export class SandboxControl {
  constructor(origin) {
    this.origin = String(origin).replace(/\/+$/, "");
  }

  async #call(method, path, body) {
    const response = await fetch(`${this.origin}/_sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) {
      throw new Error(`${method} /_sandbox${path}: ${response.status} ${json?.message ?? text}`);
    }
    return json;
  }

  /** Forgets all data, faults, held webhooks; real time again. */
  reset() { return this.#call("POST", "/reset"); }
  /** `{now, unix}`. */
  clock() { return this.#call("GET", "/clock"); }
  /** Moves the clock forward. */
  advanceClock(seconds) { return this.#call("POST", "/clock/advance", { seconds }); }
  /** Adds a fault rule (see control-plane.yaml's FaultRule). */
  addFault(rule) { return this.#call("POST", "/faults", rule); }
  /**
   * The next `times` calls of `operation` (a Dots operationId: `create-transfer`, `get-flow`,
   * …) meet `fault`: `{fault: "status", status: 500}`, `{fault: "drop"}`,
   * `{fault: "latency", latency_ms: 300}`, `{fault: "malformed"}`.
   */
  failNext(operation, times, fault) { return this.addFault({ operation, count: times, ...fault }); }
  /** The active fault rules. */
  async faults() { return (await this.#call("GET", "/faults")).data; }
  /** Removes every fault rule. */
  clearFaults() { return this.#call("DELETE", "/faults"); }
  /** Keeps webhooks back until released or dropped. */
  holdWebhooks() { return this.#call("POST", "/webhooks/hold"); }
  /** The held events, oldest first: `[{event_type, payload}]`. */
  async heldWebhooks() { return (await this.#call("GET", "/webhooks/held")).data; }
  /** Sends the held events (`order`: `as_happened` or `reversed`); how many. */
  async releaseWebhooks({ order = "as_happened" } = {}) {
    return (await this.#call("POST", "/webhooks/release", { order })).released;
  }
  /** Forgets the held events, as if lost; how many. */
  async dropHeldWebhooks() { return (await this.#call("DELETE", "/webhooks/held")).dropped; }
  /** Every webhook delivery attempt, oldest first. */
  async webhookAttempts() { return (await this.#call("GET", "/webhooks/attempts")).data; }
  /** Where webhooks go: `{endpoints, retry_delays_ms}`. */
  webhooks() { return this.#call("GET", "/webhooks"); }
  /** Sets the webhook endpoints (and optionally `secret`, `retry_delays_ms`). */
  setWebhooks(settings) { return this.#call("PUT", "/webhooks", settings); }
  /** The transfers Dots made (an app's; newest first). */
  async transfers(appId = "") { return (await this.#call("GET", `/transfers?app_id=${encodeURIComponent(appId)}`)).data; }
  /** The users Dots has (an app's). */
  async users(appId = "") { return (await this.#call("GET", `/users?app_id=${encodeURIComponent(appId)}`)).data; }
  /** The API requests received: `[{method, path, request_id}]`, oldest first. */
  requests() { return this.#call("GET", "/requests"); }
  /** Adds cents to an app's wallet. */
  refillWallet(amount, appId = "") { return this.#call("POST", "/wallet", { app_id: appId, amount }); }
  /** Completes a step of a flow without its page (the webhook follows). */
  completeStep(flowId, step) { return this.#call("POST", `/flows/${encodeURIComponent(flowId)}/complete`, { step }); }
}
