//! Rate limits on new flows and new identities (issue 12: one client with no cookie minted 200
//! flows and 200 identities in 1.2 s, spending the app's Dots quota).

mod common;

use common::Stack;
use dots_proxy::limits::RateLimits;
use dots_proxy::ProxySettings;
use reqwest::Method;
use serde_json::json;

fn limited(trusted_proxies: &[&str]) -> ProxySettings {
    ProxySettings {
        rate_limits: RateLimits {
            flows_per_identity: 3,
            flows_per_client: 5,
            new_identities_per_client: 2,
            ipv6_prefix: 64,
            ..RateLimits::default()
        },
        trusted_proxies: trusted_proxies.iter().map(|p| p.parse().unwrap()).collect(),
        ..common::settings()
    }
}

async fn post_flow(browser: &mut common::Browser) -> common::Answer {
    browser
        .send(
            Method::POST,
            "/api/flows",
            Some(json!({"steps": ["compliance"]})),
        )
        .await
}

fn upstream_flows(stack: &Stack) -> usize {
    stack.sandbox.state().store().flows("").len()
}

#[tokio::test]
async fn flows_and_new_identities_are_limited_per_identity_and_per_client() {
    let stack = Stack::with_settings(limited(&[])).await;
    let mut first = stack.browser();
    for n in 0..3 {
        assert_eq!(
            post_flow(&mut first).await.status,
            200,
            "flow {n} of the identity"
        );
    }
    let refused = post_flow(&mut first).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.json()["error"], "rate_limited");
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(upstream_flows(&stack), 3, "nothing refused reached Dots");

    // A second identity from the same address: its own flows, within the address's budget.
    let mut second = stack.browser();
    assert_eq!(post_flow(&mut second).await.status, 200);
    // A third new identity from this address is one too many.
    let mut third = stack.browser();
    let refused = post_flow(&mut third).await;
    assert_eq!(refused.status, 429, "new identities: {}", refused.text);
    // The address's flow budget (5) runs out across identities.
    assert_eq!(post_flow(&mut second).await.status, 200);
    assert_eq!(
        post_flow(&mut second).await.status,
        429,
        "5 flows from one address"
    );
    assert_eq!(upstream_flows(&stack), 5);
}

#[tokio::test]
async fn behind_a_trusted_balancer_each_forwarded_client_has_its_own_budget() {
    // The test connects from 127.0.0.1, configured as the load balancer.
    let stack = Stack::with_settings(limited(&["127.0.0.1"])).await;
    let client = |address: &str| {
        let mut browser = stack.browser();
        let mut headers = reqwest::header::HeaderMap::new();
        // A client's own claim first, then what the balancer appended: only the last counts.
        headers.insert(
            "x-forwarded-for",
            format!("1.2.3.4, {address}").parse().unwrap(),
        );
        browser.http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        browser
    };
    for address in ["203.0.113.1", "203.0.113.2"] {
        let (mut a, mut b, mut c) = (client(address), client(address), client(address));
        assert_eq!(
            post_flow(&mut a).await.status,
            200,
            "{address}: first identity"
        );
        assert_eq!(
            post_flow(&mut b).await.status,
            200,
            "{address}: second identity"
        );
        assert_eq!(
            post_flow(&mut c).await.status,
            429,
            "{address}: third identity"
        );
    }

    // Not trusted: the header is ignored and everyone shares the connection's address.
    let stack = Stack::with_settings(limited(&["10.0.0.0/8"])).await;
    let mut statuses = Vec::new();
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let mut browser = stack.browser();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        browser.http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        statuses.push(post_flow(&mut browser).await.status);
    }
    assert_eq!(statuses, [200, 200, 429], "a forged header buys nothing");
}
