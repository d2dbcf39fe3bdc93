//! Progress the server confirms when a message is lost; a frame that never reports.

use super::*;

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
