//! `use_dots_events`: the proxy's event stream (`GET /api/events`, Server-Sent Events) as
//! typed [`StreamEvent`]s, over the browser's own `EventSource` (leptos-use's `use_event_source`
//! would do it too, at the cost of its dependencies in every app's wasm).

use dots_api::StreamEvent;
use leptos::prelude::*;
use std::time::Duration;

use crate::stream::StreamState;

/// Options of [`use_dots_events_with_options`].
#[derive(Clone)]
pub struct UseDotsEventsOptions {
    /// Send cookies to a stream on another origin (`EventSource`'s `withCredentials`; that
    /// origin must allow it by CORS). Not needed for a URL with a stream token.
    pub with_credentials: bool,
    /// Called with each event, in order.
    pub on_event: Option<Callback<StreamEvent>>,
    /// How long to wait before opening again a stream the server refused or ended for good
    /// (an error status, say, or an expired stream token); doubled after each failure, up to
    /// 30 s. (A dropped connection is retried by the browser itself, at the server's `retry:`.)
    pub retry_after: Duration,
}

impl Default for UseDotsEventsOptions {
    fn default() -> Self {
        Self {
            with_credentials: false,
            on_event: None,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// What [`use_dots_events`] gives back.
#[derive(Clone, Copy)]
pub struct UseDotsEventsReturn {
    /// Whether the stream is open.
    pub state: Signal<StreamState>,
    /// The latest event.
    pub last_event: Signal<Option<StreamEvent>>,
    /// The latest event's id: a stream opened again resumes after it, so nothing is missed
    /// and nothing comes twice.
    pub last_event_id: Signal<Option<String>>,
}

/// Follows the event stream at `url` (none while `None`; the proxy's flow answers name it in
/// [`dots_api::BrowserFlow::events`], and `/api/events` is the session's own). A new URL
/// replaces the stream, resuming after the last event seen. Closed when the owner is cleaned
/// up; does nothing on the server.
///
/// ```no_run
/// use dots_flow::{use_dots_events, StreamEvent};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Payouts() -> impl IntoView {
///     let events = use_dots_events(Some("/api/events".to_owned()));
///     move || match events.last_event.get() {
///         Some(StreamEvent::TransferUpdated { status, amount, .. }) => format!("{amount} {status}"),
///         _ => String::new(),
///     }
/// }
/// ```
pub fn use_dots_events(url: impl Into<Signal<Option<String>>>) -> UseDotsEventsReturn {
    use_dots_events_with_options(url, UseDotsEventsOptions::default())
}

/// [`use_dots_events`] with options.
pub fn use_dots_events_with_options(
    url: impl Into<Signal<Option<String>>>,
    options: UseDotsEventsOptions,
) -> UseDotsEventsReturn {
    let state = RwSignal::new(StreamState::Closed);
    let last_event = RwSignal::new(None::<StreamEvent>);
    let last_event_id = RwSignal::new(None::<String>);
    let url = url.into();
    #[cfg(not(feature = "ssr"))]
    {
        let UseDotsEventsOptions {
            with_credentials,
            on_event,
            retry_after,
        } = options;
        let deliver: browser::Sink = std::rc::Rc::new(move |note: &browser::Note| match note {
            browser::Note::State(now) => state.set(*now),
            browser::Note::Event { seq, kind, data } => {
                if let Some(event) = StreamEvent::from_fields(kind, *data) {
                    last_event_id.set(Some(seq.to_string()));
                    last_event.set(Some(event.clone()));
                    if let Some(on_event) = on_event {
                        on_event.run(event);
                    }
                }
            }
        });
        follow(move || url.get(), with_credentials, retry_after, deliver);
    }
    #[cfg(feature = "ssr")]
    let _ = (url, options);
    UseDotsEventsReturn {
        state: state.into(),
        last_event: last_event.into(),
        last_event_id: last_event_id.into(),
    }
}

/// A stream follower of the stream `url` names, for as long as the owner lives.
#[cfg(not(feature = "ssr"))]
use crate::stream as browser;

#[cfg(not(feature = "ssr"))]
fn follow(
    url: impl Fn() -> Option<String> + 'static,
    with_credentials: bool,
    retry_after: Duration,
    deliver: browser::Sink,
) {
    let follower = StoredValue::new_local(Some(std::rc::Rc::new(browser::Follower::new(
        with_credentials,
        retry_after,
        deliver,
    ))));
    Effect::new(move |_| {
        let wanted = url();
        if let Some(f) = follower.try_get_value().flatten() {
            f.set_url(wanted);
        }
    });
    on_cleanup(move || drop(follower.try_update_value(Option::take)));
}
