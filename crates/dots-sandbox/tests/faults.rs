//! Fault injection through the control plane, seen by a real HTTP client.

mod common;

use common::Sandbox;
use reqwest::Method;
use serde_json::json;
use std::time::Instant;

async fn add_fault(sb: &Sandbox, rule: serde_json::Value) {
    let (status, body) = sb.raw(Method::POST, "/_sandbox/faults", Some(rule)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn status_faults_answer_in_dots_shape_and_create_nothing() {
    let sb = Sandbox::start().await;
    add_fault(&sb, json!({"path": "/v2/flows", "method": "POST", "fault": "status", "status": 502, "count": 1})).await;
    add_fault(&sb, json!({"path": "/v2/flows", "method": "POST", "fault": "status", "status": 429, "retry_after": 7, "count": 1})).await;
    let (status, body) = sb
        .api(
            Method::POST,
            "/v2/flows",
            Some(json!({"steps": ["payout"]})),
        )
        .await;
    assert_eq!(status, 502);
    assert_eq!(body["success"], false);
    let response = sb
        .default_app()
        .request(Method::POST, "/v2/flows")
        .json(&json!({"steps": ["payout"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert!(
        sb.running.state().store().flows("").is_empty(),
        "faulted creates created nothing"
    );
    let (status, _) = sb
        .api(
            Method::POST,
            "/v2/flows",
            Some(json!({"steps": ["payout"]})),
        )
        .await;
    assert_eq!(status, 200, "rules with a count retire");
}

#[tokio::test]
async fn latency_delays_the_real_answer() {
    let sb = Sandbox::start().await;
    add_fault(
        &sb,
        json!({"path": "/v2/flows", "fault": "latency", "latency_ms": 300, "count": 1}),
    )
    .await;
    let started = Instant::now();
    let (status, _) = sb.api(Method::GET, "/v2/flows", None).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed().as_millis() >= 300,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dropped_connections_and_malformed_bodies() {
    let sb = Sandbox::start().await;
    add_fault(
        &sb,
        json!({"path": "/v2/flows", "fault": "drop", "count": 1}),
    )
    .await;
    let result = sb
        .default_app()
        .request(Method::GET, "/v2/flows")
        .send()
        .await;
    assert!(
        result.is_err(),
        "the connection is dropped without an answer"
    );
    let (status, _) = sb.api(Method::GET, "/v2/flows", None).await;
    assert_eq!(status, 200, "the sandbox keeps serving after a drop");

    add_fault(
        &sb,
        json!({"path": "/v2/flows", "method": "POST", "fault": "malformed", "count": 1}),
    )
    .await;
    let response = sb
        .default_app()
        .request(Method::POST, "/v2/flows")
        .json(&json!({"steps": ["payout"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "the body is not JSON: {text}"
    );
    assert_eq!(
        sb.running.state().store().flows("").len(),
        1,
        "the create really happened"
    );
}

#[tokio::test]
async fn ratios_spread_faults_and_reset_clears_everything() {
    let sb = Sandbox::start().await;
    add_fault(
        &sb,
        json!({"path": "/v2/users", "fault": "status", "status": 500, "ratio": 0.5}),
    )
    .await;
    let mut failed = 0;
    for _ in 0..10 {
        let (status, _) = sb.api(Method::GET, "/v2/users", None).await;
        if status == 500 {
            failed += 1;
        }
    }
    assert_eq!(failed, 5, "half of the matching requests fail");
    let (_, list) = sb.raw(Method::GET, "/_sandbox/faults", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    sb.create_flow(json!({"steps": ["payout"]})).await;
    sb.raw(Method::POST, "/_sandbox/reset", None).await;
    let (_, list) = sb.raw(Method::GET, "/_sandbox/faults", None).await;
    assert!(list["data"].as_array().unwrap().is_empty());
    assert!(
        sb.running.state().store().flows("").is_empty(),
        "reset forgets data"
    );
}
