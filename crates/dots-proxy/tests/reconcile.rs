//! Flows complete on the server even when their webhooks never come (issue 24): the sweep
//! re-reads unfinished flows from Dots and applies them through the webhook's own code.

mod common;

use common::Stack;
use dots_proxy::reconcile::{sweep_once, ReconcileSettings};
use serde_json::json;
use std::time::Duration;

/// A stack whose sandbox delivers its webhooks nowhere (an endpoint never registered).
async fn without_webhooks() -> Stack {
    let stack = Stack::start().await;
    let mut webhooks = stack.sandbox.state().webhooks().settings();
    webhooks.endpoints = Vec::new();
    stack.sandbox.state().webhooks().configure(webhooks);
    stack
}

async fn stream(stack: &Stack, cookie: &str) -> common::SseReader {
    let response = reqwest::Client::new()
        .get(format!("{}/api/events", stack.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    common::SseReader::new(response)
}

#[tokio::test]
async fn without_webhooks_a_user_who_finishes_onboarding_is_bound_within_one_sweep() {
    let stack = without_webhooks().await;
    let every = Duration::from_millis(300);
    let _sweeper = dots_proxy::reconcile::spawn(
        stack.state.clone(),
        ReconcileSettings {
            every,
            ..ReconcileSettings::default()
        },
    );
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap();
    let mut events = stream(&stack, browser.cookie.as_deref().unwrap()).await;
    stack.onboard(flow_id, "4155550801").await;
    let started = std::time::Instant::now();
    let bound = events
        .next(Duration::from_secs(5))
        .await
        .expect("user_bound");
    assert_eq!(bound.kind, "user_bound");
    assert!(
        started.elapsed() < every * 3,
        "within a sweep: {:?}",
        started.elapsed()
    );
    assert!(
        stack.sandbox.state().webhooks().attempts().is_empty(),
        "no webhook was ever delivered"
    );
    stack.complete_step(flow_id, "compliance").await;
    let names: Vec<String> = [
        events.next(Duration::from_secs(5)).await,
        events.next(Duration::from_secs(5)).await,
    ]
    .into_iter()
    .map(|e| e.expect("an event").name())
    .collect();
    assert_eq!(names, ["step_completed:compliance", "flow_completed"]);
    // Finished: swept no more, and nothing is told twice.
    assert!(events.next(every * 4).await.is_none(), "each event once");
    let since = dots_proxy::db::now_ms() - 3_600_000;
    assert!(stack
        .state
        .db()
        .unfinished_flows(since, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_dots_failing_during_a_sweep_costs_only_a_later_try() {
    let stack = without_webhooks().await;
    let settings = ReconcileSettings::default();
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    stack.onboard(&flow_id, "4155550802").await;
    stack.complete_step(&flow_id, "compliance").await;
    // Every try of this sweep's read fails (a GET is tried three times).
    let rule = dots_sandbox::FaultRule {
        operation: None,
        path: "/v2/flows/".into(),
        method: Some("GET".into()),
        kind: dots_sandbox::FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        count: Some(3),
        ratio: None,
    };
    stack.sandbox.state().faults().add(rule);
    let failed = sweep_once(&stack.state, &settings).await;
    assert_eq!((failed.ran, failed.checked, failed.failed), (true, 1, 1));
    let mut events = stream(&stack, browser.cookie.as_deref().unwrap()).await;
    assert!(
        events.next(Duration::from_millis(300)).await.is_none(),
        "nothing recorded"
    );
    let next = sweep_once(&stack.state, &settings).await;
    assert_eq!((next.checked, next.finished, next.failed), (1, 1, 0));
    let names: Vec<String> = [
        events.next(Duration::from_secs(5)).await,
        events.next(Duration::from_secs(5)).await,
        events.next(Duration::from_secs(5)).await,
    ]
    .into_iter()
    .map(|e| e.expect("an event").name())
    .collect();
    assert_eq!(
        names,
        ["user_bound", "step_completed:compliance", "flow_completed"]
    );
    let again = sweep_once(&stack.state, &settings).await;
    assert_eq!(again.checked, 0, "a finished flow is not swept again");
    assert!(events.next(Duration::from_millis(300)).await.is_none());
}
