//! A proxy killed with SIGKILL while it processes a webhook loses nothing (issue 12).
//!
//! Real processes: the sandbox (in this test process) signs webhooks to a `dots-proxy` binary;
//! the proxy's call to Dots for the flow is stalled with a fault; the proxy is killed
//! mid-processing and restarted on the same data and port; the sandbox's retries are processed
//! and the browser's session gets its user and its events exactly once. (Before, the id was
//! marked done on arrival, so the retry was ignored and the user never bound.)

mod common;

use common::{Browser, KillOnDrop};
use dots_sandbox::{FaultKind, FaultRule};
use serde_json::json;
use std::path::Path;

use std::sync::{Arc, Mutex};
use std::time::Duration;

const CLIENT_ID: &str = "crash-test-client";
const API_KEY: &str = "crash-test-api-key-5e1f";

/// Starts the proxy binary against `api_base`; returns once it listens, with its log lines.
fn start_proxy(
    port: u16,
    api_base: &str,
    data_dir: &Path,
) -> (KillOnDrop, Arc<Mutex<Vec<String>>>) {
    common::start_proxy_process(port, api_base, (CLIENT_ID, API_KEY), data_dir, &[])
}

/// Every event the session's stream replays (from the start), read until it has been quiet
/// for a second.
async fn all_events(base: &str, cookie: &str) -> Vec<common::SseEvent> {
    let response = reqwest::Client::new()
        .get(format!("{base}/api/events"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let mut stream = common::SseReader::new(response);
    let mut events = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(1)).await {
        events.push(event);
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_killed_mid_webhook_processes_the_retry_exactly_once() {
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let sandbox = common::sandbox_sending_to(&base, (CLIENT_ID, API_KEY)).await;
    let mut webhooks = sandbox.state().webhooks().settings();
    webhooks.retry_delays = [300, 600, 1000, 1500, 2000, 3000, 4000, 5000]
        .map(Duration::from_millis)
        .to_vec();
    sandbox.state().webhooks().configure(webhooks);
    let data_dir = std::env::temp_dir().join(format!(
        "dots-proxy-crash-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&data_dir).unwrap();

    let (mut proxy, logs) = start_proxy(port, &sandbox.api_base(), &data_dir);
    let mut browser = Browser::at(&base);
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let cookie = browser.cookie.clone().expect("a session");

    // The proxy's next two looks at the flow stall at Dots (one per webhook: one flow's
    // deliveries are handled side by side, the database keeps them in order).
    sandbox.state().faults().add(FaultRule {
        operation: None,
        path: format!("/v2/flows/{flow_id}"),
        method: Some("GET".into()),
        kind: FaultKind::Latency { latency_ms: 60_000 },
        count: Some(2),
        ratio: None,
    });
    // Sign-in and the compliance step, as the hosted page would: two signed webhooks.
    common::emit_sign_in(&sandbox, &flow_id);
    common::emit_step(&sandbox, &flow_id, &dots_api::StepName::Compliance);

    // Mid-processing: the proxy verified both webhooks and is waiting on Dots.
    common::eventually("the proxy's calls to Dots are stalled", || {
        let faults = sandbox.state().faults().list();
        async move { faults.is_empty() }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.kill(); // SIGKILL: no shutdown code runs
    let before_kill = logs.lock().unwrap().join("\n");
    assert!(
        !before_kill.contains("identity bound"),
        "killed before anything was bound:\n{before_kill}"
    );

    // Restarted on the same data and port; the sandbox retries both webhooks.
    let (mut proxy, logs) = start_proxy(port, &sandbox.api_base(), &data_dir);
    common::eventually("the retried webhook binds the user", || {
        let logs = logs.clone();
        async move {
            logs.lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("identity bound"))
        }
    })
    .await;
    // Let every retry land (each one is answered 204 once processed).
    tokio::time::sleep(Duration::from_secs(2)).await;

    let kinds: Vec<String> = all_events(&base, &cookie)
        .await
        .iter()
        .map(common::SseEvent::name)
        .collect();
    assert_eq!(
        kinds,
        ["user_bound", "step_completed:compliance", "flow_completed"],
        "the session's events, each exactly once"
    );
    let next = browser
        .create_flow(json!({"steps": ["id-verification"]}))
        .await;
    assert!(
        next["expires_at"].is_string(),
        "the session has its user: its next flow is pre-authenticated: {next}"
    );
    proxy.kill();
    let _ = std::fs::remove_dir_all(&data_dir);
}
