//! The logic without the component's markup: the hook with a custom frame, the engine alone, the message reader.

use super::*;

#[wasm_bindgen_test]
async fn the_hook_drives_a_custom_frame() {
    let container = container();
    let link = frame_link();
    let source = fixed_source(link.clone(), Arc::default());
    let status_out = RwSignal::new(FlowStatus::Loading);
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        let flow = use_dots_flow_with_options(
            vec![Step::payout()],
            FlowOptions {
                source,
                ..FlowOptions::default()
            }
            .into(),
        );
        Effect::new(move |_| status_out.set(flow.status.get()));
        view! {
            <section class="custom">
                {move || flow.src.get().map(|src| view! {
                    <iframe node_ref=flow.frame src=src></iframe>
                })}
            </section>
        }
    });
    wait_until("the custom iframe", || frame_in(&container).is_some()).await;
    assert_eq!(frame_in(&container).unwrap().src(), link);
    let frame_window = frame_in(&container).unwrap().content_window().unwrap();
    post(
        &page_origin(),
        Some(&frame_window),
        &json(r#"{"height": 300}"#),
    );
    wait_until("ready through the hook", || {
        status_out.get_untracked() == FlowStatus::Ready
    })
    .await;
}

#[wasm_bindgen_test]
fn the_browser_message_reader_agrees_with_the_native_classifier() {
    use dots_api::MAX_REPORTED_HEIGHT;
    use dots_flow::{parse_message_data, FlowMessage};
    let cases = [
        r#"{"height": 640}"#,
        r#"{"height": 12.5}"#,
        r#"{"height": 0}"#,
        r#"{"height": -1}"#,
        r#"{"height": "100"}"#,
        r#"{"height": 1e12}"#,
        r#"{"height": null}"#,
        r#"{"step": "payout", "status": "completed"}"#,
        r#"{"step": "manage-payouts", "status": "completed-saved"}"#,
        r#"{"step": "teleport", "status": "done"}"#,
        r#"{"step": 3, "status": "completed"}"#,
        r#"{"step": null, "height": 5}"#,
        r#"{"type": "webpackOk"}"#,
        r#"{}"#,
        r#"[{"height": 3}]"#,
        r#"null"#,
        r#"3"#,
        r#""text""#,
    ];
    type Native = FlowMessage<serde_json::Value>;
    let kind = |native: Option<Native>| match native {
        None => "none".to_owned(),
        Some(FlowMessage::Height(h)) => format!("height {h}"),
        Some(FlowMessage::Step { step, status }) => format!("step {step} {}", status.as_str()),
        Some(_) => "other".to_owned(),
    };
    for text in cases {
        let native = kind(FlowMessage::parse(&serde_json::from_str(text).unwrap()));
        // The frame may post the object itself or the JSON text of it.
        for data in [json(text), JsValue::from_str(text)] {
            let browser = match parse_message_data(&data) {
                None => "none".to_owned(),
                Some(FlowMessage::Height(h)) => format!("height {h}"),
                Some(FlowMessage::Step { step, status }) => {
                    format!("step {step} {}", status.as_str())
                }
                Some(FlowMessage::Other(json)) => {
                    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
                    assert!(value.is_object(), "{text}: other messages are objects");
                    "other".to_owned()
                }
                Some(_) => unreachable!(),
            };
            let expected = if data.is_string() && !text.starts_with('{') {
                // A JSON string that does not hold an object is never a message.
                "none".to_owned()
            } else {
                native.clone()
            };
            assert_eq!(browser, expected, "{text} as {data:?}");
        }
    }
    assert_eq!(
        parse_message_data(&json(r#"{"height": 1e12}"#)),
        Some(FlowMessage::Height(MAX_REPORTED_HEIGHT))
    );
    assert_eq!(parse_message_data(&JsValue::from_str("not json")), None);
}

/// The engine on its own, as a renderer other than Leptos (the `<dots-flow>` element) uses it:
/// invalid steps fail before any request, a flow arrives as changes in order, and once the
/// engine is dropped a late answer changes nothing.
#[wasm_bindgen_test]
async fn the_engine_without_leptos_reports_changes_in_order() {
    use dots_flow::engine::{Change, EngineOptions, FlowEngine};
    let log: Log<String> = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let source = fixed_source(frame_link(), calls.clone());
    let sink = {
        let log = log.clone();
        move |change: Change| {
            let line = match change {
                Change::Status(now) => format!("status {}", now.as_str()),
                Change::Flow(flow) => format!("flow {}", flow.is_some()),
                Change::Height(h) => format!("height {h}"),
                Change::Error(err) => format!("error {}", err.is_some()),
                Change::Completed(done) => format!("completed {}", done.len()),
                Change::Event(FlowEvent::Created { .. }) => "created".to_owned(),
                Change::Event(FlowEvent::Error(FlowError::InvalidSteps(err))) => {
                    format!("invalid {}", err.field)
                }
                Change::Event(other) => format!("event {other:?}"),
                Change::Finished(_) => "finished".to_owned(),
            };
            log.lock().unwrap().push(line);
        }
    };
    let options = EngineOptions {
        source,
        ..EngineOptions::default()
    };
    let engine = FlowEngine::new(options, None, || None, sink);
    let take = || std::mem::take(&mut *log.lock().unwrap());

    engine.start(vec![Step::redirect("not a url")]);
    let reset = ["status loading", "error false", "flow false", "completed 0"];
    let mut expected: Vec<&str> = reset.to_vec();
    expected.extend([
        "status error",
        "error true",
        "invalid steps[0].redirect_url",
    ]);
    assert_eq!(take(), expected, "invalid steps fail at once");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no request for invalid steps"
    );

    engine.start(vec![Step::compliance()]);
    assert_eq!(take(), reset, "a start resets at once");
    wait_until("the flow arrives", || {
        log.lock().unwrap().iter().any(|l| l == "flow true")
    })
    .await;
    assert_eq!(
        take(),
        ["status loading", "completed 0", "created", "flow true"],
        "a fetched flow: created, then framed"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    engine.start(vec![Step::compliance()]);
    drop(engine);
    sleep(100).await;
    assert_eq!(take(), reset, "nothing arrives after the engine is dropped");
}
