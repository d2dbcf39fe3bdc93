//! The host-side API: admin token only, never a browser; "pay this user" exactly once.

mod common;

use common::{Stack, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_host_api_needs_the_admin_token_and_ignores_cookies() {
    let stack = Stack::start().await;
    let (status, _) = stack.host(Method::GET, "/host/users/x", None, None).await;
    assert_eq!(status, 401, "no token");
    let (status, _) = stack
        .host(Method::GET, "/host/users/x", None, Some("wrong"))
        .await;
    assert_eq!(status, 401, "wrong token");
    // A browser with a session cookie gets nowhere.
    let mut browser = stack.browser();
    browser.create_flow(json!({"steps": ["payout"]})).await;
    let answer = browser
        .send(
            Method::POST,
            "/host/users/x/pay",
            Some(json!({"amount_cents": 100, "reference": "r"})),
        )
        .await;
    assert_eq!(answer.status, 401);

    let disabled = Stack::start_with(
        dots_proxy::ProxySettings {
            admin_token: None,
            ..common::settings()
        },
        common::temp_db_path(),
        None,
    )
    .await;
    let (status, _) = disabled
        .host(Method::GET, "/host/users/x", None, Some(ADMIN_TOKEN))
        .await;
    assert_eq!(
        status, 404,
        "without a configured token the host API does not exist"
    );
}

#[tokio::test]
async fn users_can_be_created_verified_and_read() {
    let stack = Stack::start().await;
    let (status, user) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(json!({"first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "country_code": "1", "phone_number": "4155550600"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    let id = user["id"].as_str().unwrap();
    let (status, error) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(
                json!({"first_name": "Ada", "last_name": "L", "email": "bad",
            "country_code": "1", "phone_number": "1"}),
            ),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["field"], "email");
    let (status, _) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/send-verification-token"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200);
    let (status, error) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/verify"),
            Some(json!({"token": "000000"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    let (status, _) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/verify"),
            Some(json!({"token": "123456"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200);
    let (status, user) = stack
        .host(
            Method::GET,
            &format!("/host/users/{id}"),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user["status"], "verified");
    assert_eq!(
        user["compliance"]["tax_id_verification"], "unsubmitted",
        "TIN status is there"
    );
    assert_eq!(
        user["compliance"]["flags"]["ofac_status"], "unflagged",
        "OFAC status is there"
    );
}

#[tokio::test]
async fn paying_a_user_sends_the_negative_amount_once_per_reference() {
    let stack = Stack::start().await;
    let (_, user) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(json!({"first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "country_code": "1", "phone_number": "4155550601"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    let id = user["id"].as_str().unwrap();
    let pay = json!({"amount_cents": 2500, "reference": "order-17"});
    let (status, first) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(pay.clone()),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["amount"], -2500, "Dots gets the negative amount");
    // A retry (e.g. after a crash) with the same reference pays nothing more.
    let (status, again) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(pay),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], first["id"], "the same transfer");
    assert_eq!(
        stack.sandbox.state().store().app_wallet(""),
        7_500,
        "paid once"
    );
    let (status, conflict) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(json!({"amount_cents": 9999, "reference": "order-17"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 409, "{conflict}");
    let (status, error) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(json!({"amount_cents": -5, "reference": "r"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["field"], "amount_cents");
    let (status, error) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(json!({"amount_cents": 100_000, "reference": "big"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 422, "an app wallet that cannot cover it: {error}");
    let (status, transfer) = stack
        .host(
            Method::GET,
            &format!("/host/transfers/{}", first["id"].as_str().unwrap()),
            None,
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(transfer["status"], "completed");
    let (status, error) = stack
        .host(
            Method::POST,
            "/host/transfers",
            Some(json!({"amount": -100, "user_id": id})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 400, "raw transfers need an idempotency key");
    assert_eq!(error["field"], "idempotency_key");
}
