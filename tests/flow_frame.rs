//! Browser tests of `<DotsFlow/>` in headless Chromium, with real `MessageEvent`s.
#![cfg(target_arch = "wasm32")]

use dots_flow::{
    BrowserFlow, DotsFlow, FlowError, FlowEvent, FlowId, FlowSource, Step, StepCompleted, StepName,
    StepStatus,
};
use leptos::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, Window};

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

#[derive(Default, Clone)]
struct Seen {
    steps: Arc<Mutex<Vec<StepCompleted>>>,
    heights: Arc<Mutex<Vec<f64>>>,
    events: Arc<Mutex<Vec<FlowEvent>>>,
    errors: Arc<Mutex<Vec<FlowError>>>,
    ready: Arc<AtomicUsize>,
    completed: Arc<Mutex<Vec<BrowserFlow>>>,
}

struct Mounted {
    root: HtmlElement,
    seen: Seen,
    calls: Arc<AtomicUsize>,
    link: String,
    _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

impl Mounted {
    fn frame_window(&self) -> Window {
        frame_in(&self.root)
            .expect("an iframe")
            .content_window()
            .expect("the frame's window")
    }
}

fn mount(steps: Vec<Step>, min_height: Option<f64>, max_height: Option<f64>) -> Mounted {
    mount_with(steps, min_height, max_height, None)
}

fn mount_with(
    steps: Vec<Step>,
    min_height: Option<f64>,
    max_height: Option<f64>,
    source: Option<FlowSource>,
) -> Mounted {
    let root = container();
    let seen = Seen::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let link = frame_link();
    let source = source.unwrap_or_else(|| fixed_source(link.clone(), calls.clone()));
    let s = seen.clone();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let Seen {
            steps: seen_steps,
            heights,
            events,
            errors,
            ready,
            completed,
        } = s;
        view! {
            <DotsFlow
                steps=steps
                source=source
                min_height=min_height.unwrap_or(200.0)
                max_height=max_height.unwrap_or(2000.0)
                on_step_complete=move |done| seen_steps.lock().unwrap().push(done)
                on_height=move |h| heights.lock().unwrap().push(h)
                on_event=move |e| events.lock().unwrap().push(e)
                on_error=move |e| errors.lock().unwrap().push(e)
                on_ready=move |()| { ready.fetch_add(1, Ordering::SeqCst); }
                on_flow_complete=move |f| completed.lock().unwrap().push(f)
            />
        }
        .into_any()
    });
    Mounted {
        root,
        seen,
        calls,
        link,
        _handle: handle,
    }
}

fn steps(names: &[StepName]) -> Vec<Step> {
    names.iter().cloned().map(Step::new).collect()
}

#[wasm_bindgen_test]
async fn frames_the_link_and_becomes_ready_at_its_first_height() {
    let m = mount(steps(&[StepName::Compliance]), None, None);
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let frame = frame_in(&m.root).unwrap();
    assert_eq!(frame.src(), m.link, "the iframe shows the flow's link");
    assert_eq!(
        frame.title(),
        "Payout setup",
        "the iframe has an accessible title"
    );
    assert_eq!(
        frame.get_attribute("referrerpolicy").as_deref(),
        Some("strict-origin-when-cross-origin"),
        "the iframe limits the referrer"
    );
    assert_eq!(
        status_of(&m.root),
        "loading",
        "loading until the flow reports its height"
    );
    assert_eq!(
        announced(&m.root),
        "Loading Payout setup…",
        "the live region says it is loading (issue 11)"
    );

    post(
        &page_origin(),
        Some(&m.frame_window()),
        &json(r#"{"height": 700}"#),
    );
    wait_until("ready", || status_of(&m.root) == "ready").await;
    settle().await;
    assert!(
        frame_in(&m.root).unwrap().is_same_node(Some(&frame)),
        "the status change did not re-create (reload) the frame"
    );
    assert_eq!(
        m.seen.ready.load(Ordering::SeqCst),
        1,
        "on_ready fires once"
    );
    assert_eq!(
        *m.seen.heights.lock().unwrap(),
        vec![700.0],
        "on_height gets the reported height"
    );
    assert_eq!(
        css_height(&frame),
        "700px",
        "the frame takes the reported height"
    );
    assert_eq!(
        announced(&m.root),
        "Payout setup is ready.",
        "the live region says it is ready"
    );
}

#[wasm_bindgen_test]
async fn step_messages_from_the_frame_call_on_step_complete_and_finish_the_flow() {
    let m = mount(
        steps(&[StepName::Compliance, StepName::ManagePayouts]),
        None,
        None,
    );
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let source = m.frame_window();
    post(
        &page_origin(),
        Some(&source),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    settle().await;
    assert_eq!(
        *m.seen.steps.lock().unwrap(),
        vec![StepCompleted {
            step: StepName::Compliance,
            status: StepStatus::Completed
        }],
        "the step is reported"
    );
    assert!(
        m.seen.completed.lock().unwrap().is_empty(),
        "one of two steps is not the whole flow"
    );
    assert_eq!(
        announced(&m.root),
        "Tax information completed.",
        "the live region announces the finished step (issue 11)"
    );

    post(
        &page_origin(),
        Some(&source),
        &json(r#"{"step": "manage-payouts", "status": "completed-saved"}"#),
    );
    settle().await;
    let steps_seen = m.seen.steps.lock().unwrap().clone();
    assert_eq!(
        steps_seen[1].status,
        StepStatus::CompletedSaved,
        "completed-saved is kept apart"
    );
    let completed = m.seen.completed.lock().unwrap().clone();
    assert_eq!(
        completed.len(),
        1,
        "on_flow_complete fires once every step is done"
    );
    assert_eq!(
        completed[0].completed_steps,
        vec![StepName::Compliance, StepName::ManagePayouts]
    );
    assert_eq!(status_of(&m.root), "completed");
    assert_eq!(
        announced(&m.root),
        "Payout setup: every step is complete.",
        "the live region announces the end of the flow"
    );
}

#[wasm_bindgen_test]
async fn messages_from_another_origin_or_another_window_are_ignored() {
    let m = mount(steps(&[StepName::Payout]), None, None);
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let step = json(r#"{"step": "payout", "status": "completed"}"#);
    // A hostile frame on another origin, even claiming our frame as its source.
    post("http://evil.example", Some(&m.frame_window()), &step);
    // The right origin prefix but not the exact origin.
    post(
        &format!("{}.evil.example", page_origin()),
        Some(&m.frame_window()),
        &step,
    );
    // The right origin but another window (the page itself) or no window at all.
    post(&page_origin(), Some(&window()), &step);
    post(&page_origin(), None, &step);
    settle().await;
    assert!(
        m.seen.steps.lock().unwrap().is_empty(),
        "no foreign message becomes a step"
    );
    assert!(m
        .seen
        .events
        .lock()
        .unwrap()
        .iter()
        .all(|e| !matches!(e, FlowEvent::StepCompleted(_))));
}

#[wasm_bindgen_test]
async fn json_strings_are_accepted_and_junk_is_ignored_without_panicking() {
    let m = mount(steps(&[StepName::Payout, StepName::Compliance]), None, None);
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let source = m.frame_window();
    let origin = page_origin();
    for junk in [
        JsValue::NULL,
        JsValue::from_f64(3.0),
        JsValue::from_str("not json"),
        JsValue::from_str("[1, 2]"),
        json("[1, 2]"),
        js_sys::Object::new().into(),
    ] {
        post(&origin, Some(&source), &junk);
    }
    post(
        &origin,
        Some(&source),
        &json(r#"{"type": "analytics", "n": 1}"#),
    );
    post(
        &origin,
        Some(&source),
        &JsValue::from_str(r#"{"step": "payout", "status": "completed"}"#),
    );
    settle().await;
    assert_eq!(
        *m.seen.steps.lock().unwrap(),
        vec![StepCompleted {
            step: StepName::Payout,
            status: StepStatus::Completed
        }],
        "a JSON-string message is accepted"
    );
    let unknown: Vec<_> = m
        .seen
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            FlowEvent::Unknown(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        unknown.len(),
        2,
        "undocumented objects reach on_event, junk does not: {unknown:?}"
    );
    let last: serde_json::Value = serde_json::from_str(&unknown[1]).unwrap();
    assert_eq!(last["type"], "analytics");
}

#[wasm_bindgen_test]
async fn two_instances_never_see_each_others_messages() {
    let a = mount(steps(&[StepName::Payout]), None, None);
    let b = mount(steps(&[StepName::Payout]), None, None);
    wait_until("both iframes appear", || {
        frame_in(&a.root).is_some() && frame_in(&b.root).is_some()
    })
    .await;
    post(
        &page_origin(),
        Some(&a.frame_window()),
        &json(r#"{"step": "payout", "status": "completed"}"#),
    );
    post(
        &page_origin(),
        Some(&b.frame_window()),
        &json(r#"{"height": 333}"#),
    );
    settle().await;
    assert_eq!(a.seen.steps.lock().unwrap().len(), 1, "A gets its own step");
    assert!(
        b.seen.steps.lock().unwrap().is_empty(),
        "B does not get A's step"
    );
    assert_eq!(
        *b.seen.heights.lock().unwrap(),
        vec![333.0],
        "B gets its own height"
    );
    assert!(
        a.seen.heights.lock().unwrap().is_empty(),
        "A does not get B's height"
    );
}

#[wasm_bindgen_test]
async fn height_is_clamped_and_small_changes_are_ignored() {
    let m = mount(steps(&[StepName::Payout]), Some(300.0), Some(900.0));
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let source = m.frame_window();
    let frame = frame_in(&m.root).unwrap();
    let height = || css_height(&frame);
    post(&page_origin(), Some(&source), &json(r#"{"height": 50}"#));
    settle().await;
    assert_eq!(height(), "300px", "never below min_height");
    post(&page_origin(), Some(&source), &json(r#"{"height": 5000}"#));
    settle().await;
    assert_eq!(height(), "900px", "never above max_height");
    post(&page_origin(), Some(&source), &json(r#"{"height": 600}"#));
    settle().await;
    post(&page_origin(), Some(&source), &json(r#"{"height": 601}"#));
    settle().await;
    assert_eq!(
        height(),
        "600px",
        "a 1px change does not resize (no resize loops)"
    );
}

#[wasm_bindgen_test]
async fn invalid_steps_fail_before_any_request() {
    let m = mount(
        vec![Step::new(StepName::Payout), Step::new(StepName::Payout)],
        None,
        None,
    );
    wait_until("the error state", || status_of(&m.root) == "error").await;
    assert_eq!(
        m.calls.load(Ordering::SeqCst),
        0,
        "no request for invalid steps"
    );
    let errors = m.seen.errors.lock().unwrap().clone();
    match &errors[..] {
        [FlowError::InvalidSteps(err)] => assert_eq!(err.field, "steps[1]"),
        other => panic!("expected one InvalidSteps error, got {other:?}"),
    }
    assert!(frame_in(&m.root).is_none(), "no iframe");
    let alert = m
        .root
        .query_selector("[role=alert]")
        .unwrap()
        .expect("an alert");
    assert!(
        alert.text_content().unwrap().contains("steps[1]"),
        "the error names the field"
    );
}

#[wasm_bindgen_test]
async fn a_backend_error_shows_a_retry_button_that_works() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let link = frame_link();
    let source = {
        let attempts = attempts.clone();
        FlowSource::fetcher(move |request| {
            let attempts = attempts.clone();
            let link = link.clone();
            async move {
                if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(FlowError::BackendUnreachable("connection refused".into()))
                } else {
                    Ok(BrowserFlow::new(
                        FlowId::from("flow-retry"),
                        link,
                        request.steps.iter().map(|s| s.name.clone()).collect(),
                        Vec::new(),
                    ))
                }
            }
        })
    };
    let m = mount_with(steps(&[StepName::Payout]), None, None, Some(source));
    wait_until("the error state", || status_of(&m.root) == "error").await;
    assert!(matches!(
        m.seen.errors.lock().unwrap()[..],
        [FlowError::BackendUnreachable(_)]
    ));
    let retry: HtmlElement = m
        .root
        .query_selector(".dots-flow__retry")
        .unwrap()
        .expect("a retry button")
        .unchecked_into();
    retry.click();
    wait_until("the iframe after retry", || frame_in(&m.root).is_some()).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "retry asks again");
    assert!(
        m.root.query_selector("[role=alert]").unwrap().is_none(),
        "the error is gone"
    );
}

#[wasm_bindgen_test]
async fn a_non_http_link_is_never_framed() {
    let source = FlowSource::fetcher(|request| async move {
        Ok(BrowserFlow::new(
            FlowId::from("flow-evil"),
            "javascript:alert(document.cookie)".to_owned(),
            request.steps.iter().map(|s| s.name.clone()).collect(),
            Vec::new(),
        ))
    });
    let m = mount_with(steps(&[StepName::Payout]), None, None, Some(source));
    wait_until("the error state", || status_of(&m.root) == "error").await;
    assert!(
        frame_in(&m.root).is_none(),
        "no iframe for a javascript: link"
    );
    assert!(matches!(
        m.seen.errors.lock().unwrap()[..],
        [FlowError::InvalidLink(_)]
    ));
}

#[wasm_bindgen_test]
async fn camera_is_allowed_only_for_id_verification() {
    let with = mount(steps(&[StepName::IdVerification]), None, None);
    let without = mount(steps(&[StepName::Compliance]), None, None);
    wait_until("both iframes", || {
        frame_in(&with.root).is_some() && frame_in(&without.root).is_some()
    })
    .await;
    assert_eq!(
        frame_in(&with.root)
            .unwrap()
            .get_attribute("allow")
            .as_deref(),
        Some("camera")
    );
    assert_ne!(
        frame_in(&without.root)
            .unwrap()
            .get_attribute("allow")
            .as_deref(),
        Some("camera")
    );
}

#[wasm_bindgen_test]
async fn unmounting_removes_the_listener() {
    let m = mount(steps(&[StepName::Payout]), None, None);
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let source = m.frame_window();
    let data = json(r#"{"height": 400}"#);

    let reads = Arc::new(AtomicUsize::new(0));
    let event = counting_message(&page_origin(), &source, &data, reads.clone());
    window().dispatch_event(&event).unwrap();
    assert!(
        reads.load(Ordering::SeqCst) > 0,
        "control: a mounted component reads messages"
    );

    let seen = m.seen.clone();
    drop(m);
    settle().await;
    let reads = Arc::new(AtomicUsize::new(0));
    let event = counting_message(&page_origin(), &source, &data, reads.clone());
    window().dispatch_event(&event).unwrap();
    settle().await;
    assert_eq!(
        reads.load(Ordering::SeqCst),
        0,
        "no listener of an unmounted component runs"
    );
    assert_eq!(
        seen.heights.lock().unwrap().len(),
        1,
        "only the message before unmount was seen"
    );
}

#[wasm_bindgen_test]
async fn flow_level_options_are_sent_only_when_asked_for() {
    // Issue 13: Dots' `require_auth` and `hide_go_to_dashboard_on_complete` were unreachable.
    let sent = Arc::new(Mutex::new(Vec::<serde_json::Value>::new()));
    let source = |sent: Arc<Mutex<Vec<serde_json::Value>>>| {
        let link = frame_link();
        FlowSource::fetcher(move |request| {
            sent.lock()
                .unwrap()
                .push(serde_json::to_value(&request).unwrap());
            let link = link.clone();
            async move {
                Ok(BrowserFlow::new(
                    FlowId::from("flow-options"),
                    link,
                    request.steps.iter().map(|s| s.name.clone()).collect(),
                    Vec::new(),
                ))
            }
        })
    };
    let root = container();
    let with = source(sent.clone());
    let _asked = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::compliance().hide_continue_button(true)]
                source=with
                require_auth=true
                hide_go_to_dashboard_on_complete=true
            />
        }
    });
    let without = source(sent.clone());
    let _default = leptos::mount::mount_to(container(), move || {
        view! { <DotsFlow steps=vec![Step::compliance()] source=without /> }
    });
    wait_until("both requests", || sent.lock().unwrap().len() == 2).await;
    let sent = sent.lock().unwrap();
    let asked = sent
        .iter()
        .find(|r| r.get("require_auth").is_some())
        .expect("one request asks for require_auth");
    assert_eq!(
        asked,
        &serde_json::json!({"steps": [{"name": "compliance", "hide_continue_button": true}],
                            "require_auth": true, "hide_go_to_dashboard_on_complete": true})
    );
    let plain = sent
        .iter()
        .find(|r| r.get("require_auth").is_none())
        .expect("one request does not");
    assert_eq!(plain, &serde_json::json!({"steps": ["compliance"]}));
}

#[wasm_bindgen_test]
async fn an_initial_flow_is_framed_at_once_without_a_request() {
    // Issue 14: a flow created by the server while it rendered the page is framed as it is;
    // the source serves only what comes later (a retry here).
    let calls = Arc::new(AtomicUsize::new(0));
    let link = frame_link();
    let initial = BrowserFlow::new(
        FlowId::from("flow-from-the-server"),
        link.clone(),
        vec![StepName::Compliance],
        Vec::new(),
    );
    let source = fixed_source(frame_link(), calls.clone());
    let root = container();
    let events = Arc::new(Mutex::new(Vec::<FlowEvent>::new()));
    let e = events.clone();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::compliance()]
                source=source
                flow=initial
                on_event=move |event| e.lock().unwrap().push(event)
            />
        }
    });
    let frame = frame_in(&root).expect("framed in the first render, before any effect");
    assert_eq!(frame.src(), link);
    settle().await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "no request for the initial flow"
    );
    assert!(events.lock().unwrap().iter().any(
        |e| matches!(e, FlowEvent::Created { id, .. } if id.as_str() == "flow-from-the-server")
    ));
    let window = frame_in(&root).unwrap().content_window().unwrap();
    post(&page_origin(), Some(&window), &json(r#"{"height": 600}"#));
    wait_until("ready", || status_of(&root) == "ready").await;
    assert_eq!(
        frame_in(&root).unwrap().src(),
        link,
        "the same frame, not reloaded"
    );
}

/// Issue 23: Dots' pages name the sign-in step `onboarding`, `onboard`, `authentication` and
/// `authorization`, and a flow may list steps this version does not know. Messages naming any
/// of them are reported as what they are and never finish the flow; a flow whose answer lists
/// them does not wait for them.
#[wasm_bindgen_test]
async fn sign_in_and_unknown_steps_are_reported_never_counted_or_waited_for() {
    let calls = Arc::new(AtomicUsize::new(0));
    let link = frame_link();
    let counted = calls.clone();
    let framed = link.clone();
    let source = FlowSource::fetcher(move |_request| {
        let link = framed.clone();
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(BrowserFlow::new(
                FlowId::from("flow-signin"),
                link,
                [
                    "authentication",
                    "onboarding",
                    "compliance",
                    "step-from-the-future",
                ]
                .into_iter()
                .map(StepName::parse)
                .collect(),
                Vec::new(),
            ))
        }
    });
    let m = mount_with(steps(&[StepName::Compliance]), None, None, Some(source));
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let window = m.frame_window();
    for name in [
        "onboard",
        "onboarding",
        "authentication",
        "authorization",
        "step-from-the-future",
        "payout",
    ] {
        post(
            &page_origin(),
            Some(&window),
            &json(&format!(r#"{{"step": "{name}", "status": "completed"}}"#)),
        );
    }
    settle().await;
    let reported: Vec<String> = m
        .seen
        .steps
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.step.to_string())
        .collect();
    assert_eq!(
        reported,
        [
            "onboard",
            "onboarding",
            "authentication",
            "authorization",
            "step-from-the-future",
            "payout"
        ],
        "each is reported under its own name"
    );
    assert!(
        m.seen.completed.lock().unwrap().is_empty(),
        "none of them is the step asked for: the flow is not complete"
    );
    assert_ne!(status_of(&m.root), "completed");
    post(
        &page_origin(),
        Some(&window),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    settle().await;
    assert_eq!(
        m.seen.completed.lock().unwrap().len(),
        1,
        "the step asked for finishes the flow, whatever else the answer listed"
    );
    assert_eq!(status_of(&m.root), "completed");
}

/// Issue 23: Dots' guide says the flow posts `{height}` when it first loads. A flow that told
/// its height once and stays silent after a step boundary (the next page may be the tall W-9
/// form) gets a frame as tall as the window, so every field is in reach; a flow that keeps
/// telling its height is followed as before.
#[wasm_bindgen_test]
async fn a_flow_that_told_its_height_once_gets_room_after_a_step() {
    let window_height = win().inner_height().unwrap().as_f64().unwrap();
    assert!(
        window_height > 400.0,
        "a window to grow into: {window_height}"
    );
    let m = mount(
        steps(&[StepName::Compliance, StepName::Payout]),
        Some(240.0),
        Some(4000.0),
    );
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let source = m.frame_window();
    let frame = frame_in(&m.root).unwrap();
    post(&page_origin(), Some(&source), &json(r#"{"height": 260}"#));
    settle().await;
    assert_eq!(css_height(&frame), "260px", "the first page's own height");
    post(
        &page_origin(),
        Some(&source),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    settle().await;
    assert_eq!(
        css_height(&frame),
        "260px",
        "not at once: the flow may tell"
    );
    sleep(1000).await;
    settle().await;
    assert_eq!(
        css_height(&frame),
        format!("{}px", window_height.round()),
        "silent after the boundary: as tall as the window"
    );

    // A flow that tells its height on every change is never second-guessed.
    let m = mount(steps(&[StepName::Compliance, StepName::Payout]), None, None);
    wait_until("the iframe appears", || frame_in(&m.root).is_some()).await;
    let source = m.frame_window();
    let frame = frame_in(&m.root).unwrap();
    post(&page_origin(), Some(&source), &json(r#"{"height": 300}"#));
    post(&page_origin(), Some(&source), &json(r#"{"height": 320}"#));
    post(
        &page_origin(),
        Some(&source),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    sleep(1000).await;
    settle().await;
    assert_eq!(css_height(&frame), "320px", "its own height, kept");
}

/// Spanish texts (with the `lang-es` feature's table when it is on, else the same words given
/// field by field, as an app would).
fn spanish() -> dots_flow::Labels {
    #[cfg(feature = "lang-es")]
    return dots_flow::Labels::spanish();
    #[cfg(not(feature = "lang-es"))]
    {
        use dots_flow::Label;
        dots_flow::Labels::default()
            .with(Label::Lang, "es")
            .with(Label::Title, "Configuración de pagos")
            .with(Label::Loading, "Cargando {title}…")
            .with(Label::Ready, "{title} está lista.")
            .with(Label::StepCompleted, "{step}: completado.")
            .with(Label::Retry, "Reintentar")
            .with(
                Label::Rejected,
                "El servidor rechazó la solicitud: {message}",
            )
            .with(Label::Compliance, "Información fiscal")
    }
}

#[wasm_bindgen_test]
async fn labels_change_every_text_live_and_the_layout_follows_rtl() {
    // The component's own stylesheet, nested under this test's container (the other tests
    // run in the same page at the same time, without it).
    let document = win().document().unwrap();
    let sheet = document.create_element("style").unwrap();
    sheet.set_text_content(Some(&format!(
        "#labels-rtl {{ {} }}",
        dots_flow::STYLESHEET
    )));
    document.head().unwrap().append_child(&sheet).unwrap();
    let root = container();
    root.set_id("labels-rtl");
    root.set_attribute("dir", "rtl").unwrap();
    root.style().set_property("width", "400px").unwrap();
    let link = frame_link();
    let source = fixed_source(link.clone(), Arc::new(AtomicUsize::new(0)));
    let labels = RwSignal::new(spanish());
    let _handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <DotsFlow steps=steps(&[StepName::Compliance]) source=source labels=labels /> }
    });
    wait_until("the iframe appears", || frame_in(&root).is_some()).await;
    let component: HtmlElement = root
        .query_selector(".dots-flow")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(component.get_attribute("lang").as_deref(), Some("es"));
    assert_eq!(announced(&root), "Cargando Configuración de pagos…");
    assert_eq!(frame_in(&root).unwrap().title(), "Configuración de pagos");
    // Right to left: the short skeleton bar starts at the right edge.
    let bars = root.query_selector_all(".dots-flow__skeleton-bar").unwrap();
    let full: HtmlElement = bars.get(0).unwrap().unchecked_into();
    let short: HtmlElement = bars.get(1).unwrap().unchecked_into();
    let right = |e: &HtmlElement| e.offset_left() + e.offset_width();
    assert!(
        short.offset_width() < full.offset_width(),
        "the short bar is short"
    );
    assert!(
        right(&short) == right(&full) && short.offset_left() > full.offset_left(),
        "in rtl the short bar hugs the right edge: {}..{} in {}..{}",
        short.offset_left(),
        right(&short),
        full.offset_left(),
        right(&full)
    );

    let window = frame_in(&root).unwrap().content_window().unwrap();
    post(&page_origin(), Some(&window), &json(r#"{"height": 600}"#));
    wait_until("ready", || status_of(&root) == "ready").await;
    assert_eq!(
        frame_in(&root).unwrap().src(),
        link,
        "the same frame, not reloaded"
    );
}

#[wasm_bindgen_test]
async fn the_error_panel_speaks_the_labels_language() {
    let root = container();
    let source = FlowSource::fetcher(|_| async {
        Err(FlowError::BackendRejected {
            status: 429,
            code: "rate_limited".into(),
            message: "too many flows".into(),
            field: None,
            dots_code: None,
        })
    });
    let _handle = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <DotsFlow steps=steps(&[StepName::Compliance]) source=source labels=spanish() />
        }
    });
    wait_until("the error panel", || status_of(&root) == "error").await;
    let text = |selector: &str| {
        root.query_selector(selector)
            .unwrap()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    };
    assert_eq!(
        text(".dots-flow__error-message"),
        "El servidor rechazó la solicitud: too many flows"
    );
    assert_eq!(text(".dots-flow__retry"), "Reintentar");
}
