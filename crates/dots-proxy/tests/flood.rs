//! Issue 25, item 1: a flood of event streams from one address, against the `dots-proxy`
//! binary. Before the caps, 4,100 anonymous streams from one address took every connection and
//! `/healthz` went unanswered for 8 s. Now the flood is refused early (a stream needs an
//! identity that made a flow; one address holds at most its share of streams and
//! connections), a normal browser on another address creates, streams and hears a webhook's
//! event within normal latency during it, and the process returns to its resting memory.
//!
//! Addresses: the flood comes from 127.0.0.5, the normal browser from 127.0.0.2, the sandbox
//! (Dots' webhooks) from 127.0.0.1 — all loopback, as distinct clients.

mod common;

use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENT: (&str, &str) = ("flood-client", "flood-api-key-5e0b");
const FLOODER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);
const BROWSER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Connections the flood keeps trying at once.
const FLOOD_WORKERS: usize = 700;
const FLOOD_FOR: Duration = Duration::from_secs(6);

/// The proxy's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One flooding connection: opens a stream (with the attacker's cookie or none) and holds it
/// as long as the proxy lets it; the status it got (0: closed before any answer).
async fn flood_once(addr: SocketAddr, cookie: Option<&str>, until: Instant) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if socket
        .bind(SocketAddr::new(IpAddr::V4(FLOODER), 0))
        .is_err()
    {
        return 0;
    }
    let Ok(mut stream) = socket.connect(addr).await else {
        return 0;
    };
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let head = format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\n{cookie}\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return 0;
    }
    let mut buf = vec![0u8; 2048];
    let n = match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 12 => n,
        _ => return 0,
    };
    let status = String::from_utf8_lossy(&buf[9..12]).parse().unwrap_or(0);
    if status == 200 {
        // Hold it: read until the proxy closes it or the flood ends.
        while Instant::now() < until {
            match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
    }
    let _ = n;
    status
}

/// What a normal browser on `BROWSER` sees: how long creating a flow, opening its stream,
/// `/healthz` and a webhook's event (from the step completed in the sandbox to the event on
/// the stream) take.
#[derive(Debug)]
struct Round {
    create: Duration,
    stream: Duration,
    health: Duration,
    webhook_event: Duration,
}

async fn normal_browser(base: &str, sandbox_origin: &str) -> Round {
    let http = reqwest::Client::builder()
        .local_address(IpAddr::V4(BROWSER))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = Instant::now();
    let created = http
        .post(format!("{base}/api/flows"))
        .header("origin", common::ORIGIN)
        .json(&json!({"steps": ["compliance"]}))
        .send()
        .await
        .expect("create during the flood");
    assert_eq!(created.status(), 200);
    let cookie = common::cookies_of(created.headers());
    let flow: serde_json::Value = created.json().await.unwrap();
    let create = started.elapsed();
    let started = Instant::now();
    let stream = http
        .get(format!("{base}/api/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("stream during the flood");
    let stream_took = started.elapsed();
    let mut events = common::SseReader::new(stream);
    let started = Instant::now();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health = started.elapsed();
    let flow_id = flow["id"].as_str().unwrap();
    let started = Instant::now();
    let completed = reqwest::Client::new()
        .post(format!(
            "{sandbox_origin}/_sandbox/flows/{flow_id}/complete"
        ))
        .json(&json!({"step": "compliance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 200);
    loop {
        let event = events
            .next(Duration::from_secs(20))
            .await
            .expect("the webhook's event reaches the browser during the flood");
        if event.kind == "step_completed" {
            break;
        }
    }
    Round {
        create,
        stream: stream_took,
        health,
        webhook_event: started.elapsed(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_streams_from_one_address_is_refused_early_and_others_are_served() {
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let sandbox = common::sandbox_sending_to(&base, CLIENT).await;
    let data = std::env::temp_dir().join(format!("dots-flood-{}", uuid::Uuid::new_v4().simple()));
    let metrics_addr = format!("127.0.0.1:{}", common::free_port());
    let (proxy, _logs) = common::start_proxy_process(
        port,
        &sandbox.api_base(),
        CLIENT,
        &data,
        &[
            ("DOTS_PROXY_MAX_CONNECTIONS", "512"),
            ("DOTS_PROXY_METRICS_ADDR", &metrics_addr),
            ("RUST_LOG", "warn"),
        ],
    );
    let pid = proxy.0.id();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let origin = sandbox.origin();

    // Without the flood (and warming the proxy up).
    normal_browser(&base, &origin).await;
    let quiet = normal_browser(&base, &origin).await;
    let resting = rss_kib(pid);

    // The attacker's identity: one flow from the flooding address.
    let attacker = reqwest::Client::builder()
        .local_address(IpAddr::V4(FLOODER))
        .build()
        .unwrap();
    let answer = attacker
        .post(format!("{base}/api/flows"))
        .header("origin", common::ORIGIN)
        .json(&json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    let cookie = common::cookies_of(answer.headers());
    drop(attacker);

    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let deadline = Instant::now() + FLOOD_FOR;
    let workers: Vec<_> = (0..FLOOD_WORKERS)
        .map(|n| {
            let statuses = statuses.clone();
            let cookie = (n % 2 == 0).then(|| cookie.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let status = flood_once(addr, cookie.as_deref(), deadline).await;
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                    if status == 0 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = normal_browser(&base, &origin).await;
    let peak = rss_kib(pid);
    for worker in workers {
        worker.await.unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    let attempts: usize = statuses.values().sum();
    let held = statuses.get(&200).copied().unwrap_or(0);
    eprintln!(
        "flood: {attempts} stream attempts from one address in {FLOOD_FOR:?}, by status {statuses:?}; \
         normal browser quiet {quiet:?}, during {during:?}; memory {resting} KiB resting, {peak} KiB during"
    );
    assert!(attempts > 2000, "a real flood: {attempts}");
    assert!(
        held * 10 < attempts,
        "the flood is refused, not served: {statuses:?}"
    );
    let refused_early = statuses.get(&404).copied().unwrap_or(0)
        + statuses.get(&429).copied().unwrap_or(0)
        + statuses.get(&0).copied().unwrap_or(0);
    assert!(refused_early * 10 >= attempts * 9, "{statuses:?}");
    let bound = Duration::from_secs(2);
    for (what, took) in [
        ("create", during.create),
        ("stream", during.stream),
        ("healthz", during.health),
        ("webhook event", during.webhook_event),
    ] {
        assert!(
            took < bound,
            "{what} took {took:?} during the flood (quiet: {quiet:?})"
        );
    }

    // After: back to resting memory (allocator slack allowed), and still serving.
    tokio::time::sleep(Duration::from_secs(2)).await;
    normal_browser(&base, &origin).await;
    let after = rss_kib(pid);
    eprintln!("memory after the flood: {after} KiB (resting {resting} KiB)");
    assert!(
        after <= resting + 16 * 1024,
        "memory after the flood {after} KiB, resting {resting} KiB, peak {peak} KiB"
    );
    // What an operator sees of it.
    let scraped = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused: f64 = scraped
        .lines()
        .find_map(|l| l.strip_prefix("dots_proxy_connections_refused_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(
        refused > 0.0,
        "connections refused at accept are counted:\n{scraped}"
    );
    drop(proxy);
    let _ = std::fs::remove_dir_all(&data);
}
