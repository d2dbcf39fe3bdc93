//! `<DotsFlow/>`: asks the host backend for a flow, frames it, and turns its messages into
//! typed callbacks.

use dots_api::{BrowserFlow, FlowMessage, StartFlowRequest, Step, StepName};
use leptos::ev;
use leptos::html::Iframe;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::events::{FlowError, FlowEvent, FlowStatus, StepCompleted};
use crate::link::FlowSource;
use crate::messages;

/// Height of the frame before the flow reports its own (CSS pixels).
pub const DEFAULT_HEIGHT: f64 = 480.0;
/// Default lower bound of the frame's height.
pub const DEFAULT_MIN_HEIGHT: f64 = 240.0;
/// Default upper bound of the frame's height.
pub const DEFAULT_MAX_HEIGHT: f64 = 4000.0;
/// Height changes smaller than this are ignored, so a frame that measures itself can never
/// start a resize loop.
pub const HEIGHT_TOLERANCE: f64 = 2.0;

/// Embeds a Dots flow.
///
/// On mount it asks the host backend (by default `POST /api/flows`, answered by the
/// dots-flow proxy) for a flow with `steps`, frames the flow's link, and listens to the
/// messages the flow posts: only those from the link's exact origin *and* from this
/// component's own frame are accepted, so other frames and other instances on the page are
/// ignored. The frame's height follows the flow's `{height}` messages within
/// `min_height..=max_height`.
#[component]
pub fn DotsFlow(
    /// The steps of the flow. Validated before any request; changing them starts a new flow.
    #[prop(into)]
    steps: Signal<Vec<Step>>,
    /// Where to get the flow: a host endpoint URL (default `/api/flows`) or a function.
    #[prop(optional, into)]
    source: Option<FlowSource>,
    /// Metadata to attach to the flow (a string or an object).
    #[prop(optional, into)]
    metadata: Option<serde_json::Value>,
    /// Lowest height of the frame in CSS pixels (default 240).
    #[prop(optional)]
    min_height: Option<f64>,
    /// Highest height of the frame in CSS pixels (default 4000).
    #[prop(optional)]
    max_height: Option<f64>,
    /// Extra classes for the component's root element.
    #[prop(optional, into)]
    class: MaybeProp<String>,
    /// The frame's accessible title (default "Payout setup").
    #[prop(optional, into)]
    title: MaybeProp<String>,
    /// Called once the frame has loaded and reported its height.
    #[prop(optional, into)]
    on_ready: Option<Callback<()>>,
    /// Called with each new height the flow reports (before clamping).
    #[prop(optional, into)]
    on_height: Option<Callback<f64>>,
    /// Called when the flow reports a finished step.
    #[prop(optional, into)]
    on_step_complete: Option<Callback<StepCompleted>>,
    /// Called once every step of the flow is complete.
    #[prop(optional, into)]
    on_flow_complete: Option<Callback<BrowserFlow>>,
    /// Called when something fails.
    #[prop(optional, into)]
    on_error: Option<Callback<FlowError>>,
    /// Called with every event, including flow messages of undocumented kinds.
    #[prop(optional, into)]
    on_event: Option<Callback<FlowEvent>>,
) -> impl IntoView {
    let source = source.unwrap_or_default();
    let min_height = min_height.unwrap_or(DEFAULT_MIN_HEIGHT).max(0.0);
    let max_height = max_height.unwrap_or(DEFAULT_MAX_HEIGHT).max(min_height);
    let clamp = move |h: f64| h.clamp(min_height, max_height);

    let status = RwSignal::new(FlowStatus::Loading);
    let flow = RwSignal::new(None::<BrowserFlow>);
    let error = RwSignal::new(None::<FlowError>);
    let completed = RwSignal::new(Vec::<StepName>::new());
    let height = RwSignal::new(clamp(DEFAULT_HEIGHT));
    let loaded = RwSignal::new(false);
    let got_height = RwSignal::new(false);
    let attempt = RwSignal::new(0u32);
    let generation = StoredValue::new(0u64);
    let frame: NodeRef<Iframe> = NodeRef::new();

    let emit = move |event: FlowEvent| {
        if let Some(cb) = on_event {
            cb.run(event);
        }
    };
    let fail = move |err: FlowError| {
        status.set(FlowStatus::Error);
        error.set(Some(err.clone()));
        if let Some(cb) = on_error {
            cb.run(err.clone());
        }
        emit(FlowEvent::Error(err));
    };
    let check_ready = move || {
        if status.get_untracked() == FlowStatus::Loading
            && loaded.get_untracked()
            && got_height.get_untracked()
        {
            status.set(FlowStatus::Ready);
            if let Some(cb) = on_ready {
                cb.run(());
            }
            emit(FlowEvent::Ready);
        }
    };

    // The link only changes when a new flow is fetched, so the frame is not reloaded when
    // progress (completed steps) changes.
    let link = Memo::new(move |_| flow.with(|f| f.as_ref().map(|f| f.link.clone())));
    let origin = Memo::new(move |_| link.get().as_deref().and_then(messages::link_origin));

    // Fetch a flow on mount, when the steps change, and on retry. Effects never run on the
    // server, so SSR builds do not touch the network or `window`.
    Effect::new(move |_| {
        let steps = steps.get();
        attempt.track();
        let generation_now = generation.get_value() + 1;
        generation.set_value(generation_now);
        status.set(FlowStatus::Loading);
        error.set(None);
        flow.set(None);
        completed.set(Vec::new());
        loaded.set(false);
        got_height.set(false);

        let mut request = StartFlowRequest::new(steps);
        request.metadata = metadata.clone();
        if let Err(err) = request.validate() {
            fail(FlowError::InvalidSteps(err));
            return;
        }
        let source = source.clone();
        spawn_local(async move {
            let result = source.get(request).await;
            // Unmounted, or superseded by a newer request: drop the answer.
            if generation.try_get_value() != Some(generation_now) {
                return;
            }
            match result {
                Ok(new_flow) if messages::link_origin(&new_flow.link).is_none() => {
                    fail(FlowError::InvalidLink(new_flow.link));
                }
                Ok(new_flow) => {
                    completed.set(new_flow.completed_steps.clone());
                    emit(FlowEvent::Created {
                        id: new_flow.id.clone(),
                        link: new_flow.link.clone(),
                    });
                    flow.set(Some(new_flow));
                }
                Err(err) => fail(err),
            }
        });
    });

    let on_message = move |event: web_sys::MessageEvent| {
        // Cheapest test first: most messages on a page come from elsewhere.
        let sender = event.origin();
        let Some(expected) = origin.try_get_untracked().flatten() else {
            return;
        };
        if sender != expected {
            return;
        }
        let Some(frame) = frame.get_untracked() else {
            return;
        };
        let Some(message) = messages::accept(&event, &expected, &frame) else {
            return;
        };
        match message {
            FlowMessage::Height(reported) => {
                if let Some(cb) = on_height {
                    cb.run(reported);
                }
                emit(FlowEvent::Height(reported));
                let next = clamp(reported);
                if (next - height.get_untracked()).abs() >= HEIGHT_TOLERANCE {
                    height.set(next);
                }
                got_height.set(true);
                check_ready();
            }
            FlowMessage::Step {
                step,
                status: step_status,
            } => {
                let done = step_status.is_done();
                let report = StepCompleted {
                    step: step.clone(),
                    status: step_status,
                };
                if let Some(cb) = on_step_complete {
                    cb.run(report.clone());
                }
                emit(FlowEvent::StepCompleted(report));
                if done && !completed.with_untracked(|c| c.contains(&step)) {
                    completed.update(|c| c.push(step));
                    let finished = flow.with_untracked(|f| {
                        f.as_ref()
                            .filter(|f| {
                                completed.with_untracked(|c| f.steps.iter().all(|s| c.contains(s)))
                            })
                            .cloned()
                    });
                    if let Some(mut finished) = finished {
                        if status.get_untracked() != FlowStatus::Completed {
                            status.set(FlowStatus::Completed);
                            finished.completed_steps = completed.get_untracked();
                            emit(FlowEvent::FlowCompleted {
                                id: finished.id.clone(),
                            });
                            if let Some(cb) = on_flow_complete {
                                cb.run(finished);
                            }
                        }
                    }
                }
            }
            FlowMessage::Other(value) => emit(FlowEvent::Unknown(value)),
            _ => {}
        }
    };
    let listener = window_event_listener(ev::message, on_message);
    on_cleanup(move || listener.remove());

    let needs_camera = move || steps.with(|s| s.iter().any(|s| s.name == StepName::IdVerification));

    view! {
        <div
            class=move || match class.get() {
                Some(extra) => format!("dots-flow {extra}"),
                None => "dots-flow".to_owned(),
            }
            data-status=move || status.get().as_str()
            aria-busy=move || (status.get() == FlowStatus::Loading).to_string()
            style:min-height=move || format!("{}px", height.get())
        >
            <Show when=move || status.get() == FlowStatus::Loading>
                <div class="dots-flow__skeleton" aria-hidden="true">
                    <div class="dots-flow__skeleton-bar"></div>
                    <div class="dots-flow__skeleton-bar dots-flow__skeleton-bar--short"></div>
                    <div class="dots-flow__skeleton-block"></div>
                </div>
            </Show>
            {move || {
                error
                    .get()
                    .map(|err| {
                        view! {
                            <div class="dots-flow__error" role="alert">
                                <p class="dots-flow__error-message">{err.to_string()}</p>
                                <button
                                    type="button"
                                    class="dots-flow__retry"
                                    on:click=move |_| attempt.update(|n| *n += 1)
                                >
                                    "Try again"
                                </button>
                            </div>
                        }
                    })
            }}
            {move || {
                link.get()
                    .map(|src| {
                        view! {
                            <iframe
                                node_ref=frame
                                class="dots-flow__frame"
                                src=src
                                title=move || title.get().unwrap_or_else(|| "Payout setup".to_owned())
                                allow=move || if needs_camera() { "camera" } else { "" }
                                referrerpolicy="strict-origin-when-cross-origin"
                                style:height=move || format!("{}px", height.get())
                                on:load=move |_| {
                                    loaded.set(true);
                                    check_ready();
                                }
                            ></iframe>
                        }
                    })
            }}
        </div>
    }
}
