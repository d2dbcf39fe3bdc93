//! Pre-authenticated links replaced before they expire: at a step boundary, never under a step in progress, after a sleep; a failed refresh.

use super::*;

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
