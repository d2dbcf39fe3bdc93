//! Transfers over real HTTP: wallets, insufficient funds, idempotency, filters.

mod common;

use common::Sandbox;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn paying_a_user_moves_both_wallets() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("4155550200", "Lovelace").await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(
        sb.running.state().store().app_wallet(""),
        10_000,
        "sandbox apps start with $100"
    );
    let (status, transfer) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -2500, "user_id": id})),
        )
        .await;
    assert_eq!(status, 200, "{transfer}");
    assert_eq!(transfer["status"], "completed");
    assert_eq!(transfer["type"], "balance");
    // The captured dialect (the default): the amount as a string, the ledger line as a decimal.
    assert_eq!(transfer["amount"], "-2500");
    assert_eq!(transfer["transactions"][0]["amount"], "2500.0000000000");
    let read: dots_api::Transfer = serde_json::from_value(transfer.clone()).unwrap();
    assert_eq!(read.amount, -2500);
    assert_eq!(sb.running.state().store().app_wallet(""), 7_500);
    let (_, user) = sb.api(Method::GET, &format!("/v2/users/{id}"), None).await;
    assert_eq!(user["wallet"]["amount"], 2500);

    // A string amount, as Dots' sandbox sends it, is accepted.
    let (status, back) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": "500", "user_id": id})),
        )
        .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(sb.running.state().store().app_wallet(""), 8_000);
    let (status, fetched) = sb
        .api(
            Method::GET,
            &format!("/v2/transfers/{}", back["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(fetched, back);
}

#[tokio::test]
async fn a_short_app_wallet_is_transaction_insufficient_funds() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("4155550201", "Lovelace").await;
    let (status, error) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -10_001, "user_id": user["id"]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error_code"], "transaction-insufficient-funds");
    assert_eq!(
        sb.running.state().store().app_wallet(""),
        10_000,
        "nothing moved"
    );
    let (_, list) = sb.api(Method::GET, "/v2/transfers", None).await;
    assert!(
        list["data"].as_array().unwrap().is_empty(),
        "no transfer was recorded"
    );
    sb.raw(
        Method::POST,
        "/_sandbox/wallet",
        Some(json!({"amount": 5000})),
    )
    .await;
    let (status, _) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -10_001, "user_id": user["id"]})),
        )
        .await;
    assert_eq!(status, 200, "after a refill it goes through");
}

#[tokio::test]
async fn idempotency_keys_return_the_first_transfer_for_24_hours() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("4155550202", "Lovelace").await;
    let key = "7d9f0a52-1c53-4b8e-9e8f-3f1f5f9a0b11";
    let (_, first) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -1000, "user_id": user["id"], "idempotency_key": key})),
        )
        .await;
    let (status, second) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -9000, "user_id": user["id"], "idempotency_key": key})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(second, first, "same key → same transfer, first body wins");
    assert_eq!(
        sb.running.state().store().app_wallet(""),
        9_000,
        "paid once"
    );
    sb.raw(
        Method::POST,
        "/_sandbox/clock/advance",
        Some(json!({"seconds": 24 * 3600 + 1})),
    )
    .await;
    let (_, third) = sb
        .api(
            Method::POST,
            "/v2/transfers",
            Some(json!({"amount": -1000, "user_id": user["id"], "idempotency_key": key})),
        )
        .await;
    assert_ne!(
        third["id"], first["id"],
        "after 24 hours the key is free again"
    );
}

/// The amounts of a transfer list, in order (read as a client of Dots reads them).
fn amounts_of(list: &serde_json::Value) -> Vec<i64> {
    let list: dots_api::TransferList = serde_json::from_value(list.clone()).unwrap();
    list.data.iter().map(|t| t.amount).collect()
}

#[tokio::test]
async fn lists_filter_and_order() {
    let sb = Sandbox::start().await;
    let a = sb.create_user("4155550203", "Lovelace").await;
    let b = sb.create_user("4155550204", "Hopper").await;
    for (user, amount) in [(&a, -100), (&b, -200), (&a, -300)] {
        let (status, _) = sb
            .api(
                Method::POST,
                "/v2/transfers",
                Some(json!({"amount": amount, "user_id": user["id"]})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, list) = sb
        .api(
            Method::GET,
            &format!("/v2/transfers?user_id={}", a["id"].as_str().unwrap()),
            None,
        )
        .await;
    let amounts = amounts_of(&list);
    assert_eq!(amounts, vec![-300, -100], "newest first, one user");
    let (_, list) = sb
        .api(
            Method::GET,
            "/v2/transfers?reverse_order=true&limit=2",
            None,
        )
        .await;
    let amounts = amounts_of(&list);
    assert_eq!(amounts, vec![-100, -200], "oldest first");
    assert_eq!(list["has_more"], true);
    let (_, list) = sb
        .api(Method::GET, "/v2/transfers?status=failed", None)
        .await;
    assert!(list["data"].as_array().unwrap().is_empty());
    let (status, error) = sb
        .api(Method::GET, "/v2/transfers?start_date=yesterday", None)
        .await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("start_date"));
}
