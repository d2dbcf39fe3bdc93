//! Where the flow comes from: the endpoint (its JSON and errors, another origin), a prefetch, metadata the browser cannot write.

use super::*;

/// Replaces `window.fetch` for one test: every request is recorded and answered with
/// `window.__dotsAnswer` (`[status, body]`, or `"reject"` for a network failure).
fn fake_fetch() -> js_sys::Function {
    let window = web_sys::window().unwrap();
    let original: js_sys::Function = js_sys::Reflect::get(&window, &"fetch".into())
        .unwrap()
        .unchecked_into();
    let fake = js_sys::Function::new_with_args(
        "request",
        "return request.text().then((body) => {
            window.__dotsRequests.push({ url: request.url, method: request.method,
                type: request.headers.get('content-type'), credentials: request.credentials, body });
            const answer = window.__dotsAnswer;
            if (answer === 'reject') throw new TypeError('Failed to fetch');
            return new Response(answer[1], { status: answer[0] });
        });",
    );
    js_sys::Reflect::set(&window, &"__dotsRequests".into(), &js_sys::Array::new()).unwrap();
    js_sys::Reflect::set(&window, &"fetch".into(), &fake).unwrap();
    original
}

fn answer(status: u16, body: &str) {
    let value = js_sys::Array::of2(&status.into(), &body.into());
    js_sys::Reflect::set(&web_sys::window().unwrap(), &"__dotsAnswer".into(), &value).unwrap();
}

#[wasm_bindgen_test]
async fn the_endpoint_source_reads_flows_and_errors_with_the_browsers_json() {
    use dots_flow::request_flow;
    let original = fake_fetch();
    let request = StartFlowRequest::new([Step::compliance(), Step::new(StepName::Payout)]);

    answer(
        200,
        r#"{"id":"flow-1","link":"https://flows.example/f/1","steps":["compliance","payout"],
            "completed_steps":["compliance"],"expires_at":"2026-11-22T10:00:00Z","extra":1}"#,
    );
    let flow = request_flow("/api/flows", &request).await.unwrap();
    assert_eq!(flow.id, FlowId::from("flow-1"));
    assert_eq!(flow.link, "https://flows.example/f/1");
    assert_eq!(flow.steps, [StepName::Compliance, StepName::Payout]);
    assert_eq!(flow.completed_steps, [StepName::Compliance]);
    assert_eq!(flow.expires_at.as_deref(), Some("2026-11-22T10:00:00Z"));
    let sent = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__dotsRequests".into()).unwrap();
    let sent = js_sys::Array::from(&sent).get(0);
    let field = |key: &str| {
        js_sys::Reflect::get(&sent, &key.into())
            .unwrap()
            .as_string()
            .unwrap_or_default()
    };
    assert_eq!(field("method"), "POST");
    assert!(field("url").ends_with("/api/flows"));
    assert_eq!(field("type"), "application/json");
    let body: serde_json::Value = serde_json::from_str(&field("body")).unwrap();
    assert_eq!(
        body,
        serde_json::to_value(&request).unwrap(),
        "the body is the request"
    );

    // Each malformed answer is an error naming what is wrong, never a panic or a half flow.
    for (body, expected) in [
        (r#"[1, 2]"#, "not a JSON object"),
        (r#"not json"#, "not a JSON object"),
        (
            r#"{"link":"https://x.example","steps":[],"completed_steps":[]}"#,
            "`id`",
        ),
        (
            r#"{"id":"f","link":5,"steps":[],"completed_steps":[]}"#,
            "`link`",
        ),
        (
            r#"{"id":"f","link":"https://x.example","steps":"payout","completed_steps":[]}"#,
            "`steps`",
        ),
        (
            r#"{"id":"f","link":"https://x.example","steps":[3],"completed_steps":[]}"#,
            "`steps`",
        ),
        (
            r#"{"id":"f","link":"https://x.example","steps":[]}"#,
            "`completed_steps`",
        ),
        (
            r#"{"id":"f","link":"https://x.example","steps":[],"completed_steps":[],"expires_at":5}"#,
            "`expires_at`",
        ),
        (
            r#"{"id":"f","link":"https://x.example","steps":[],"completed_steps":[],"expires_in":"soon"}"#,
            "`expires_in`",
        ),
        (
            r#"{"id":"f","link":"https://x.example","steps":[],"completed_steps":[],"expires_in":-3}"#,
            "`expires_in`",
        ),
    ] {
        answer(200, body);
        match request_flow("/api/flows", &request).await {
            Err(FlowError::InvalidResponse(why)) => {
                assert!(why.contains(expected), "{body}: {why}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    answer(
        200,
        r#"{"id":"f","link":"https://x.example","steps":[],"completed_steps":[],"expires_in":900}"#,
    );
    assert_eq!(
        request_flow("/api/flows", &request)
            .await
            .unwrap()
            .expires_in,
        Some(900)
    );
    answer(
        200,
        r#"{"id":"f","link":"https://x.example","steps":[],"completed_steps":[],"expires_at":null}"#,
    );
    assert_eq!(
        request_flow("/api/flows", &request)
            .await
            .unwrap()
            .expires_at,
        None
    );

    // Inherited properties are not fields: a polluted prototype cannot supply a link.
    js_sys::eval("Object.prototype.link = 'https://evil.example'").unwrap();
    answer(200, r#"{"id":"f","steps":[],"completed_steps":[]}"#);
    let polluted = request_flow("/api/flows", &request).await;
    js_sys::eval("delete Object.prototype.link").unwrap();
    assert!(
        matches!(&polluted, Err(FlowError::InvalidResponse(why)) if why.contains("`link`")),
        "{polluted:?}"
    );

    // The backend's error body is kept; a body that is not one becomes `http_error`.
    answer(
        422,
        r#"{"error":"invalid_request","message":"step 1 is unknown","field":"steps[1]"}"#,
    );
    assert_eq!(
        request_flow("/api/flows", &request).await,
        Err(FlowError::BackendRejected {
            status: 422,
            code: "invalid_request".into(),
            message: "step 1 is unknown".into(),
            field: Some("steps[1]".into()),
            dots_code: None,
        })
    );
    // What Dots said travels apart from the backend's own code.
    answer(
        422,
        r#"{"error":"upstream_rejected","message":"Invalid phone number","dots_error_code":"invalid-input"}"#,
    );
    assert_eq!(
        request_flow("/api/flows", &request).await,
        Err(FlowError::BackendRejected {
            status: 422,
            code: "upstream_rejected".into(),
            message: "Invalid phone number".into(),
            field: None,
            dots_code: Some("invalid-input".into()),
        })
    );
    answer(500, "<html>oops</html>");
    assert!(matches!(
        request_flow("/api/flows", &request).await,
        Err(FlowError::BackendRejected { status: 500, ref code, field: None, .. }) if code == "http_error"
    ));
    js_sys::Reflect::set(
        &web_sys::window().unwrap(),
        &"__dotsAnswer".into(),
        &"reject".into(),
    )
    .unwrap();
    assert!(matches!(
        request_flow("/api/flows", &request).await,
        Err(FlowError::BackendUnreachable(ref why)) if why.contains("Failed to fetch")
    ));

    js_sys::Reflect::set(&web_sys::window().unwrap(), &"fetch".into(), &original).unwrap();
}

#[wasm_bindgen_test]
async fn an_endpoint_on_another_origin_can_be_sent_cookies() {
    // Issue 14: a front end at app.example.com with its proxy at api.example.com.
    use dots_flow::Credentials;
    let original = fake_fetch();
    answer(
        200,
        r#"{"id":"f","link":"https://x.example","steps":["compliance"],"completed_steps":[]}"#,
    );
    let request = StartFlowRequest::new([Step::compliance()]);
    let credentials_sent = || {
        let requests: js_sys::Array =
            js_sys::Reflect::get(&web_sys::window().unwrap(), &"__dotsRequests".into())
                .unwrap()
                .unchecked_into();
        let last = requests.get(requests.length() - 1);
        js_sys::Reflect::get(&last, &"credentials".into())
            .unwrap()
            .as_string()
            .unwrap()
    };
    let same = FlowSource::from("https://api.example.com/api/flows");
    same.create(request.clone()).await.unwrap();
    assert_eq!(credentials_sent(), "same-origin", "by default");
    let other = same.with_credentials(Credentials::Include);
    other.create(request.clone()).await.unwrap();
    assert_eq!(credentials_sent(), "include");
    let _ = other.retrieve(FlowId::from("f")).await;
    assert_eq!(credentials_sent(), "include", "confirming progress too");
    js_sys::Reflect::set(&web_sys::window().unwrap(), &"fetch".into(), &original).unwrap();
}

#[wasm_bindgen_test]
async fn a_prefetched_flow_is_framed_without_a_second_request() {
    // Issue 14: start creating the flow on the user's intent (hover), before the component
    // mounts; the component then frames it without asking again.
    use dots_flow::prefetch_flow;
    let calls = Arc::new(AtomicUsize::new(0));
    let link = frame_link();
    let source = fixed_source(link.clone(), calls.clone());
    let steps = vec![Step::compliance(), Step::payout()];
    let prefetched = prefetch_flow(source, StartFlowRequest::new(steps.clone()));
    wait_until("the request went out at once", || {
        calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let container = container();
    let retry_source = prefetched.clone();
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=steps source=prefetched /> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    settle().await;
    assert_eq!(frame_in(&container).unwrap().src(), link);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "no second request for the same flow"
    );
    // Used once: a later request (a retry, other steps) goes to the source.
    retry_source
        .create(StartFlowRequest::new([Step::compliance(), Step::payout()]))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    retry_source
        .create(StartFlowRequest::new([Step::compliance()]))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// Metadata the browser cannot write exactly (a whole number beyond 2^53) is refused before any
/// request, naming the field, instead of being changed on the way (issue 16: requests are
/// written by the browser's `JSON.stringify`).
#[wasm_bindgen_test]
async fn metadata_a_browser_cannot_write_is_refused_naming_the_field() {
    use dots_flow::engine::{Change, EngineOptions, FlowEngine};
    let errors: Log<FlowError> = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let options = EngineOptions {
        source: fixed_source(frame_link(), calls.clone()),
        metadata: Some(serde_json::json!({ "order": u64::MAX })),
        ..EngineOptions::default()
    };
    let sink = {
        let errors = errors.clone();
        move |change: Change| {
            if let Change::Event(FlowEvent::Error(err)) = change {
                errors.lock().unwrap().push(err);
            }
        }
    };
    let engine = FlowEngine::new(options, None, || None, sink);
    engine.start(vec![Step::compliance()]);
    sleep(50).await;
    let errors = errors.lock().unwrap().clone();
    assert!(
        matches!(&errors[..], [FlowError::InvalidSteps(err)]
            if err.field == "metadata" && err.message.contains("beyond 2^53")),
        "{errors:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was sent");
    drop(engine);
}
