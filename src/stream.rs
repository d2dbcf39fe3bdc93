//! The proxy's event stream (`GET /api/events`, Server-Sent Events) over the browser's own
//! `EventSource`, without signals: `use_dots_events` and the component's engine each
//! put their own ends on it.

/// Where an event stream stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamState {
    /// No URL, closed, or rendering on the server.
    #[default]
    Closed,
    /// Opening, or reconnecting after the connection dropped.
    Connecting,
    /// Open: events arrive as the server stores them.
    Open,
}

#[cfg(not(feature = "ssr"))]
pub(crate) use machinery::*;

#[cfg(not(feature = "ssr"))]
mod machinery {
    use super::StreamState;
    use crate::json::JsonObject;
    use crate::timer::{set_timeout, Timeout};
    use dots_api::StreamEvent;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    /// Longest wait between attempts to open a refused stream.
    const MOST_RETRY: Duration = Duration::from_secs(30);
    /// Events a shared stream keeps for hooks that join it late.
    const KEPT: usize = 128;

    /// What a stream tells its followers: its state, or an event (its number, its SSE name
    /// and its data, parsed by the browser but not yet typed).
    pub(crate) enum Note<'a> {
        State(StreamState),
        Event {
            seq: i64,
            kind: &'a str,
            data: &'a JsonObject,
        },
    }

    pub(crate) type Sink = Rc<dyn Fn(&Note)>;
    type Listener = Closure<dyn FnMut(web_sys::Event)>;

    /// One `EventSource` per stream and page, whatever the number of hooks following it: a
    /// browser speaking HTTP/1.1 keeps at most six connections per server, and every open
    /// stream holds one (three components and the app's own stream would leave the app's
    /// requests two).
    struct Shared {
        key: String,
        source: EventSource,
        listener: RefCell<Option<Listener>>,
        sinks: RefCell<Vec<(u64, Sink)>>,
        state: Cell<StreamState>,
        /// Where the stream started: it has every event after this one.
        start: i64,
        /// The latest events, for hooks that join (oldest first), and whether older ones
        /// were let go.
        kept: RefCell<Vec<(i64, String, JsonObject)>>,
        forgot: Cell<bool>,
    }

    thread_local! {
        static STREAMS: RefCell<Vec<Rc<Shared>>> = const { RefCell::new(Vec::new()) };
        static NEXT_SINK: Cell<u64> = const { Cell::new(0) };
    }

    const NAMES: [&str; 2] = ["open", "error"];

    impl Shared {
        fn tell(&self, note: &Note) {
            let sinks: Vec<Sink> = self.sinks.borrow().iter().map(|(_, s)| s.clone()).collect();
            for sink in sinks {
                sink(note);
            }
        }

        /// Stops the `EventSource` and forgets it (its listener goes a moment later: this may
        /// run inside it).
        fn shut(&self) {
            self.source.close();
            STREAMS.with(|streams| {
                streams
                    .borrow_mut()
                    .retain(|s| !std::ptr::eq(Rc::as_ptr(s), self))
            });
            if let Some(listener) = self.listener.borrow_mut().take() {
                for name in NAMES.into_iter().chain(StreamEvent::KINDS) {
                    let _ = self.source.remove_event_listener_with_callback(
                        name,
                        listener.as_ref().unchecked_ref(),
                    );
                }
                set_timeout(move || drop(listener), Duration::ZERO);
            }
        }
    }

    /// A hook's place on a shared stream; leaving it closes the stream once nobody follows.
    struct Subscription {
        shared: Rc<Shared>,
        id: u64,
    }

    impl Drop for Subscription {
        fn drop(&mut self) {
            let empty = {
                let mut sinks = self.shared.sinks.borrow_mut();
                sinks.retain(|(id, _)| *id != self.id);
                sinks.is_empty()
            };
            if empty {
                self.shared.shut();
            }
        }
    }

    /// The stream's identity: its URL without the resume point, and the cookie policy.
    fn key_of(url: &web_sys::Url, with_credentials: bool) -> String {
        // (A parsed URL always parses again; were it not to, the URL itself is the key. No
        // `expect`: its message would format a `JsValue`, which brings wasm-bindgen's
        // `debugString` into every bundle.)
        let href = match web_sys::Url::new(&url.href()) {
            Ok(keyed) => {
                keyed.search_params().delete("last_event_id");
                keyed.href()
            }
            Err(_) => url.href(),
        };
        format!("{with_credentials} {href}")
    }

    /// Follows `url` with `sink`, resuming after event `after` (else where the URL says):
    /// joins the page's stream of the same URL if it has every event after that point (they
    /// are replayed from what it kept), otherwise opens one.
    fn subscribe(
        url: &str,
        with_credentials: bool,
        after: Option<i64>,
        sink: Sink,
    ) -> Option<Subscription> {
        let page = web_sys::window()?.location().href().ok()?;
        let parsed = web_sys::Url::new_with_base(url, &page).ok()?;
        let params = parsed.search_params();
        if let Some(after) = after {
            params.set("last_event_id", &after.to_string());
        }
        let from = params
            .get("last_event_id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0);
        let key = key_of(&parsed, with_credentials);
        let id = NEXT_SINK.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let joinable = STREAMS
            .with(|streams| streams.borrow().iter().find(|s| s.key == key).cloned())
            .filter(|shared| {
                let kept = shared.kept.borrow();
                let complete_from = match kept.first() {
                    Some((oldest, _, _)) if shared.forgot.get() => oldest - 1,
                    _ => shared.start,
                };
                from >= complete_from
            });
        if let Some(shared) = joinable {
            shared.sinks.borrow_mut().push((id, sink.clone()));
            sink(&Note::State(shared.state.get()));
            let missed: Vec<(i64, String, JsonObject)> = shared
                .kept
                .borrow()
                .iter()
                .filter(|(seq, _, _)| *seq > from)
                .cloned()
                .collect();
            for (seq, kind, data) in &missed {
                sink(&Note::Event {
                    seq: *seq,
                    kind,
                    data,
                });
            }
            return Some(Subscription { shared, id });
        }
        let init = web_sys::EventSourceInit::new();
        init.set_with_credentials(with_credentials);
        let source = EventSource::new_with_event_source_init_dict(&parsed.href(), &init).ok()?;
        let shared = Rc::new(Shared {
            key,
            source: source.clone(),
            listener: RefCell::new(None),
            sinks: RefCell::new(vec![(id, sink.clone())]),
            state: Cell::new(StreamState::Connecting),
            start: from,
            kept: RefCell::new(Vec::new()),
            forgot: Cell::new(false),
        });
        let weak = Rc::downgrade(&shared);
        let listener = Listener::new(move |event: web_sys::Event| {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let kind = event.type_();
            match kind.as_str() {
                "open" => {
                    shared.state.set(StreamState::Open);
                    shared.tell(&Note::State(StreamState::Open));
                }
                "error" if shared.source.ready_state() == EventSource::CLOSED => {
                    // Refused or ended for good: the browser gives up; each hook opens it
                    // again in a while.
                    shared.state.set(StreamState::Closed);
                    shared.shut();
                    shared.tell(&Note::State(StreamState::Closed));
                }
                "error" => {
                    shared.state.set(StreamState::Connecting);
                    shared.tell(&Note::State(StreamState::Connecting));
                }
                _ => {
                    let event: &MessageEvent = event.unchecked_ref();
                    let Ok(seq) = event.last_event_id().parse::<i64>() else {
                        return;
                    };
                    let Some(data) = event.data().as_string().and_then(|d| JsonObject::parse(&d))
                    else {
                        return;
                    };
                    {
                        let mut kept = shared.kept.borrow_mut();
                        if kept.len() == KEPT {
                            kept.remove(0);
                            shared.forgot.set(true);
                        }
                        kept.push((seq, kind.clone(), data.clone()));
                    }
                    shared.tell(&Note::Event {
                        seq,
                        kind: &kind,
                        data: &data,
                    });
                }
            }
        });
        for name in NAMES.into_iter().chain(StreamEvent::KINDS) {
            let _ =
                source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
        *shared.listener.borrow_mut() = Some(listener);
        sink(&Note::State(StreamState::Connecting));
        STREAMS.with(|streams| streams.borrow_mut().push(shared.clone()));
        Some(Subscription { shared, id })
    }

    /// One follower's state.
    struct Following {
        with_credentials: bool,
        retry_after: Duration,
        wanted: Option<String>,
        last_seq: Option<i64>,
        wait: Duration,
        retry: Option<Timeout>,
        following: Option<Subscription>,
        /// What the stream tells (deduplicated, with the retry scheduled) and what the
        /// follower's owner hears.
        sink: Option<(Sink, Sink)>,
    }

    type Me = Rc<RefCell<Following>>;

    /// Follows one stream at a time (none while its URL is `None`; a new URL replaces it,
    /// resuming after the last event delivered): its owner hears the stream's state and each
    /// event once, in order. A refused stream is opened again after `retry_after`, doubling up
    /// to 30 s. Without signals (the hook below and the component's engine each wrap one);
    /// stopped when dropped.
    pub(crate) struct Follower(Me);

    /// Leaves the current stream and follows the wanted one (if any).
    fn reopen(me: &Me) {
        let (old, timer, wanted, after, sinks, with_credentials) = {
            let mut f = me.borrow_mut();
            (
                f.following.take(),
                f.retry.take(),
                f.wanted.clone(),
                f.last_seq,
                f.sink.clone(),
                f.with_credentials,
            )
        };
        drop(old);
        if let Some(timer) = timer {
            timer.clear();
        }
        let Some((sink, deliver)) = sinks else {
            return;
        };
        let following = wanted.and_then(|url| subscribe(&url, with_credentials, after, sink));
        if following.is_none() {
            deliver(&Note::State(StreamState::Closed));
        }
        me.borrow_mut().following = following;
    }

    impl Follower {
        pub(crate) fn new(with_credentials: bool, retry_after: Duration, deliver: Sink) -> Self {
            let me: Me = Rc::new(RefCell::new(Following {
                with_credentials,
                retry_after,
                wanted: None,
                last_seq: None,
                wait: retry_after,
                retry: None,
                following: None,
                sink: None,
            }));
            let weak = Rc::downgrade(&me);
            let app = deliver.clone();
            let sink: Sink = Rc::new(move |note: &Note| {
                let Some(me) = weak.upgrade() else {
                    return;
                };
                match note {
                    Note::State(now) => {
                        app(note);
                        match now {
                            StreamState::Open => {
                                let mut f = me.borrow_mut();
                                f.wait = f.retry_after;
                            }
                            StreamState::Closed => {
                                // Refused or ended for good: open it again in a while (from a
                                // timer: this runs inside the stream's listener).
                                let delay = {
                                    let mut f = me.borrow_mut();
                                    let delay = f.wait;
                                    f.wait = (delay * 2).min(MOST_RETRY);
                                    delay
                                };
                                let again = Rc::downgrade(&me);
                                let timer = set_timeout(
                                    move || {
                                        if let Some(me) = again.upgrade() {
                                            reopen(&me);
                                        }
                                    },
                                    delay,
                                );
                                me.borrow_mut().retry = timer;
                            }
                            StreamState::Connecting => {}
                        }
                    }
                    Note::Event { seq, .. } => {
                        let fresh = {
                            let mut f = me.borrow_mut();
                            // Already heard: a stream joined, then replayed.
                            let fresh = f.last_seq.is_none_or(|last| *seq > last);
                            if fresh {
                                f.last_seq = Some(*seq);
                            }
                            fresh
                        };
                        if fresh {
                            app(note);
                        }
                    }
                }
            });
            me.borrow_mut().sink = Some((sink, deliver));
            Follower(me)
        }

        /// Follows `url` from now on (`None`: none).
        pub(crate) fn set_url(&self, url: Option<String>) {
            {
                let mut f = self.0.borrow_mut();
                f.wanted = url;
                f.wait = f.retry_after;
            }
            reopen(&self.0);
        }
    }

    impl Drop for Follower {
        fn drop(&mut self) {
            let gone = {
                let mut f = self.0.borrow_mut();
                if let Some(timer) = f.retry.take() {
                    timer.clear();
                }
                (f.following.take(), f.sink.take())
            };
            drop(gone);
        }
    }
}
