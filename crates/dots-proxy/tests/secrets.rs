//! No secret ever reaches a response body, a response header or a log line — with every
//! crate's tracing captured at TRACE level while a whole journey runs.

mod common;

use common::{Stack, ADMIN_TOKEN, API_KEY, JWT_SECRET, WEBHOOK_SECRET};
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_any_response_header_or_log_line() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let stack = Stack::start().await;
    let mut seen = String::new();
    let mut browser = stack.browser();
    let flow = browser
        .send(
            Method::POST,
            "/api/flows",
            Some(json!({"steps": ["compliance", "payout"]})),
        )
        .await;
    seen.push_str(&flow.text);
    seen.push_str(&format!("{:?}", flow.headers));
    let flow_id = flow.json()["id"].as_str().unwrap().to_owned();
    stack.onboard(&flow_id, "4155550700").await;
    stack.complete_step(&flow_id, "compliance").await;
    for path in [
        format!("/api/flows/{flow_id}"),
        "/api/flows/nope".to_owned(),
    ] {
        let answer = browser.send(Method::GET, &path, None).await;
        seen.push_str(&answer.text);
        seen.push_str(&format!("{:?}", answer.headers));
    }
    let bad = browser
        .send(
            Method::POST,
            "/api/flows",
            Some(json!({"steps": ["payout", "payout"]})),
        )
        .await;
    seen.push_str(&bad.text);
    let (_, user) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(json!({"first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "country_code": "1", "phone_number": "4155550701"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    seen.push_str(&user.to_string());
    let (_, paid) = stack
        .host(
            Method::POST,
            &format!("/host/users/{}/pay", user["id"].as_str().unwrap()),
            Some(json!({"amount_cents": 100, "reference": "r-1"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    seen.push_str(&paid.to_string());
    let (_, unauthorized) = stack
        .host(Method::GET, "/host/users/x", None, Some("guess"))
        .await;
    seen.push_str(&unauthorized.to_string());
    seen.push_str(&format!("{:?}", stack.state.settings()));
    seen.push_str(&format!("{:?}", stack.state.dots()));
    // Let the webhooks land and be logged.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.len() > 1000,
        "logs were captured ({} bytes)",
        logs.len()
    );
    assert!(logs.contains("flow created"), "the journey ran and logged");
    let key_b64 = WEBHOOK_SECRET.trim_start_matches("whsec_");
    for (name, secret) in [
        ("API key", API_KEY),
        ("webhook secret", key_b64),
        ("admin token", ADMIN_TOKEN),
        ("JWT secret", JWT_SECRET),
    ] {
        assert!(!seen.contains(secret), "the {name} appeared in a response");
        assert!(!logs.contains(secret), "the {name} appeared in the logs");
    }
    // Basic auth of the API key, as it would be sent upstream, never appears either.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{API_KEY}", dots_sandbox::DEFAULT_CLIENT_ID));
    assert!(
        !logs.contains(&basic) && !seen.contains(&basic),
        "no Basic credentials anywhere"
    );
}
