//! Dots failures, injected through the sandbox's control plane, become typed errors; GETs are
//! retried, creates never duplicated.

mod common;

use common::Stack;
use reqwest::Method;
use serde_json::json;

async fn fault(stack: &Stack, rule: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_sandbox/faults", stack.sandbox.origin()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn each_fault_on_create_gives_its_typed_error_and_at_most_one_flow() {
    let stack = Stack::start().await;
    let cases = [
        (
            json!({"fault": "status", "status": 500}),
            502,
            "upstream_unavailable",
        ),
        (
            json!({"fault": "status", "status": 502}),
            502,
            "upstream_unavailable",
        ),
        (
            json!({"fault": "status", "status": 429, "retry_after": 9}),
            429,
            "rate_limited",
        ),
        (json!({"fault": "drop"}), 502, "upstream_unavailable"),
        (
            json!({"fault": "latency", "latency_ms": 3000}),
            502,
            "upstream_unavailable",
        ),
    ];
    let mut browser = stack.browser();
    for (kind, status, code) in cases {
        let mut rule = kind.clone();
        rule["path"] = json!("/v2/flows");
        rule["method"] = json!("POST");
        rule["count"] = json!(1);
        fault(&stack, rule).await;
        let answer = browser
            .send(
                Method::POST,
                "/api/flows",
                Some(json!({"steps": ["payout"]})),
            )
            .await;
        assert_eq!(answer.status, status, "{kind}: {}", answer.text);
        assert_eq!(answer.json()["error"], code, "{kind}");
        if status == 429 {
            assert_eq!(
                answer.headers["retry-after"], "9",
                "Retry-After is passed on"
            );
        }
        assert!(
            stack.sandbox.state().store().flows("").len() <= 1,
            "never more than one flow upstream"
        );
    }
    // Dropping the slow request made the sandbox drop it too; either way at most one flow.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let before = stack.sandbox.state().store().flows("").len();
    assert!(before <= 1, "the proxy never retried a create: {before}");

    // A malformed answer: the create happened upstream, the proxy says Dots answered and it
    // could not read the answer (not "unavailable"), and does not retry: one more flow exists.
    fault(
        &stack,
        json!({"path": "/v2/flows", "method": "POST", "fault": "malformed", "count": 1}),
    )
    .await;
    let answer = browser
        .send(
            Method::POST,
            "/api/flows",
            Some(json!({"steps": ["payout"]})),
        )
        .await;
    assert_eq!(answer.status, 502);
    assert_eq!(
        answer.json()["error"],
        "upstream_unreadable",
        "{}",
        answer.text
    );
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("Dots answered `create_flow`"),
        "{}",
        answer.text
    );
    assert_eq!(
        stack.sandbox.state().store().flows("").len(),
        before + 1,
        "exactly one more flow"
    );
}

#[tokio::test]
async fn upstream_validation_is_upstream_rejected_with_dots_message() {
    let stack = Stack::start().await;
    fault(&stack, json!({"path": "/v2/flows", "method": "POST", "fault": "status", "status": 400, "count": 1})).await;
    let mut browser = stack.browser();
    let answer = browser
        .send(
            Method::POST,
            "/api/flows",
            Some(json!({"steps": ["payout"]})),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.json()["error"], "upstream_rejected");
    assert_eq!(
        answer.json()["message"],
        "Injected fault",
        "Dots' message is passed on"
    );
}

#[tokio::test]
async fn gets_are_retried_with_backoff() {
    let stack = Stack::start().await;
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["payout"]})).await;
    let path = format!("/api/flows/{}", flow["id"].as_str().unwrap());
    fault(&stack, json!({"path": "/v2/flows/", "method": "GET", "fault": "status", "status": 502, "count": 2})).await;
    let answer = browser.send(Method::GET, &path, None).await;
    assert_eq!(
        answer.status, 200,
        "two failures, then success on the third try: {}",
        answer.text
    );
    fault(&stack, json!({"path": "/v2/flows/", "method": "GET", "fault": "status", "status": 502, "count": 3})).await;
    // A read within the freshness window is answered from Dots' last answer (issue 25).
    tokio::time::sleep(dots_proxy::limits::FLOW_READ_FRESH).await;
    let answer = browser.send(Method::GET, &path, None).await;
    assert_eq!(answer.status, 502, "three failures exhaust the retries");
}

/// Each fault on `POST /v2/transfers` while paying a user: the proxy's typed answer, at most
/// one transfer upstream, and a retry with the same reference that pays exactly once.
#[tokio::test]
async fn each_fault_on_a_payout_moves_money_at_most_once_per_reference() {
    use common::ADMIN_TOKEN;
    let stack = Stack::start().await;
    let (status, user) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(json!({"first_name": "Grace", "last_name": "Hopper",
            "email": "grace@example.com", "country_code": "1", "phone_number": "4155550602"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let store = || stack.sandbox.state().store();
    // (fault, proxy status, error code, transfers Dots may have made before the retry)
    let cases = [
        (
            json!({"fault": "status", "status": 500}),
            502,
            "upstream_unavailable",
            0..=0,
        ),
        (
            json!({"fault": "status", "status": 502}),
            502,
            "upstream_unavailable",
            0..=0,
        ),
        (
            json!({"fault": "status", "status": 429, "retry_after": 2}),
            429,
            "rate_limited",
            0..=0,
        ),
        (json!({"fault": "drop"}), 502, "upstream_unavailable", 0..=0),
        // Dots paid, then the answer was cut: paid, unconfirmed (not "unavailable").
        (
            json!({"fault": "malformed"}),
            502,
            "payment_unconfirmed",
            1..=1,
        ),
        // Dots paid and answered with something that is not JSON at all.
        (
            json!({"fault": "replace", "body": "<html><body>upstream hiccup</body></html>"}),
            502,
            "payment_unconfirmed",
            1..=1,
        ),
        // Dots paid and answered with an object that names the transfer but cannot be read
        // as one: the id is kept, and the host is told it.
        (
            json!({"fault": "replace", "keep_ids": true, "body": {"id": "", "amount": "ten dollars"}}),
            502,
            "payment_unconfirmed",
            1..=1,
        ),
        // The proxy gives up after its timeout; Dots may or may not have finished.
        (
            json!({"fault": "latency", "latency_ms": 3000}),
            502,
            "upstream_unavailable",
            0..=1,
        ),
    ];
    for (n, (kind, status, code, made)) in cases.into_iter().enumerate() {
        let mut rule = kind.clone();
        rule["path"] = json!("/v2/transfers");
        rule["method"] = json!("POST");
        rule["count"] = json!(1);
        fault(&stack, rule).await;
        let transfers_before = store().transfers("").len();
        let wallet_before = store().app_wallet("");
        let pay = json!({"amount_cents": 100 + n as i64, "reference": format!("order-{n}")});
        let path = format!("/host/users/{id}/pay");
        let (answer_status, answer) = stack
            .host(Method::POST, &path, Some(pay.clone()), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(answer_status, status, "{kind}: {answer}");
        assert_eq!(answer["error"], code, "{kind}");
        if code == "payment_unconfirmed" {
            assert!(
                answer["message"]
                    .as_str()
                    .unwrap()
                    .contains("never paid twice"),
                "{answer}"
            );
            // Where the answer named its transfer, the host learns it now.
            let named = kind["keep_ids"] == true;
            assert_eq!(answer["transfer_id"].is_string(), named, "{kind}: {answer}");
        }
        // A slow request the proxy gave up on may still finish upstream: let it.
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let made_upstream = store().transfers("").len() - transfers_before;
        assert!(
            made.contains(&made_upstream),
            "{kind}: {made_upstream} transfers upstream"
        );

        // The host retries with the same reference: one transfer in all, paid once.
        let (retry_status, paid) = stack
            .host(Method::POST, &path, Some(pay), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(retry_status, 200, "{kind}: retry: {paid}");
        if let Some(named) = answer["transfer_id"].as_str() {
            assert_eq!(
                paid["id"], named,
                "{kind}: the retry returns the named transfer"
            );
        }
        assert_eq!(
            store().transfers("").len() - transfers_before,
            1,
            "{kind}: exactly one transfer for the reference"
        );
        assert_eq!(
            wallet_before - store().app_wallet(""),
            100 + n as i64,
            "{kind}: the wallet paid once"
        );
    }
}

/// Dots' guide shows the answer of `POST /v2/transfers` as the real service sent it (string
/// amount, decimal ledger lines, HTTP-date history, times without an offset). Answered exactly
/// so (with the ids of what was really made), a payment is read, recorded, and never repeated.
#[tokio::test]
async fn a_payment_answered_as_the_guide_shows_is_read_and_paid_once() {
    use common::ADMIN_TOKEN;
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/dots-docs/guides--flow-payouts.mdx"),
    )
    .expect("Dots' payouts guide");
    let captured: serde_json::Value = guide
        .split("```json Response")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter_map(|text| serde_json::from_str(text).ok())
        .find(|value: &serde_json::Value| value.get("transactions").is_some())
        .expect("the guide's transfer answer");
    let stack = Stack::start().await;
    let (_, user) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(json!({"first_name": "Ada", "last_name": "Byron",
            "email": "ada@example.com", "country_code": "1", "phone_number": "4155550619"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    let id = user["id"].as_str().unwrap().to_owned();
    fault(
        &stack,
        json!({"path": "/v2/transfers", "method": "POST", "count": 1, "fault": "replace",
               "keep_ids": true, "body": captured}),
    )
    .await;
    let path = format!("/host/users/{id}/pay");
    let pay = json!({"amount_cents": 1000, "reference": "guide-1"});
    let (status, paid) = stack
        .host(Method::POST, &path, Some(pay.clone()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["amount"], -1000, "the string amount is read as cents");
    assert_eq!(
        paid["transactions"][0]["amount"], 1000,
        "the decimal ledger line too"
    );
    assert_eq!(
        paid["created"], "2024-07-11T21:17:33.959976Z",
        "an offset-less time is UTC"
    );
    assert_eq!(
        paid["status_history"][0]["timestamp"],
        "2024-07-11T21:17:33Z"
    );
    let transfers = stack.sandbox.state().store().transfers("").len();
    let (status, again) = stack
        .host(Method::POST, &path, Some(pay), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], paid["id"], "the same transfer");
    assert_eq!(
        stack.sandbox.state().store().transfers("").len(),
        transfers,
        "never paid again"
    );
}
