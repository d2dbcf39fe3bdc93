//! `use_dots_flow`: everything `<DotsFlow/>` does, as a hook for apps that render their own
//! frame. The component is this hook plus markup.

use dots_api::{
    BrowserFlow, FlowId, FlowMessage, FlowStyle, StartFlowRequest, Step, StepName, StepStatus,
    StreamEvent,
};
use leptos::html::Iframe;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;
use std::time::Duration;

use crate::events::{FlowError, FlowEvent, FlowStatus, StepCompleted};
use crate::link::{Credentials, FlowSource};
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

/// Options of [`use_dots_flow_with_options`]. Every field has a sensible default.
#[derive(Clone)]
pub struct UseDotsFlowOptions {
    /// Where to get (and confirm) the flow. Default: `POST /api/flows`.
    pub source: FlowSource,
    /// A flow already created for the first `steps` (the proxy's `BrowserFlow` shape), e.g.
    /// by the server while it rendered the page: it is framed at once, in the server's HTML
    /// too, and no request is made for it. `source` still confirms progress, refreshes the
    /// link, and serves retries and changed steps.
    pub initial_flow: Option<BrowserFlow>,
    /// Metadata to attach to the flow.
    pub metadata: Option<serde_json::Value>,
    /// Ask for the user's own sign-in (Dots' `require_auth`); adds to the server's policy.
    pub require_auth: bool,
    /// Hide the "Go to dashboard" button at the end (Dots' `hide_go_to_dashboard_on_complete`).
    pub hide_go_to_dashboard_on_complete: bool,
    /// Flow Styles, appended to the link as `?styles=`; changing it re-themes the flow.
    pub style: Signal<Option<FlowStyle>>,
    /// Lowest frame height (CSS px).
    pub min_height: f64,
    /// Highest frame height (CSS px).
    pub max_height: f64,
    /// How long the frame may take to report its height before it is an error.
    pub load_timeout: Duration,
    /// How often to ask the server for progress while the flow is open and its event stream
    /// is not (`None`: only after each step message).
    pub confirm_interval: Option<Duration>,
    /// The server's event stream, to hear each step confirmed as it happens (a URL, relative
    /// to the page). By default the stream a flow answer names (the proxy names its own,
    /// [`BrowserFlow::events`], resolved against the endpoint's URL); without one, progress
    /// is confirmed by asking every `confirm_interval`.
    pub events_url: Option<String>,
    /// How long before a pre-authenticated link expires it is due for a fresh one. The frame
    /// is never swapped under a step in progress: a due link is replaced at once only while
    /// the frame is not showing yet, otherwise at the next step boundary (a `{step, status}`
    /// message) or when the frame reloads.
    pub refresh_margin: Duration,
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
            source: FlowSource::default(),
            initial_flow: None,
            metadata: None,
            require_auth: false,
            hide_go_to_dashboard_on_complete: false,
            style: Signal::stored(None),
            min_height: DEFAULT_MIN_HEIGHT,
            max_height: DEFAULT_MAX_HEIGHT,
            load_timeout: Duration::from_secs(20),
            confirm_interval: Some(Duration::from_secs(10)),
            events_url: None,
            refresh_margin: Duration::from_secs(60),
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

/// The hook with default options.
pub fn use_dots_flow(steps: impl Into<Signal<Vec<Step>>>) -> UseDotsFlowReturn {
    use_dots_flow_with_options(steps, UseDotsFlowOptions::default())
}

/// Timers of one flow, cleared together.
#[derive(Default)]
struct Timers {
    load: Option<TimeoutHandle>,
    refresh: Option<TimeoutHandle>,
    confirm: Option<IntervalHandle>,
}

impl Timers {
    fn clear(&mut self) {
        if let Some(t) = self.load.take() {
            t.clear();
        }
        if let Some(t) = self.refresh.take() {
            t.clear();
        }
        if let Some(t) = self.confirm.take() {
            t.clear();
        }
    }
}

/// Why a fresh link is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refresh {
    /// The link is due (its expiry is near or past): swapped now only if the frame is not
    /// showing yet.
    Due,
    /// A step just finished in the frame.
    Boundary,
    /// The frame just (re)loaded.
    Reload,
}

/// Where the refresh function lives (set once it exists; read by timers and messages).
type RefreshFn = StoredValue<Option<Rc<dyn Fn(u64, Refresh)>>, LocalStorage>;

/// Arms a timer that calls `refresh` with [`Refresh::Due`] at `at` (ms since the epoch).
fn arm_due(
    at: f64,
    generation: StoredValue<u64>,
    generation_now: u64,
    refresh: RefreshFn,
) -> Option<TimeoutHandle> {
    let wait = (at - js_sys::Date::now()).max(0.0);
    set_timeout_with_handle(
        move || {
            if generation.try_get_value() == Some(generation_now) {
                if let Some(refresh) = refresh.try_get_value().flatten() {
                    refresh(generation_now, Refresh::Due);
                }
            }
        },
        Duration::from_millis(wait as u64),
    )
    .ok()
}

/// Asks `source` for a flow and hands it to `then` with its link's origin (where the frame's
/// messages must come from), unless a newer request superseded this one or the component
/// unmounted. A link that is not an absolute http(s) URL is an error, so it never reaches the
/// iframe.
fn fetch_flow(
    source: StoredValue<FlowSource>,
    generation: StoredValue<u64>,
    generation_now: u64,
    request: StartFlowRequest,
    then: impl FnOnce(Result<(BrowserFlow, String), FlowError>) + 'static,
) {
    let source = source.get_value();
    spawn_local(async move {
        let result =
            source
                .create(request)
                .await
                .and_then(|flow| match messages::link_origin(&flow.link) {
                    Some(origin) => Ok((flow, origin)),
                    None => Err(FlowError::InvalidLink(flow.link)),
                });
        if generation.try_get_value() == Some(generation_now) {
            then(result);
        }
    });
}

/// The hook.
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
        self.flow.with(|f| {
            let link = &f.as_ref()?.link;
            Some(match style.get() {
                Some(style) => style.apply_to_link(link),
                None => link.clone(),
            })
        })
    }

    /// Whether the steps include `id-verification` (the frame then needs `allow="camera"`).
    pub fn needs_camera(&self) -> bool {
        self.steps
            .with(|s| s.iter().any(|s| s.name == StepName::IdVerification))
    }
}

/// Everything the hook does; see [`use_dots_flow_with_options`].
pub(crate) fn flow_state(steps: Signal<Vec<Step>>, options: UseDotsFlowOptions) -> FlowState {
    let UseDotsFlowOptions {
        source,
        initial_flow,
        metadata,
        require_auth,
        hide_go_to_dashboard_on_complete,
        style,
        min_height,
        max_height,
        load_timeout,
        confirm_interval,
        events_url,
        refresh_margin,
        status,
        on_ready,
        on_height,
        on_step_complete,
        on_flow_complete,
        on_expired,
        on_error,
        on_event,
    } = options;
    let min_height = min_height.max(0.0);
    let max_height = max_height.max(min_height);
    // `max`/`min` rather than `f64::clamp`: the bounds are already ordered, and clamp's
    // panic message would pull float formatting (~9 KiB gzip) into every app's wasm.
    let clamp = move |h: f64| h.max(min_height).min(max_height);
    let with_credentials = matches!(
        source,
        FlowSource::Endpoint {
            credentials: Credentials::Include,
            ..
        }
    );
    let source = StoredValue::new(source);
    // `null` is no metadata (an optional prop given `None` arrives as `Value::Null`).
    let metadata = StoredValue::new(metadata.filter(|m| !m.is_null()));
    // The server's event stream (none until a flow names one), and the flows it may speak
    // of: the current one and those it replaced (a refreshed link is a new flow).
    let events_at = RwSignal::new(None::<String>);
    let events_url = StoredValue::new(events_url);
    let flow_ids = StoredValue::new(Vec::<FlowId>::new());

    let status = status.unwrap_or_else(|| RwSignal::new(FlowStatus::Loading));
    status.set(FlowStatus::Loading);
    let flow = RwSignal::new(None::<BrowserFlow>);
    let error = RwSignal::new(None::<FlowError>);
    let completed = RwSignal::new(Vec::<StepName>::new());
    // All steps of the flow as first created (a refreshed link covers only what remains).
    let all_steps = RwSignal::new(Vec::<StepName>::new());
    let height = RwSignal::new(clamp(DEFAULT_HEIGHT));
    let attempt = RwSignal::new(0u32);
    // Fetches a fresh link (for a reason); set below, once `install` exists.
    let refresh: RefreshFn = StoredValue::new_local(None);
    // The current link's expiry and when it is due for a fresh one (ms since the epoch, by
    // this browser's clock). Due is read from the wall clock, not only from the timer: timers
    // lag behind a laptop's sleep, the clock does not.
    let expires_ms = StoredValue::new(None::<f64>);
    let due_at = StoredValue::new(None::<f64>);
    let is_due = move || {
        due_at
            .try_get_value()
            .flatten()
            .is_some_and(|due| js_sys::Date::now() >= due)
    };
    let generation = StoredValue::new(0u64);
    // The origin messages must come from: the current link's (set with the flow).
    let origin = StoredValue::new(None::<String>);
    let timers = StoredValue::new_local(Timers::default());
    let frame: NodeRef<Iframe> = NodeRef::new();
    // An initial flow is in place from the start, so a server render frames it; the first
    // run of the effect below adopts it instead of asking for one.
    let mut adopt = false;
    if let Some(f) = initial_flow {
        if let Some(link_origin) = messages::link_origin(&f.link) {
            all_steps.set(f.steps.clone());
            completed.set(f.completed_steps.clone());
            origin.set_value(Some(link_origin));
            flow.set(Some(f));
            adopt = true;
        }
    }
    let adopting = adopt;

    let emit = move |event: FlowEvent| {
        if let Some(cb) = on_event {
            cb.run(event);
        }
    };
    let fail = move |err: FlowError| {
        timers.update_value(Timers::clear);
        status.set(FlowStatus::Error);
        error.set(Some(err.clone()));
        if let Some(cb) = on_error {
            cb.run(err.clone());
        }
        emit(FlowEvent::Error(err));
    };
    // What the frame's `onload` calls (set below, once the refresh exists).
    let onload = StoredValue::new_local(None::<wasm_bindgen::JsValue>);
    // Ready is the first `{height}` from this frame: the flow posts it once its page is up.
    // (The iframe's `load` event proves less — an error page loads too — and waiting for it
    // only delayed readiness.)
    let check_ready = move || {
        if status.get_untracked() == FlowStatus::Loading {
            if let Some(t) = timers.try_update_value(|t| t.load.take()).flatten() {
                t.clear();
            }
            status.set(FlowStatus::Ready);
            if let Some(cb) = on_ready {
                cb.run(());
            }
            emit(FlowEvent::Ready);
        }
    };
    // Marks steps done; fires the step and flow callbacks exactly once each.
    let mark_done = move |step: StepName, step_status: StepStatus| {
        // Heard already (the server's stream and the frame both tell of a step, in either
        // order): reported once. Except a step the flow keeps on screen once done
        // (`hide_continue_button`): the user may finish it again (save other payout methods),
        // and each time is news.
        let known = completed.with_untracked(|c| c.contains(&step));
        let stays = steps.with_untracked(|s| {
            s.iter()
                .any(|s| s.name == step && s.options.hide_continue_button == Some(true))
        });
        if known && !stays {
            return;
        }
        let done = StepCompleted {
            step: step.clone(),
            status: step_status.clone(),
        };
        if let Some(cb) = on_step_complete {
            cb.run(done.clone());
        }
        emit(FlowEvent::StepCompleted(done));
        if !step_status.is_done() || completed.with_untracked(|c| c.contains(&step)) {
            return;
        }
        completed.update(|c| c.push(step));
        let all_done = all_steps.with_untracked(|all| {
            !all.is_empty() && completed.with_untracked(|c| all.iter().all(|s| c.contains(s)))
        });
        if all_done && status.get_untracked() != FlowStatus::Completed {
            timers.update_value(Timers::clear);
            events_at.set(None);
            status.set(FlowStatus::Completed);
            if let Some(mut finished) = flow.get_untracked() {
                finished.steps = all_steps.get_untracked();
                finished.completed_steps = completed.get_untracked();
                emit(FlowEvent::FlowCompleted {
                    id: finished.id.clone(),
                });
                if let Some(cb) = on_flow_complete {
                    cb.run(finished);
                }
            }
        }
    };
    // The server confirms a step of this flow: reported at once, unless already known.
    let on_server_event = move |event: StreamEvent| {
        let ours = event
            .flow_id()
            .is_some_and(|id| flow_ids.with_value(|ids| ids.contains(id)));
        let open = matches!(
            status.get_untracked(),
            FlowStatus::Loading | FlowStatus::Ready
        );
        if !ours || !open {
            return;
        }
        let steps = match &event {
            StreamEvent::StepCompleted { step, .. } => vec![step.clone()],
            StreamEvent::FlowCompleted {
                completed_steps, ..
            } => completed_steps.clone(),
            _ => Vec::new(),
        };
        emit(FlowEvent::Server(event));
        for step in steps {
            if !completed.with_untracked(|c| c.contains(&step)) {
                mark_done(step, StepStatus::Completed);
            }
        }
    };
    // Whether the stream is open (then progress is not polled).
    let stream_open = StoredValue::new(false);
    #[cfg(not(feature = "ssr"))]
    {
        use crate::server_events::browser::{self, Note};
        let deliver: browser::Sink = Rc::new(move |note: &Note| match note {
            Note::State(now) => {
                stream_open.set_value(*now == crate::server_events::StreamState::Open)
            }
            Note::Event { kind, data, .. } => {
                // Only a flow's progress is read here (the other kinds' code stays out).
                if let Some(event) = StreamEvent::progress_from_fields(kind, *data) {
                    on_server_event(event);
                }
            }
        });
        browser::follow(
            move || events_at.get(),
            with_credentials,
            Duration::from_secs(1),
            deliver,
        );
    }
    #[cfg(feature = "ssr")]
    let _ = (on_server_event, with_credentials);
    // Follows the stream `answer` names (or the app's), unless one is open already.
    let follow = move |answer: Option<&str>| {
        if stream_open.get_value() {
            return;
        }
        // The answer's URL is absolute for an endpoint (made so where the answer arrived);
        // a fetcher's is taken as its backend gave it (a path is the page's origin's).
        let wanted = events_url.get_value().or_else(|| answer.map(str::to_owned));
        if wanted.is_some() && wanted != events_at.get_untracked() {
            events_at.set(wanted);
        }
    };

    // Asks the server for progress; steps it knows of but we missed are reported.
    let confirm = move || {
        let Some(current) = flow.get_untracked() else {
            return;
        };
        let generation_now = generation.get_value();
        let source = source.get_value();
        spawn_local(async move {
            let Some(Ok(server)) = source.retrieve(current.id.clone()).await else {
                return;
            };
            if generation.try_get_value() != Some(generation_now) {
                return;
            }
            // A stream that failed for good (an expired token, say) gets the fresh URL.
            follow(server.events.as_deref());
            let missed: Vec<StepName> = server
                .completed_steps
                .iter()
                .filter(|s| !completed.with_untracked(|c| c.contains(s)))
                .cloned()
                .collect();
            emit(FlowEvent::ServerConfirmed {
                completed_steps: server.completed_steps.clone(),
            });
            for step in missed {
                mark_done(step, StepStatus::Completed);
            }
        });
    };

    let request_for = move |steps: Vec<Step>| {
        let mut request = StartFlowRequest::new(steps);
        request.metadata = metadata.get_value();
        request.require_auth = require_auth.then_some(true);
        request.hide_go_to_dashboard_on_complete = hide_go_to_dashboard_on_complete.then_some(true);
        request
    };

    // Puts a fetched flow in place and arms its timers.
    let install = move |(new_flow, link_origin): (BrowserFlow, String),
                        generation_now: u64,
                        refreshed: bool| {
        timers.update_value(Timers::clear);
        status.set(FlowStatus::Loading);
        if refreshed {
            emit(FlowEvent::LinkRefreshed {
                id: new_flow.id.clone(),
            });
        } else {
            all_steps.set(new_flow.steps.clone());
            completed.set(new_flow.completed_steps.clone());
            emit(FlowEvent::Created {
                id: new_flow.id.clone(),
                link: new_flow.link.clone(),
            });
        }
        // When the link expires by this browser's clock: counted from now with `expires_in`
        // (immune to a clock minutes off the server's), else read from `expires_at`.
        let now = js_sys::Date::now();
        let expires = match new_flow.expires_in {
            Some(seconds) => Some(now + seconds as f64 * 1000.0),
            None => new_flow
                .expires_at
                .as_deref()
                .map(js_sys::Date::parse)
                .filter(|ms| ms.is_finite()),
        };
        expires_ms.set_value(expires);
        origin.set_value(Some(link_origin));
        flow_ids.update_value(|ids| ids.push(new_flow.id.clone()));
        follow(new_flow.events.as_deref());
        flow.set(Some(new_flow));
        let load = set_timeout_with_handle(
            move || {
                if generation.try_get_value() == Some(generation_now)
                    && status.get_untracked() == FlowStatus::Loading
                {
                    fail(FlowError::FrameTimeout);
                }
            },
            load_timeout,
        )
        .ok();
        let confirm_timer = confirm_interval.and_then(|every| {
            set_interval_with_handle(
                move || {
                    // Only while the server's stream is not open: it confirms at once.
                    if generation.try_get_value() == Some(generation_now)
                        && status.get_untracked() == FlowStatus::Ready
                        && !stream_open.get_value()
                    {
                        confirm();
                    }
                },
                every,
            )
            .ok()
        });
        // Due `refresh_margin` before expiry, but never sooner than 1 s after arrival (or at
        // expiry, if that is sooner): a backend handing out short-lived links cannot start a
        // tight refresh loop. A link already expired on arrival says more about this
        // browser's clock than about the link: no timer at all.
        let due = expires.filter(|at| *at > now).map(|at| {
            (at - refresh_margin.as_millis() as f64)
                .max(now + 1000.0)
                .min(at)
        });
        due_at.set_value(due);
        let refresh_timer = due.and_then(|due| arm_due(due, generation, generation_now, refresh));
        timers.update_value(|t| {
            t.load = load;
            t.confirm = confirm_timer;
            t.refresh = refresh_timer;
        });
    };

    // A pre-authenticated link is due for a fresh one (for the steps not yet done; completed
    // steps are kept). What the user typed is never lost: the frame is swapped only while it
    // shows no step in progress — before it shows, at a step boundary, or right after it
    // (re)loaded. While it shows a step, a due link waits for one of those.
    // (A plain function called by timers and messages, not a signal watched by an effect.)
    refresh.set_value(Some(Rc::new(move |generation_now, why: Refresh| {
        let current = status.get_untracked();
        if why == Refresh::Due && current != FlowStatus::Loading {
            // Showing a step (or finished): wait for a boundary or a reload.
            return;
        }
        let remaining: Vec<Step> = steps
            .get_untracked()
            .into_iter()
            .filter(|s| !completed.with_untracked(|c| c.contains(&s.name)))
            .collect();
        if remaining.is_empty() {
            return;
        }
        fetch_flow(
            source,
            generation,
            generation_now,
            request_for(remaining),
            move |result| match result {
                Ok(fetched) => install(fetched, generation_now, true),
                Err(_) => {
                    let expired = expires_ms
                        .get_value()
                        .is_some_and(|at| js_sys::Date::now() >= at);
                    if why == Refresh::Boundary || !expired {
                        // The frame just posted (it is alive), or its link still works: keep
                        // it (still due), and try again at the next chance (at the latest,
                        // at expiry).
                        if let Some(at) = expires_ms.get_value().filter(|_| !expired) {
                            let retry = arm_due(at, generation, generation_now, refresh);
                            timers.update_value(|t| {
                                if let Some(old) = std::mem::replace(&mut t.refresh, retry) {
                                    old.clear();
                                }
                            });
                        }
                        return;
                    }
                    timers.update_value(Timers::clear);
                    status.set(FlowStatus::Expired);
                    if let Some(cb) = on_expired {
                        cb.run(());
                    }
                    emit(FlowEvent::Expired);
                }
            },
        );
    })));
    let refresh_now = move |why: Refresh| {
        if let Some(refresh) = refresh.try_get_value().flatten() {
            refresh(generation.get_value(), why);
        }
    };

    // Starts over: a fresh flow for `requested` (generation `generation_now`).
    let begin = move |requested: Vec<Step>, generation_now: u64| {
        timers.update_value(Timers::clear);
        status.set(FlowStatus::Loading);
        error.set(None);
        flow.set(None);
        origin.set_value(None);
        flow_ids.update_value(Vec::clear);
        completed.set(Vec::new());
        all_steps.set(Vec::new());

        let request = request_for(requested);
        if let Err(err) = request.validate() {
            fail(FlowError::InvalidSteps(err));
            return;
        }
        fetch_flow(
            source,
            generation,
            generation_now,
            request,
            move |result| match result {
                Ok(fetched) => install(fetched, generation_now, false),
                Err(err) => fail(err),
            },
        );
    };
    // The first request goes out now, as a resource's would, not from the effect below: an
    // effect runs only once the view is built and mounted, and every millisecond of that is
    // better spent with the request already on the network. (Not on the server: no network
    // there; not for an adopted flow.)
    #[cfg(not(feature = "ssr"))]
    let mut started = !adopting && {
        generation.set_value(1);
        untrack(|| begin(steps.get_untracked(), 1));
        true
    };
    #[cfg(feature = "ssr")]
    let mut started = false;

    // Fetch a flow when the steps change and on retry (and on mount, if not yet done). Effects
    // never run on the server, so SSR builds do not touch the network or `window`.
    Effect::new(move |_| {
        let requested = steps.get();
        attempt.track();
        if std::mem::take(&mut started) {
            // The first run: its request is already on its way.
            return;
        }
        let generation_now = generation.get_value() + 1;
        generation.set_value(generation_now);
        let adopted = std::mem::take(&mut adopt)
            .then(|| Some((flow.get_untracked()?, origin.get_value()?)))
            .flatten();
        if let Some(adopted) = adopted {
            // The frame may already be loading (server-rendered), or even have reported its
            // height: keep it as it is, and arm its timers.
            let ready = status.get_untracked() == FlowStatus::Ready;
            install(adopted, generation_now, false);
            if ready {
                if let Some(t) = timers.try_update_value(|t| t.load.take()).flatten() {
                    t.clear();
                }
                status.set(FlowStatus::Ready);
            }
            return;
        }
        begin(requested, generation_now);
    });

    let on_message = move |event: web_sys::MessageEvent| {
        // Cheapest test first: most messages on a page come from elsewhere.
        let sender = event.origin();
        let Some(expected) = origin.try_get_value().flatten() else {
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
                if status.get_untracked() == FlowStatus::Loading {
                    // The frame shows: from now on its reloads are watched (an `onload`
                    // property, not a listener to remove: it goes with the element).
                    #[cfg(not(feature = "ssr"))]
                    if let Some(f) = onload.try_get_value().flatten() {
                        use wasm_bindgen::JsCast;
                        frame.set_onload(Some(f.unchecked_ref()));
                    }
                }
                check_ready();
            }
            FlowMessage::Step {
                step,
                status: step_status,
            } => {
                // A step the flow keeps showing once done (`hide_continue_button`) is no
                // boundary: swapping the frame would move the user on.
                let stays = steps.with_untracked(|s| {
                    s.iter()
                        .any(|s| s.name == step && s.options.hide_continue_button == Some(true))
                });
                let boundary = step_status.is_done() && !stays;
                mark_done(step, step_status);
                confirm();
                if boundary && is_due() && status.get_untracked() == FlowStatus::Ready {
                    refresh_now(Refresh::Boundary);
                }
            }
            FlowMessage::Other(value) => emit(FlowEvent::Unknown(value)),
            _ => {}
        }
    };
    // The frame (re)loaded: nothing is in progress in it, so a due link is swapped now
    // (an expired link's page would show an error; e.g. after a re-theme past the expiry).
    let on_frame_load = move || {
        if is_due() {
            refresh_now(Refresh::Reload);
        }
    };
    // On the server there is no window: nothing to listen to (leptos-use's pattern).
    #[cfg(not(feature = "ssr"))]
    {
        // A server-made flow may have posted before this listener existed (the page's early
        // listener kept those): replay the ones from this frame once it is in place (an
        // effect runs after the view is built, and after the adopting effect above).
        if adopting {
            let mark = crate::early::mark();
            Effect::new(move |_| {
                for event in crate::early::held(mark) {
                    on_message(event);
                }
            });
        }
        let listener = window_event_listener(leptos::ev::message, on_message);
        on_cleanup(move || {
            listener.remove();
            timers.try_update_value(Timers::clear);
        });
        let f = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(on_frame_load).into_js_value();
        onload.set_value(Some(f));
    }
    // On the server nothing runs after this (no effect, timer or message), and a server may
    // drop a page's owner on another thread than the one that rendered it: the values kept in
    // thread-local storage go now, on this thread (dropping them elsewhere panics).
    #[cfg(feature = "ssr")]
    {
        let _ = (on_message, on_frame_load, adopting);
        refresh.dispose();
        timers.dispose();
        onload.dispose();
    }

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
