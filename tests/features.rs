//! Browser tests of theming, server confirmation, link refresh, timeouts, focus, the hook,
//! and repeated mounting — in headless Chromium.
#![cfg(target_arch = "wasm32")]

use dots_flow::{
    use_dots_flow_with_options, BrowserFlow, DotsFlow, FlowError, FlowEvent, FlowId, FlowSource,
    FlowStatus, FlowStyle, StartFlowRequest, Step, StepName, StyleVariable, UseDotsFlowOptions,
};
use leptos::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

type Log<T> = Arc<Mutex<Vec<T>>>;

fn flow_for(request: &StartFlowRequest, id: &str, link: String) -> BrowserFlow {
    BrowserFlow::new(
        FlowId::from(id),
        link,
        request.steps.iter().map(|s| s.name.clone()).collect(),
        Vec::new(),
    )
}

fn root_of(container: &HtmlElement) -> HtmlElement {
    container
        .query_selector(".dots-flow")
        .unwrap()
        .expect("the component's root")
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn flow_styles_go_into_the_link_and_the_chrome_and_rethemes_live() {
    let container = container();
    let link = frame_link();
    let calls = Arc::new(AtomicUsize::new(0));
    let source = fixed_source(link.clone(), calls.clone());
    let style = RwSignal::new(Some(
        FlowStyle::dark()
            .with(StyleVariable::ButtonBackgroundColor, "#ff0000")
            .with(StyleVariable::BorderRadius, "12px"),
    ));
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=vec![Step::payout()] source=source style=style/> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let expected = style.get_untracked().unwrap().apply_to_link(&link);
    assert_eq!(
        frame_in(&container).unwrap().src(),
        expected,
        "?styles= is appended exactly"
    );
    assert!(
        expected.contains("styles=%7B%22theme%22%3A%22dark%22"),
        "JSON, URL-encoded: {expected}"
    );
    let root = root_of(&container);
    // Set through the CSSOM (no `style` attribute written as text: CSP-clean).
    let declared = |name: &str| root.style().get_property_value(name).unwrap();
    assert_eq!(
        declared("--dots-flow-button-background"),
        "#ff0000",
        "chrome follows the style"
    );
    assert_eq!(declared("--dots-flow-radius"), "12px");
    assert_eq!(root.get_attribute("data-theme").as_deref(), Some("dark"));

    style.set(Some(FlowStyle::brand("#00aa55")));
    settle().await;
    let src = frame_in(&container).unwrap().src();
    assert!(
        src.contains("%2300aa55"),
        "changing the style re-themes the frame: {src}"
    );
    assert_eq!(
        root_of(&container).get_attribute("data-theme").as_deref(),
        Some("light")
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "re-theming does not create a new flow"
    );
}

#[wasm_bindgen_test]
async fn unsafe_style_values_never_reach_the_chrome_css() {
    let style = FlowStyle::light()
        .with(StyleVariable::ButtonBackgroundColor, "red;position:fixed")
        .with(StyleVariable::ButtonTextColor, "#fff");
    let css = dots_flow::chrome_css(&style);
    assert_eq!(
        css, "--dots-flow-button-text:#fff;",
        "a value with `;` is dropped"
    );
}

#[wasm_bindgen_test]
async fn the_server_confirms_completion_when_a_message_is_lost() {
    let container = container();
    let link = frame_link();
    let retrieved = Arc::new(AtomicUsize::new(0));
    let source = {
        let (link, create_link) = (link.clone(), link.clone());
        let retrieved = retrieved.clone();
        FlowSource::fetcher(move |request| {
            let flow = flow_for(&request, "flow-confirm", create_link.clone());
            async move { Ok(flow) }
        })
        .with_retrieve(move |id| {
            retrieved.fetch_add(1, Ordering::SeqCst);
            let link = link.clone();
            async move {
                // The server knows both steps are done, though no message ever arrived.
                Ok(BrowserFlow::new(
                    id,
                    link,
                    vec![StepName::Compliance, StepName::Payout],
                    vec![StepName::Compliance, StepName::Payout],
                ))
            }
        })
    };
    let steps_seen: Log<StepName> = Arc::default();
    let completed: Log<BrowserFlow> = Arc::default();
    let (s, c) = (steps_seen.clone(), completed.clone());
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::compliance(), Step::payout()]
                source=source
                confirm_interval=Duration::from_millis(100)
                on_step_complete=move |done: dots_flow::StepCompleted| s.lock().unwrap().push(done.step)
                on_flow_complete=move |flow| c.lock().unwrap().push(flow)
            />
        }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let frame_window = frame_in(&container).unwrap().content_window().unwrap();
    post(
        &page_origin(),
        Some(&frame_window),
        &json(r#"{"height": 500}"#),
    );
    wait_until("server confirmation completes the flow", || {
        !completed.lock().unwrap().is_empty()
    })
    .await;
    assert!(retrieved.load(Ordering::SeqCst) >= 1);
    assert_eq!(
        *steps_seen.lock().unwrap(),
        vec![StepName::Compliance, StepName::Payout],
        "recovered steps are reported"
    );
    assert_eq!(
        completed.lock().unwrap().len(),
        1,
        "on_flow_complete fires once"
    );
    assert_eq!(status_of(&container), "completed");
}

#[wasm_bindgen_test]
async fn a_link_about_to_expire_is_replaced_keeping_completed_steps() {
    let container = container();
    let requests: Log<Vec<StepName>> = Arc::default();
    let source = {
        let requests = requests.clone();
        FlowSource::fetcher(move |request: StartFlowRequest| {
            let n = {
                let mut log = requests.lock().unwrap();
                log.push(request.steps.iter().map(|s| s.name.clone()).collect());
                log.len()
            };
            let mut flow = flow_for(&request, &format!("flow-{n}"), frame_link());
            // Expires 60.4 s from now; the default margin is 60 s, so a refresh is due at the
            // soonest allowed, 1 s after arrival; the frame never shows, so it is swapped then.
            flow.expires_at = Some(String::from(
                js_sys::Date::new(&(js_sys::Date::now() + 60_400.0).into()).to_iso_string(),
            ));
            async move { Ok(flow) }
        })
    };
    let events: Log<FlowEvent> = Arc::default();
    let e = events.clone();
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::compliance(), Step::payout()]
                source=source
                on_event=move |event| e.lock().unwrap().push(event)
            />
        }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let first_src = frame_in(&container).unwrap().src();
    let frame_window = frame_in(&container).unwrap().content_window().unwrap();
    post(
        &page_origin(),
        Some(&frame_window),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    wait_until("a refreshed link", || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, FlowEvent::LinkRefreshed { .. }))
    })
    .await;
    settle().await;
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests[0], vec![StepName::Compliance, StepName::Payout]);
    assert_eq!(
        requests[1],
        vec![StepName::Payout],
        "the fresh link covers only what remains"
    );
    let new_src = frame_in(&container).unwrap().src();
    assert_ne!(new_src, first_src, "the frame shows the fresh link");
}

/// An RFC 3339 time `ms` from now.
fn in_ms(ms: f64) -> String {
    String::from(js_sys::Date::new(&(js_sys::Date::now() + ms).into()).to_iso_string())
}

#[wasm_bindgen_test]
async fn a_failed_refresh_is_the_expired_state_with_a_retry() {
    // The frame never shows (no height), so the link is swapped as soon as it is due; the
    // fetch fails; the link still works for 0.5 s, so the frame is kept until it has truly
    // expired, and only then is it the expired state.
    let container = container();
    let attempts = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let source = {
        let attempts = attempts.clone();
        let failing = failing.clone();
        FlowSource::fetcher(move |request: StartFlowRequest| {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            let mut flow = flow_for(&request, "flow-expiring", frame_link());
            let fail = n >= 1 && failing.load(Ordering::SeqCst);
            if n == 0 {
                // Due 1 s after arrival (the soonest), expired at 1.5 s.
                flow.expires_at = Some(in_ms(1_500.0));
            }
            async move {
                if fail {
                    Err(FlowError::BackendUnreachable("offline".into()))
                } else {
                    Ok(flow)
                }
            }
        })
    };
    let expired = Arc::new(AtomicUsize::new(0));
    let x = expired.clone();
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::payout()]
                source=source
                on_expired=move |()| { x.fetch_add(1, Ordering::SeqCst); }
            />
        }
    });
    wait_until("a first refresh attempt", || {
        attempts.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert_eq!(
        status_of(&container),
        "loading",
        "not expired while the link still works"
    );
    wait_until("the expired state", || status_of(&container) == "expired").await;
    assert_eq!(expired.load(Ordering::SeqCst), 1);
    // Tried when due, again when the frame loaded (the link was stale), and at expiry.
    let tried = attempts.load(Ordering::SeqCst);
    assert!(tried >= 3, "tried again once the link had expired: {tried}");
    assert!(
        frame_in(&container).is_none(),
        "an expired link is not shown"
    );
    failing.store(false, Ordering::SeqCst);
    let retry: HtmlElement = container
        .query_selector(".dots-flow__retry")
        .unwrap()
        .unwrap()
        .unchecked_into();
    retry.click();
    wait_until("a new frame after retry", || frame_in(&container).is_some()).await;
    assert_eq!(attempts.load(Ordering::SeqCst), tried + 1);
}

#[wasm_bindgen_test]
async fn a_due_link_never_swaps_the_frame_under_a_step_in_progress() {
    // Issue 13: the frame was reloaded 60 s before expiry whatever the user was doing, so a
    // half-filled form was lost. Now: due while a step is showing → wait; a step boundary →
    // swap; a step that stays shown once done (hide_continue_button) → no boundary; the frame
    // reloading → swap.
    let container = container();
    let requests: Log<Vec<StepName>> = Arc::default();
    let source = {
        let requests = requests.clone();
        FlowSource::fetcher(move |request: StartFlowRequest| {
            let n = {
                let mut log = requests.lock().unwrap();
                log.push(request.steps.iter().map(|s| s.name.clone()).collect());
                log.len()
            };
            let mut flow = flow_for(&request, &format!("flow-{n}"), frame_link());
            // Due 1 s after each of the first two answers (60 s before expiry would be
            // sooner; 1 s is the soonest); the third lasts. The second counts in seconds.
            match n {
                1 => flow.expires_at = Some(in_ms(60_300.0)),
                2 => flow.expires_in = Some(61),
                _ => {}
            }
            async move { Ok(flow) }
        })
    };
    let events: Log<FlowEvent> = Arc::default();
    let e = events.clone();
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![
                    Step::compliance(),
                    Step::id_verification().hide_continue_button(true),
                    Step::payout(),
                ]
                source=source
                on_event=move |event| e.lock().unwrap().push(event)
            />
        }
    });
    let refreshed = || {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, FlowEvent::LinkRefreshed { .. }))
            .count()
    };
    let show = |height: &str| {
        let window = frame_in(&container).unwrap().content_window().unwrap();
        post(
            &page_origin(),
            Some(&window),
            &json(&format!(r#"{{"height": {height}}}"#)),
        );
    };
    let step_done = |step: &str| {
        let window = frame_in(&container).unwrap().content_window().unwrap();
        post(
            &page_origin(),
            Some(&window),
            &json(&format!(r#"{{"step": "{step}", "status": "completed"}}"#)),
        );
    };
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    show("500");
    wait_until("ready", || status_of(&container) == "ready").await;
    let first_src = frame_in(&container).unwrap().src();
    // Past the due time with the user in the middle of compliance: nothing happens.
    sleep(1_400).await;
    assert_eq!(requests.lock().unwrap().len(), 1, "no new link mid-step");
    assert_eq!(frame_in(&container).unwrap().src(), first_src);
    assert_eq!(status_of(&container), "ready");
    // The step finishes: the boundary is where the fresh link goes in.
    step_done("compliance");
    wait_until("a refreshed link at the boundary", || refreshed() == 1).await;
    assert_eq!(
        requests.lock().unwrap()[1],
        vec![StepName::IdVerification, StepName::Payout],
        "for what remains"
    );
    wait_until("the fresh link framed", || {
        frame_in(&container).unwrap().src() != first_src
    })
    .await;
    show("520");
    wait_until("ready again", || status_of(&container) == "ready").await;
    // Due again (1 s) while id-verification shows; it finishes but stays on screen
    // (hide_continue_button): no swap.
    sleep(1_400).await;
    step_done("id-verification");
    sleep(400).await;
    assert_eq!(
        requests.lock().unwrap().len(),
        2,
        "a step that stays is no boundary"
    );
    // The frame reloads (a re-theme, the user's own reload): nothing in progress, so swap.
    frame_in(&container)
        .unwrap()
        .content_window()
        .unwrap()
        .location()
        .reload()
        .unwrap();
    wait_until("a refreshed link after the reload", || refreshed() == 2).await;
    assert_eq!(requests.lock().unwrap()[2], vec![StepName::Payout]);
}

#[wasm_bindgen_test]
async fn a_failed_refresh_at_a_boundary_keeps_the_live_frame() {
    let container = container();
    let calls = Arc::new(AtomicUsize::new(0));
    let source = {
        let calls = calls.clone();
        FlowSource::fetcher(move |request: StartFlowRequest| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let mut flow = flow_for(&request, "flow-kept", frame_link());
            flow.expires_at = Some(in_ms(60_200.0));
            async move {
                if n == 0 {
                    Ok(flow)
                } else {
                    Err(FlowError::BackendUnreachable("offline".into()))
                }
            }
        })
    };
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=vec![Step::compliance(), Step::payout()] source=source /> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let window = frame_in(&container).unwrap().content_window().unwrap();
    post(&page_origin(), Some(&window), &json(r#"{"height": 500}"#));
    wait_until("ready", || status_of(&container) == "ready").await;
    sleep(1_300).await;
    post(
        &page_origin(),
        Some(&window),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    wait_until("the refresh attempt", || calls.load(Ordering::SeqCst) == 2).await;
    settle().await;
    assert_eq!(
        status_of(&container),
        "ready",
        "the frame that just posted is alive: kept"
    );
    assert!(frame_in(&container).is_some());
}

#[wasm_bindgen_test]
async fn a_frame_that_never_reports_is_a_timeout_error() {
    let container = container();
    let source = fixed_source(frame_link(), Arc::default());
    let errors: Log<FlowError> = Arc::default();
    let e = errors.clone();
    let status = RwSignal::new(FlowStatus::Ready);
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::payout()]
                source=source
                load_timeout=Duration::from_millis(300)
                status=status
                on_error=move |err| e.lock().unwrap().push(err)
            />
        }
    });
    wait_until("the status prop reports loading", || {
        status.get_untracked() == FlowStatus::Loading
    })
    .await;
    wait_until("the error state", || status_of(&container) == "error").await;
    settle().await;
    assert_eq!(
        status.get_untracked(),
        FlowStatus::Error,
        "the status prop follows"
    );
    assert_eq!(*errors.lock().unwrap(), vec![FlowError::FrameTimeout]);
    assert!(container
        .query_selector("[role=alert] .dots-flow__retry")
        .unwrap()
        .is_some());
}

#[wasm_bindgen_test]
async fn mounting_never_steals_focus_and_fits_320px() {
    let document = web_sys::window().unwrap().document().unwrap();
    let input: HtmlElement = document.create_element("input").unwrap().unchecked_into();
    document.body().unwrap().append_child(&input).unwrap();
    input.focus().unwrap();
    let container = container();
    container.style().set_property("width", "320px").unwrap();
    let source = fixed_source(frame_link(), Arc::default());
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=vec![Step::payout()] source=source/> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let frame_window = frame_in(&container).unwrap().content_window().unwrap();
    post(
        &page_origin(),
        Some(&frame_window),
        &json(r#"{"height": 640}"#),
    );
    settle().await;
    let active = document.active_element().unwrap();
    assert!(
        active == input.clone().unchecked_into::<web_sys::Element>(),
        "focus stays where the user put it"
    );
    let frame = frame_in(&container).unwrap();
    let width = frame.client_width() as f64;
    assert!(
        (width - 320.0).abs() < 1.0,
        "the frame takes the 320px width: {width}"
    );
    assert!(
        root_of(&container).scroll_width() <= 320,
        "no horizontal overflow"
    );
}

#[wasm_bindgen_test]
async fn the_hook_drives_a_custom_frame() {
    let container = container();
    let link = frame_link();
    let source = fixed_source(link.clone(), Arc::default());
    let status_out = RwSignal::new(FlowStatus::Loading);
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        let flow = use_dots_flow_with_options(
            vec![Step::payout()],
            UseDotsFlowOptions {
                source,
                ..UseDotsFlowOptions::default()
            },
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

/// How many message listeners of mounted components read an event right now.
fn live_listeners(source: &web_sys::Window) -> usize {
    let reads = Arc::new(AtomicUsize::new(0));
    let event = counting_message(
        &page_origin(),
        source,
        &json(r#"{"height": 1}"#),
        reads.clone(),
    );
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
    reads.load(Ordering::SeqCst)
}

#[wasm_bindgen_test]
async fn a_hundred_mounts_and_unmounts_leave_nothing_behind() {
    // Components other tests left mounted on this page, if any.
    let baseline = live_listeners(&web_sys::window().unwrap());
    let container = container();
    let source_window = {
        let source = fixed_source(frame_link(), Arc::default());
        let handle = leptos::mount::mount_to(container.clone(), move || {
            view! { <DotsFlow steps=vec![Step::payout()] source=source/> }
        });
        wait_until("the iframe", || frame_in(&container).is_some()).await;
        let w = frame_in(&container).unwrap().content_window().unwrap();
        drop(handle);
        w
    };
    for _ in 0..100 {
        let source = fixed_source(frame_link(), Arc::default());
        let handle = leptos::mount::mount_to(container.clone(), move || {
            view! { <DotsFlow steps=vec![Step::payout()] source=source/> }
        });
        leptos::task::tick().await;
        drop(handle);
    }
    settle().await;
    assert!(
        frame_in(&container).is_none(),
        "no frame is left in the page"
    );
    assert_eq!(
        live_listeners(&source_window),
        baseline,
        "no listener of the 101 unmounted components runs"
    );
}

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

#[wasm_bindgen_test]
async fn after_a_sleep_the_wall_clock_says_a_link_is_due_even_if_no_timer_fired() {
    // A laptop that slept through the due time: its timers lag, its clock does not. A reload
    // of the frame then brings a fresh link (the old one's page would say "expired").
    let container = container();
    let calls = Arc::new(AtomicUsize::new(0));
    let source = {
        let calls = calls.clone();
        FlowSource::fetcher(move |request: StartFlowRequest| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let mut flow = flow_for(&request, &format!("flow-sleep-{n}"), frame_link());
            flow.expires_in = Some(900);
            async move { Ok(flow) }
        })
    };
    let events: Log<FlowEvent> = Arc::default();
    let e = events.clone();
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::compliance()]
                source=source
                on_event=move |event| e.lock().unwrap().push(event)
            />
        }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let window = frame_in(&container).unwrap().content_window().unwrap();
    post(&page_origin(), Some(&window), &json(r#"{"height": 500}"#));
    wait_until("ready", || status_of(&container) == "ready").await;
    // A reload before the due time changes nothing.
    window.location().reload().unwrap();
    sleep(300).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "not due yet");
    // Twenty minutes pass on the wall clock (the 14-minute timer has not fired).
    js_sys::eval(
        "window.__realNow = Date.now; Date.now = () => window.__realNow() + 20 * 60 * 1000;",
    )
    .unwrap();
    frame_in(&container)
        .unwrap()
        .content_window()
        .unwrap()
        .location()
        .reload()
        .unwrap();
    wait_until("a fresh link after the reload", || {
        calls.load(Ordering::SeqCst) == 2
    })
    .await;
    js_sys::eval("Date.now = window.__realNow;").unwrap();
    wait_until("reported", || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, FlowEvent::LinkRefreshed { .. }))
    })
    .await;
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
