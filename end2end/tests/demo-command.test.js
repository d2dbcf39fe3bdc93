// The README's first command, used as a person uses it (issue 11): `./scripts/demo.sh` on free
// ports, the URL it prints opened in headless Chromium, the whole payout journey walked at a
// person's pace with an accessibility scan at each state, and the page loaded exactly once
// from start to finish. Then Ctrl-C (SIGINT to the script) leaves no process and no listening
// port behind, and a second run right after works. A taken port fails fast and says which.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { root, freePort, launchBrowser, walkPayoutJourney, accessibilityViolations, PERSON, listening } from "./harness.js";

let browser;
const runs = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  // Whatever a failed test left running: every process that carries a run's mark.
  for (const run of runs) for (const pid of marked(run.mark)) killQuietly(pid);
});

function killQuietly(pid, signal = "SIGKILL") {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Pids of every process whose environment carries `mark` (the script and all it started). */
function marked(mark) {
  const needle = Buffer.from(`DOTS_DEMO_RUN_MARK=${mark}\0`);
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(needle)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** `git status --porcelain` of the checkout: what a run left in the tree. */
function treeStatus() {
  return execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: root }).toString();
}

/**
 * Starts `./scripts/demo.sh` as a person does, with the ports in its variables. Resolves once
 * it prints the page's URL (or rejects if it exits first).
 */
function startDemo(ports, { waitForUrl = true } = {}) {
  const mark = `${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const child = spawn("./scripts/demo.sh", [], {
    cwd: root,
    env: {
      ...process.env,
      DEMO_PORT: String(ports.page),
      DEMO_PROXY_PORT: String(ports.proxy),
      DEMO_SANDBOX_PORT: String(ports.sandbox),
      DOTS_DEMO_RUN_MARK: mark,
      NO_COLOR: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = { child, mark, output: [], exited: null };
  runs.push(run);
  child.stdout.on("data", (d) => run.output.push(d.toString()));
  child.stderr.on("data", (d) => run.output.push(d.toString()));
  run.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  run.text = () => run.output.join("");
  if (!waitForUrl) return run;
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = /demo: (http:\/\/\S+)/.exec(run.text());
      if (match) {
        run.url = match[1];
        resolve(run);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    run.exited.then(({ code }) => reject(new Error(`demo.sh exited (${code}) before printing its URL:\n${run.text().slice(-4000)}`)));
  });
}

/** Ctrl-C: SIGINT to the script alone; then nothing of the run may be left. */
async function interruptAndCheck(run, ports) {
  const started = Date.now();
  run.child.kill("SIGINT");
  const exit = await Promise.race([
    run.exited,
    new Promise((resolve) => setTimeout(() => resolve("timeout"), 20000)),
  ]);
  assert.notEqual(exit, "timeout", `demo.sh stops within 20 s of Ctrl-C:\n${run.text().slice(-2000)}`);
  assert.equal(exit.code, 130, `demo.sh exits as interrupted: ${JSON.stringify(exit)}`);
  // Children may take a moment to be reaped by init.
  let left = [];
  for (let i = 0; i < 30; i++) {
    left = marked(run.mark);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const described = left.map((pid) => {
    try {
      return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`).toString().replaceAll("\0", " ")}`;
    } catch {
      return String(pid);
    }
  });
  assert.deepEqual(described, [], "no process of the demo is left after Ctrl-C");
  for (const [name, port] of Object.entries(ports)) {
    assert.equal(await listening(port), false, `nothing listens on the ${name} port ${port} any more`);
  }
  return Date.now() - started;
}

async function freePorts() {
  const ports = { page: await freePort(), proxy: await freePort(), sandbox: await freePort() };
  assert.equal(new Set(Object.values(ports)).size, 3, "three different ports");
  return ports;
}

test("a port already taken: the script stops at once and names the port and its variable", async () => {
  for (const which of ["proxy", "page"]) {
    const ports = await freePorts();
    const squatter = createServer((socket) => socket.end());
    await new Promise((resolve) => squatter.listen(ports[which], "127.0.0.1", resolve));
    try {
      const started = Date.now();
      const run = startDemo(ports, { waitForUrl: false });
      const exit = await run.exited;
      const text = run.text();
      const variable = which === "proxy" ? "DEMO_PROXY_PORT" : "DEMO_PORT";
      assert.equal(exit.code, 1, `exits with an error when the ${which} port is taken:\n${text}`);
      assert.match(text, new RegExp(`port ${ports[which]} \\(${variable}\\) is already in use`), text);
      assert.doesNotMatch(text, /demo: http/, "no URL is printed");
      assert.ok(Date.now() - started < 30000, `fails fast (${Date.now() - started} ms)`);
      assert.deepEqual(marked(run.mark), [], "nothing of it is left running");
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }
});

test("./scripts/demo.sh as a person uses it: one page load for the whole journey, accessible, and Ctrl-C leaves nothing", async () => {
  const ports = await freePorts();
  const treeBefore = treeStatus();
  // dist/ holds the release build (the other end-to-end tests serve it): the dev server keeps out.
  const distIndex = path.join(root, "dist", "index.html");
  const distBefore = existsSync(distIndex) ? readFileSync(distIndex, "utf8") : null;
  const startedAt = Date.now();
  const run = await startDemo(ports);
  const startSeconds = (Date.now() - startedAt) / 1000;
  assert.equal(run.url, `http://127.0.0.1:${ports.page}`, "the URL printed is the page's port");
  const dataDir = /data in (\S+)\)/.exec(run.text())?.[1];
  assert.ok(dataDir && !path.resolve(dataDir).startsWith(root + path.sep), `the proxy's data lives outside the checkout: ${dataDir}`);
  assert.ok(existsSync(path.join(dataDir, "dots-proxy.sqlite")), "the proxy keeps its database there");

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  let loads = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) loads += 1;
  });
  const consoleErrors = [];
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const scans = [];
  const violations = [];
  const atState = async (state) => {
    scans.push(state);
    for (const line of await accessibilityViolations(page)) violations.push(`${state}: ${line}`);
  };

  await page.goto(run.url);
  await page.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 30000 });
  // Nobody touches the page for a while: it must stay put (it reloaded every 1.6 s before).
  await page.waitForTimeout(5000);
  assert.equal(loads, 1, "the idle page did not reload");

  await walkPayoutJourney(page, { pace: PERSON, atState });
  assert.equal(loads, 1, `the page loaded exactly once from start to finish (${loads})`);
  assert.ok(scans.length >= 8, `scanned at every state: ${scans.join(", ")}`);
  assert.deepEqual(violations, [], "no serious or critical accessibility violation, on the page or in its flows, at any state");
  assert.deepEqual(consoleErrors, [], "no errors on the page");
  await context.close();

  const stopMs = await interruptAndCheck(run, ports);
  assert.equal(existsSync(dataDir), false, "the run's data dir is removed on exit");
  assert.equal(treeStatus(), treeBefore, "the run left nothing in the checkout");
  assert.equal(existsSync(distIndex) ? readFileSync(distIndex, "utf8") : null, distBefore, "dist/ (the release build) is untouched");
  console.log(`demo.sh: URL after ${startSeconds.toFixed(1)} s; stopped cleanly ${stopMs} ms after Ctrl-C`);

  // A second run right after, on the same ports.
  const again = await startDemo(ports);
  const second = await browser.newContext();
  const secondPage = await second.newPage();
  await secondPage.goto(again.url);
  await secondPage.waitForSelector('.dots-flow[data-status="ready"]', { timeout: 30000 });
  assert.equal(await secondPage.locator("#user-id").textContent(), "not onboarded yet", "a new run starts from scratch");
  await second.close();
  await interruptAndCheck(again, ports);
});
