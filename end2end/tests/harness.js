// Starts the built demo (dist/) behind the dots-proxy with its in-process local sandbox, on free
// loopback ports, and a headless Chromium. Everything stops by itself after the tests.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

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

/** Starts a binary of the workspace on a free port and waits for its /healthz. */
async function startServer(name, args, env) {
  const port = await freePort();
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
    logs,
    stop: async () => {
      clearTimeout(killer);
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    },
  };
}

/** Starts dots-sandbox on its own (Basic auth with the given credentials). */
export async function startSandbox() {
  const server = await startServer("dots-sandbox", [], {
    DOTS_CLIENT_ID: SANDBOX_CLIENT_ID,
    DOTS_API_KEY: SANDBOX_API_KEY,
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

/** Starts dots-proxy serving dist/ with the local sandbox in-process. */
export async function startStack() {
  const dataDir = mkdtempSync(path.join(tmpdir(), "dots-proxy-e2e-"));
  const sandboxPort = await freePort();
  const stack = await startServer("dots-proxy", ["--static-dir", path.join(root, "dist"), "--data-dir", dataDir], {
    DOTS_ENV: "local",
    DOTS_PROXY_DEMO: "1",
    DOTS_API_KEY: API_KEY,
    DOTS_CLIENT_ID: E2E_CLIENT_ID,
    DOTS_SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`,
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

/** Fills the inputs of a hosted flow page, by name. */
export async function fill(frame, values) {
  for (const [name, value] of Object.entries(values)) {
    await frame.locator(`input[name="${name}"]`).fill(value);
  }
}

/** Signs a new user up and completes compliance in the demo's onboarding frame. */
export async function onboardAndComplete(frame) {
  await fill(frame, { first_name: "Ada", last_name: "Lovelace", email: "ada@example.com", phone_number: "4155550199" });
  await frame.locator("#send-code").click();
  await fill(frame, { code: "123456" });
  await frame.locator("#verify-code").click();
  await frame.locator('#panel[data-step="compliance"]').waitFor();
  await fill(frame, { tin: "123-45-6789", date_of_birth: "1990-04-01", line_1: "1 Main St", city: "San Francisco", state: "CA", postcode: "94107" });
  await frame.locator("#complete-step").click();
}
