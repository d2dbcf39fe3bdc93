//! The browser-facing flow routes, driven with `oneshot` against a real sandbox over HTTP.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dots_api::{BrowserFlow, ProxyErrorBody, StepName};
use dots_proxy::{router, AppState, DotsClient};
use dots_sandbox::{spawn, RunningSandbox, SandboxConfig};
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

const KEY: &str = "test-api-key-7f3a9c";

async fn setup() -> (RunningSandbox, axum::Router) {
    let sandbox = spawn(SandboxConfig {
        api_key: KEY.into(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let dots = DotsClient::new(
        sandbox.api_base(),
        dots_sandbox::DEFAULT_CLIENT_ID,
        KEY.to_owned().into(),
        None,
        Duration::from_secs(5),
    );
    (sandbox, router(AppState::new(dots)))
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn create_returns_only_what_the_browser_needs() {
    let (sandbox, app) = setup().await;
    let (status, body) = call(
        &app,
        "POST",
        "/api/flows",
        r#"{"steps": ["compliance", "payout"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains(KEY), "the API key never reaches a response");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["completed_steps", "id", "link", "steps"],
        "exactly the browser fields"
    );
    let flow: BrowserFlow = serde_json::from_value(value).unwrap();
    assert_eq!(flow.steps, vec![StepName::Compliance, StepName::Payout]);
    assert!(flow
        .link
        .starts_with(&format!("http://{}/flow/", sandbox.addr())));
    assert!(
        sandbox.state().store().flow("", flow.id.as_str()).is_some(),
        "created upstream"
    );
}

#[tokio::test]
async fn invalid_requests_name_the_field_and_send_nothing_upstream() {
    let (sandbox, app) = setup().await;
    let cases = [
        (r#"{"steps": ["payout", "payout"]}"#, "steps[1]"),
        (r#"{"steps": ["teleport"]}"#, "steps[0].name"),
        (
            r#"{"steps": [{"name": "redirect", "redirect_url": "javascript:alert(1)"}]}"#,
            "steps[0].redirect_url",
        ),
        (
            r#"{"steps": [{"name": "pdf-form-fill"}]}"#,
            "steps[0].template_id",
        ),
        (
            r#"{"steps": ["payout"], "user_id": "3f1c0000-0000-0000-0000-000000000000"}"#,
            "user_id",
        ),
        (r#"{"steps": []}"#, "steps"),
        ("not json", "body"),
    ];
    for (body, field) in cases {
        let (status, answer) = call(&app, "POST", "/api/flows", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
        let error: ProxyErrorBody = serde_json::from_str(&answer).unwrap();
        assert_eq!(error.error, "invalid_request");
        assert_eq!(error.field.as_deref(), Some(field), "{body} → {answer}");
    }
    let huge = format!(
        r#"{{"steps": ["payout"], "metadata": "{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let (status, _) = call(&app, "POST", "/api/flows", &huge).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "oversize bodies are refused"
    );
    let flows = sandbox.state().store().flows("");
    assert!(flows.is_empty(), "nothing the proxy rejected reached Dots");
}

#[tokio::test]
async fn retrieve_reflects_completed_steps_for_known_flows_only() {
    let (sandbox, app) = setup().await;
    let (_, body) = call(
        &app,
        "POST",
        "/api/flows",
        r#"{"steps": ["compliance", "payout"]}"#,
    )
    .await;
    let flow: BrowserFlow = serde_json::from_str(&body).unwrap();
    sandbox
        .state()
        .store()
        .complete_step(flow.id.as_str(), &StepName::Compliance, 0)
        .expect("step exists");
    let (status, body) = call(&app, "GET", &format!("/api/flows/{}", flow.id), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fetched: BrowserFlow = serde_json::from_str(&body).unwrap();
    assert_eq!(fetched.completed_steps, vec![StepName::Compliance]);

    // A flow that exists upstream but was not created through this proxy is not visible.
    let other = sandbox
        .state()
        .store()
        .create_flow(
            "",
            dots_api::CreateFlowRequest::new([dots_api::Step::new(StepName::Payout)]),
            "http://x",
            0,
        )
        .unwrap();
    let (status, body) = call(&app, "GET", &format!("/api/flows/{}", other.id), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = call(&app, "GET", "/api/flows/not-a-flow", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unreachable_dots_is_a_typed_502() {
    // Bind then drop a listener so the port is (very likely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dots = DotsClient::new(
        format!("http://127.0.0.1:{port}/api"),
        "id",
        KEY.to_owned().into(),
        None,
        Duration::from_secs(2),
    );
    let app = router(AppState::new(dots));
    let (status, body) = call(&app, "POST", "/api/flows", r#"{"steps": ["payout"]}"#).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let error: ProxyErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(error.error, "upstream_unavailable");
    assert!(
        !body.contains(KEY) && !body.contains(&port.to_string()),
        "nothing internal leaks: {body}"
    );
}

#[tokio::test]
async fn wrong_credentials_upstream_do_not_leak_to_the_browser() {
    let (sandbox, _) = setup().await;
    let dots = DotsClient::new(
        sandbox.api_base(),
        "wrong-id",
        "wrong-key".to_owned().into(),
        None,
        Duration::from_secs(2),
    );
    let app = router(AppState::new(dots));
    let (status, body) = call(&app, "POST", "/api/flows", r#"{"steps": ["payout"]}"#).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(!body.contains("wrong-key"));
}
