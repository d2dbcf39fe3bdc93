//! Webhooks into the proxy over real HTTP: Svix verification, dedupe, user binding, the SSE
//! stream with replay, and persistence across a restart.

mod common;

use common::{eventually, Stack, WEBHOOK_SECRET};
use dots_api::webhook::WebhookSecret;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn post_webhook(stack: &Stack, id: &str, timestamp: i64, signature: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/webhooks/dots", stack.base))
        .header("svix-id", id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Reads an SSE stream until `count` events arrived (bounded); returns (id, event, data).
async fn read_events(
    stack: &Stack,
    cookie: &str,
    last_event_id: Option<&str>,
    count: usize,
) -> Vec<(String, String, serde_json::Value)> {
    let mut request = reqwest::Client::new()
        .get(format!("{}/api/events", stack.base))
        .header("cookie", cookie);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    read_stream(request, count).await
}

/// Opens the stream `request` asks for and reads `count` events (each within 5 s); fewer if
/// the stream ends or stays quiet (the callers' assertions then fail on what is missing).
async fn read_stream(
    request: reqwest::RequestBuilder,
    count: usize,
) -> Vec<(String, String, serde_json::Value)> {
    let mut stream = common::SseReader::new(request.send().await.unwrap());
    let mut events = Vec::new();
    while events.len() < count {
        let Some(event) = stream.next(Duration::from_secs(5)).await else {
            break;
        };
        events.push((event.id, event.kind, event.data));
    }
    events
}

#[tokio::test]
async fn forged_tampered_stale_and_replayed_webhooks_are_refused_or_ignored() {
    let stack = Stack::start().await;
    let secret = WebhookSecret::parse(WEBHOOK_SECRET).unwrap();
    let body = r#"{"event":"flow.updated","flow_id":"00000000-0000-0000-0000-000000000000"}"#;
    let ts = now();
    let good = secret.sign("msg_1", ts, body.as_bytes());
    let forged = WebhookSecret::from_key(b"attacker").sign("msg_2", ts, body.as_bytes());
    assert_eq!(
        post_webhook(&stack, "msg_2", ts, &forged, body).await,
        401,
        "forged signature"
    );
    let tampered = body.replace("0000-0000-0000-000000000000", "0000-0000-0000-000000000001");
    assert_eq!(
        post_webhook(&stack, "msg_1", ts, &good, &tampered).await,
        401,
        "tampered body"
    );
    let stale = secret.sign("msg_3", ts - 600, body.as_bytes());
    assert_eq!(
        post_webhook(&stack, "msg_3", ts - 600, &stale, body).await,
        401,
        "stale timestamp"
    );
    assert_eq!(
        post_webhook(&stack, "msg_1", ts, &good, body).await,
        204,
        "genuine"
    );
    assert_eq!(
        post_webhook(&stack, "msg_1", ts, &good, body).await,
        204,
        "a replay is acknowledged…"
    );
    assert!(
        stack.state.db().delivered("msg_1").await.unwrap(),
        "…and was recorded once"
    );
    assert!(
        !stack.state.db().delivered("msg_2").await.unwrap(),
        "refused ids were never recorded"
    );
}

#[tokio::test]
async fn onboarding_binds_the_user_and_the_stream_tells_the_browser() {
    let stack = Stack::start().await;
    let mut browser = stack.browser();
    let flow = browser
        .create_flow(json!({"steps": ["compliance", "payout"]}))
        .await;
    let flow_id = flow["id"].as_str().unwrap();
    assert!(
        flow.get("expires_at").is_none(),
        "an anonymous flow is not pre-authenticated"
    );
    let cookie = browser.cookie.clone().unwrap();

    stack.onboard(flow_id, "4155550500").await;
    stack.complete_step(flow_id, "compliance").await;
    stack.complete_step(flow_id, "payout").await;
    let events = read_events(&stack, &cookie, None, 4).await;
    let kinds: Vec<&str> = events.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user_bound",
            "step_completed",
            "step_completed",
            "flow_completed"
        ],
        "{events:?}"
    );
    assert_eq!(events[1].2["step"], "compliance");
    assert_eq!(events[3].2["flow_id"], flow_id);
    let user_id = events[0].2["user_id"].as_str().unwrap().to_owned();

    // The next flow of this browser is for that user: no onboarding, a pre-authenticated link
    // (for a step that moves no money: see `money_steps_of_a_cookie_session_need_a_sign_in`).
    let next = browser
        .create_flow(json!({"steps": ["id-verification"]}))
        .await;
    assert!(
        next["expires_at"].is_string(),
        "pre-authenticated links say when they expire: {next}"
    );
    let upstream = stack
        .sandbox
        .state()
        .store()
        .flow("", next["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        upstream.user_id.unwrap().to_string(),
        user_id,
        "the proxy attached the bound user"
    );

    // Another browser's stream sees none of it.
    let mut other = stack.browser();
    other.create_flow(json!({"steps": ["payout"]})).await;
    let other_cookie = other.cookie.clone().unwrap();
    let mut response = reqwest::Client::new()
        .get(format!("{}/api/events", stack.base))
        .header("cookie", other_cookie)
        .send()
        .await
        .unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            match response.chunk().await.unwrap() {
                Some(chunk) if String::from_utf8_lossy(&chunk).contains("event:") => return chunk,
                Some(_) => continue,
                None => std::future::pending::<()>().await,
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "no events cross to another browser");
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_replays_what_was_missed() {
    let stack = Stack::start().await;
    let mut browser = stack.browser();
    let flow = browser
        .create_flow(json!({"steps": ["compliance", "payout"]}))
        .await;
    let flow_id = flow["id"].as_str().unwrap();
    let cookie = browser.cookie.clone().unwrap();
    stack.onboard(flow_id, "4155550501").await;
    let first = read_events(&stack, &cookie, None, 1).await;
    assert_eq!(first[0].1, "user_bound");
    // While disconnected, steps complete.
    stack.complete_step(flow_id, "compliance").await;
    stack.complete_step(flow_id, "payout").await;
    let db = stack.state.db().clone();
    eventually("the webhooks are processed", || {
        let db = db.clone();
        let flow_id = flow_id.to_owned();
        async move {
            db.flow(&flow_id)
                .await
                .unwrap()
                .unwrap()
                .completed_steps
                .len()
                == 2
        }
    })
    .await;
    let replayed = read_events(&stack, &cookie, Some(&first[0].0), 3).await;
    let kinds: Vec<&str> = replayed.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["step_completed", "step_completed", "flow_completed"],
        "only what came after the id"
    );
    let ids: Vec<i64> = replayed
        .iter()
        .map(|(id, _, _)| id.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
}

#[tokio::test]
async fn a_restart_keeps_ownership_bindings_and_dedupe() {
    let settings = common::settings();
    let stack = Stack::with_settings(settings.clone()).await;
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["payout"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    stack.onboard(&flow_id, "4155550502").await;
    let db = stack.state.db().clone();
    eventually("the user is bound", || {
        let db = db.clone();
        let flow_id = flow_id.clone();
        async move { db.flow(&flow_id).await.unwrap().unwrap().user_id.is_some() }
    })
    .await;
    let secret = WebhookSecret::parse(WEBHOOK_SECRET).unwrap();
    let body = r#"{"user_id":"someone"}"#;
    let ts = now();
    let sig = secret.sign("msg_restart", ts, body.as_bytes());
    assert_eq!(
        post_webhook(&stack, "msg_restart", ts, &sig, body).await,
        204
    );

    let (sandbox, db_path) = stack.stop();
    let restarted = Stack::start_with(settings, db_path, Some(sandbox)).await;
    browser.base = restarted.base.clone();
    let answer = browser
        .send(Method::GET, &format!("/api/flows/{flow_id}"), None)
        .await;
    assert_eq!(
        answer.status, 200,
        "the session still owns its flow: {}",
        answer.text
    );
    let next = browser
        .create_flow(json!({"steps": ["id-verification"]}))
        .await;
    assert!(
        next["expires_at"].is_string(),
        "the binding survived: {next}"
    );
    assert_eq!(
        post_webhook(&restarted, "msg_restart", ts, &sig, body).await,
        204
    );
    assert!(
        restarted.state.db().delivered("msg_restart").await.unwrap(),
        "dedupe state survived"
    );
}

/// Regression (issue 5, found by a cold CI run): two `flow.updated` webhooks of one flow handled
/// at the same time reported a step after the flow's completion. They now go one at a time.
#[tokio::test]
async fn concurrent_webhooks_of_one_flow_keep_order_and_never_repeat() {
    let stack = Stack::start().await;
    // Uneven upstream latency makes the handlers' windows overlap, as on a loaded machine.
    let response = reqwest::Client::new()
        .post(format!("{}/_sandbox/faults", stack.sandbox.origin()))
        .json(&json!({"path": "/v2/flows/", "method": "GET", "fault": "latency", "latency_ms": 40, "ratio": 0.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for round in 0..10 {
        let mut browser = stack.browser();
        let flow = browser
            .create_flow(json!({"steps": ["compliance", "background-check", "payout"]}))
            .await;
        let flow_id = flow["id"].as_str().unwrap().to_owned();
        let cookie = browser.cookie.clone().unwrap();
        // Three completions fired together: three concurrent webhooks.
        let (a, b, c) = tokio::join!(
            stack.complete_step(&flow_id, "compliance"),
            stack.complete_step(&flow_id, "background-check"),
            stack.complete_step(&flow_id, "payout"),
        );
        let _ = (a, b, c);
        let events = read_events(&stack, &cookie, None, 4).await;
        let kinds: Vec<&str> = events.iter().map(|(_, kind, _)| kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "step_completed",
                "step_completed",
                "step_completed",
                "flow_completed"
            ],
            "round {round}: {events:?}"
        );
        let mut steps: Vec<String> = events[..3]
            .iter()
            .map(|(_, _, d)| d["step"].as_str().unwrap().to_owned())
            .collect();
        steps.sort();
        assert_eq!(
            steps,
            ["background-check", "compliance", "payout"],
            "each step once"
        );
    }
}

/// A cookie session bound to a fresh Dots user (onboarded through the sandbox).
async fn bound_browser(stack: &Stack, phone: &str) -> (common::Browser, String) {
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    stack.onboard(flow["id"].as_str().unwrap(), phone).await;
    let cookie = browser.cookie.clone().unwrap();
    let events = read_events(stack, &cookie, None, 1).await;
    let user = events[0].2["user_id"].as_str().unwrap().to_owned();
    (browser, user)
}

#[tokio::test]
async fn money_steps_of_a_cookie_session_need_a_sign_in() {
    // Issue 12: a bound cookie made every link pre-authenticated for the cookie's life, so
    // whoever held it could add a payout method and withdraw the wallet without a code.
    let stack = Stack::start().await;
    let (mut browser, user) = bound_browser(&stack, "4155550701").await;
    let upstream = |id: &str| {
        stack
            .sandbox
            .state()
            .store()
            .flow_record(id)
            .expect("the flow exists upstream")
    };
    for step in ["payout", "manage-payouts", "manage-payments"] {
        let flow = browser.create_flow(json!({"steps": [step]})).await;
        let id = flow["id"].as_str().unwrap();
        assert!(
            flow.get("expires_at").is_none(),
            "{step}: not pre-authenticated: {flow}"
        );
        let record = upstream(id);
        assert!(
            record.require_auth,
            "{step}: Dots was asked for require_auth"
        );
        assert!(!record.signed_in, "{step}: the page asks for a sign-in");
        assert_eq!(
            record.flow.user_id.unwrap().to_string(),
            user,
            "{step}: for the bound user"
        );
    }
    let flow = browser
        .create_flow(json!({"steps": ["id-verification", "payout"]}))
        .await;
    assert!(
        upstream(flow["id"].as_str().unwrap()).require_auth,
        "one money step is enough"
    );
    let flow = browser
        .create_flow(json!({"steps": ["id-verification"]}))
        .await;
    assert!(
        flow["expires_at"].is_string(),
        "steps that move no money stay sign-in free"
    );
    assert!(!upstream(flow["id"].as_str().unwrap()).require_auth);

    // The host's word: a bearer identity bound to the same user is pre-authenticated.
    stack
        .state
        .db()
        .bind_user("host:ada", &user, "no-flow")
        .await
        .unwrap();
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "ada", "exp": later}),
        &jsonwebtoken::EncodingKey::from_secret(common::JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let mut host_page = stack.browser();
    host_page.origin = None;
    host_page.bearer = Some(token);
    let flow = host_page.create_flow(json!({"steps": ["payout"]})).await;
    assert!(
        flow["expires_at"].is_string(),
        "a vouched-for identity skips the sign-in: {flow}"
    );
    assert!(!upstream(flow["id"].as_str().unwrap()).require_auth);
}

#[tokio::test]
async fn a_host_may_let_cookie_sessions_skip_the_sign_in() {
    let stack = Stack::with_settings(dots_proxy::ProxySettings {
        preauth_money_steps_for_cookies: true,
        ..common::settings()
    })
    .await;
    let (mut browser, _) = bound_browser(&stack, "4155550702").await;
    let flow = browser.create_flow(json!({"steps": ["payout"]})).await;
    assert!(flow["expires_at"].is_string(), "configured: {flow}");
}

#[tokio::test]
async fn an_idle_session_is_over() {
    // Issue 12: sessions have an idle expiry (the cookie lived 30 days whatever happened).
    let stack = Stack::with_settings(dots_proxy::ProxySettings {
        session_idle: Duration::from_secs(1),
        ..common::settings()
    })
    .await;
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let path = format!("/api/flows/{}", flow["id"].as_str().unwrap());
    assert_eq!(browser.send(Method::GET, &path, None).await.status, 200);
    let cookie = browser.cookie.clone().unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        browser.send(Method::GET, &path, None).await.status,
        404,
        "after the idle timeout the cookie is nobody's"
    );
    browser.create_flow(json!({"steps": ["compliance"]})).await;
    assert_ne!(browser.cookie.clone().unwrap(), cookie, "a new session");
}

#[tokio::test]
async fn a_stalled_dots_is_a_502_within_the_webhook_budget_and_nothing_is_marked() {
    // Issue 12: three 10 s tries could outlive the 30 s request deadline, which cut the
    // connection after the id was marked. Now the budget answers first, and nothing is marked.
    let stack = Stack::with_settings(dots_proxy::ProxySettings {
        webhook_upstream_budget: Duration::from_millis(800),
        ..common::settings()
    })
    .await;
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    // Every look at the flow stalls 5 s: each try times out (2 s here), and three would take 6 s.
    stack.sandbox.state().faults().add(dots_sandbox::FaultRule {
        operation: None,
        path: format!("/v2/flows/{flow_id}"),
        method: Some("GET".into()),
        kind: dots_sandbox::FaultKind::Latency { latency_ms: 5000 },
        count: None,
        ratio: None,
    });
    let body = json!({"event": "flow.updated", "flow_id": flow_id}).to_string();
    let ts = now();
    let signature =
        WebhookSecret::parse(WEBHOOK_SECRET)
            .unwrap()
            .sign("msg_budget", ts, body.as_bytes());
    let started = std::time::Instant::now();
    let status = post_webhook(&stack, "msg_budget", ts, &signature, &body).await;
    let took = started.elapsed();
    assert_eq!(status, 502, "Dots did not answer in time: retry later");
    assert!(
        took < Duration::from_secs(3),
        "answered within the budget: {took:?}"
    );
    assert!(
        !stack.state.db().delivered("msg_budget").await.unwrap(),
        "not marked, so Dots' retry is processed"
    );
    stack.sandbox.state().faults().clear();
    assert_eq!(
        post_webhook(&stack, "msg_budget", ts, &signature, &body).await,
        204,
        "the retry"
    );
    assert!(stack.state.db().delivered("msg_budget").await.unwrap());
}

#[tokio::test]
async fn a_flow_answer_names_its_stream_and_a_bearer_caller_gets_a_token_for_it_alone() {
    // Issue 15: the component hears the server on the stream its flow answer names. It starts
    // after what the answer already reflects; a bearer-token caller (whose token EventSource
    // cannot send) gets a short-lived token in the URL that opens that stream and nothing else.
    let stack = Stack::start().await;
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    assert_eq!(flow["events"], "/api/events?last_event_id=0", "{flow}");
    stack.onboard(&flow_id, "4155550777").await;
    stack.complete_step(&flow_id, "compliance").await;
    let cookie = browser.cookie.clone().unwrap();
    let events = read_events(&stack, &cookie, None, 3).await;
    assert_eq!(events[2].0, "3", "{events:?}");
    let next = browser
        .create_flow(json!({"steps": ["id-verification"]}))
        .await;
    assert_eq!(
        next["events"], "/api/events?last_event_id=3",
        "a new answer's stream starts after the events before it"
    );
    let again = browser
        .send(Method::GET, &format!("/api/flows/{flow_id}"), None)
        .await
        .json();
    assert_eq!(again["events"], "/api/events?last_event_id=3");

    // A bearer-token caller: the URL carries its stream token, and nothing else is needed.
    let later = now() as u64 + 600;
    let host_token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "grace", "exp": later}),
        &jsonwebtoken::EncodingKey::from_secret(common::JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let mut host_page = stack.browser();
    host_page.origin = None;
    host_page.bearer = Some(host_token.clone());
    let flow = host_page
        .create_flow(json!({"steps": ["compliance"]}))
        .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let events_url = flow["events"].as_str().unwrap().to_owned();
    let stream_token = events_url
        .strip_prefix("/api/events?last_event_id=0&stream_token=")
        .unwrap_or_else(|| panic!("a stream token: {events_url}"))
        .to_owned();
    let other = host_page
        .create_flow(json!({"steps": ["compliance"]}))
        .await;
    assert_eq!(
        other["events"], flow["events"],
        "the same caller's answers name the same stream (a page's components share it)"
    );
    let stream = tokio::spawn(read_stream(
        reqwest::Client::new().get(format!("{}{events_url}", stack.base)),
        3,
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stack.onboard(&flow_id, "4155550778").await;
    stack.complete_step(&flow_id, "compliance").await;
    let kinds: Vec<String> = stream
        .await
        .unwrap()
        .into_iter()
        .map(|(_, kind, _)| kind)
        .collect();
    assert_eq!(kinds, ["user_bound", "step_completed", "flow_completed"]);

    // Single-purpose: not a bearer token for the API; a host token or a forged one does not
    // open a stream; and with no token and no cookie, a stream is a new session's (empty).
    let as_bearer = reqwest::Client::new()
        .post(format!("{}/api/flows", stack.base))
        .bearer_auth(&stream_token)
        .json(&json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_bearer.status(),
        401,
        "a stream token is not an API token"
    );
    let mut forged = stream_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for (what, token) in [
        ("a host token", host_token.as_str()),
        ("a forged token", &forged),
    ] {
        let answer = reqwest::Client::new()
            .get(format!("{}/api/events", stack.base))
            .query(&[("stream_token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{what} opens no stream");
    }
}

/// Issue 23: Dots' pages name the sign-in step four ways. Whichever this Dots uses, the flow
/// lists it, its completion is told to the browser under that name, the user is bound, and
/// the flow completes with the steps asked for, neither earlier nor later.
#[tokio::test]
async fn each_name_of_the_sign_in_step_binds_the_user_and_never_fakes_completion() {
    use dots_sandbox::SignInStep;
    for (n, sign_in) in [
        SignInStep::Onboarding,
        SignInStep::Onboard,
        SignInStep::Authorization,
        SignInStep::AuthenticationOnboarding,
    ]
    .into_iter()
    .enumerate()
    {
        let stack = Stack::start().await;
        let mut behaviour = stack.sandbox.state().behaviour();
        behaviour.sign_in_step = sign_in;
        stack.sandbox.state().set_behaviour(behaviour);
        let mut browser = stack.browser();
        let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
        let listed: Vec<&str> = flow["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = sign_in
            .listed()
            .iter()
            .copied()
            .chain(["compliance"])
            .collect();
        assert_eq!(
            listed, expected,
            "{sign_in:?}: the flow lists its sign-in step"
        );
        let flow_id = flow["id"].as_str().unwrap();
        let cookie = browser.cookie.clone().unwrap();
        stack.onboard(flow_id, &format!("41555507{n:02}")).await;
        // Signed in: bound, the sign-in step(s) told, and not complete.
        let told = 1 + sign_in.listed().len();
        let events = read_events(&stack, &cookie, None, told).await;
        assert_eq!(events[0].1, "user_bound", "{sign_in:?}: {events:?}");
        let steps: Vec<&str> = events[1..]
            .iter()
            .map(|(_, _, data)| data["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            sign_in.listed(),
            "{sign_in:?}: told under its own name"
        );
        stack.complete_step(flow_id, "compliance").await;
        let events = read_events(&stack, &cookie, Some(&events[told - 1].0), 2).await;
        let kinds: Vec<&str> = events.iter().map(|(_, kind, _)| kind.as_str()).collect();
        assert_eq!(kinds, ["step_completed", "flow_completed"], "{sign_in:?}");
    }
}

/// Svix signs with either set of header names; the sandbox sends the unbranded one here, and
/// the proxy processes the delivery as it does the branded one.
#[tokio::test]
async fn deliveries_with_unbranded_webhook_headers_are_processed() {
    let stack = Stack::start().await;
    let mut behaviour = stack.sandbox.state().behaviour();
    behaviour.webhook_headers = dots_sandbox::WebhookHeaders::Webhook;
    stack.sandbox.state().set_behaviour(behaviour);
    let mut browser = stack.browser();
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap();
    let cookie = browser.cookie.clone().unwrap();
    stack.onboard(flow_id, "4155550799").await;
    let events = read_events(&stack, &cookie, None, 1).await;
    assert_eq!(events[0].1, "user_bound", "{events:?}");
    let attempts = stack.sandbox.state().webhooks().attempts();
    assert!(
        attempts.iter().all(|a| a.status == Some(204)),
        "every delivery accepted: {attempts:?}"
    );
}

/// Issue 25: a correctly signed 20 KB delivery got 413 with a plain-text body, for ever (Dots
/// retries until it gives up). The webhook route has its own, larger limit, and every refusal
/// is in the proxy's JSON shape (also a malformed `last_event_id` on the event stream).
#[tokio::test]
async fn large_deliveries_are_taken_and_every_refusal_is_json() {
    let stack = Stack::start().await;
    let secret = WebhookSecret::parse(WEBHOOK_SECRET).unwrap();
    let padding = "x".repeat(20 * 1024);
    let body = serde_json::json!({"event": "payout_link.updated", "payout_link_id": "1324",
                                  "metadata": {"note": padding}})
    .to_string();
    let ts = now();
    let signature = secret.sign("msg_large", ts, body.as_bytes());
    assert_eq!(
        post_webhook(&stack, "msg_large", ts, &signature, &body).await,
        204,
        "a 20 KB delivery is processed"
    );
    let huge = "y".repeat(dots_proxy::MAX_WEBHOOK_BYTES + 1);
    let signature = secret.sign("msg_huge", ts, huge.as_bytes());
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/dots", stack.base))
        .header(dots_api::webhook::SVIX_ID, "msg_huge")
        .header(dots_api::webhook::SVIX_TIMESTAMP, ts.to_string())
        .header(dots_api::webhook::SVIX_SIGNATURE, signature)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let refused: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(refused["error"], "payload_too_large");

    let mut browser = stack.browser();
    browser.create_flow(json!({"steps": ["compliance"]})).await;
    let answer = reqwest::Client::new()
        .get(format!("{}/api/events?last_event_id=abc", stack.base))
        .header("cookie", browser.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let refused: serde_json::Value = answer.json().await.expect("a JSON body");
    assert_eq!(refused["error"], "invalid_request");
    assert_eq!(refused["field"], "last_event_id");
}
