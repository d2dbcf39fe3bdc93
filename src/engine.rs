//! The component's engine: everything `use_dots_flow` (the Leptos hook) does (getting the
//! flow, listening to its frame, timers, link refresh, the server's event stream), with no UI
//! framework. The Leptos hook mirrors its [`Change`]s into signals; the `<dots-flow>` custom
//! element renders them into its shadow root without Leptos, so a page that is not a Leptos app
//! does not pay for Leptos' reactive system and renderer. Browser only (not in `ssr` builds).

use dots_api::{
    BrowserFlow, FlowId, FlowMessage, StartFlowRequest, Step, StepName, StepStatus, StreamEvent,
    ValidationError,
};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlIFrameElement, MessageEvent};

use crate::events::{FlowError, FlowEvent, FlowStatus, StepCompleted};
use crate::link::{Credentials, FlowSource};
use crate::markup::{DEFAULT_HEIGHT, HEIGHT_TOLERANCE};
use crate::messages;
use crate::stream::{self as browser, StreamState};
use crate::timer::{set_interval, set_timeout, Interval, Timeout};

/// What the engine is told once (a new engine for other settings): the flow's options.
pub type EngineOptions = crate::options::FlowOptions;

/// What changed, in the order it happened; a renderer applies each to its view.
#[derive(Clone, Debug)]
pub enum Change {
    /// The status.
    Status(FlowStatus),
    /// The current flow (`None` while a new one is asked for).
    Flow(Option<BrowserFlow>),
    /// The frame's height (clamped, tolerant of small changes).
    Height(f64),
    /// The last error (`None` once starting over).
    Error(Option<FlowError>),
    /// The steps completed so far.
    Completed(Vec<StepName>),
    /// An event for the app (in the order the component's callbacks get them).
    Event(FlowEvent),
    /// Every step is complete: the flow with all its steps (after
    /// [`FlowEvent::FlowCompleted`]).
    Finished(BrowserFlow),
}

/// Timers of one flow, cleared together.
#[derive(Default)]
struct Timers {
    load: Option<Timeout>,
    refresh: Option<Timeout>,
    confirm: Option<Interval>,
    /// After a step boundary, for a flow that told its height once only.
    quiet: Option<Timeout>,
}

impl Timers {
    fn clear(self) {
        if let Some(t) = self.load {
            t.clear();
        }
        if let Some(t) = self.refresh {
            t.clear();
        }
        if let Some(t) = self.confirm {
            t.clear();
        }
        if let Some(t) = self.quiet {
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

/// Everything that changes, in one place (no borrow of it is ever held while the renderer or
/// the app is told something: they may call back in).
#[derive(Default)]
struct State {
    steps: Vec<Step>,
    status: FlowStatus,
    flow: Option<BrowserFlow>,
    /// The origin messages must come from: the current link's.
    origin: Option<String>,
    height: f64,
    /// `{height}` messages of the current frame (see [`grow_if_silent`]).
    heights_heard: u32,
    completed: Vec<StepName>,
    /// All steps of the flow as first created (a refreshed link covers only what remains).
    all_steps: Vec<StepName>,
    /// Bumped by each start: answers and timers of an older start are ignored.
    generation: u64,
    /// The link's expiry and when it is due for a fresh one (ms since the epoch, by this
    /// browser's clock). Due is read from the wall clock, not only from the timer: timers lag
    /// behind a laptop's sleep, the clock does not.
    expires_ms: Option<f64>,
    due_at: Option<f64>,
    timers: Timers,
    /// The flows the server's stream may speak of: the current one and those it replaced.
    flow_ids: Vec<FlowId>,
    /// The stream followed, and whether it is open (then progress is not polled).
    events_at: Option<String>,
    stream_open: bool,
    /// A flow given at creation, not yet adopted.
    initial: Option<(BrowserFlow, String)>,
}

struct Inner {
    options: EngineOptions,
    frame: Box<dyn Fn() -> Option<HtmlIFrameElement>>,
    sink: Box<dyn Fn(Change)>,
    state: RefCell<State>,
    listener: Closure<dyn FnMut(MessageEvent)>,
    /// What the frame's `onload` calls.
    onload: JsValue,
    stream: browser::Follower,
}

/// The engine of one embedded flow (a handle: clones share it). It stops (listeners, timers,
/// stream) once the last handle is dropped.
#[derive(Clone)]
pub struct FlowEngine(Rc<Inner>);

impl FlowEngine {
    /// An engine that tells `sink` what changes and reads messages from the frame `frame`
    /// returns. `initial` is a flow already created (framed by [`FlowEngine::adopt`]). Listens
    /// to the page's messages from now on; nothing is asked for until `start` or `adopt`.
    pub fn new(
        options: EngineOptions,
        initial: Option<BrowserFlow>,
        frame: impl Fn() -> Option<HtmlIFrameElement> + 'static,
        sink: impl Fn(Change) + 'static,
    ) -> Self {
        let with_credentials = matches!(
            options.source,
            FlowSource::Endpoint {
                credentials: Credentials::Include,
                ..
            }
        );
        let initial = initial.and_then(|f| Some((messages::link_origin(&f.link)?, f)));
        let inner = Rc::new_cyclic(|me: &Weak<Inner>| {
            let on_message = me.clone();
            let on_load = me.clone();
            let on_note = me.clone();
            let deliver: browser::Sink = Rc::new(move |note: &browser::Note| {
                let Some(inner) = on_note.upgrade() else {
                    return;
                };
                match note {
                    browser::Note::State(now) => {
                        inner.state.borrow_mut().stream_open = *now == StreamState::Open
                    }
                    browser::Note::Event { kind, data, .. } => {
                        // Only a flow's progress is read here (the other kinds' code stays out).
                        if let Some(event) = StreamEvent::progress_from_fields(kind, *data) {
                            on_server_event(&inner, event);
                        }
                    }
                }
            });
            let mut state = State {
                height: DEFAULT_HEIGHT,
                ..State::default()
            };
            if let Some((origin, flow)) = &initial {
                state.all_steps = flow.steps.clone();
                state.completed = flow.completed_steps.clone();
                state.origin = Some(origin.clone());
                state.flow = Some(flow.clone());
            }
            state.initial = initial.map(|(origin, flow)| (flow, origin));
            Inner {
                frame: Box::new(frame),
                sink: Box::new(sink),
                state: RefCell::new(state),
                listener: Closure::new(move |event| {
                    if let Some(inner) = on_message.upgrade() {
                        handle_message(&inner, event);
                    }
                }),
                onload: Closure::<dyn FnMut()>::new(move || {
                    if let Some(inner) = on_load.upgrade() {
                        if is_due(&inner) {
                            let generation = inner.state.borrow().generation;
                            refresh(&inner, generation, Refresh::Reload);
                        }
                    }
                })
                .into_js_value(),
                stream: browser::Follower::new(with_credentials, Duration::from_secs(1), deliver),
                options,
            }
        });
        {
            let mut state = inner.state.borrow_mut();
            state.height = clamp(&inner, DEFAULT_HEIGHT);
        }
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback(
                "message",
                inner.listener.as_ref().unchecked_ref(),
            );
        }
        FlowEngine(inner)
    }

    /// The frame's height before the flow reports one (the default, clamped).
    pub fn height(&self) -> f64 {
        self.0.state.borrow().height
    }

    /// Starts over with a fresh flow for `steps` (validated first: invalid steps are an
    /// error, and no request is made).
    pub fn start(&self, steps: Vec<Step>) {
        let generation = {
            let mut state = self.0.state.borrow_mut();
            state.initial = None;
            state.generation += 1;
            state.generation
        };
        begin(&self.0, steps, generation);
    }

    /// Frames the flow given at creation (for `steps`) instead of asking for one: the frame
    /// may already be loading (server-rendered), or have reported its height. Returns
    /// whether there was one.
    pub fn adopt(&self, steps: Vec<Step>) -> bool {
        let (adopted, generation, ready) = {
            let mut state = self.0.state.borrow_mut();
            let Some(adopted) = state.initial.take() else {
                return false;
            };
            state.generation += 1;
            state.steps = steps;
            (adopted, state.generation, state.status == FlowStatus::Ready)
        };
        install(&self.0, adopted, generation, false);
        if ready {
            let load = self.0.state.borrow_mut().timers.load.take();
            if let Some(t) = load {
                t.clear();
            }
            set_status(&self.0, FlowStatus::Ready);
        }
        true
    }

    /// Handles a `message` event as if the page's listener heard it (for messages kept
    /// before the engine existed: a server-rendered page's early listener).
    pub fn handle_message(&self, event: MessageEvent) {
        handle_message(&self.0, event);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        std::mem::take(&mut self.state.get_mut().timers).clear();
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "message",
                self.listener.as_ref().unchecked_ref(),
            );
        }
    }
}

fn tell(inner: &Inner, change: Change) {
    (inner.sink)(change);
}

fn event(inner: &Inner, event: FlowEvent) {
    tell(inner, Change::Event(event));
}

fn clamp(inner: &Inner, height: f64) -> f64 {
    // `max`/`min` rather than `f64::clamp`: clamp's panic message would pull float
    // formatting into every app's wasm.
    let min = inner.options.min_height.max(0.0);
    let max = inner.options.max_height.max(min);
    height.max(min).min(max)
}

fn status(inner: &Inner) -> FlowStatus {
    inner.state.borrow().status
}

fn set_status(inner: &Inner, status: FlowStatus) {
    inner.state.borrow_mut().status = status;
    tell(inner, Change::Status(status));
}

fn current(inner: &Inner, generation: u64) -> bool {
    inner.state.borrow().generation == generation
}

fn clear_timers(inner: &Inner) {
    let timers = std::mem::take(&mut inner.state.borrow_mut().timers);
    timers.clear();
}

fn is_due(inner: &Inner) -> bool {
    let due = inner.state.borrow().due_at;
    due.is_some_and(|due| js_sys::Date::now() >= due)
}

/// A step the flow keeps showing once done (`hide_continue_button`).
fn stays(steps: &[Step], step: &StepName) -> bool {
    steps
        .iter()
        .any(|s| s.name == *step && s.options.hide_continue_button == Some(true))
}

fn fail(inner: &Inner, err: FlowError) {
    clear_timers(inner);
    set_status(inner, FlowStatus::Error);
    tell(inner, Change::Error(Some(err.clone())));
    event(inner, FlowEvent::Error(err));
}

/// Ready is the first `{height}` from this frame: the flow posts it once its page is up. (The
/// iframe's `load` event proves less — an error page loads too.)
fn check_ready(inner: &Inner) {
    let load = {
        let mut state = inner.state.borrow_mut();
        if state.status != FlowStatus::Loading {
            return;
        }
        state.timers.load.take()
    };
    if let Some(t) = load {
        t.clear();
    }
    set_status(inner, FlowStatus::Ready);
    event(inner, FlowEvent::Ready);
}

/// Marks a step done; reports the step, and the flow, exactly once each.
fn mark_done(inner: &Inner, step: StepName, step_status: StepStatus) {
    // Heard already (the server's stream and the frame both tell of a step, in either order):
    // reported once. Except a step the flow keeps on screen once done: the user may finish it
    // again (save other payout methods), and each time is news.
    let (known, keeps) = {
        let state = inner.state.borrow();
        (state.completed.contains(&step), stays(&state.steps, &step))
    };
    if known && !keeps {
        return;
    }
    event(
        inner,
        FlowEvent::StepCompleted(StepCompleted {
            step: step.clone(),
            status: step_status.clone(),
        }),
    );
    if !step_status.is_done() {
        return;
    }
    let (completed, finished) = {
        let mut state = inner.state.borrow_mut();
        if state.completed.contains(&step) {
            return;
        }
        state.completed.push(step);
        // Every step asked for: the sign-in step (under any of Dots' names for it) and steps
        // this version does not know are reported, never counted, never waited for.
        let all_done = StepName::all_done(&state.all_steps, &state.completed);
        let finished = (all_done && state.status != FlowStatus::Completed).then(|| {
            state.flow.clone().map(|mut flow| {
                flow.steps = state.all_steps.clone();
                flow.completed_steps = state.completed.clone();
                flow
            })
        });
        (state.completed.clone(), finished)
    };
    tell(inner, Change::Completed(completed));
    let Some(finished) = finished else {
        return;
    };
    clear_timers(inner);
    follow_stream(inner, None);
    set_status(inner, FlowStatus::Completed);
    if let Some(flow) = finished {
        event(
            inner,
            FlowEvent::FlowCompleted {
                id: flow.id.clone(),
            },
        );
        tell(inner, Change::Finished(flow));
    }
}

/// The server confirms a step of this flow: reported at once, unless already known.
fn on_server_event(inner: &Inner, server: StreamEvent) {
    let (ours, open) = {
        let state = inner.state.borrow();
        (
            server
                .flow_id()
                .is_some_and(|id| state.flow_ids.contains(id)),
            matches!(state.status, FlowStatus::Loading | FlowStatus::Ready),
        )
    };
    if !ours || !open {
        return;
    }
    let steps = match &server {
        StreamEvent::StepCompleted { step, .. } => vec![step.clone()],
        StreamEvent::FlowCompleted {
            completed_steps, ..
        } => completed_steps.clone(),
        _ => Vec::new(),
    };
    event(inner, FlowEvent::Server(server));
    for step in steps {
        let known = inner.state.borrow().completed.contains(&step);
        if !known {
            mark_done(inner, step, StepStatus::Completed);
        }
    }
}

/// Follows `url` (none: stops following).
fn follow_stream(inner: &Inner, url: Option<String>) {
    inner.state.borrow_mut().events_at = url.clone();
    inner.stream.set_url(url);
}

/// Follows the stream `answer` names (or the app's), unless one is open already.
fn follow(inner: &Inner, answer: Option<&str>) {
    let wanted = {
        let state = inner.state.borrow();
        if state.stream_open {
            return;
        }
        // The answer's URL is absolute for an endpoint (made so where the answer arrived); a
        // fetcher's is taken as its backend gave it (a path is the page's origin's).
        let wanted = inner
            .options
            .events_url
            .clone()
            .or_else(|| answer.map(str::to_owned));
        if wanted.is_none() || wanted == state.events_at {
            return;
        }
        wanted
    };
    follow_stream(inner, wanted);
}

/// Asks the server for progress; steps it knows of but we missed are reported.
fn confirm(inner: &Rc<Inner>) {
    let (id, generation) = {
        let state = inner.state.borrow();
        let Some(flow) = &state.flow else {
            return;
        };
        (flow.id.clone(), state.generation)
    };
    let source = inner.options.source.clone();
    let me = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        let Some(Ok(server)) = source.retrieve(id).await else {
            return;
        };
        let Some(inner) = me.upgrade().filter(|inner| current(inner, generation)) else {
            return;
        };
        // A stream that failed for good (an expired token, say) gets the fresh URL.
        follow(&inner, server.events.as_deref());
        let missed: Vec<StepName> = {
            let state = inner.state.borrow();
            server
                .completed_steps
                .iter()
                .filter(|s| !state.completed.contains(s))
                .cloned()
                .collect()
        };
        event(
            &inner,
            FlowEvent::ServerConfirmed {
                completed_steps: server.completed_steps,
            },
        );
        for step in missed {
            mark_done(&inner, step, StepStatus::Completed);
        }
    });
}

fn request_for(inner: &Inner, steps: Vec<Step>) -> StartFlowRequest {
    let options = &inner.options;
    let mut request = StartFlowRequest::new(steps);
    // `null` is no metadata (an optional prop given `None` arrives as `Value::Null`).
    request.metadata = options.metadata.clone().filter(|m| !m.is_null());
    request.require_auth = options.require_auth.then_some(true);
    request.hide_go_to_dashboard_on_complete =
        options.hide_go_to_dashboard_on_complete.then_some(true);
    request
}

/// Asks the source for a flow and hands it to `then` with its link's origin (where the frame's
/// messages must come from), unless a newer start superseded this one or the engine is gone.
/// A link that is not an absolute http(s) URL is an error, so it never reaches the iframe.
fn fetch_flow(
    inner: &Rc<Inner>,
    generation: u64,
    request: StartFlowRequest,
    then: impl FnOnce(&Rc<Inner>, Result<(BrowserFlow, String), FlowError>) + 'static,
) {
    let source = inner.options.source.clone();
    let me = Rc::downgrade(inner);
    wasm_bindgen_futures::spawn_local(async move {
        let result =
            source
                .create(request)
                .await
                .and_then(|flow| match messages::link_origin(&flow.link) {
                    Some(origin) => Ok((flow, origin)),
                    None => Err(FlowError::InvalidLink(flow.link)),
                });
        if let Some(inner) = me.upgrade().filter(|inner| current(inner, generation)) {
            then(&inner, result);
        }
    });
}

/// Arms a timer that refreshes the link at `at` (ms since the epoch).
fn arm_due(inner: &Rc<Inner>, at: f64, generation: u64) -> Option<Timeout> {
    let me = Rc::downgrade(inner);
    let wait = (at - js_sys::Date::now()).max(0.0);
    set_timeout(
        move || {
            if let Some(inner) = me.upgrade().filter(|inner| current(inner, generation)) {
                refresh(&inner, generation, Refresh::Due);
            }
        },
        Duration::from_millis(wait as u64),
    )
}

/// Puts a fetched flow in place and arms its timers.
fn install(inner: &Rc<Inner>, fetched: (BrowserFlow, String), generation: u64, refreshed: bool) {
    let (flow, origin) = fetched;
    clear_timers(inner);
    set_status(inner, FlowStatus::Loading);
    if refreshed {
        event(
            inner,
            FlowEvent::LinkRefreshed {
                id: flow.id.clone(),
            },
        );
    } else {
        {
            let mut state = inner.state.borrow_mut();
            state.all_steps = flow.steps.clone();
            state.completed = flow.completed_steps.clone();
        }
        tell(inner, Change::Completed(flow.completed_steps.clone()));
        event(
            inner,
            FlowEvent::Created {
                id: flow.id.clone(),
                link: flow.link.clone(),
            },
        );
    }
    // When the link expires by this browser's clock: counted from now with `expires_in`
    // (immune to a clock minutes off the server's), else read from `expires_at`.
    let now = js_sys::Date::now();
    let expires = match flow.expires_in {
        Some(seconds) => Some(now + seconds as f64 * 1000.0),
        None => flow
            .expires_at
            .as_deref()
            .map(js_sys::Date::parse)
            .filter(|ms| ms.is_finite()),
    };
    {
        let mut state = inner.state.borrow_mut();
        state.expires_ms = expires;
        state.origin = Some(origin);
        state.flow_ids.push(flow.id.clone());
    }
    follow(inner, flow.events.as_deref());
    inner.state.borrow_mut().flow = Some(flow.clone());
    tell(inner, Change::Flow(Some(flow)));

    let me = Rc::downgrade(inner);
    let load = set_timeout(
        move || {
            if let Some(inner) = me.upgrade().filter(|inner| current(inner, generation)) {
                if status(&inner) == FlowStatus::Loading {
                    fail(&inner, FlowError::FrameTimeout);
                }
            }
        },
        inner.options.load_timeout,
    );
    let me = Rc::downgrade(inner);
    let confirm_timer = inner.options.confirm_interval.and_then(|every| {
        set_interval(
            move || {
                // Only while the server's stream is not open: it confirms at once.
                if let Some(inner) = me.upgrade().filter(|inner| current(inner, generation)) {
                    let quiet = {
                        let state = inner.state.borrow();
                        state.status == FlowStatus::Ready && !state.stream_open
                    };
                    if quiet {
                        confirm(&inner);
                    }
                }
            },
            every,
        )
    });
    // Due `refresh_margin` before expiry, but never sooner than 1 s after arrival (or at
    // expiry, if that is sooner): a backend handing out short-lived links cannot start a tight
    // refresh loop. A link already expired on arrival says more about this browser's clock
    // than about the link: no timer at all.
    let margin = inner.options.refresh_margin.as_millis() as f64;
    let due = expires
        .filter(|at| *at > now)
        .map(|at| (at - margin).max(now + 1000.0).min(at));
    let refresh_timer = due.and_then(|due| arm_due(inner, due, generation));
    let mut state = inner.state.borrow_mut();
    state.due_at = due;
    state.heights_heard = 0;
    state.timers = Timers {
        load,
        refresh: refresh_timer,
        confirm: confirm_timer,
        quiet: None,
    };
}

/// How long after a step boundary a flow that told its height once only gets to tell a new
/// one before the frame grows.
const QUIET_AFTER_BOUNDARY: Duration = Duration::from_millis(800);

/// Dots' guide says a flow posts `{height}` when it first loads; some flows never post it
/// again, so a short first page (sign-in) would leave a tall next one (the W-9 form) in a
/// short frame. A flow that told its height once and is silent after a step boundary gets a
/// frame as tall as the window (within `min_height`/`max_height`), never shorter than before:
/// the page scrolls inside it, and every field stays in reach.
fn grow_if_silent(inner: &Rc<Inner>) {
    let generation = {
        let state = inner.state.borrow();
        if state.heights_heard != 1 || state.status != FlowStatus::Ready {
            return;
        }
        state.generation
    };
    let me = Rc::downgrade(inner);
    let timer = set_timeout(
        move || {
            let Some(inner) = me.upgrade().filter(|inner| current(inner, generation)) else {
                return;
            };
            let window = web_sys::window()
                .and_then(|w| w.inner_height().ok())
                .and_then(|h| h.as_f64())
                .unwrap_or(0.0);
            let next = {
                let mut state = inner.state.borrow_mut();
                if state.heights_heard != 1 {
                    return;
                }
                let next = clamp(&inner, window.max(state.height));
                if next - state.height < HEIGHT_TOLERANCE {
                    return;
                }
                state.height = next;
                next
            };
            tell(&inner, Change::Height(next));
        },
        QUIET_AFTER_BOUNDARY,
    );
    if let Some(old) = std::mem::replace(&mut inner.state.borrow_mut().timers.quiet, timer) {
        old.clear();
    }
}

/// A pre-authenticated link is due for a fresh one (for the steps not yet done; completed
/// steps are kept). What the user typed is never lost: the frame is swapped only while it
/// shows no step in progress — before it shows, at a step boundary, or right after it
/// (re)loaded. While it shows a step, a due link waits for one of those.
fn refresh(inner: &Rc<Inner>, generation: u64, why: Refresh) {
    let remaining: Vec<Step> = {
        let state = inner.state.borrow();
        if why == Refresh::Due && state.status != FlowStatus::Loading {
            // Showing a step (or finished): wait for a boundary or a reload.
            return;
        }
        state
            .steps
            .iter()
            .filter(|s| !state.completed.contains(&s.name))
            .cloned()
            .collect()
    };
    if remaining.is_empty() {
        return;
    }
    let request = request_for(inner, remaining);
    fetch_flow(
        inner,
        generation,
        request,
        move |inner, result| match result {
            Ok(fetched) => install(inner, fetched, generation, true),
            Err(_) => {
                let expires = inner.state.borrow().expires_ms;
                let expired = expires.is_some_and(|at| js_sys::Date::now() >= at);
                if why == Refresh::Boundary || !expired {
                    // The frame just posted (it is alive), or its link still works: keep it (still
                    // due), and try again at the next chance (at the latest, at expiry).
                    if let Some(at) = expires.filter(|_| !expired) {
                        let retry = arm_due(inner, at, generation);
                        let old =
                            std::mem::replace(&mut inner.state.borrow_mut().timers.refresh, retry);
                        if let Some(old) = old {
                            old.clear();
                        }
                    }
                    return;
                }
                clear_timers(inner);
                set_status(inner, FlowStatus::Expired);
                event(inner, FlowEvent::Expired);
            }
        },
    );
}

/// Dots' rules for a request, with the metadata's size measured as the browser writes it. What
/// the browser cannot write exactly (a whole number beyond 2^53) is refused here, naming the
/// field, rather than changed on the way.
fn validate(request: &StartFlowRequest) -> Result<(), ValidationError> {
    let written = match &request.metadata {
        Some(metadata) => Some(
            crate::json::to_text(metadata)
                .ok_or_else(|| ValidationError::new("metadata", crate::json::UNWRITABLE))?,
        ),
        None => None,
    };
    request.validate_with(|_| written.as_ref().map_or(0, String::len))
}

/// Starts over: a fresh flow for `requested` (start `generation`).
fn begin(inner: &Rc<Inner>, requested: Vec<Step>, generation: u64) {
    clear_timers(inner);
    {
        let mut state = inner.state.borrow_mut();
        state.steps = requested.clone();
        state.flow = None;
        state.origin = None;
        state.flow_ids.clear();
        state.completed.clear();
        state.all_steps.clear();
    }
    set_status(inner, FlowStatus::Loading);
    tell(inner, Change::Error(None));
    tell(inner, Change::Flow(None));
    tell(inner, Change::Completed(Vec::new()));
    let request = request_for(inner, requested);
    if let Err(err) = validate(&request) {
        fail(inner, FlowError::InvalidSteps(err));
        return;
    }
    fetch_flow(
        inner,
        generation,
        request,
        move |inner, result| match result {
            Ok(fetched) => install(inner, fetched, generation, false),
            Err(err) => fail(inner, err),
        },
    );
}

fn handle_message(inner: &Rc<Inner>, event: MessageEvent) {
    // Cheapest test first: most messages on a page come from elsewhere.
    let sender = event.origin();
    let expected = inner.state.borrow().origin.clone();
    let Some(expected) = expected.filter(|expected| *expected == sender) else {
        return;
    };
    let Some(frame) = (inner.frame)() else {
        return;
    };
    let Some(message) = messages::accept(&event, &expected, &frame) else {
        return;
    };
    match message {
        FlowMessage::Height(reported) => {
            self::event(inner, FlowEvent::Height(reported));
            let next = clamp(inner, reported);
            let (changed, loading) = {
                let mut state = inner.state.borrow_mut();
                state.heights_heard = state.heights_heard.saturating_add(1);
                let changed = (next - state.height).abs() >= HEIGHT_TOLERANCE;
                if changed {
                    state.height = next;
                }
                (changed, state.status == FlowStatus::Loading)
            };
            if changed {
                tell(inner, Change::Height(next));
            }
            if loading {
                // The frame shows: from now on its reloads are watched (an `onload` property,
                // not a listener to remove: it goes with the element).
                frame.set_onload(Some(inner.onload.unchecked_ref()));
            }
            check_ready(inner);
        }
        FlowMessage::Step {
            step,
            status: step_status,
        } => {
            // A step the flow keeps showing once done is no boundary: swapping the frame would
            // move the user on.
            let boundary = step_status.is_done() && !stays(&inner.state.borrow().steps, &step);
            let done = step_status.is_done();
            mark_done(inner, step, step_status);
            if done {
                grow_if_silent(inner);
            }
            confirm(inner);
            if boundary && is_due(inner) && status(inner) == FlowStatus::Ready {
                let generation = inner.state.borrow().generation;
                refresh(inner, generation, Refresh::Boundary);
            }
        }
        FlowMessage::Other(value) => self::event(inner, FlowEvent::Unknown(value)),
        _ => {}
    }
}
