//! The browser-facing routes, driven with `oneshot` (router tests) against a real sandbox.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{settings, temp_db_path, API_KEY, ORIGIN};
use dots_api::{BrowserFlow, ProxyErrorBody, StartFlowRequest, StepName};
use dots_proxy::db::Db;
use dots_proxy::{router, AppState, DotsClient, ProxySettings};
use dots_sandbox::{spawn, RunningSandbox, SandboxConfig};
use http_body_util::BodyExt;
use std::time::Duration;
use tower::ServiceExt;

async fn setup_with(settings: ProxySettings) -> (RunningSandbox, axum::Router) {
    let sandbox = spawn(SandboxConfig {
        api_key: API_KEY.into(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let dots = DotsClient::new(
        sandbox.api_base(),
        dots_sandbox::DEFAULT_CLIENT_ID,
        API_KEY.to_owned().into(),
        None,
        Duration::from_secs(5),
    );
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", temp_db_path().display()))
        .await
        .unwrap();
    (sandbox, router(AppState::new(dots, db, settings)))
}

/// A router over `base` with these credentials and a fresh database.
async fn app_for(base: String, client_id: &str, key: &str) -> axum::Router {
    let dots = DotsClient::new(
        base,
        client_id,
        key.to_owned().into(),
        None,
        Duration::from_secs(2),
    );
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", temp_db_path().display()))
        .await
        .unwrap();
    router(AppState::new(dots, db, settings()))
}

/// `Authorization: Bearer <HS256 token of `claims`>`, signed with the tests' secret.
fn bearer(claims: serde_json::Value) -> String {
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(common::JWT_SECRET.as_bytes()),
    )
    .unwrap();
    format!("Bearer {token}")
}

/// The status of a `POST /api/flows` for a payout with `authorization`.
async fn post_as(app: &axum::Router, authorization: String) -> StatusCode {
    call(
        app,
        "POST",
        "/api/flows",
        r#"{"steps": ["payout"]}"#,
        &[("authorization", &authorization)],
    )
    .await
    .status
}

async fn setup() -> (RunningSandbox, axum::Router) {
    setup_with(settings()).await
}

struct Reply {
    status: StatusCode,
    cookie: Option<String>,
    body: String,
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("host", "proxy.test");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let cookie = common::session_set_cookie(response.headers())
        .map(|c| c.split(';').next().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        cookie,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

const FROM_APP: &[(&str, &str)] = &[("origin", ORIGIN)];

/// `POST /api/flows` from the app's page (an allowed `Origin`, no session yet).
async fn post_flow(app: &axum::Router, body: &str) -> Reply {
    call(app, "POST", "/api/flows", body, FROM_APP).await
}

#[tokio::test]
async fn create_returns_only_what_the_browser_needs_and_sets_a_session() {
    let (sandbox, app) = setup().await;
    let reply = call(
        &app,
        "POST",
        "/api/flows",
        r#"{"steps": ["compliance", "payout"]}"#,
        FROM_APP,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        !reply.body.contains(API_KEY),
        "the API key never reaches a response"
    );
    let value: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let mut keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["completed_steps", "events", "id", "link", "steps"],
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
    let cookie = reply.cookie.expect("a session cookie is set");
    assert!(cookie.starts_with("dots_flow_session="), "{cookie}");
}

#[tokio::test]
async fn the_session_cookie_is_httponly_samesite_and_signed() {
    let (_sandbox, app) = setup().await;
    let request = Request::builder()
        .method("POST")
        .uri("/api/flows")
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .body(Body::from(r#"{"steps": ["payout"]}"#))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let set_cookie = common::session_set_cookie(response.headers()).expect("a session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let value = set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    // A forged (unsigned or tampered) session id is no session: the flow is not found.
    let forged = format!("dots_flow_session=x{}", &value[1..]);
    let reply = call(
        &app,
        "GET",
        "/api/flows/anything",
        "",
        &[("cookie", &forged)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
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
        // Issue 12: a tail after the body was ignored, an unknown step key silently dropped.
        (r#"{"steps": ["payout"]} xxx"#, "body"),
        (
            r#"{"steps": [{"name": "manage-payouts", "hide_continue_buton": true}]}"#,
            "steps[0].hide_continue_buton",
        ),
    ];
    for (body, field) in cases {
        let reply = post_flow(&app, body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body} → {}",
            reply.body
        );
        let error: ProxyErrorBody = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(error.error, "invalid_request");
        assert_eq!(
            error.field.as_deref(),
            Some(field),
            "{body} → {}",
            reply.body
        );
    }
    let huge = format!(
        r#"{{"steps": ["payout"], "metadata": "{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let reply = post_flow(&app, &huge).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "oversize bodies are refused"
    );
    assert!(
        sandbox.state().store().flows("").is_empty(),
        "nothing the proxy rejected reached Dots"
    );
}

#[tokio::test]
async fn cookie_writes_need_an_allowed_origin() {
    let (sandbox, app) = setup().await;
    let body = r#"{"steps": ["payout"]}"#;
    for headers in [
        vec![],
        vec![("origin", "http://evil.test")],
        vec![("origin", "null")],
    ] {
        let reply = call(&app, "POST", "/api/flows", body, &headers).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(reply.body.contains("forbidden_origin"));
    }
    assert!(sandbox.state().store().flows("").is_empty());

    // Without a configured list, only the request's own origin is allowed.
    let (_sandbox, same_origin_app) = setup_with(ProxySettings {
        allowed_origins: vec![],
        ..settings()
    })
    .await;
    let reply = call(
        &same_origin_app,
        "POST",
        "/api/flows",
        body,
        &[("origin", "http://proxy.test")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = call(
        &same_origin_app,
        "POST",
        "/api/flows",
        body,
        &[("origin", "http://other.test")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_session_gets_404_for_your_flow() {
    let (_sandbox, app) = setup().await;
    let mine = post_flow(&app, r#"{"steps": ["payout"]}"#).await;
    let flow: BrowserFlow = serde_json::from_str(&mine.body).unwrap();
    let my_cookie = mine.cookie.unwrap();
    let theirs = post_flow(&app, r#"{"steps": ["payout"]}"#).await;
    let their_cookie = theirs.cookie.unwrap();
    assert_ne!(my_cookie, their_cookie, "each browser gets its own session");

    let uri = format!("/api/flows/{}", flow.id);
    let reply = call(&app, "GET", &uri, "", &[("cookie", &my_cookie)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = call(&app, "GET", &uri, "", &[("cookie", &their_cookie)]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "another session");
    let reply = call(&app, "GET", &uri, "", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "no session");
    let missing = call(
        &app,
        "GET",
        "/api/flows/00000000-0000-0000-0000-000000000000",
        "",
        &[("cookie", &my_cookie)],
    )
    .await;
    assert_eq!(
        missing.body, reply.body,
        "a missing flow and someone else's look the same"
    );
}

/// Issue 25: a token whose `nbf` was an hour ahead was accepted, and one carrying `aud` was
/// refused although no audience is configured (the README says it is then unchecked).
#[tokio::test]
async fn host_tokens_not_valid_yet_are_refused_and_an_unconfigured_audience_is_unchecked() {
    let (_sandbox, app) = setup().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let later = serde_json::json!({"sub": "nbf", "exp": now + 7200, "nbf": now + 3600});
    assert_eq!(
        post_as(&app, bearer(later)).await,
        StatusCode::UNAUTHORIZED,
        "not valid yet"
    );
    let now_valid = serde_json::json!({"sub": "nbf", "exp": now + 7200, "nbf": now - 10});
    assert_eq!(post_as(&app, bearer(now_valid)).await, StatusCode::OK);
    let with_aud = serde_json::json!({"sub": "aud", "exp": now + 600, "aud": "some-app"});
    assert_eq!(
        post_as(&app, bearer(with_aud)).await,
        StatusCode::OK,
        "unchecked without a configured audience"
    );
}

#[tokio::test]
async fn host_signed_bearer_tokens_name_the_identity() {
    let (_sandbox, app) = setup().await;
    let token = |sub: &str, exp: u64, secret: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"sub": sub, "exp": exp}),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let later = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
        + 600;
    let alice = format!("Bearer {}", token("alice", later, common::JWT_SECRET));
    // No Origin needed: a bearer token is not sent by a browser on its own (no CSRF).
    let reply = call(
        &app,
        "POST",
        "/api/flows",
        r#"{"steps": ["payout"]}"#,
        &[("authorization", &alice)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.cookie.is_none(),
        "no session cookie for bearer callers"
    );
    let flow: BrowserFlow = serde_json::from_str(&reply.body).unwrap();
    let uri = format!("/api/flows/{}", flow.id);
    assert_eq!(
        call(&app, "GET", &uri, "", &[("authorization", &alice)])
            .await
            .status,
        StatusCode::OK
    );
    let bob = format!("Bearer {}", token("bob", later, common::JWT_SECRET));
    assert_eq!(
        call(&app, "GET", &uri, "", &[("authorization", &bob)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for bad in [
        format!("Bearer {}", token("alice", later, "wrong-secret")),
        format!("Bearer {}", token("alice", 1_000, common::JWT_SECRET)),
        "Bearer not-a-jwt".to_owned(),
        "Basic YWxpY2U6".to_owned(),
    ] {
        let reply = call(
            &app,
            "POST",
            "/api/flows",
            r#"{"steps": ["payout"]}"#,
            &[("authorization", &bad)],
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
}

#[tokio::test]
async fn bearer_audience_and_issuer_are_checked_when_configured() {
    // Issue 12: DOTS_PROXY_JWT_AUDIENCE / DOTS_PROXY_JWT_ISSUER.
    let (_sandbox, app) = setup_with(ProxySettings {
        jwt_audience: Some("dots-flow".into()),
        jwt_issuer: Some("https://host.example".into()),
        ..settings()
    })
    .await;
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let good = serde_json::json!({"sub": "alice", "exp": later, "aud": "dots-flow", "iss": "https://host.example"});
    assert_eq!(post_as(&app, bearer(good)).await, StatusCode::OK);
    for (case, claims) in [
        (
            "wrong aud",
            serde_json::json!({"sub": "alice", "exp": later, "aud": "other", "iss": "https://host.example"}),
        ),
        (
            "no aud",
            serde_json::json!({"sub": "alice", "exp": later, "iss": "https://host.example"}),
        ),
        (
            "wrong iss",
            serde_json::json!({"sub": "alice", "exp": later, "aud": "dots-flow", "iss": "https://evil.example"}),
        ),
        (
            "no iss",
            serde_json::json!({"sub": "alice", "exp": later, "aud": "dots-flow"}),
        ),
    ] {
        assert_eq!(
            post_as(&app, bearer(claims)).await,
            StatusCode::UNAUTHORIZED,
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_step_policy_limits_what_browsers_may_request() {
    let (sandbox, app) = setup_with(ProxySettings {
        allowed_steps: Some(vec![StepName::Compliance, StepName::ManagePayouts]),
        ..settings()
    })
    .await;
    let reply = call(
        &app,
        "POST",
        "/api/flows",
        r#"{"steps": ["compliance", "payout"]}"#,
        FROM_APP,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let error: ProxyErrorBody = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(error.error, "step_not_allowed");
    assert!(sandbox.state().store().flows("").is_empty());
    let reply = post_flow(&app, r#"{"steps": ["compliance"]}"#).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_dots_is_a_typed_502() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = app_for(format!("http://127.0.0.1:{port}/api"), "id", API_KEY).await;
    let reply = post_flow(&app, r#"{"steps": ["payout"]}"#).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    let error: ProxyErrorBody = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(error.error, "upstream_unavailable");
    assert!(
        !reply.body.contains(API_KEY) && !reply.body.contains(&port.to_string()),
        "nothing internal leaks: {}",
        reply.body
    );
}

#[tokio::test]
async fn wrong_credentials_upstream_do_not_leak_to_the_browser() {
    let (sandbox, _) = setup().await;
    let app = app_for(sandbox.api_base(), "wrong-id", "wrong-key").await;
    let reply = post_flow(&app, r#"{"steps": ["payout"]}"#).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.body);
    assert!(!reply.body.contains("wrong-key"));
}

/// A stack allowing `flows_per_minute` flows per identity, and a host-vouched caller as a
/// server rendering a page would have.
async fn server_rendering(
    flows_per_minute: u32,
    identity: &str,
) -> (common::Stack, dots_proxy::identity::Caller) {
    let stack = common::Stack::with_settings(dots_proxy::ProxySettings {
        rate_limits: dots_proxy::limits::RateLimits {
            flows_per_identity: flows_per_minute,
            flows_per_client: 100,
            new_identities_per_client: 100,
            ipv6_prefix: 64,
            ..dots_proxy::limits::RateLimits::default()
        },
        ..common::settings()
    })
    .await;
    let caller = dots_proxy::identity::Caller {
        identity: identity.into(),
        via_cookie: false,
    };
    (stack, caller)
}

#[tokio::test]
async fn a_server_rendering_the_page_starts_flows_through_the_library() {
    // Issue 14: a Leptos server function creates the flow while the page renders, with the
    // same rules as the browser API (validation, ownership, rate limits), and no HTTP hop.
    let (stack, caller) = server_rendering(2, "host:alice").await;
    let client = Some("203.0.113.9".parse().unwrap());
    let flow = dots_proxy::start_flow(
        &stack.state,
        &caller,
        client,
        StartFlowRequest::new([dots_api::Step::compliance()]),
    )
    .await
    .expect("a flow");
    assert!(flow.link.contains("/flow/"), "{flow:?}");
    assert_eq!(
        stack
            .state
            .flow_owner(flow.id.as_str())
            .await
            .unwrap()
            .as_deref(),
        Some("host:alice"),
        "owned by the caller, so its browser can follow it"
    );
    let upstream_before = stack.sandbox.state().store().flows("").len();
    let err = dots_proxy::start_flow(
        &stack.state,
        &caller,
        client,
        StartFlowRequest::new([dots_api::Step::redirect("ftp://nope")]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, dots_proxy::ProxyError::Invalid(v) if v.field == "steps[0].redirect_url"),
        "{err:?}"
    );
    dots_proxy::start_flow(
        &stack.state,
        &caller,
        client,
        StartFlowRequest::new([dots_api::Step::compliance()]),
    )
    .await
    .expect("the second flow of the minute");
    let err = dots_proxy::start_flow(
        &stack.state,
        &caller,
        client,
        StartFlowRequest::new([dots_api::Step::compliance()]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, dots_proxy::ProxyError::RateLimited { .. }),
        "the rate limit holds: {err:?}"
    );
    assert_eq!(
        stack.sandbox.state().store().flows("").len(),
        upstream_before + 1,
        "nothing refused reached Dots"
    );
}

#[tokio::test]
async fn a_page_rendered_again_reuses_its_flow_until_it_is_done() {
    // Issue 14: rendering on every page view must not create (and rate-limit) a flow per view.
    let (stack, caller) = server_rendering(3, "host:bob").await;
    let upstream = || stack.sandbox.state().store().flows("").len();
    let render = |steps: Vec<dots_api::Step>| {
        dots_proxy::start_or_reuse_flow(&stack.state, &caller, None, StartFlowRequest::new(steps))
    };
    let first = render(vec![dots_api::Step::compliance()]).await.unwrap();
    for _ in 0..5 {
        let again = render(vec![dots_api::Step::compliance()]).await.unwrap();
        assert_eq!(again.id, first.id, "the same flow for the same request");
        assert_eq!(again.link, first.link);
    }
    assert_eq!(upstream(), 1, "one flow at Dots for six renders");
    let other = render(vec![dots_api::Step::compliance().hide_continue_button(true)])
        .await
        .unwrap();
    assert_ne!(other.id, first.id, "other options, another flow");
    // Done at Dots (the step completed, no user bound yet, so the request is the same): the
    // next render starts afresh.
    stack.complete_step(first.id.as_str(), "compliance").await;
    assert!(
        stack
            .state
            .db()
            .bound_user("host:bob")
            .await
            .unwrap()
            .is_none(),
        "still the same request"
    );
    let after = render(vec![dots_api::Step::compliance()]).await.unwrap();
    assert_ne!(after.id, first.id, "a finished flow is not reused");
    assert_eq!(upstream(), 3);
    // Without reuse every call creates one, and the limit (3 a minute) holds.
    let err = dots_proxy::start_flow(
        &stack.state,
        &caller,
        None,
        StartFlowRequest::new([dots_api::Step::compliance()]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, dots_proxy::ProxyError::RateLimited { .. }),
        "{err:?}"
    );
}

/// The `Parts` of a request a server renders a page for.
fn page_request(method: &str, headers: &[(&str, &str)], peer: &str) -> axum::http::request::Parts {
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri("/")
        .header("host", "app.example");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(()).unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
            peer.parse().unwrap(),
        ));
    request.into_parts().0
}

#[tokio::test]
async fn a_page_request_gets_its_visitors_flow_and_cookie() {
    // Issue 14: the SSR call for "this request's caller": a first visit gets a session (its
    // cookie handed back for the page's response), the same visitor's next view reuses the
    // flow and sets no cookie, a server function called from a foreign page is refused, and
    // new visitors from one address are rate-limited as on the browser API.
    let stack = common::Stack::with_settings(dots_proxy::ProxySettings {
        rate_limits: dots_proxy::limits::RateLimits {
            flows_per_identity: 10,
            flows_per_client: 100,
            new_identities_per_client: 2,
            ipv6_prefix: 64,
            ..dots_proxy::limits::RateLimits::default()
        },
        ..common::settings()
    })
    .await;
    let request = || StartFlowRequest::new([dots_api::Step::compliance()]);
    let first = dots_proxy::start_or_reuse_flow_for(
        &stack.state,
        &page_request("GET", &[], "203.0.113.7:5000"),
        request(),
    )
    .await
    .unwrap();
    assert_eq!(
        first.set_cookie.len(),
        2,
        "a new session's cookie and the flow's claim"
    );
    let cookie = first
        .set_cookie
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("dots_flow_session="))
        .expect("the session's cookie");
    assert!(
        first
            .set_cookie
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("dots_flow_claim_")),
        "the claim"
    );
    assert!(cookie.starts_with("dots_flow_session=") && cookie.contains("HttpOnly"));
    let pair = cookie.split(';').next().unwrap().to_owned();
    let again = dots_proxy::start_or_reuse_flow_for(
        &stack.state,
        &page_request("GET", &[("cookie", &pair)], "203.0.113.7:5000"),
        request(),
    )
    .await
    .unwrap();
    assert_eq!(
        again.flow.id, first.flow.id,
        "the same visitor's flow again"
    );
    assert!(again.set_cookie.is_empty(), "the session stands: no cookie");
    // A server function is a POST: a cookie write from another origin is refused.
    let err = dots_proxy::start_or_reuse_flow_for(
        &stack.state,
        &page_request(
            "POST",
            &[("cookie", &pair), ("origin", "https://evil.example")],
            "203.0.113.7:5000",
        ),
        request(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, dots_proxy::ProxyError::ForbiddenOrigin),
        "{err:?}"
    );
    // New visitors from one address: the second is fine, the third is limited.
    let visit = |peer: &'static str| {
        let state = stack.state.clone();
        async move {
            let parts = page_request("GET", &[], peer);
            dots_proxy::start_or_reuse_flow_for(&state, &parts, request()).await
        }
    };
    let other = visit("203.0.113.7:5001").await.unwrap();
    assert_ne!(
        other.flow.id, first.flow.id,
        "another visitor, another flow"
    );
    let err = visit("203.0.113.7:5002").await.unwrap_err();
    assert!(
        matches!(err, dots_proxy::ProxyError::RateLimited { .. }),
        "{err:?}"
    );
    assert!(
        visit("198.51.100.1:5000").await.is_ok(),
        "another address has its own budget"
    );
}
