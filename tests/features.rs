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
use wasm_bindgen::JsCast;
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
    let css = root.get_attribute("style").unwrap();
    assert!(
        css.contains("--dots-flow-button-background:#ff0000"),
        "chrome follows the style: {css}"
    );
    assert!(css.contains("--dots-flow-radius:12px"), "{css}");
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
            // Expires 60.4 s from now; the default margin is 60 s, so a refresh is due in 0.4 s.
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

#[wasm_bindgen_test]
async fn a_failed_refresh_is_the_expired_state_with_a_retry() {
    let container = container();
    let attempts = Arc::new(AtomicUsize::new(0));
    let source = {
        let attempts = attempts.clone();
        FlowSource::fetcher(move |request: StartFlowRequest| {
            let n = attempts.fetch_add(1, Ordering::SeqCst);
            let mut flow = flow_for(&request, "flow-expiring", frame_link());
            flow.expires_at = Some(String::from(
                js_sys::Date::new(&(js_sys::Date::now() + 60_200.0).into()).to_iso_string(),
            ));
            async move {
                if n == 1 {
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
    wait_until("the expired state", || status_of(&container) == "expired").await;
    assert_eq!(expired.load(Ordering::SeqCst), 1);
    assert!(
        frame_in(&container).is_none(),
        "an expired link is not shown"
    );
    let retry: HtmlElement = container
        .query_selector(".dots-flow__retry")
        .unwrap()
        .unwrap()
        .unchecked_into();
    retry.click();
    wait_until("a new frame after retry", || frame_in(&container).is_some()).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
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
                    <iframe node_ref=flow.frame src=src on:load=move |_| flow.on_frame_load.run(())></iframe>
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
