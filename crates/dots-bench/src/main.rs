//! Benchmarks of dots-flow. Prints figures; it is not a test.
//!
//! It starts the `dots-proxy` binary in local mode (the sandbox in-process, on a known port) and
//! measures, in one run with one load generator:
//!
//! 1. proxy overhead: create-flow and retrieve-flow through the proxy vs. straight to the
//!    sandbox, at a fixed concurrency of 1 (latency) and at saturation (throughput);
//! 2. webhook → browser: from completing a step in the sandbox (which sends `flow.updated`) to
//!    the event arriving on the session's SSE stream, with 1, 100 and 1,000 open streams, and
//!    the proxy's resident memory;
//! 3. the same with two proxy instances on one PostgreSQL and a standalone sandbox sending its
//!    webhooks to one of them, the 1,000 streams spread over both (so half the events cross
//!    instances through LISTEN/NOTIFY), and each instance's resident memory.
//!
//! `cargo run -p dots-bench --release -- --proxy-bin target/release/dots-proxy`; `--quick` runs
//! tiny sizes (the CI smoke).

use base64::Engine;
use clap::Parser;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The proxy binary to measure.
    #[arg(long, default_value = "target/release/dots-proxy")]
    proxy_bin: String,
    /// Tiny sizes: proves the benchmark still works.
    #[arg(long)]
    quick: bool,
    /// Repetitions of each measurement (min / median / max are printed).
    #[arg(long, default_value_t = 3)]
    repetitions: usize,
    /// Internal: run as a do-nothing forwarder to this upstream (the ceiling of any proxy).
    #[arg(long, hide = true, requires = "listen")]
    forward: Option<String>,
    /// Internal: the forwarder's port.
    #[arg(long, hide = true)]
    listen: Option<u16>,
    /// The sandbox binary (for the two-instance part).
    #[arg(long, default_value = "target/release/dots-sandbox")]
    sandbox_bin: String,
    /// PostgreSQL for the two-instance part (skipped without it).
    #[arg(long, env = "DOTS_PROXY_TEST_POSTGRES_URL")]
    database_url: Option<String>,
    /// Run only these parts (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
}

/// The parts of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
enum Part {
    /// Closed-loop overhead (create, retrieve) through the proxy vs. direct.
    Overhead,
    /// Retrieve at fixed request rates (open loop).
    Rates,
    /// Webhook → SSE latency and the proxy's RSS.
    Webhooks,
    /// Webhook → SSE latency with the streams spread over two instances on one PostgreSQL
    /// (webhooks to one of them), and each instance's RSS. Needs `--database-url`.
    Instances,
    /// A normal browser's create and stream latency during a flood of event streams from one
    /// address, next to without it.
    Flood,
}

const CLIENT_ID: &str = "bench-client";
const API_KEY: &str = "bench-api-key";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Proxy {
    child: Child,
    base: String,
    sandbox: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }
}

/// The `dots-proxy` command on `port`, as the benchmark runs it: the bench client's
/// credentials, its own data dir, rate limits off (one client creating flows as fast as it
/// can), warnings only.
fn proxy_command(bin: &str, port: u16) -> Command {
    let mut command = Command::new(bin);
    command
        .env("DOTS_CLIENT_ID", CLIENT_ID)
        .env("DOTS_API_KEY", API_KEY)
        .env("DOTS_PROXY_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "DOTS_PROXY_DATA_DIR",
            std::env::temp_dir().join(format!("dots-bench-{port}")),
        )
        .env("DOTS_PROXY_FLOWS_PER_MINUTE_PER_IDENTITY", "0")
        .env("DOTS_PROXY_FLOWS_PER_MINUTE_PER_CLIENT", "0")
        .env("DOTS_PROXY_NEW_IDENTITIES_PER_MINUTE_PER_CLIENT", "0")
        // Thousands of streams from one address: the per-client caps are for hostile clients.
        .env("DOTS_PROXY_MAX_CONNECTIONS_PER_CLIENT", "0")
        .env("DOTS_PROXY_STREAMS_PER_CLIENT", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

async fn start_proxy(bin: &str) -> Proxy {
    start_proxy_with(bin, |_| {}).await
}

/// [`start_proxy`], with `configure` changing the command last (its variables win).
async fn start_proxy_with(bin: &str, configure: impl FnOnce(&mut Command)) -> Proxy {
    let (port, sandbox_port) = (free_port(), free_port());
    let mut command = proxy_command(bin, port);
    configure(&mut command);
    let child = command
        .env("DOTS_ENV", "local")
        .env("DOTS_SANDBOX_ADDR", format!("127.0.0.1:{sandbox_port}"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (build it first)"));
    let proxy = Proxy {
        child,
        base: format!("http://127.0.0.1:{port}"),
        sandbox: format!("http://127.0.0.1:{sandbox_port}"),
    };
    wait_healthy(&proxy.base, "the proxy").await;
    proxy
}

/// The `Authorization` header for the sandbox's API.
fn basic_auth() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{API_KEY}"))
    )
}

/// Sends `request`; true if it answered 2xx.
async fn succeeds(request: reqwest::RequestBuilder) -> bool {
    request
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
}

/// Percentile of sorted durations, in microseconds.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

struct Run {
    p50_us: f64,
    p99_us: f64,
    rps: f64,
}

/// `requests` requests with `concurrency` workers; each request made by `make(i)`.
async fn run<F, Fut>(requests: usize, concurrency: usize, make: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let make = make.clone();
        let counter = counter.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    return latencies;
                }
                let t = Instant::now();
                assert!(make(i).await, "request {i} failed");
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    Run {
        p50_us: pct(&all, 0.5),
        p99_us: pct(&all, 0.99),
        rps: requests as f64 / elapsed.as_secs_f64(),
    }
}

/// One path's figures over the repetitions.
struct Row {
    who: &'static str,
    p50: Vec<f64>,
    p99: Vec<f64>,
    rps: Vec<f64>,
}

fn summary(values: &mut [f64]) -> String {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "{:>9.1} {:>9.1} {:>9.1}",
        values[0],
        values[values.len() / 2],
        values[values.len() - 1]
    )
}

/// A forwarder that does nothing but pass requests to `upstream` over a pooled client: the
/// same HTTP stacks as the proxy (axum in, reqwest out) and no session, validation or
/// database. Its throughput is what *any* one-hop proxy could reach on this machine.
async fn run_forwarder(upstream: String, port: u16) {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    async fn forward(
        State((http, upstream)): State<(reqwest::Client, String)>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = http.request(method, format!("{upstream}{path}")).body(body);
        for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
            if let Some(value) = headers.get(&name) {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(answer) => {
                let status = answer.status();
                let bytes = answer.bytes().await.unwrap_or_default();
                (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
            }
            Err(_) => StatusCode::BAD_GATEWAY.into_response(),
        }
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let app = axum::Router::new()
        .fallback(forward)
        .with_state((http, upstream))
        .into_make_service();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.unwrap();
}

/// Starts this program as a forwarder to `upstream`; stopped when dropped.
async fn start_forwarder(upstream: &str) -> (Child, String) {
    let port = free_port();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--forward", upstream, "--listen", &port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (child, base)
}

async fn overhead(proxy: &Proxy, args: &Args) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let auth = basic_auth();
    // A session and a flow to retrieve, on both paths.
    let (cookie, flow_id) = create_session_flow(&http, proxy).await;

    let (mut forwarder_process, forwarder) = start_forwarder(&proxy.sandbox).await;
    let (n, sat) = if args.quick { (20, 4) } else { (2000, 32) };
    println!(
        "\n## Proxy overhead ({n} requests per run, {} runs; µs and requests/s: min median max)",
        args.repetitions
    );
    println!(
        "{:<34} {:>29} {:>29} {:>29}",
        "", "p50 µs", "p99 µs", "req/s"
    );
    for (label, path_direct, path_proxy, post) in [
        (
            "retrieve",
            format!("/api/v2/flows/{flow_id}"),
            format!("/api/flows/{flow_id}"),
            false,
        ),
        (
            "create",
            "/api/v2/flows".to_owned(),
            "/api/flows".to_owned(),
            true,
        ),
    ] {
        for concurrency in [1, sat] {
            let mut rows: Vec<Row> = Vec::new();
            for (who, base, path) in [
                ("direct", proxy.sandbox.clone(), path_direct.clone()),
                ("proxy", proxy.base.clone(), path_proxy.clone()),
                ("forwarder", forwarder.clone(), path_direct.clone()),
            ] {
                let (mut p50, mut p99, mut rps) = (Vec::new(), Vec::new(), Vec::new());
                for _ in 0..args.repetitions {
                    let http = http.clone();
                    let (url, auth, cookie, origin) = (
                        format!("{base}{path}"),
                        auth.clone(),
                        cookie.clone(),
                        proxy.base.clone(),
                    );
                    let direct = who != "proxy";
                    let result = run(n, concurrency, move |_| {
                        let mut request = if post {
                            http.post(&url).json(&json!({"steps": ["payout"]}))
                        } else {
                            http.get(&url)
                        };
                        request = if direct {
                            request.header("authorization", &auth)
                        } else {
                            request.header("cookie", &cookie).header("origin", &origin)
                        };
                        succeeds(request)
                    })
                    .await;
                    p50.push(result.p50_us);
                    p99.push(result.p99_us);
                    rps.push(result.rps);
                }
                rows.push(Row { who, p50, p99, rps });
            }
            for row in rows.iter_mut() {
                println!(
                    "{:<34} {} {} {}",
                    format!("{label} c={concurrency} {}", row.who),
                    summary(&mut row.p50),
                    summary(&mut row.p99),
                    summary(&mut row.rps)
                );
            }
            let median = |v: &Vec<f64>| {
                let mut v = v.clone();
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                v[v.len() / 2]
            };
            println!(
                "{:<34} added p50 {:.0} µs, added p99 {:.0} µs, throughput ratio {:.2}",
                format!("{label} c={concurrency} →"),
                median(&rows[1].p50) - median(&rows[0].p50),
                median(&rows[1].p99) - median(&rows[0].p99),
                median(&rows[1].rps) / median(&rows[0].rps)
            );
            println!(
                "{:<34} a do-nothing forwarder adds p50 {:.0} µs and reaches {:.2}× direct",
                format!("{label} c={concurrency} ceiling"),
                median(&rows[2].p50) - median(&rows[0].p50),
                median(&rows[2].rps) / median(&rows[0].rps)
            );
        }
    }
    let _ = forwarder_process.kill();
    let _ = forwarder_process.wait();
}

/// Sends `rate` pairs per second for `seconds` (open loop): each tick sends one request
/// through each of `direct` and `proxied`, in alternating order, both timed from the tick's
/// due time. The load generator's timer lateness is then common to both sides of a pair.
/// Returns the p50 and p99 (µs) of direct and of proxied.
async fn fixed_rate_pairs<D, DF, P, PF>(rate: u64, seconds: f64, direct: D, proxied: P) -> [f64; 4]
where
    D: Fn() -> DF,
    DF: std::future::Future<Output = bool> + Send + 'static,
    P: Fn() -> PF,
    PF: std::future::Future<Output = bool> + Send + 'static,
{
    type Request = std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>;
    fn timed(request: Request, due: tokio::time::Instant) -> tokio::task::JoinHandle<Duration> {
        tokio::spawn(async move {
            let ok = request.await;
            assert!(ok, "a fixed-rate request failed");
            due.elapsed()
        })
    }
    let total = (rate as f64 * seconds) as u64;
    let start = tokio::time::Instant::now();
    let mut handles = Vec::new();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due).await;
        let pair = if i % 2 == 0 {
            let d = timed(Box::pin(direct()), due);
            (d, timed(Box::pin(proxied()), due))
        } else {
            let p = timed(Box::pin(proxied()), due);
            (timed(Box::pin(direct()), due), p)
        };
        handles.push(pair);
    }
    let (mut direct_latencies, mut proxied_latencies) = (Vec::new(), Vec::new());
    for (d, p) in handles {
        direct_latencies.push(d.await.unwrap());
        proxied_latencies.push(p.await.unwrap());
    }
    direct_latencies.sort();
    proxied_latencies.sort();
    [
        pct(&direct_latencies, 0.5),
        pct(&direct_latencies, 0.99),
        pct(&proxied_latencies, 0.5),
        pct(&proxied_latencies, 0.99),
    ]
}

async fn overhead_at_fixed_rates(proxy: &Proxy, args: &Args) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let auth = basic_auth();
    let (cookie, flow_id) = create_session_flow(&http, proxy).await;
    let (rates, seconds): (&[u64], f64) = if args.quick {
        (&[50], 0.2)
    } else {
        (&[500, 2000], 3.0)
    };
    println!(
        "\n## Retrieve at fixed rates (open loop, direct and proxy paired per tick, {seconds} s per run, {} runs; µs: min median max)",
        args.repetitions
    );
    for &rate in rates {
        let direct_url = format!("{}/api/v2/flows/{flow_id}", proxy.sandbox);
        let proxy_url = format!("{}/api/flows/{flow_id}", proxy.base);
        let (mut direct_p99, mut added_p50, mut added_p99) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.repetitions {
            let (http_a, auth) = (http.clone(), auth.clone());
            let (http_b, cookie) = (http.clone(), cookie.clone());
            let (direct_url, proxy_url) = (direct_url.clone(), proxy_url.clone());
            let [d50, d99, p50, p99] = fixed_rate_pairs(
                rate,
                seconds,
                move || succeeds(http_a.get(&direct_url).header("authorization", &auth)),
                move || succeeds(http_b.get(&proxy_url).header("cookie", &cookie)),
            )
            .await;
            direct_p99.push(d99);
            added_p50.push(p50 - d50);
            added_p99.push(p99 - d99);
        }
        println!(
            "{rate:>5} req/s: direct p99 {} | added p50 {} | added p99 {}",
            summary(&mut direct_p99),
            summary(&mut added_p50),
            summary(&mut added_p99)
        );
    }
}

/// A new session's cookie and its first flow's id.
async fn create_session_flow(http: &reqwest::Client, proxy: &Proxy) -> (String, String) {
    let created = http
        .post(format!("{}/api/flows", proxy.base))
        .header("origin", &proxy.base)
        .json(&json!({"steps": ["background-check", "payout"]}))
        .send()
        .await
        .unwrap();
    let cookie = cookies_of(created.headers());
    let flow: Value = created.json().await.unwrap();
    (cookie, flow["id"].as_str().unwrap().to_owned())
}

/// Every cookie an answer sets (the session's and the flow's claim), as a browser sends them.
fn cookies_of(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Opens a session with one flow and its event stream.
async fn session(http: &reqwest::Client, proxy: &Proxy) -> (String, reqwest::Response) {
    let (cookie, flow_id) = create_session_flow(http, proxy).await;
    let stream = http
        .get(format!("{}/api/events", proxy.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (flow_id, stream)
}

async fn next_event(stream: &mut reqwest::Response) {
    loop {
        let chunk = stream.chunk().await.unwrap().expect("stream open");
        if String::from_utf8_lossy(&chunk).contains("event: step_completed") {
            return;
        }
    }
}

async fn webhook_latency(bin: &str, args: &Args) {
    let sizes: &[usize] = if args.quick { &[1, 5] } else { &[1, 100, 1000] };
    let samples = if args.quick { 3 } else { 50 };
    println!("\n## Webhook → browser ({samples} events per size; latency in ms: min median max of p50/p99 over runs)");
    for &streams in sizes {
        let proxy = start_proxy(bin).await;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(2048)
            .build()
            .unwrap();
        let mut sessions = Vec::new();
        for _ in 0..streams {
            sessions.push(session(&http, &proxy).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
        for rep in 0..args.repetitions {
            let mut latencies = Vec::new();
            for k in 0..samples {
                let index = (k * 7919 + rep * 31) % streams;
                let (flow_id, stream) = &mut sessions[index];
                let step = "background-check";
                let started = Instant::now();
                let response = http
                    .post(format!(
                        "{}/_sandbox/flows/{flow_id}/complete",
                        proxy.sandbox
                    ))
                    .json(&json!({"step": step}))
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let fresh = tokio::time::timeout(Duration::from_secs(5), next_event(stream))
                    .await
                    .is_ok();
                if fresh {
                    latencies.push(started.elapsed());
                }
                // A step completes once; a fresh session keeps the next sample on this slot real.
                let (new_flow, new_stream) = session(&http, &proxy).await;
                sessions[index] = (new_flow, new_stream);
            }
            latencies.sort();
            p50s.push(pct(&latencies, 0.5) / 1000.0);
            p99s.push(pct(&latencies, 0.99) / 1000.0);
        }
        println!(
            "{:>5} streams: p50 {} ms   p99 {} ms   proxy RSS {:.1} MiB",
            streams,
            summary(&mut p50s),
            summary(&mut p99s),
            proxy.rss_kib() as f64 / 1024.0
        );
    }
}

const SESSION_SECRET: &str = "bench-session-secret-0123456789abcdef0123456789";
const WEBHOOK_SECRET: &str = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtZm9yLWluc3RhbmNlcw==";

/// Waits until `base` answers `/healthz`.
async fn wait_healthy(base: &str, what: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not start");
}

/// A `dots-proxy` instance on `port` against the standalone sandbox at `sandbox`, on
/// `database_url`.
async fn start_instance(bin: &str, sandbox: &str, database_url: &str, port: u16) -> Proxy {
    let child = proxy_command(bin, port)
        .env("DOTS_ENV", "sandbox")
        .env("DOTS_API_BASE", format!("{sandbox}/api"))
        .env("DOTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("DOTS_PROXY_SESSION_SECRET", SESSION_SECRET)
        .env("DOTS_PROXY_DATABASE_URL", database_url)
        .env("DOTS_PROXY_SECURE_COOKIES", "false")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (build it first)"));
    let proxy = Proxy {
        child,
        base: format!("http://127.0.0.1:{port}"),
        sandbox: sandbox.to_owned(),
    };
    wait_healthy(&proxy.base, "a proxy instance").await;
    proxy
}

/// Stops a child process when dropped.
struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn two_instances(database_url: &str, args: &Args) {
    let streams = if args.quick { 4 } else { 1000 };
    let samples = if args.quick { 4 } else { 100 };
    println!(
        "\n## Two instances on one PostgreSQL ({streams} streams, half on each; webhooks to A; {samples} events per run, {} runs; ms: min median max over runs)",
        args.repetitions
    );
    let (a_port, sandbox_port) = (free_port(), free_port());
    let sandbox_base = format!("http://127.0.0.1:{sandbox_port}");
    let _sandbox = Stop(
        Command::new(&args.sandbox_bin)
            .env("DOTS_SANDBOX_ADDR", format!("127.0.0.1:{sandbox_port}"))
            .env("DOTS_CLIENT_ID", CLIENT_ID)
            .env("DOTS_API_KEY", API_KEY)
            .env("DOTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env(
                "DOTS_SANDBOX_WEBHOOK_URLS",
                format!("http://127.0.0.1:{a_port}/webhooks/dots"),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (build it first)", args.sandbox_bin)),
    );
    wait_healthy(&sandbox_base, "the sandbox").await;
    // A is on the port the sandbox sends its webhooks to.
    let a = start_instance(&args.proxy_bin, &sandbox_base, database_url, a_port).await;
    let b = start_instance(&args.proxy_bin, &sandbox_base, database_url, free_port()).await;
    let instances = [&a, &b];
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2048)
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for i in 0..streams {
        sessions.push(session(&http, instances[i % 2]).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut p50s, mut p99s, mut local99, mut remote99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for rep in 0..args.repetitions {
        let (mut all, mut local, mut remote) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..samples {
            let index = (k * 7919 + rep * 31) % streams;
            let (flow_id, stream) = &mut sessions[index];
            let started = Instant::now();
            let response = http
                .post(format!("{sandbox_base}/_sandbox/flows/{flow_id}/complete"))
                .json(&json!({"step": "background-check"}))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            if tokio::time::timeout(Duration::from_secs(5), next_event(stream))
                .await
                .is_ok()
            {
                let took = started.elapsed();
                all.push(took);
                if index % 2 == 0 {
                    local.push(took);
                } else {
                    remote.push(took);
                }
            }
            sessions[index] = session(&http, instances[index % 2]).await;
        }
        for list in [&mut all, &mut local, &mut remote] {
            list.sort();
        }
        p50s.push(pct(&all, 0.5) / 1000.0);
        p99s.push(pct(&all, 0.99) / 1000.0);
        local99.push(pct(&local, 0.99) / 1000.0);
        remote99.push(pct(&remote, 0.99) / 1000.0);
    }
    println!(
        "all events:       p50 {} ms   p99 {} ms",
        summary(&mut p50s),
        summary(&mut p99s)
    );
    println!(
        "stream on A:      p99 {} ms (the instance that got the webhook)",
        summary(&mut local99)
    );
    println!(
        "stream on B:      p99 {} ms (through LISTEN/NOTIFY)",
        summary(&mut remote99)
    );
    println!(
        "RSS with {} streams each: A {:.1} MiB, B {:.1} MiB",
        streams / 2,
        a.rss_kib() as f64 / 1024.0,
        b.rss_kib() as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let (Some(upstream), Some(port)) = (args.forward.clone(), args.listen) {
        run_forwarder(upstream, port).await;
        return;
    }
    println!(
        "# dots-flow benchmarks ({})",
        if args.quick { "quick smoke" } else { "full" }
    );
    println!(
        "proxy binary: {}; machine: {} cores",
        args.proxy_bin,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let wanted = |part| args.only.is_empty() || args.only.contains(&part);
    if wanted(Part::Overhead) || wanted(Part::Rates) {
        let proxy = start_proxy(&args.proxy_bin).await;
        if wanted(Part::Overhead) {
            overhead(&proxy, &args).await;
        }
        if wanted(Part::Rates) {
            overhead_at_fixed_rates(&proxy, &args).await;
        }
    }
    if wanted(Part::Webhooks) {
        webhook_latency(&args.proxy_bin, &args).await;
    }
    if wanted(Part::Instances) {
        match &args.database_url {
            Some(url) => two_instances(url, &args).await,
            None => println!(
                "\n## Two instances: skipped (no --database-url / DOTS_PROXY_TEST_POSTGRES_URL)"
            ),
        }
    }
    if wanted(Part::Flood) {
        flood(&args.proxy_bin, &args).await;
    }
    println!("\nbenchmarks finished");
}

/// One try of the flooding client (from 127.0.0.5): opens a stream with `cookie` (or none) and
/// holds it while the proxy lets it, until `until`; true if it was admitted.
async fn flood_once(addr: &str, cookie: Option<&str>, until: Instant) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if socket.bind("127.0.0.5:0".parse().unwrap()).is_err() {
        return false;
    }
    let Ok(mut stream) = socket.connect(addr.parse().unwrap()).await else {
        return false;
    };
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let head = format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\n{cookie}\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 2048];
    let admitted = matches!(stream.read(&mut buf).await, Ok(n) if n > 12 && &buf[9..12] == b"200");
    while admitted && Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            _ => {}
        }
    }
    admitted
}

/// A browser on 127.0.0.2: how long creating a flow and opening its stream take (µs).
async fn browser_round(base: &str) -> (Duration, Duration) {
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let started = Instant::now();
    let created = http
        .post(format!("{base}/api/flows"))
        .header("origin", base)
        .json(&json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let cookie = cookies_of(created.headers());
    let _ = created.bytes().await;
    let create = started.elapsed();
    let started = Instant::now();
    let stream = http
        .get(format!("{base}/api/events"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    (create, started.elapsed())
}

async fn flood(bin: &str, args: &Args) {
    let rounds = if args.quick { 3 } else { 40 };
    let workers = if args.quick { 50 } else { 700 };
    println!(
        "\n## A flood of event streams from one address ({workers} connections at a time, default caps, \
         --max-connections 512; a browser on another address: {rounds} rounds each; ms: p50 p99)"
    );
    // The caps a hostile client meets: the defaults, not the one-address load settings.
    let proxy = start_proxy_with(bin, |command| {
        command
            .env("DOTS_PROXY_MAX_CONNECTIONS", "512")
            .env("DOTS_PROXY_MAX_CONNECTIONS_PER_CLIENT", "256")
            .env("DOTS_PROXY_STREAMS_PER_CLIENT", "64")
            .env("RUST_LOG", "error");
    })
    .await;
    let addr = proxy.base.trim_start_matches("http://").to_owned();
    let measure = |label: &'static str| {
        let base = proxy.base.clone();
        async move {
            let (mut creates, mut streams) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let (create, stream) = browser_round(&base).await;
                creates.push(create);
                streams.push(stream);
            }
            creates.sort();
            streams.sort();
            println!(
                "{label:<14} create p50 {:.2} p99 {:.2}   stream open p50 {:.2} p99 {:.2}",
                pct(&creates, 0.5) / 1000.0,
                pct(&creates, 0.99) / 1000.0,
                pct(&streams, 0.5) / 1000.0,
                pct(&streams, 0.99) / 1000.0
            );
        }
    };
    measure("without flood").await;
    let resting = proxy.rss_kib();
    // The attacker's identity (one flow from the flooding address).
    let attacker = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 5]))
        .build()
        .unwrap();
    let answer = attacker
        .post(format!("{}/api/flows", proxy.base))
        .header("origin", &proxy.base)
        .json(&json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    let cookie = cookies_of(answer.headers());
    let until = Instant::now() + Duration::from_secs(if args.quick { 2 } else { 8 });
    let counts = std::sync::Arc::new(std::sync::Mutex::new((0usize, 0usize)));
    let tasks: Vec<_> = (0..workers)
        .map(|n| {
            let (addr, counts) = (addr.clone(), counts.clone());
            let cookie = (n % 2 == 0).then(|| cookie.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let admitted = flood_once(&addr, cookie.as_deref(), until).await;
                    let mut counts = counts.lock().unwrap();
                    counts.0 += 1;
                    counts.1 += usize::from(admitted);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    measure("during flood").await;
    let peak = proxy.rss_kib();
    for task in tasks {
        let _ = task.await;
    }
    let (attempts, admitted) = *counts.lock().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    measure("after flood").await;
    println!(
        "flood: {attempts} stream attempts, {admitted} admitted (then closed for newer ones of their \
         identity); proxy RSS {:.1} MiB resting, {:.1} MiB during, {:.1} MiB after",
        resting as f64 / 1024.0,
        peak as f64 / 1024.0,
        proxy.rss_kib() as f64 / 1024.0
    );
}
