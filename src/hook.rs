//! `use_dots_flow`: everything `<DotsFlow/>` does, as a hook for apps that render their own
//! frame. The component is this hook plus markup.

use dots_api::{BrowserFlow, FlowStyle, Step, StepName};
use leptos::html::Iframe;
use leptos::prelude::*;

use crate::events::{FlowError, FlowEvent, FlowStatus, StepCompleted};
use crate::markup::DEFAULT_HEIGHT;
use crate::options::FlowOptions;

/// Options of [`use_dots_flow_with_options`]: the flow's [`FlowOptions`] and what only a
/// Leptos app has (a first flow, a style signal, a status signal, callbacks). Every field has
/// a default.
#[derive(Clone)]
pub struct UseDotsFlowOptions {
    /// How the flow is asked for and followed (source, metadata, heights, timeouts, …).
    pub options: FlowOptions,
    /// A flow already created for the first `steps` (the proxy's `BrowserFlow` shape), e.g.
    /// by the server while it rendered the page: it is framed at once, in the server's HTML
    /// too, and no request is made for it. `options.source` still confirms progress,
    /// refreshes the link, and serves retries and changed steps.
    pub initial_flow: Option<BrowserFlow>,
    /// Flow Styles, appended to the link as `?styles=`; changing it re-themes the flow.
    pub style: Signal<Option<FlowStyle>>,
    /// A signal to keep the status in (otherwise the hook makes its own); it is written as
    /// the status changes, so the app can read it anywhere.
    pub status: Option<RwSignal<FlowStatus>>,
    /// Called once the frame has reported its height (the flow is showing).
    pub on_ready: Option<Callback<()>>,
    /// Called with each height the flow reports (before clamping).
    pub on_height: Option<Callback<f64>>,
    /// Called when a step finishes (from the frame, or confirmed by the server).
    pub on_step_complete: Option<Callback<StepCompleted>>,
    /// Called once every step of the flow is complete.
    pub on_flow_complete: Option<Callback<BrowserFlow>>,
    /// Called when the link expired and could not be refreshed.
    pub on_expired: Option<Callback<()>>,
    /// Called when something fails.
    pub on_error: Option<Callback<FlowError>>,
    /// Called with every event.
    pub on_event: Option<Callback<FlowEvent>>,
}

impl Default for UseDotsFlowOptions {
    fn default() -> Self {
        Self {
            options: FlowOptions::default(),
            initial_flow: None,
            style: Signal::stored(None),
            status: None,
            on_ready: None,
            on_height: None,
            on_step_complete: None,
            on_flow_complete: None,
            on_expired: None,
            on_error: None,
            on_event: None,
        }
    }
}

impl From<FlowOptions> for UseDotsFlowOptions {
    fn from(options: FlowOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }
}

/// What [`use_dots_flow`] gives back: state to render, the frame's `NodeRef`, and actions.
#[derive(Clone, Copy)]
pub struct UseDotsFlowReturn {
    /// Loading, ready, completed, expired or error.
    pub status: Signal<FlowStatus>,
    /// The current flow, once the backend returned one.
    pub flow: Signal<Option<BrowserFlow>>,
    /// The frame's `src`: the flow's link with `?styles=`; `None` until there is a valid link.
    pub src: Signal<Option<String>>,
    /// The frame's height in CSS px (clamped, tolerant of small changes).
    pub height: Signal<f64>,
    /// The last error, while in the error state.
    pub error: Signal<Option<FlowError>>,
    /// Steps completed so far (kept across link refreshes).
    pub completed_steps: Signal<Vec<StepName>>,
    /// Whether the steps include `id-verification` (the frame then needs `allow="camera"`).
    pub needs_camera: Signal<bool>,
    /// Attach to the `<iframe>`: messages are accepted only from this frame's window.
    pub frame: NodeRef<Iframe>,
    /// Starts over with a fresh flow (after an error or expiry).
    pub retry: Callback<()>,
}

/// The component's logic without its markup, for an app that draws the frame itself: it
/// gets the flow, and gives back what to render and the `NodeRef` to put on its `<iframe>`
/// (messages are accepted only from that frame's window). Steps are reactive; the options
/// ([`use_dots_flow_with_options`]) are read once.
///
/// ```no_run
/// use dots_flow::{use_dots_flow, FlowStatus, Step};
/// use leptos::prelude::*;
///
/// #[component]
/// fn MyFrame() -> impl IntoView {
///     let flow = use_dots_flow(vec![Step::compliance()]);
///     view! {
///         <Show when=move || flow.status.get() == FlowStatus::Error>
///             <button on:click=move |_| flow.retry.run(())>"Try again"</button>
///         </Show>
///         <iframe
///             node_ref=flow.frame
///             src=move || flow.src.get()
///             style:height=move || format!("{}px", flow.height.get())
///             title="Payout setup"
///         ></iframe>
///     }
/// }
/// ```
pub fn use_dots_flow(steps: impl Into<Signal<Vec<Step>>>) -> UseDotsFlowReturn {
    use_dots_flow_with_options(steps, UseDotsFlowOptions::default())
}

/// [`use_dots_flow`] with options (read once, when called).
///
/// ```no_run
/// use dots_flow::{use_dots_flow_with_options, FlowOptions, FlowSource, Step};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Withdraw() -> impl IntoView {
///     let flow = use_dots_flow_with_options(
///         vec![Step::payout()],
///         FlowOptions {
///             source: FlowSource::from("https://api.example.com/api/flows"),
///             min_height: 320.0,
///             ..FlowOptions::default()
///         }
///         .into(),
///     );
///     view! { <iframe node_ref=flow.frame src=move || flow.src.get()></iframe> }
/// }
/// ```
pub fn use_dots_flow_with_options(
    steps: impl Into<Signal<Vec<Step>>>,
    options: UseDotsFlowOptions,
) -> UseDotsFlowReturn {
    let state = flow_state(steps.into(), options);
    UseDotsFlowReturn {
        status: state.status.into(),
        flow: state.flow.into(),
        src: Signal::derive(move || state.src()),
        height: state.height.into(),
        error: state.error.into(),
        completed_steps: state.completed.into(),
        needs_camera: Signal::derive(move || state.needs_camera()),
        frame: state.frame,
        retry: state.retry,
    }
}

/// The hook's state as plain signals. `<DotsFlow/>` reads these directly: every `Signal<T>`
/// wrapper type it would otherwise read costs its own code in the wasm.
#[derive(Clone, Copy)]
pub(crate) struct FlowState {
    pub status: RwSignal<FlowStatus>,
    pub flow: RwSignal<Option<BrowserFlow>>,
    pub height: RwSignal<f64>,
    pub error: RwSignal<Option<FlowError>>,
    pub completed: RwSignal<Vec<StepName>>,
    pub steps: Signal<Vec<Step>>,
    pub style: Signal<Option<FlowStyle>>,
    pub frame: NodeRef<Iframe>,
    pub retry: Callback<()>,
}

impl FlowState {
    /// The frame's `src`: the link with `?styles=` (recomputing an equal value is harmless:
    /// the attribute is only written when it changes).
    pub fn src(&self) -> Option<String> {
        let style = self.style;
        self.flow
            .with(|f| style.with(|s| crate::markup::frame_src(f.as_ref(), s.as_ref())))
    }

    /// Whether the steps include `id-verification` (the frame then needs `allow="camera"`).
    pub fn needs_camera(&self) -> bool {
        self.steps.with(|s| crate::markup::needs_camera(s))
    }
}

/// Everything the hook does; see [`use_dots_flow_with_options`]: the engine
/// ([`crate::engine`]) in the browser, its changes mirrored into signals.
pub(crate) fn flow_state(steps: Signal<Vec<Step>>, options: UseDotsFlowOptions) -> FlowState {
    let UseDotsFlowOptions {
        options,
        initial_flow,
        style,
        status,
        on_ready,
        on_height,
        on_step_complete,
        on_flow_complete,
        on_expired,
        on_error,
        on_event,
    } = options;
    let status = status.unwrap_or_else(|| RwSignal::new(FlowStatus::Loading));
    status.set(FlowStatus::Loading);
    let flow = RwSignal::new(None::<BrowserFlow>);
    let error = RwSignal::new(None::<FlowError>);
    let completed = RwSignal::new(Vec::<StepName>::new());
    let min = options.min_height.max(0.0);
    let height = RwSignal::new(DEFAULT_HEIGHT.max(min).min(options.max_height.max(min)));
    let attempt = RwSignal::new(0u32);
    let frame: NodeRef<Iframe> = NodeRef::new();
    // An initial flow is in place from the start, so a server render frames it; in the
    // browser the engine adopts it (once the view is built) instead of asking for one.
    let adopting = match &initial_flow {
        Some(f) if crate::messages::link_origin(&f.link).is_some() => {
            completed.set(f.completed_steps.clone());
            flow.set(Some(f.clone()));
            true
        }
        _ => false,
    };

    // On the server nothing runs: no network, no window, no timer (leptos-use's pattern).
    #[cfg(not(feature = "ssr"))]
    {
        use crate::engine::{Change, FlowEngine};
        fn run<T: 'static>(callback: Option<Callback<T>>, value: T) {
            if let Some(callback) = callback {
                callback.run(value);
            }
        }
        let sink = move |change: Change| match change {
            Change::Status(now) => status.set(now),
            Change::Flow(now) => flow.set(now),
            Change::Height(now) => height.set(now),
            Change::Error(now) => error.set(now),
            Change::Completed(now) => completed.set(now),
            Change::Event(event) => {
                match &event {
                    FlowEvent::Ready => run(on_ready, ()),
                    FlowEvent::Height(h) => run(on_height, *h),
                    FlowEvent::StepCompleted(done) => run(on_step_complete, done.clone()),
                    FlowEvent::Expired => run(on_expired, ()),
                    FlowEvent::Error(err) => run(on_error, err.clone()),
                    _ => {}
                }
                if let Some(cb) = on_event {
                    cb.run(event);
                }
            }
            Change::Finished(done) => {
                if let Some(cb) = on_flow_complete {
                    cb.run(done);
                }
            }
        };
        // A server-made flow may have posted before the engine listened (the page's early
        // listener kept those): replayed once the frame is in place.
        let mark = if adopting { crate::early::mark() } else { 0 };
        let engine = FlowEngine::new(
            options,
            initial_flow.filter(|_| adopting),
            move || frame.get_untracked(),
            sink,
        );
        // The first request goes out now, as a resource's would, not from the effect below:
        // an effect runs only once the view is built and mounted, and every millisecond of
        // that is better spent with the request already on the network.
        if !adopting {
            untrack(|| engine.start(steps.get_untracked()));
        }
        let engine = StoredValue::new_local(Some(engine));
        let mut first = true;
        // A new flow when the steps change and on retry.
        Effect::new(move |_| {
            let requested = steps.get();
            attempt.track();
            let Some(engine) = engine.try_get_value().flatten() else {
                return;
            };
            if !std::mem::take(&mut first) {
                engine.start(requested);
            } else if adopting {
                // The frame may already be loading (server-rendered), or even have reported
                // its height: it is kept as it is.
                engine.adopt(requested);
                for event in crate::early::held(mark) {
                    engine.handle_message(event);
                }
            }
        });
        on_cleanup(move || drop(engine.try_update_value(Option::take)));
    }
    #[cfg(feature = "ssr")]
    let _ = (
        options,
        (on_ready, on_height, on_step_complete, on_flow_complete),
        (on_expired, on_error, on_event, adopting),
    );

    FlowState {
        status,
        flow,
        height,
        error,
        completed,
        steps,
        style,
        frame,
        retry: Callback::new(move |()| attempt.update(|n| *n += 1)),
    }
}
