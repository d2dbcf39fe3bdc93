//! Connections that never finish their request head are closed, open connections are capped,
//! and long responses (event streams) are not cut (issue 12: `axum::serve` held half-sent
//! connections for ever; about a thousand exhausted the proxy's file descriptors).

mod common;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use dots_proxy::server::{serve, ServeLimits};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads until the peer closes; how long that took (or `None` if it stayed open `within`).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue, // e.g. a 408 before the close
        }
    }
}

async fn get_text(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

#[tokio::test]
async fn slow_heads_are_closed_connections_capped_and_streams_kept() {
    let app = Router::new().route("/ok", get(|| async { "ok" })).route(
        "/stream",
        get(|| async {
            // Eight chunks 150 ms apart: 1.2 s in all, longer than the head deadline.
            let chunks = futures_util::stream::unfold(0, |n| async move {
                if n == 8 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
                Some((Ok::<_, std::io::Error>(format!("chunk{n};")), n + 1))
            });
            Body::from_stream(chunks)
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let limits = ServeLimits {
        header_timeout: Duration::from_millis(400),
        max_connections: 4,
        shutdown_grace: Duration::from_secs(1),
        ..ServeLimits::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, limits, async {
        let _ = stopped.await;
    }));

    // Half a head, and nothing at all: both closed soon after the deadline.
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /ok HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    for (name, stream) in [("half a head", &mut half), ("nothing", &mut silent)] {
        let took = closed_within(stream, Duration::from_secs(5)).await;
        assert!(took.is_some(), "a connection that sent {name} is closed");
        assert!(
            took.unwrap() < Duration::from_secs(3),
            "{name}: closed after {took:?}"
        );
    }

    // The cap: four silent connections hold every slot, so a fifth waits to be accepted
    // until the deadline frees them.
    let mut holders = Vec::new();
    for _ in 0..4 {
        holders.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let answer = get_text(&addr, "/ok").await;
    assert!(answer.ends_with("ok"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the fifth connection was served only once a slot freed ({:?})",
        started.elapsed()
    );

    // A response longer than the head deadline is delivered whole.
    let body = get_text(&addr, "/stream").await;
    assert!(
        body.contains("chunk0;") && body.contains("chunk7;"),
        "{body}"
    );

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("shutdown is bounded")
        .unwrap();
}

/// The proxy binary in local mode on a free port over `data_dir`, untouched by the caller's
/// Dots or database settings.
fn local_proxy(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dots-proxy"));
    command
        .env("DOTS_ENV", "local")
        .env("DOTS_PROXY_ADDR", "127.0.0.1:0")
        .env("DOTS_PROXY_DATA_DIR", data_dir)
        .env_remove("DOTS_API_KEY")
        .env_remove("DOTS_CLIENT_ID")
        .env_remove("DOTS_PROXY_DATABASE_URL");
    command
}

#[test]
fn the_binary_closes_a_half_sent_request_head() {
    let data_dir = std::env::temp_dir().join(format!("dots-proxy-server-{}", std::process::id()));
    let child = local_proxy(&data_dir)
        .env("DOTS_PROXY_HEADER_TIMEOUT_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the proxy starts");
    let mut child = common::KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("dots-proxy listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        let mut half = TcpStream::connect(&addr).await.unwrap();
        half.write_all(b"POST /api/flows HTTP/1.1\r\nHost: t\r\n")
            .await
            .unwrap();
        let took = closed_within(&mut half, Duration::from_secs(6)).await;
        let health = get_text(&addr, "/healthz").await;
        (took, health)
    });
    child.kill();
    let _ = std::fs::remove_dir_all(&data_dir);
    let (took, health) = result;
    assert!(took.is_some(), "the proxy closed the half-sent connection");
    assert!(
        took.unwrap() < Duration::from_secs(4),
        "within the 1 s deadline (+ slack): {took:?}"
    );
    assert!(health.ends_with("ok"), "and still serves others: {health}");
}

#[tokio::test]
async fn cors_lets_only_the_allowed_origins_call_the_browser_api() {
    // Issue 14: a front end at another origin (say app.example.com with the proxy at
    // api.example.com) needs CORS with credentials; nobody else may read an answer.
    let stack = common::Stack::start().await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str, path: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", stack.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight(common::ORIGIN, "/api/flows").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], common::ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let other = preflight("http://evil.test", "/api/flows").await.unwrap();
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "another origin is not allowed"
    );
    let host = preflight(common::ORIGIN, "/host/users").await.unwrap();
    assert!(
        host.headers().get("access-control-allow-origin").is_none(),
        "the host API never answers browsers"
    );
    let answer = client
        .post(format!("{}/api/flows", stack.base))
        .header("origin", common::ORIGIN)
        .json(&serde_json::json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        common::ORIGIN
    );
}

#[tokio::test]
async fn cross_site_cookies_are_samesite_none_and_secure_only() {
    // For a front end on another site: `SameSite=None`, which browsers take only with `Secure`.
    let stack = common::Stack::with_settings(dots_proxy::ProxySettings {
        cross_site_cookies: true,
        secure_cookies: true,
        ..common::settings()
    })
    .await;
    let answer = common::first_flow(&stack.base).await;
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("SameSite=None"), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");

    // The binary refuses the setting without Secure cookies (on loopback they are off).
    let data_dir = std::env::temp_dir().join(format!("dots-proxy-xsite-{}", std::process::id()));
    let output = local_proxy(&data_dir)
        .env("DOTS_PROXY_CROSS_SITE_COOKIES", "on")
        .env_remove("DOTS_PROXY_SECURE_COOKIES")
        .output()
        .expect("the proxy runs");
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(!output.status.success(), "refused");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("DOTS_PROXY_CROSS_SITE_COOKIES"), "{said}");
}
