//! `<DotsFlow/>`: the [`use_dots_flow`](crate::use_dots_flow) hook plus its markup — a
//! skeleton while loading, an error panel with a retry button, and the responsive iframe.

use dots_api::{BrowserFlow, FlowStyle, Step};
use leptos::prelude::*;
use std::time::Duration;

use crate::events::{FlowError, FlowEvent, FlowStatus, StepCompleted};
use crate::hook::{flow_state, FlowState, UseDotsFlowOptions};
use crate::link::FlowSource;
use crate::markup;
use crate::options::FlowOptions;

/// Embeds a Dots flow.
///
/// On mount it asks the host backend (by default `POST /api/flows`, answered by the
/// dots-flow proxy) for a flow with `steps`, frames the flow's link, and listens to the
/// messages the flow posts: only those from the link's exact origin *and* from this
/// component's own frame are accepted, so other frames and other instances on the page are
/// ignored. The frame's height follows the flow's `{height}` messages within
/// `min_height..=max_height`. Progress is confirmed by the server as it happens, on the event
/// stream the flow answer names (the proxy's `/api/events`), and after each step message; when
/// no stream is open, every `confirm_interval`: a lost message never loses a completion. A
/// pre-authenticated link is replaced before it expires.
///
/// **Reactive props** (a change applies at once): `steps` (a new flow), `style` (the same
/// flow re-themed: the frame reloads), `title`, `labels`, `class`. **Read once**, when the
/// component mounts: `source`, `flow`, `metadata`, `min_height`, `max_height`,
/// `load_timeout`, `confirm_interval`, `events_url`, `require_auth`,
/// `hide_go_to_dashboard_on_complete`, `status` and the callbacks (a different value needs a
/// new component: key it, or render it again).
///
/// ```no_run
/// use dots_flow::{DotsFlow, FlowError, FlowStyle, Step, StepCompleted, StyleVariable};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Onboarding() -> impl IntoView {
///     let style = FlowStyle::dark().with(StyleVariable::ButtonBackgroundColor, "#7c3aed");
///     let done = RwSignal::new(Vec::<String>::new());
///     view! {
///         <DotsFlow
///             steps=vec![Step::compliance(), Step::manage_payouts()]
///             style=style
///             on_step_complete=move |step: StepCompleted| {
///                 done.update(|d| d.push(step.step.to_string()))
///             }
///             on_error=move |err: FlowError| leptos::logging::warn!("{err}")
///         />
///         <p>"Done: " {move || done.get().join(", ")}</p>
///     }
/// }
/// ```
#[component]
pub fn DotsFlow(
    /// The steps of the flow. Validated before any request; changing them starts a new flow.
    #[prop(into)]
    steps: Signal<Vec<Step>>,
    /// Where to get the flow: a host endpoint URL (default `/api/flows`) or functions.
    #[prop(optional, into)]
    source: Option<FlowSource>,
    /// A flow already created for these steps (the proxy's `BrowserFlow`), e.g. by the server
    /// while it rendered the page: framed at once (in the server's HTML too), no request made.
    /// `source` still confirms progress, refreshes the link and serves retries. Takes a
    /// `BrowserFlow` or an `Option` of one (a server render that could not make one passes
    /// `None`: the component then asks `source` itself).
    #[prop(default = None, into)]
    flow: Option<BrowserFlow>,
    /// Metadata to attach to the flow (a string or an object).
    #[prop(optional, into)]
    metadata: Option<serde_json::Value>,
    /// Flow Styles (theme and variables): appended as `?styles=` and applied to the
    /// component's own chrome. Changing it re-themes the flow (the frame reloads).
    #[prop(optional, into)]
    style: MaybeProp<FlowStyle>,
    /// Lowest height of the frame in CSS pixels (default 240).
    #[prop(optional)]
    min_height: Option<f64>,
    /// Highest height of the frame in CSS pixels (default 4000).
    #[prop(optional)]
    max_height: Option<f64>,
    /// How long the frame may take to report its height before it is an error (default 20 s).
    #[prop(optional)]
    load_timeout: Option<Duration>,
    /// How often to confirm progress with the server while open and no event stream is
    /// (default 10 s).
    #[prop(optional)]
    confirm_interval: Option<Duration>,
    /// The server's event stream to hear progress on (default: the one the flow answer names,
    /// e.g. the proxy's `/api/events`; a custom fetcher's backend may name one in its answer's
    /// `events`, or the app here).
    #[prop(optional, into)]
    events_url: Option<String>,
    /// Make the user sign in to the flow even when the server knows who they are (Dots'
    /// `require_auth`; the link then does not expire). Only ever adds to the server's policy.
    #[prop(optional)]
    require_auth: bool,
    /// Hide the flow's "Go to dashboard" button once it is complete (Dots'
    /// `hide_go_to_dashboard_on_complete`), for apps that take over at the end.
    #[prop(optional)]
    hide_go_to_dashboard_on_complete: bool,
    /// Extra classes for the component's root element.
    #[prop(optional, into)]
    class: MaybeProp<String>,
    /// The frame's accessible title (default: the labels' [`Label::Title`](crate::Label), in
    /// English "Payout setup").
    /// Reactive.
    #[prop(optional, into)]
    title: MaybeProp<String>,
    /// Every text the component shows or announces, and their language (`lang` on the root):
    /// English by default; see [`Labels`](crate::Labels). Reactive: new labels apply at once.
    #[prop(optional, into)]
    labels: MaybeProp<markup::Labels>,
    /// Receives the component's status (loading, ready, completed, expired, error).
    #[prop(optional)]
    status: Option<RwSignal<FlowStatus>>,
    /// Called once the frame has reported its height (the flow is showing).
    #[prop(optional, into)]
    on_ready: Option<Callback<()>>,
    /// Called with each new height the flow reports (before clamping).
    #[prop(optional, into)]
    on_height: Option<Callback<f64>>,
    /// Called when a step finishes (`completed`, or `completed-saved` for manage-payouts).
    #[prop(optional, into)]
    on_step_complete: Option<Callback<StepCompleted>>,
    /// Called once every step of the flow is complete.
    #[prop(optional, into)]
    on_flow_complete: Option<Callback<BrowserFlow>>,
    /// Called when the link expired and could not be refreshed.
    #[prop(optional, into)]
    on_expired: Option<Callback<()>>,
    /// Called when something fails.
    #[prop(optional, into)]
    on_error: Option<Callback<FlowError>>,
    /// Called with every event, including flow messages of undocumented kinds.
    #[prop(optional, into)]
    on_event: Option<Callback<FlowEvent>>,
) -> impl IntoView {
    let defaults = FlowOptions::default();
    let style_signal = Signal::derive(move || style.get());
    let state = flow_state(
        steps,
        UseDotsFlowOptions {
            options: FlowOptions {
                source: source.unwrap_or(defaults.source),
                metadata,
                require_auth,
                hide_go_to_dashboard_on_complete,
                min_height: min_height.unwrap_or(defaults.min_height),
                max_height: max_height.unwrap_or(defaults.max_height),
                load_timeout: load_timeout.unwrap_or(defaults.load_timeout),
                confirm_interval: confirm_interval.or(defaults.confirm_interval),
                events_url,
                ..defaults
            },
            initial_flow: flow,
            style: style_signal,
            status,
            on_ready,
            on_height,
            on_step_complete,
            on_flow_complete,
            on_expired,
            on_error,
            on_event,
        },
    );
    let FlowState {
        status: flow_status,
        height,
        error,
        frame,
        retry,
        completed,
        ..
    } = state;

    let root_style = move || style_signal.with(|s| markup::root_style(height.get(), s.as_ref()));
    let theme = move || style_signal.with(|s| markup::theme_name(s.as_ref()));
    // A memo: the frame and the error panel below are rebuilt only when this flips, not on
    // every status change. (In a cargo-leptos development build, `erase_components` rebuilds a
    // re-run element by removing and setting every attribute: the frame's `src` set again
    // reloaded the flow at each status change, ready included.)
    let show_retry = Memo::new(move |_| markup::shows_retry(flow_status.get()));
    let labels = Memo::new(move |_| labels.get().unwrap_or_default());
    let frame_title = move || {
        title
            .get()
            .unwrap_or_else(|| labels.with(|l| l.get(markup::Label::Title).to_owned()))
    };
    let announcement = move || {
        let status = flow_status.get();
        let title = frame_title();
        labels.with(|l| completed.with(|c| markup::announcement(status, c.last(), &title, l)))
    };

    view! {
        <div
            class=move || match class.get() {
                Some(extra) => format!("dots-flow {extra}"),
                None => "dots-flow".to_owned(),
            }
            data-status=move || flow_status.get().as_str()
            data-theme=theme
            lang=move || labels.with(|l| l.lang().to_owned())
            // Through the CSSOM (`element.style`), which a Content-Security-Policy does not
            // govern: a `style` attribute would need `style-src 'unsafe-inline'`. (So a server
            // render carries none; the client sets it on hydration.)
            prop:style=root_style
        >
            // Status changes for screen readers (no `aria-busy` on the root: it would let them
            // hold back this region's announcements while loading).
            <p class="dots-flow__status" role="status">{announcement}</p>
            // Static: the stylesheet shows it only while loading (no reactive code for it).
            <div class="dots-flow__skeleton" aria-hidden="true">
                <div class="dots-flow__skeleton-bar"></div>
                <div class="dots-flow__skeleton-bar dots-flow__skeleton-bar--short"></div>
                <div class="dots-flow__skeleton-block"></div>
            </div>
            {move || show_retry.get().then(|| view! {
                <div class="dots-flow__error" role="alert">
                    <p class="dots-flow__error-message">
                        {move || {
                            let status = flow_status.get();
                            labels.with(|l| error.with(|e| markup::error_text(status, e.as_ref(), l)))
                        }}
                    </p>
                    <button type="button" class="dots-flow__retry" on:click=move |_| retry.run(())>
                        {move || labels.with(|l| l.get(markup::Label::Retry).to_owned())}
                    </button>
                </div>
            })}
            // The frame is in place from the start, without `src` until there is a link:
            // creating a frame (its browsing context and blank document) costs the main
            // thread a few milliseconds, better spent while the request is on the network than
            // after its answer. `allow` comes before `src`: it applies to the navigation.
            {move || (!show_retry.get()).then(|| view! {
                <iframe
                    node_ref=frame
                    class="dots-flow__frame"
                    allow=move || state.steps.with(|s| markup::frame_allow(s))
                    src=move || state.src()
                    title=frame_title
                    referrerpolicy=markup::REFERRER_POLICY
                    prop:style=markup::FRAME_STYLE
                ></iframe>
            })}
        </div>
    }
}
