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

    let disabled = Stack::with_settings(dots_proxy::ProxySettings {
        admin_token: None,
        ..common::settings()
    })
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
    let id = &host_user(&stack, "4155550601").await;
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

/// A user of the host API, created (or found by phone) through it.
async fn host_user(stack: &Stack, phone: &str) -> String {
    named_host_user(stack, phone, "Lovelace").await
}

/// [`host_user`] with a last name (the sandbox's OFAC rule reads it).
async fn named_host_user(stack: &Stack, phone: &str, last_name: &str) -> String {
    let (status, user) = stack
        .host(
            Method::POST,
            "/host/users",
            Some(json!({"first_name": "Ada", "last_name": last_name,
            "email": "ada@example.com", "country_code": "1", "phone_number": phone})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

/// Transfers of a user at the sandbox ("Dots").
fn upstream_transfers(stack: &Stack, user: &str) -> usize {
    stack
        .sandbox
        .state()
        .store()
        .transfers("")
        .iter()
        .filter(|t| t.user_id.as_str() == user)
        .count()
}

/// Moves Dots' clock past its 24-hour idempotency window.
fn past_the_idempotency_window(stack: &Stack) {
    stack.sandbox.state().clock().advance(25 * 3600).unwrap();
}

#[tokio::test]
async fn a_reference_pays_once_even_after_dots_forgets_its_idempotency_key() {
    // Issue 12: a retry after Dots' 24-hour window paid again.
    let stack = Stack::start().await;
    let user = host_user(&stack, "4155550611").await;
    let path = format!("/host/users/{user}/pay");
    let pay = json!({"amount_cents": 2500, "reference": "order-24h", "metadata": {"order": 24}});
    let (status, first) = stack
        .host(Method::POST, &path, Some(pay.clone()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["metadata"]["order"], 24,
        "the host's metadata is kept"
    );
    assert_eq!(first["metadata"]["dots_flow_reference"], "order-24h");
    past_the_idempotency_window(&stack);
    let (status, again) = stack
        .host(Method::POST, &path, Some(pay), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"], "the stored transfer, from Dots");
    assert_eq!(
        upstream_transfers(&stack, &user),
        1,
        "one transfer upstream"
    );
    assert_eq!(
        stack.sandbox.state().store().app_wallet(""),
        7_500,
        "charged once"
    );

    let (status, error) = stack
        .host(
            Method::POST,
            &path,
            Some(json!({"amount_cents": 100, "reference": "r2", "metadata": {"dots_flow_reference": "x"}})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "metadata.dots_flow_reference");
    let (status, error) = stack
        .host(
            Method::POST,
            &path,
            Some(json!({"amount_cents": 100, "reference": "r3", "metadata": "text"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "metadata");
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_with_dots_before_any_new_transfer() {
    // Issue 12: Dots paid, its answer never arrived (cut in half here), then the 24-hour
    // window passed: a retry must find the transfer, not pay again.
    let stack = Stack::start().await;
    let user = host_user(&stack, "4155550612").await;
    // Another transfer of the same user, so the search has something to skip.
    let (status, _) = stack
        .host(
            Method::POST,
            &format!("/host/users/{user}/pay"),
            Some(json!({"amount_cents": 100, "reference": "other"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200);
    stack.sandbox.state().faults().add(dots_sandbox::FaultRule {
        operation: None,
        path: "/v2/transfers".into(),
        method: Some("POST".into()),
        kind: dots_sandbox::FaultKind::Malformed,
        count: Some(1),
        ratio: None,
    });
    let path = format!("/host/users/{user}/pay");
    let pay = json!({"amount_cents": 2500, "reference": "order-lost"});
    let (status, lost) = stack
        .host(Method::POST, &path, Some(pay.clone()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 502, "the answer was lost: {lost}");
    assert_eq!(upstream_transfers(&stack, &user), 2, "but Dots paid");
    past_the_idempotency_window(&stack);

    let (status, found) = stack
        .host(Method::POST, &path, Some(pay.clone()), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["amount"], -2500);
    assert_eq!(found["metadata"]["dots_flow_reference"], "order-lost");
    assert_eq!(upstream_transfers(&stack, &user), 2, "no second transfer");
    assert_eq!(
        stack.sandbox.state().store().app_wallet(""),
        10_000 - 100 - 2500,
        "charged once"
    );
    // And from now on the reference knows its transfer.
    let (status, again) = stack
        .host(Method::POST, &path, Some(pay), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], found["id"]);
    assert_eq!(upstream_transfers(&stack, &user), 2);
}

#[tokio::test]
async fn errors_say_what_dots_said_and_404s_name_what_is_missing() {
    // Issue 13: "insufficient funds" and "invalid input" both read `upstream_rejected`; every
    // 404 said "no such flow".
    let stack = Stack::start().await;
    let id = &host_user(&stack, "4155550602").await;
    // More than the app's $100 wallet.
    let (status, error) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(json!({"amount_cents": 1_000_000, "reference": "too-much"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"], "upstream_rejected");
    assert_eq!(error["dots_error_code"], "transaction-insufficient-funds");
    let (status, error) = stack
        .host(
            Method::POST,
            "/host/transfers",
            Some(json!({"amount": -1_000_000, "user_id": id,
                        "idempotency_key": "7a0c3f8e-1b6d-4f0e-9c1a-2d3e4f5a6b7c"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["dots_error_code"], "transaction-insufficient-funds");
    let (status, error) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/verify"),
            Some(json!({"token": "000000"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"], "upstream_rejected");
    assert_eq!(error["dots_error_code"], "invalid-input");
    // The proxy's own refusals carry no Dots code (Dots was never asked).
    let (status, error) = stack
        .host(
            Method::POST,
            &format!("/host/users/{id}/pay"),
            Some(json!({"amount_cents": -5, "reference": "r"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error.get("dots_error_code").is_none(), "{error}");

    let missing = "00000000-0000-4000-8000-000000000000";
    for (path, what) in [
        (format!("/host/users/{missing}"), "user"),
        (format!("/host/transfers/{missing}"), "transfer"),
        (format!("/host/flows/{missing}"), "flow"),
        ("/host/users/not%20an%20id".to_owned(), "user"),
    ] {
        let (status, error) = stack
            .host(Method::GET, &path, None, Some(ADMIN_TOKEN))
            .await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(error["message"], format!("no such {what}"), "{path}");
    }
}

#[tokio::test]
async fn the_host_submits_compliance_and_lists_users_under_the_sandbox_rules() {
    // Issue 13: `PUT /v2/users/{id}/compliance` and the users list were missing from the host
    // API. The sandbox's rules: a TIN ending in 0000 mismatches 3 s after submission, others
    // match; last name `Sanctioned` needs ID verification under OFAC.
    let stack = Stack::start().await;
    let create = |phone: &'static str, last: &'static str| named_host_user(&stack, phone, last);
    let matched = create("4155550610", "Lovelace").await;
    let mismatched = create("4155550611", "Byron").await;
    let sanctioned = create("4155550612", "Sanctioned").await;
    assert_eq!(
        create("4155550610", "Lovelace").await,
        matched,
        "found by phone number, not created twice"
    );
    let w9 = |tin: &str| {
        json!({"w9": {"entity_type": "individual", "date_of_birth": "1990-04-01", "tin": tin,
            "address": {"line_1": "1 Main St", "city": "Oakland", "state": "CA",
                        "country": "US", "postcode": "94612"}}})
    };
    let submit = |id: String, body: serde_json::Value| {
        let stack = &stack;
        async move {
            stack
                .host(
                    Method::PUT,
                    &format!("/host/users/{id}/compliance"),
                    Some(body),
                    Some(ADMIN_TOKEN),
                )
                .await
        }
    };
    // Refused here, never sent: the field is named and Dots still has nothing.
    let (status, error) = submit(matched.clone(), w9("12")).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "w9.tin");
    let (status, error) = submit(
        matched.clone(),
        json!({"w9": {"tin": "123456789"}, "extra": 1}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let get = |id: String| {
        let stack = &stack;
        async move {
            let (status, user) = stack
                .host(
                    Method::GET,
                    &format!("/host/users/{id}"),
                    None,
                    Some(ADMIN_TOKEN),
                )
                .await;
            assert_eq!(status, 200, "{user}");
            user
        }
    };
    assert_eq!(
        get(matched.clone()).await["compliance"]["tax_id_verification"],
        "unsubmitted",
        "nothing reached Dots"
    );
    let (status, user) = submit(matched.clone(), w9("123-45-6789".replace('-', "").as_str())).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["compliance"]["tax_id_verification"], "pending");
    let (status, _) = submit(mismatched.clone(), w9("123450000")).await;
    assert_eq!(status, 200);
    let (status, error) = submit(
        "00000000-0000-4000-8000-000000000000".into(),
        w9("123456789"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(error["message"], "no such user");
    stack.sandbox.state().clock().advance(5).unwrap();
    assert_eq!(
        get(matched.clone()).await["compliance"]["tax_id_verification"],
        "matched"
    );
    assert_eq!(
        get(mismatched.clone()).await["compliance"]["tax_id_verification"],
        "mismatched"
    );
    let flags = &get(sanctioned.clone()).await["compliance"]["flags"];
    assert_eq!(flags["ofac_status"], "id_verification_required");

    // The list: all three, by status, paged.
    let list = |query: &'static str| {
        let stack = &stack;
        async move {
            stack
                .host(
                    Method::GET,
                    &format!("/host/users{query}"),
                    None,
                    Some(ADMIN_TOKEN),
                )
                .await
        }
    };
    let (status, all) = list("").await;
    assert_eq!(status, 200, "{all}");
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    for id in [&matched, &mismatched, &sanctioned] {
        assert!(ids.contains(&id.as_str()), "{id} listed");
    }
    let (_, page) = list("?limit=1").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["has_more"], true);
    let (_, verified) = list("?status=verified").await;
    assert_eq!(
        verified["data"].as_array().unwrap().len(),
        0,
        "nobody verified yet"
    );
    let (_, unverified) = list("?status=unverified").await;
    assert_eq!(unverified["data"].as_array().unwrap().len(), 3);
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=500", "limit"),
        ("?status=frozen", "status"),
        ("?teleport=1", "query"),
    ] {
        let (status, error) = list(query).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert_eq!(error["field"], field, "{query}");
    }
}
