//! A real sandbox and a real proxy on free loopback ports, wired like local mode (the sandbox's
//! webhooks go to the proxy), plus a tiny browser-like client that keeps its session cookie.
#![allow(dead_code)]

use dots_api::webhook::WebhookSecret;
use dots_proxy::db::Db;
use dots_proxy::{router, AppState, DotsClient, ProxySettings};
use dots_sandbox::{spawn, RunningSandbox, SandboxConfig};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

pub const API_KEY: &str = "proxy-test-api-key-3c9d1e";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests-0f4e";
pub const JWT_SECRET: &str = "jwt-secret-for-tests-77aa-0123456789abcdef";
pub const ORIGIN: &str = "http://app.test";
pub const WEBHOOK_SECRET: &str = "whsec_cHJveHktdGVzdC13ZWJob29rLXNlY3JldA==";

pub fn settings() -> ProxySettings {
    ProxySettings {
        jwt_secret: Some(JWT_SECRET.to_owned().into()),
        admin_token: Some(ADMIN_TOKEN.to_owned().into()),
        webhook_secrets: vec![WebhookSecret::parse(WEBHOOK_SECRET).unwrap()],
        allowed_origins: vec![ORIGIN.to_owned()],
        secure_cookies: false,
        // Tests open many sessions from one address quickly: their limits are set here, and
        // the limits themselves are tested with small ones (tests/limits.rs).
        rate_limits: dots_proxy::limits::RateLimits {
            flows_per_identity: 10_000,
            flows_per_client: 10_000,
            new_identities_per_client: 10_000,
            ipv6_prefix: 64,
            flow_reads_per_identity: 10_000,
        },
        // Likewise the streams of one address (the caps are tested in tests/hostile.rs).
        stream_limits: dots_proxy::limits::StreamLimits {
            per_client: 100_000,
            ..Default::default()
        },
        ..ProxySettings::default()
    }
}

pub fn temp_db_path() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("dots-proxy-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("proxy.sqlite")
}

pub struct Stack {
    pub sandbox: RunningSandbox,
    pub state: AppState,
    pub base: String,
    pub db_path: PathBuf,
    server: AbortOnDrop,
}

/// Stops the proxy's server task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(settings(), temp_db_path(), None).await
    }

    /// A fresh stack with these settings.
    pub async fn with_settings(settings: ProxySettings) -> Self {
        Self::start_with(settings, temp_db_path(), None).await
    }

    /// A proxy over `db_path`; with `sandbox` given, reuses it (a restarted proxy).
    pub async fn start_with(
        settings: ProxySettings,
        db_path: PathBuf,
        sandbox: Option<RunningSandbox>,
    ) -> Self {
        let sandbox = match sandbox {
            Some(s) => s,
            None => spawn(SandboxConfig {
                api_key: API_KEY.into(),
                webhook_secret: WebhookSecret::parse(WEBHOOK_SECRET).unwrap(),
                behaviour: Default::default(),
                ..SandboxConfig::default()
            })
            .await
            .unwrap(),
        };
        let dots = DotsClient::new(
            sandbox.api_base(),
            dots_sandbox::DEFAULT_CLIENT_ID,
            API_KEY.to_owned().into(),
            None,
            Duration::from_secs(2),
        );
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", db_path.display()))
            .await
            .unwrap();
        Self::serve(settings, db, db_path, sandbox, dots).await
    }

    /// A proxy over the database at `url` (SQLite or PostgreSQL), with a fresh sandbox.
    pub async fn start_on(settings: ProxySettings, url: &str) -> Self {
        let sandbox = spawn(SandboxConfig {
            api_key: API_KEY.into(),
            webhook_secret: WebhookSecret::parse(WEBHOOK_SECRET).unwrap(),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let dots = DotsClient::new(
            sandbox.api_base(),
            dots_sandbox::DEFAULT_CLIENT_ID,
            API_KEY.to_owned().into(),
            None,
            Duration::from_secs(2),
        );
        let db = Db::connect(url).await.unwrap();
        Self::serve(settings, db, PathBuf::from(url), sandbox, dots).await
    }

    async fn serve(
        settings: ProxySettings,
        db: Db,
        db_path: PathBuf,
        sandbox: RunningSandbox,
        dots: DotsClient,
    ) -> Self {
        let state = AppState::new(dots, db, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        // Served the way the binary serves (connection limits, the peer's address).
        let server = AbortOnDrop(tokio::spawn(async move {
            dots_proxy::server::serve(
                listener,
                app,
                // Every test client comes from 127.0.0.1 (the cap is tested on the binary).
                dots_proxy::server::ServeLimits {
                    max_connections_per_client: 0,
                    ..Default::default()
                },
                std::future::pending(),
            )
            .await;
        }));
        let mut webhooks = sandbox.state().webhooks().settings();
        webhooks.endpoints = vec![format!("http://{addr}/webhooks/dots")];
        webhooks.retry_delays = vec![Duration::from_millis(50); 3];
        sandbox.state().webhooks().configure(webhooks);
        Self {
            sandbox,
            state,
            base: format!("http://{addr}"),
            db_path,
            server,
        }
    }

    /// Stops the proxy, keeping the sandbox for a restarted one.
    pub fn stop(self) -> (RunningSandbox, PathBuf) {
        drop(self.server);
        (self.sandbox, self.db_path)
    }

    pub fn browser(&self) -> Browser {
        Browser {
            http: reqwest::Client::new(),
            base: self.base.clone(),
            cookie: None,
            origin: Some(ORIGIN.to_owned()),
            bearer: None,
        }
    }

    pub async fn host(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Completes a flow's onboarding in the sandbox as the hosted page would.
    pub async fn onboard(&self, flow_id: &str, phone: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/_sandbox/flows/{flow_id}/onboard", self.sandbox.origin()))
            .json(&serde_json::json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                                      "country_code": "1", "phone_number": phone}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    pub async fn complete_step(&self, flow_id: &str, step: &str) {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/_sandbox/flows/{flow_id}/complete",
                self.sandbox.origin()
            ))
            .json(&serde_json::json!({"step": step}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// A browser: keeps the session cookie, sends an `Origin`.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
    pub origin: Option<String>,
    pub bearer: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl Browser {
    pub async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie.clone());
        }
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin.clone());
        }
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // A browser's cookie jar: every `Set-Cookie` kept (a removal removes), all sent back,
        // the session's first.
        let mut jar: Vec<(String, String)> = self
            .cookie
            .iter()
            .flat_map(|c| c.split("; "))
            .filter_map(|pair| pair.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        for set in headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v: &HeaderValue| v.to_str().ok())
        {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            jar.retain(|(n, _)| n != name);
            if !value.is_empty() && !set.contains("Max-Age=0") {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
        jar.sort_by_key(|(n, _)| !n.contains("dots_flow_session"));
        self.cookie = (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        });
        let text = response.text().await.unwrap();
        Answer {
            status,
            headers,
            text,
        }
    }

    pub async fn create_flow(&mut self, body: Value) -> Value {
        let answer = self
            .send(reqwest::Method::POST, "/api/flows", Some(body))
            .await;
        assert_eq!(answer.status, 200, "create flow: {}", answer.text);
        answer.json()
    }
}

/// Polls `check` until it holds (bounded).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A child process (a proxy binary under test), killed with SIGKILL when dropped, so a failing
/// test never leaves it running (and holding the test's output pipes open).
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    /// SIGKILL now: no shutdown code of the child runs.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the `dots-proxy` binary on `port` with `env` (over a clean base: remote mode against
/// `api_base`, the tests' webhook secret and origin, insecure cookies on loopback, its own
/// data dir, SQLite unless `env` names a database); returns once it listens, with its stdout
/// lines.
pub fn start_proxy_process(
    port: u16,
    api_base: &str,
    client: (&str, &str),
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (KillOnDrop, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_dots-proxy"));
    command
        .env("DOTS_ENV", "sandbox")
        .env("DOTS_API_BASE", api_base)
        .env("DOTS_CLIENT_ID", client.0)
        .env("DOTS_API_KEY", client.1)
        .env("DOTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("DOTS_PROXY_ADDR", format!("127.0.0.1:{port}"))
        .env("DOTS_PROXY_DATA_DIR", data_dir)
        .env("DOTS_PROXY_ALLOWED_ORIGINS", ORIGIN)
        .env("DOTS_PROXY_SECURE_COOKIES", "false")
        .env_remove("DOTS_PROXY_DATABASE_URL")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the proxy starts");
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (ready, listening) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let lines = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("dots-proxy listening on") {
                let _ = ready.send(());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let child = KillOnDrop(child);
    listening
        .recv_timeout(Duration::from_secs(30))
        .expect("the proxy listens");
    (child, logs)
}

/// A standalone sandbox (in this process) with `client` credentials, signing its webhooks to
/// `webhook_base`'s `/webhooks/dots` with the tests' secret.
pub async fn sandbox_sending_to(webhook_base: &str, client: (&str, &str)) -> RunningSandbox {
    spawn(SandboxConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        client_id: client.0.into(),
        api_key: client.1.into(),
        webhook_urls: vec![format!("{webhook_base}/webhooks/dots")],
        webhook_secret: WebhookSecret::parse(WEBHOOK_SECRET).unwrap(),
        behaviour: Default::default(),
    })
    .await
    .unwrap()
}

impl Browser {
    /// A browser on the tests' allowed origin, with no session yet, talking to `base`.
    pub fn at(base: &str) -> Self {
        Browser {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            cookie: None,
            origin: Some(ORIGIN.to_owned()),
            bearer: None,
        }
    }
}

/// Signs a new user in on `flow_id`'s hosted page, straight in the sandbox's store, and sends
/// the webhooks that causes.
pub fn emit_sign_in(sandbox: &RunningSandbox, flow_id: &str) {
    let now = sandbox.state().clock().now_ms();
    let store = sandbox.state().store();
    store
        .start_onboarding(
            flow_id,
            serde_json::from_value(
                serde_json::json!({"first_name": "Ada", "last_name": "Lovelace",
                "email": "ada@example.com", "country_code": "1", "phone_number": "4155550142"}),
            )
            .unwrap(),
        )
        .unwrap();
    let (_, events) = store
        .finish_onboarding(flow_id, dots_sandbox::store::VERIFICATION_CODE, now)
        .unwrap();
    sandbox.state().emit(events);
}

/// Completes `step` of `flow_id` straight in the sandbox's store and sends its webhooks.
pub fn emit_step(sandbox: &RunningSandbox, flow_id: &str, step: &dots_api::StepName) {
    let now = sandbox.state().clock().now_ms();
    let (_, events) = sandbox
        .state()
        .store()
        .complete_step(flow_id, step, now)
        .unwrap();
    sandbox.state().emit(events);
}

/// One Server-Sent Event as the proxy sends it.
pub struct SseEvent {
    pub id: String,
    pub kind: String,
    pub data: Value,
}

impl SseEvent {
    /// The kind, with the step for `step_completed` (`step_completed:compliance`).
    pub fn name(&self) -> String {
        match self.data["step"].as_str() {
            Some(step) => format!("{}:{step}", self.kind),
            None => self.kind.clone(),
        }
    }
}

/// Reads a `text/event-stream` answer event by event (comments, keep-alives and `retry:`
/// lines are skipped).
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        SseReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; `None` once the stream ended or nothing came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if !kind.is_empty() {
                    let data = serde_json::from_str(&data).expect("an event's data is JSON");
                    return Some(SseEvent { id, kind, data });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }
}

/// A stream event of `kind` (the log stores what the proxy stores: typed events).
pub fn event(kind: &str) -> dots_api::StreamEvent {
    let flow_id = dots_api::FlowId::from("flow-1");
    match kind {
        "user_bound" => dots_api::StreamEvent::UserBound {
            user_id: "user-1".into(),
            flow_id,
        },
        "step_completed" => dots_api::StreamEvent::StepCompleted {
            flow_id,
            step: dots_api::StepName::Compliance,
        },
        "flow_completed" => dots_api::StreamEvent::FlowCompleted {
            flow_id,
            completed_steps: vec![dots_api::StepName::Compliance],
        },
        _ => dots_api::StreamEvent::UserUpdated {
            user_id: "user-1".into(),
        },
    }
}

/// A fresh PostgreSQL database on the test cluster (`DOTS_PROXY_TEST_POSTGRES_URL`, which
/// scripts/test.sh starts), as its URL; `None` (the test skips) without a cluster, which CI
/// always has.
pub async fn fresh_postgres(prefix: &str) -> Option<String> {
    let Ok(admin_url) = std::env::var("DOTS_PROXY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide DOTS_PROXY_TEST_POSTGRES_URL"
        );
        eprintln!("skipped: DOTS_PROXY_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("the URL names a database");
    Some(format!("{base}/{name}"))
}

/// The session's `Set-Cookie` of an answer (a flow answer also sets the flow's claim).
pub fn session_set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("dots_flow_session="))
        .map(str::to_owned)
}

/// Every cookie an answer sets, as a browser sends them back (`a=1; b=2`).
pub fn cookies_of(headers: &HeaderMap) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `POST /api/flows` for a compliance step from a browser with no cookie, on the tests' origin.
pub async fn first_flow(base: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/flows"))
        .header("origin", ORIGIN)
        .json(&serde_json::json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap()
}

/// `GET {url}` with `cookie`.
pub async fn get_with_cookie(url: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}
