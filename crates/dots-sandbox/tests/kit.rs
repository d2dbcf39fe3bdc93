//! The test kit (issue 27): a person through the hosted pages, faults by operation, webhooks
//! held and released in order or lost, what Dots received — each against real HTTP.

use axum::routing::post;
use dots_api::StepName;
use dots_sandbox::kit::{self, TestDots};
use dots_sandbox::{FaultKind, Operation};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Calls the Dots API as a host's backend does.
async fn api(
    dots: &TestDots,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", dots.api_base()))
        .basic_auth(dots.client_id(), Some(dots.api_key()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the sandbox answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn new_flow(dots: &TestDots, steps: &[&str]) -> Value {
    let (status, flow) = api(
        dots,
        reqwest::Method::POST,
        "/v2/flows",
        Some(json!({"steps": steps})),
    )
    .await;
    assert_eq!(status, 200, "creating a flow: {flow}");
    flow
}

/// The payloads a receiver on a free port got, in arrival order.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        post(move |body: axum::Json<Value>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(body.0);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn a_person_signs_in_and_completes_steps_through_the_pages() {
    let dots = TestDots::start().await;
    let flow = new_flow(&dots, &["compliance", "background-check"]).await;
    let mut person = dots.person(flow["link"].as_str().unwrap());

    let refused = person.complete(StepName::Compliance).await.unwrap_err();
    assert_eq!(
        refused.status, 401,
        "a step before signing in is refused: {refused}"
    );
    let wrong = person
        .sign_in_with_code("5555550101", "000000")
        .await
        .unwrap_err();
    assert_eq!(wrong.status, 400, "a wrong code is refused: {wrong}");

    person.sign_in("(555) 555-0101").await.unwrap();
    let done = person.complete(StepName::Compliance).await.unwrap();
    assert_eq!(done.status, "completed");
    let (_, read) = api(
        &dots,
        reqwest::Method::GET,
        &format!("/v2/flows/{}", person.flow_id()),
        None,
    )
    .await;
    assert_eq!(
        read["completed_steps"],
        json!(["compliance"]),
        "Dots has the step: {read}"
    );
    let users = dots.users();
    assert_eq!(users.len(), 1, "one user was made");
    let phone = users[0]
        .phone_number
        .as_ref()
        .map(|p| p.phone_number.as_str());
    assert_eq!(phone, Some("5555550101"), "with the number typed");

    // Named data: a TIN that mismatches, once the sandbox's check has run.
    let flow = new_flow(&dots, &["compliance"]).await;
    let mut other = dots
        .person(flow["id"].as_str().unwrap())
        .named("José Ana", kit::OFAC_FLAGGED);
    other.sign_in("5555550102").await.unwrap();
    let w9 = other.w9(kit::TIN_MISMATCH);
    other.complete_with(StepName::Compliance, w9).await.unwrap();
    dots.advance_clock(Duration::from_secs(5));
    let view = other.view().await.unwrap();
    assert_eq!(view["user"]["tax_id_verification"], "mismatched", "{view}");
    let flagged = dots
        .users()
        .into_iter()
        .find(|u| u.last_name == kit::OFAC_FLAGGED)
        .unwrap();
    assert!(
        flagged.compliance.unwrap().flagged,
        "an OFAC hit is flagged"
    );

    // Invalid data is the page's refusal, naming the field.
    let flow = new_flow(&dots, &["background-check"]).await;
    let mut third = dots.person(flow["id"].as_str().unwrap());
    third.sign_in("5555550103").await.unwrap();
    let refused = third
        .complete_with(StepName::BackgroundCheck, json!({}))
        .await
        .unwrap_err();
    assert!(refused.message.contains("consent"), "{refused}");
}

#[tokio::test]
async fn a_payout_to_a_failing_method_fails_and_dots_keeps_the_failed_transfer() {
    let dots = TestDots::start().await;
    let flow = new_flow(&dots, &["manage-payouts", "payout"]).await;
    let mut person = dots.person(flow["link"].as_str().unwrap());
    person.sign_in("5555550104").await.unwrap();
    person.save_paypal(kit::FAILING_PAYPAL).await.unwrap();
    person.complete(StepName::ManagePayouts).await.unwrap();
    let user = dots.users()[0].id.clone();
    let (status, paid) = api(
        &dots,
        reqwest::Method::POST,
        "/v2/transfers",
        Some(json!({"amount": -700, "user_id": user, "idempotency_key": "k1"})),
    )
    .await;
    assert_eq!(status, 200, "paying the user: {paid}");
    assert_eq!(dots.wallet(), 10_000 - 700, "the app's wallet paid");

    let failed = person.withdraw().await.unwrap_err();
    assert_eq!(failed.status, 400, "{failed}");
    let transfers = dots.transfers();
    assert_eq!(
        transfers.len(),
        2,
        "the payment and the failed payout: {transfers:?}"
    );
    assert_eq!(
        transfers[0].status.as_str(),
        "failed",
        "the newest is the failed payout"
    );
}

#[tokio::test]
async fn faults_hit_only_the_operation_named_and_only_as_often_as_asked() {
    let dots = TestDots::start().await;
    dots.fail_next(
        Operation::CreateFlow,
        2,
        FaultKind::Status {
            status: 503,
            retry_after: None,
        },
    );
    let (listed, _) = api(&dots, reqwest::Method::GET, "/v2/flows", None).await;
    assert_eq!(listed, 200, "listing flows is another operation");
    for _ in 0..2 {
        let (status, body) = api(
            &dots,
            reqwest::Method::POST,
            "/v2/flows",
            Some(json!({"steps": ["compliance"]})),
        )
        .await;
        assert_eq!(status, 503, "{body}");
    }
    new_flow(&dots, &["compliance"]).await;
    let creates = dots
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v2/flows")
        .count();
    assert_eq!(creates, 3, "Dots received every attempt");
}

#[tokio::test]
async fn held_webhooks_go_out_in_the_order_asked_or_are_lost() {
    let dots = TestDots::start().await;
    let (url, seen) = receiver().await;
    dots.send_webhooks_to(&url);
    dots.hold_webhooks();
    let flow = new_flow(&dots, &["compliance", "id-verification"]).await;
    let mut person = dots.person(flow["id"].as_str().unwrap());
    person.sign_in("5555550105").await.unwrap();
    person.complete(StepName::Compliance).await.unwrap();
    person.complete(StepName::IdVerification).await.unwrap();
    let held = dots.held_webhooks();
    assert!(
        held.len() >= 3,
        "sign-in, two steps and the verification: {held:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing is sent while held"
    );

    assert_eq!(dots.release_webhooks_reversed(), held.len());
    dots.webhooks_settled().await;
    let mut expected: Vec<Value> = held.iter().map(|event| event.payload.clone()).collect();
    expected.reverse();
    assert_eq!(
        *seen.lock().unwrap(),
        expected,
        "newest first, one after another"
    );
    assert!(
        dots.delivered_webhooks().len() == held.len(),
        "each delivered once"
    );

    dots.hold_webhooks();
    let flow = new_flow(&dots, &["compliance"]).await;
    dots.person(flow["id"].as_str().unwrap())
        .sign_in("5555550106")
        .await
        .unwrap();
    assert!(
        dots.drop_held_webhooks() >= 1,
        "the sign-in's webhook was held"
    );
    dots.webhooks_settled().await;
    assert_eq!(
        seen.lock().unwrap().len(),
        held.len(),
        "a lost webhook never arrives"
    );
}
