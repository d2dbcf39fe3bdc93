//! Webhooks: Svix-signed deliveries to a real HTTP receiver, retried with backoff.

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::Sandbox;
use dots_api::webhook::{verify, SvixHeaders, WebhookSecret};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// A receiver on a free port that fails the first `failures` deliveries with 500.
async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<Received>>>) {
    let seen = Arc::new(Mutex::new(Vec::<Received>::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let mut log = log.lock().unwrap();
                log.push(Received {
                    id: header(dots_api::webhook::SVIX_ID),
                    timestamp: header(dots_api::webhook::SVIX_TIMESTAMP),
                    signature: header(dots_api::webhook::SVIX_SIGNATURE),
                    body: body.to_vec(),
                });
                if log.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn wait_for(seen: &Arc<Mutex<Vec<Received>>>, count: usize) -> Vec<Received> {
    for _ in 0..200 {
        if seen.lock().unwrap().len() >= count {
            return seen.lock().unwrap().clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {count} deliveries, got {:?}",
        seen.lock().unwrap().len()
    );
}

const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtZm9yLXdlYmhvb2tz";

async fn configure(sb: &Sandbox, url: &str, delays: &[u64]) {
    let (status, body) = sb
        .raw(
            Method::PUT,
            "/_sandbox/webhooks",
            Some(json!({"endpoints": [url], "secret": SECRET, "retry_delays_ms": delays})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn completing_a_step_sends_a_signed_flow_updated() {
    let sb = Sandbox::start().await;
    let (url, seen) = receiver(0).await;
    configure(&sb, &url, &[]).await;
    let flow = sb.create_flow(json!({"steps": ["background-check"]})).await;
    let id = flow["id"].as_str().unwrap();
    let (status, _) = sb
        .raw(
            Method::POST,
            &format!("/_sandbox/flows/{id}/complete"),
            Some(json!({"step": "background-check"})),
        )
        .await;
    assert_eq!(status, 200);
    let delivered = wait_for(&seen, 1).await;
    let hook = &delivered[0];
    assert!(hook.id.starts_with("msg_"), "svix-id {}", hook.id);
    assert!(hook.signature.starts_with("v1,"));
    let secret = WebhookSecret::parse(SECRET).unwrap();
    verify(
        &[secret],
        &SvixHeaders {
            id: Some(&hook.id),
            timestamp: Some(&hook.timestamp),
            signature: Some(&hook.signature),
        },
        &hook.body,
        now(),
    )
    .expect("the signature verifies per Svix");
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(body, json!({"event": "flow.updated", "flow_id": id}));
    let wrong = WebhookSecret::parse("whsec_b3RoZXI=").unwrap();
    assert!(verify(
        &[wrong],
        &SvixHeaders {
            id: Some(&hook.id),
            timestamp: Some(&hook.timestamp),
            signature: Some(&hook.signature)
        },
        &hook.body,
        now()
    )
    .is_err());
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_the_same_id_and_logged() {
    let sb = Sandbox::start().await;
    let (url, seen) = receiver(2).await;
    configure(&sb, &url, &[20, 40, 80]).await;
    let user = sb.create_user("4155550300", "Lovelace").await;
    let (status, transfer) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -100, "user_id": user["id"]})),
        )
        .await;
    assert_eq!(status, 200);
    // transfer.updated and transfer.completed; the first two attempts overall fail.
    let delivered = wait_for(&seen, 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, attempts) = sb
        .raw(Method::GET, "/_sandbox/webhooks/attempts", None)
        .await;
    let attempts = attempts["data"].as_array().unwrap().clone();
    assert_eq!(
        attempts.len(),
        seen.lock().unwrap().len(),
        "every attempt is logged"
    );
    let retried: Vec<&Value> = attempts
        .iter()
        .filter(|a| a["attempt"].as_u64().unwrap() > 1)
        .collect();
    assert!(
        !retried.is_empty(),
        "failed deliveries were retried: {attempts:?}"
    );
    for retry in &retried {
        let first = attempts
            .iter()
            .find(|a| a["msg_id"] == retry["msg_id"] && a["attempt"] == 1)
            .expect("a retry follows a first attempt of the same message");
        assert_eq!(first["delivered"], false);
    }
    let completed = delivered
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .find(|b| b.get("transfer").is_some())
        .expect("transfer.completed carries the transfer");
    assert_eq!(completed["transfer_id"], transfer["id"]);
    assert_eq!(completed["transfer"]["status"], "completed");
    let mut delivered_types: Vec<String> = attempts
        .iter()
        .filter(|a| a["delivered"] == true)
        .map(|a| a["event_type"].as_str().unwrap().to_owned())
        .collect();
    delivered_types.sort();
    assert_eq!(
        delivered_types,
        ["transfer.completed", "transfer.updated"],
        "each message delivered once"
    );
}

#[tokio::test]
async fn page_steps_send_user_updated_events() {
    let sb = Sandbox::start().await;
    let (url, seen) = receiver(0).await;
    configure(&sb, &url, &[]).await;
    let user = sb.create_user("4155550301", "Lovelace").await;
    let flow = sb
        .create_flow(json!({"steps": ["background-check"], "user_id": user["id"]}))
        .await;
    let id = flow["id"].as_str().unwrap();
    let (status, body) = sb
        .raw(
            Method::POST,
            &format!("/flow/{id}/steps/background-check/complete"),
            Some(json!({"consent": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let delivered = wait_for(&seen, 2).await;
    let bodies: Vec<Value> = delivered
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(
        bodies.contains(&json!({"user_id": user["id"]})),
        "user.updated.background_check: {bodies:?}"
    );
    assert!(bodies.contains(&json!({"event": "flow.updated", "flow_id": id})));
    let (_, user) = sb
        .api(
            Method::GET,
            &format!("/v2/users/{}", user["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(user["compliance"]["background_check"]["status"], "pass");
}
