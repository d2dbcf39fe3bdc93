//! The control plane holds against a hostile web page and hostile numbers (issue 12): any
//! page a developer visits could otherwise refill wallets or move the clock, and extreme
//! amounts or clock advances panicked.

mod common;

use common::Sandbox;
use reqwest::Method;
use serde_json::json;

/// A raw control-plane POST with the given headers; status and body text.
async fn post(sb: &Sandbox, path: &str, body: &str, headers: &[(&str, String)]) -> (u16, String) {
    let mut request = sb
        .http
        .post(format!("{}{path}", sb.running.origin()))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("the sandbox answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn cross_site_and_non_json_writes_are_refused() {
    let sb = Sandbox::start().await;
    let refill = r#"{"amount": 500}"#;
    let json_type = ("content-type", "application/json".to_owned());
    let wallet = || sb.running.state().store().app_wallet("");

    // What a form or a no-cors fetch on any page can send.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, body) = post(
            &sb,
            "/_sandbox/wallet",
            refill,
            &[("content-type", content_type.to_owned())],
        )
        .await;
        assert_eq!(status, 415, "{content_type}: {body}");
        assert!(body.contains("application/json"), "{body}");
    }
    let (status, _) = post(&sb, "/_sandbox/wallet", refill, &[]).await;
    assert_eq!(status, 415, "a body without a content type");
    let foreign = ("origin", "https://evil.example".to_owned());
    let (status, body) = post(
        &sb,
        "/_sandbox/wallet",
        refill,
        &[json_type.clone(), foreign.clone()],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = post(&sb, "/_sandbox/reset", "", &[foreign]).await;
    assert_eq!(status, 403, "a bodiless cross-site reset");
    assert_eq!(wallet(), 10_000, "nothing refused moved money");

    // Tools and tests (no Origin) and the sandbox's own origin pass.
    let (status, body) = post(
        &sb,
        "/_sandbox/wallet",
        refill,
        std::slice::from_ref(&json_type),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let own = ("origin", sb.running.origin());
    let (status, body) = post(&sb, "/_sandbox/wallet", refill, &[json_type, own]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(wallet(), 11_000);
    let (status, _) = post(&sb, "/_sandbox/reset", "", &[]).await;
    assert_eq!(status, 200, "a bodiless reset from a tool");
    let (status, _) = sb.raw(Method::GET, "/_sandbox/clock", None).await;
    assert_eq!(status, 200, "reads need nothing");
}

#[tokio::test]
async fn extreme_numbers_are_refused_not_a_panic() {
    let sb = Sandbox::start().await;
    let clock = || sb.running.state().clock().now();
    let before = clock();
    for seconds in [i64::MAX, i64::MAX / 1000 + 1, 200 * 366 * 24 * 3600] {
        let (status, body) = sb
            .raw(
                Method::POST,
                "/_sandbox/clock/advance",
                Some(json!({"seconds": seconds})),
            )
            .await;
        assert_eq!(status, 400, "{seconds}: {body}");
        assert_eq!(
            body["message"].as_str().map(|m| m.contains("seconds")),
            Some(true),
            "{body}"
        );
    }
    let (status, _) = sb
        .raw(
            Method::POST,
            "/_sandbox/clock/advance",
            Some(json!({"seconds": i64::MIN})),
        )
        .await;
    assert_eq!(status, 400, "backwards");
    assert!(clock() - before < 5, "the clock did not move");

    let (status, _) = sb
        .raw(
            Method::POST,
            "/_sandbox/wallet",
            Some(json!({"amount": i64::MAX})),
        )
        .await;
    assert_eq!(status, 400, "a refill that overflows the wallet");
    assert_eq!(
        sb.running.state().store().app_wallet(""),
        10_000,
        "and changes nothing"
    );

    let user = sb.create_user("4155550377", "Lovelace").await;
    for amount in [i64::MIN, i64::MAX] {
        let (status, body) = sb
            .api(
                Method::POST,
                "/v2/transfers",
                Some(json!({"amount": amount, "user_id": user["id"]})),
            )
            .await;
        assert_eq!(status, 400, "{amount}: {body}");
    }
    assert_eq!(
        sb.running.state().store().app_wallet(""),
        10_000,
        "no money moved"
    );
}
