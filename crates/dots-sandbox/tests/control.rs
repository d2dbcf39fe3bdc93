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

/// The control plane's OpenAPI file (issue 27) says exactly what `routes()` serves: the same
/// paths with the same methods, both ways, and the sandbox serves the file itself.
#[tokio::test]
async fn the_openapi_file_describes_every_control_route() {
    use std::collections::BTreeSet;
    let dir = env!("CARGO_MANIFEST_DIR");
    let spec_text = std::fs::read_to_string(format!("{dir}/control-plane.yaml")).unwrap();
    let spec: serde_json::Value = serde_norway::from_str(&spec_text).expect("valid YAML");
    assert_eq!(spec["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            assert!(
                item[method]["operationId"].is_string(),
                "{method} {path} has an operationId"
            );
            documented.insert((path.replace("{flow_id}", "{id}"), method.to_uppercase()));
        }
    }

    // The routes as `routes()` declares them: `.route("/path", get(a).post(b))`.
    let source = std::fs::read_to_string(format!("{dir}/src/control.rs")).unwrap();
    let body = &source[source.find("fn routes()").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let mut served = BTreeSet::new();
    for route in body.split(".route(").skip(1) {
        let path = route
            .split('"')
            .nth(1)
            .unwrap()
            .replace("{flow_id}", "{id}");
        let handlers = &route[..route.find("\n        .").unwrap_or(route.len())];
        for method in ["get", "post", "put", "delete"] {
            if handlers.contains(&format!("{method}(")) {
                served.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    assert!(served.len() > 20, "the routes were read: {served:?}");
    assert_eq!(
        documented, served,
        "control-plane.yaml and control.rs's routes() disagree"
    );

    // Each documented GET is really there, and the file is what the sandbox serves.
    let sb = Sandbox::start().await;
    for (path, method) in &documented {
        if method == "GET" && !path.contains('{') {
            let response = sb
                .http
                .get(format!("{}/_sandbox{path}", sb.running.origin()))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "GET /_sandbox{path}");
        }
    }
    let served_spec = sb
        .http
        .get(format!("{}/_sandbox/openapi.yaml", sb.running.origin()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        served_spec, spec_text,
        "the sandbox serves the file as kept"
    );
}

/// What the framework refuses on the control plane (a query it cannot read, a method a route
/// does not take) is answered in the same error shape as everything else, naming the field.
#[tokio::test]
async fn framework_refusals_on_the_control_plane_are_dots_shaped() {
    let sb = Sandbox::start().await;
    let origin = sb.running.origin();
    let response = sb
        .http
        .get(format!("{origin}/_sandbox/transfers?app=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error_code"], "invalid-input", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("app_id"),
        "names the field it expected: {body}"
    );
    let response = sb
        .http
        .put(format!("{origin}/_sandbox/webhooks/release"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["success"], false, "{body}");
}
