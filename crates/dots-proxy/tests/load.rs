//! Load: 200 browser sessions at once each create a flow, follow it on their own event stream
//! and complete it through the sandbox. Every completion reaches its own stream and no other;
//! nothing is lost, nothing crosses.

mod common;

use common::Stack;
use serde_json::{json, Value};
use std::time::Duration;

const SESSIONS: usize = 200;

/// Reads SSE events until a `flow_completed` arrives; returns every event's data.
async fn follow(response: reqwest::Response) -> Vec<(String, Value)> {
    let mut stream = common::SseReader::new(response);
    let mut events = Vec::new();
    loop {
        let event = stream
            .next(Duration::from_secs(60))
            .await
            .expect("the stream stays open until the flow completes");
        let done = event.kind == "flow_completed";
        events.push((event.kind, event.data));
        if done {
            return events;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_sessions_each_see_only_their_own_completion() {
    let stack = Stack::start().await;
    let sandbox_origin = stack.sandbox.origin();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..SESSIONS {
        let mut browser = stack.browser();
        let base = stack.base.clone();
        let sandbox_origin = sandbox_origin.clone();
        tasks.push(tokio::spawn(async move {
            let flow = browser
                .create_flow(json!({"steps": ["background-check"], "metadata": {"session": i}}))
                .await;
            let flow_id = flow["id"].as_str().unwrap().to_owned();
            let stream = reqwest::Client::new()
                .get(format!("{base}/api/events"))
                .header("cookie", browser.cookie.clone().unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(stream.status(), 200);
            let completed = reqwest::Client::new()
                .post(format!(
                    "{sandbox_origin}/_sandbox/flows/{flow_id}/complete"
                ))
                .json(&json!({"step": "background-check"}))
                .send()
                .await
                .unwrap();
            assert_eq!(completed.status(), 200);
            let events = tokio::time::timeout(Duration::from_secs(60), follow(stream))
                .await
                .unwrap_or_else(|_| panic!("session {i} never saw its completion"));
            (flow_id, events)
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        let (flow_id, events) = task.await.unwrap();
        for (kind, data) in &events {
            assert_eq!(
                data["flow_id"], flow_id,
                "a {kind} event of another session's flow crossed over"
            );
        }
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["step_completed", "flow_completed"],
            "exactly this flow's events, once"
        );
        assert!(seen.insert(flow_id), "flows are distinct");
    }
    assert_eq!(seen.len(), SESSIONS, "nothing lost");
    eprintln!("{SESSIONS} sessions completed in {:?}", started.elapsed());
}
