// Two proxy instances behind a real load balancer on one PostgreSQL (issue 15): nginx (Debian's
// package) round robin with no stickiness in front of two `dots-proxy` processes sharing the
// test command's throwaway PostgreSQL and a session secret; a standalone `dots-sandbox` sends
// its webhooks to instance A. In Chromium, the page's session and event stream go through the
// load balancer:
//   1. the stream is held by B, the webhooks land on A: the browser hears `user_bound` and the
//      completed step (cross-instance fan-out);
//   2. one signed webhook delivered to A and to B at the same moment has one effect;
//   3. B is killed (SIGKILL) mid-stream; an event is stored while the browser is disconnected;
//      the browser's own EventSource reconnect lands on A with `Last-Event-ID` and misses
//      nothing (ids 1, 2, 3… exactly once).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { get } from "node:http";
import path from "node:path";
import { freePort, launchBrowser, startServer, startSandbox, SANDBOX_CLIENT_ID, SANDBOX_API_KEY, eventually, onboardAndComplete } from "./harness.js";

const ADMIN_URL = process.env.DOTS_PROXY_TEST_POSTGRES_URL;
const NGINX = "/usr/sbin/nginx";
const WEBHOOK_SECRET = "whsec_aW5zdGFuY2VzLWUyZS13ZWJob29rLXNlY3JldA==";
const SESSION_SECRET = "instances-e2e-session-secret-0123456789abcdef";

let sandbox;
let instances = {};
let lb;
let browser;
const dir = mkdtempSync(path.join(tmpdir(), "dots-instances-"));

/** A fresh database on the test cluster. */
function freshDatabase() {
  const name = `e2e_${randomUUID().replaceAll("-", "")}`;
  execFileSync("psql", [ADMIN_URL, "-q", "-c", `CREATE DATABASE ${name}`]);
  return ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
}

/** Starts nginx in front of the instances; resolves once it answers. */
async function startNginx(port, upstreams) {
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(path.join(dir, sub), { recursive: true });
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream proxies {
    ${upstreams.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join("\n    ")}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://proxies;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_next_upstream error timeout;
    }
  }
}
`,
  );
  const child = spawn(NGINX, ["-c", conf, "-p", dir, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
  const errors = [];
  child.stderr.on("data", (d) => errors.push(d.toString()));
  const base = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${base}/healthz`)).ok, `nginx answers (${errors.join("")})`);
  return { base, child, stop: () => child.kill("SIGTERM") };
}

/** How many established TCP connections have local port `port` (this host's /proc/net/tcp). */
function established(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .filter((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1]?.endsWith(`:${hex}`) && fields[3] === "01";
    }).length;
}

/** A Svix-signed webhook, as Dots sends it. */
function signed(body, id = `msg_${randomUUID()}`) {
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const key = Buffer.from(WEBHOOK_SECRET.slice("whsec_".length), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "content-type": "application/json", "svix-id": id, "svix-timestamp": timestamp, "svix-signature": `v1,${signature}` };
}

before(async () => {
  if (!ADMIN_URL) return;
  const database = freshDatabase();
  const ports = { a: await freePort(), b: await freePort(), lb: await freePort() };
  sandbox = await startSandbox({
    DOTS_SANDBOX_WEBHOOK_URLS: `http://127.0.0.1:${ports.a}/webhooks/dots`,
    DOTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  const site = path.join(dir, "site");
  mkdirSync(site, { recursive: true });
  writeFileSync(path.join(site, "index.html"), "<!doctype html><title>instances</title><p>two instances</p>");
  for (const name of ["a", "b"]) {
    instances[name] = await startServer(
      "dots-proxy",
      ["--static-dir", site, "--data-dir", mkdtempSync(path.join(tmpdir(), `dots-instance-${name}-`))],
      {
        DOTS_ENV: "sandbox",
        DOTS_API_BASE: `${sandbox.base}/api`,
        DOTS_CLIENT_ID: SANDBOX_CLIENT_ID,
        DOTS_API_KEY: SANDBOX_API_KEY,
        DOTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
        DOTS_PROXY_DATABASE_URL: database,
        DOTS_PROXY_SESSION_SECRET: SESSION_SECRET,
        DOTS_PROXY_TRUSTED_PROXIES: "127.0.0.1",
      },
      ports[name],
    );
  }
  lb = await startNginx(ports.lb, [ports.a, ports.b]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  lb?.stop();
  for (const instance of Object.values(instances)) await instance.stop();
  await sandbox?.stop();
});

test("two instances behind nginx behave as one proxy to the browser and to Dots", { skip: !ADMIN_URL && "DOTS_PROXY_TEST_POSTGRES_URL is not set" }, async () => {
  for (const [name, instance] of Object.entries(instances)) {
    // A connection of its own, closed after the answer (a kept-alive one would count below).
    const status = await new Promise((resolve, reject) =>
      get(`${instance.base}/readyz`, { agent: false }, (r) => resolve(r.resume() && r.statusCode)).on("error", reject),
    );
    assert.equal(status, 200, `${name} is ready`);
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${lb.base}/`);
  const flow = await page.evaluate(async () => {
    const response = await fetch("/api/flows", { method: "POST", headers: { "content-type": "application/json" }, body: '{"steps":["compliance"]}' });
    return response.json();
  });
  assert.ok(flow.link, `a flow through the load balancer: ${JSON.stringify(flow)}`);

  // The stream, through the load balancer, on B (round robin: reopen until it lands there).
  const open = () =>
    page.evaluate(() => {
      window.__events?.source.close();
      const events = (window.__events = { list: [], errors: 0 });
      const source = (events.source = new EventSource("/api/events"));
      for (const kind of ["user_bound", "step_completed", "flow_completed", "user_updated", "transfer_updated"]) {
        source.addEventListener(kind, (e) => events.list.push({ kind, id: Number(e.lastEventId), data: JSON.parse(e.data) }));
      }
      source.onerror = () => (events.errors += 1);
    });
  let holder;
  for (let attempt = 0; attempt < 6 && holder !== "b"; attempt += 1) {
    await open();
    holder = await eventually(async () => {
      const on = { a: established(instances.a.port), b: established(instances.b.port) };
      return on.a + on.b === 1 ? (on.a ? "a" : "b") : false;
    }, "one instance holds the stream");
  }
  assert.equal(holder, "b", "the stream is on B");
  const events = () => page.evaluate(() => window.__events.list.map(({ kind, id, data }) => ({ kind, id, step: data.step })));

  // 1. Sign-in and compliance in the hosted page: Dots' webhooks go to A, the stream is on B.
  const hosted = await context.newPage();
  await hosted.goto(flow.link);
  await onboardAndComplete(hosted.mainFrame());
  await eventually(async () => (await events()).length >= 3, "B's stream hears what A processed");
  assert.deepEqual(
    (await events()).map((e) => `${e.id}:${e.kind}${e.step ? `:${e.step}` : ""}`),
    ["1:user_bound", "2:step_completed:compliance", "3:flow_completed"],
    "cross-instance: every event once, in order",
  );
  const user = await page.evaluate(() => window.__events.list[0].data.user_id);

  // 2. One signed delivery sent to A and to B at the same moment: one effect.
  const body = JSON.stringify({ user_id: user });
  const headers = signed(body);
  const answers = await Promise.all(
    ["a", "b"].map((name) => fetch(`${instances[name].base}/webhooks/dots`, { method: "POST", headers, body })),
  );
  assert.deepEqual(answers.map((r) => r.status), [204, 204], "both deliveries are acknowledged");
  await eventually(async () => (await events()).length >= 4, "the delivery's event");

  // 3. B dies mid-stream; an event is stored while the browser is away; the browser's own
  // reconnect lands on A with Last-Event-ID and misses nothing.
  instances.b.child.kill("SIGKILL");
  await eventually(() => page.evaluate(() => window.__events.errors > 0), "the browser sees its stream drop");
  const away = await fetch(`${instances.a.base}/webhooks/dots`, { method: "POST", headers: signed(body), body });
  assert.equal(away.status, 204, "A processes a webhook while the browser is disconnected");
  await eventually(async () => (await events()).length >= 5, "the reconnected stream (on A: B is gone) replays what it missed", 20000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(
    (await events()).map((e) => `${e.id}:${e.kind}`),
    ["1:user_bound", "2:step_completed", "3:flow_completed", "4:user_updated", "5:user_updated"],
    "ids 1, 2, 3… exactly once each: the duplicate delivery once, the away event replayed",
  );
  await context.close();
});
