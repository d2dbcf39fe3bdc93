//! `GET /api/events`: the caller's flow events as Server-Sent Events. A reconnect with
//! `Last-Event-ID` (EventSource sends it by itself) replays what was missed. The caller is the
//! session cookie, or a stream token from a flow answer (`?stream_token=`) for callers that
//! authenticate with a bearer token, which `EventSource` cannot send.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::stream;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

use crate::db::{Db, EventRow};
use crate::error::ProxyError;
use crate::hub::HubMessage;
use crate::identity::StreamCaller;
use crate::AppState;

/// Most events replayed at once (a client further behind reconnects for the rest).
const REPLAY_LIMIT: i64 = 1000;
/// How soon a client reconnects when its instance shuts down.
const RECONNECT_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// How long a stream closed for a newer one of its identity waits before reconnecting.
const EVICTED_RECONNECT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// What a stream does next.
enum Next {
    Event(EventRow, Box<Follow>),
    Closing,
    Evicted,
    /// The session was just bound to a Dots user: the stream ends before telling it (the
    /// reconnect shows whether this browser keeps the session).
    Bound,
    End,
}

#[derive(Deserialize)]
pub(crate) struct StreamParams {
    /// For clients that cannot set headers: the same as `Last-Event-ID`. (`stream_token` is
    /// read by [`StreamCaller`].)
    last_event_id: Option<i64>,
}

fn to_sse(row: EventRow) -> Result<Event, Infallible> {
    Ok(Event::default()
        .id(row.seq.to_string())
        .event(row.kind)
        .data(row.data))
}

/// `GET /api/events`. Admission is decided before anything is held for the stream, cheapest
/// first: the client address's open streams, then the caller (a stream token, or a session
/// cookie of an identity that has made a flow: a browser without one has nothing to follow
/// and is refused, not given a session), then the identity's and the instance's open streams.
/// Every refusal closes its connection.
pub(crate) async fn stream(
    State(state): State<AppState>,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    params: Result<Query<StreamParams>, axum::extract::rejection::QueryRejection>,
    caller: Result<StreamCaller, ProxyError>,
) -> axum::response::Response {
    match open(state, connect, headers, params, caller).await {
        Ok(response) => response,
        Err(err) => crate::server::closing(err.into_response()),
    }
}

async fn open(
    state: AppState,
    connect: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    params: Result<Query<StreamParams>, axum::extract::rejection::QueryRejection>,
    caller: Result<StreamCaller, ProxyError>,
) -> Result<axum::response::Response, ProxyError> {
    let client = crate::limits::client_address(
        connect.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr),
        &headers,
        &state.settings().trusted_proxies,
    );
    state.streams().check_client(client)?;
    let StreamCaller {
        identity,
        jar,
        via_cookie,
    } = caller?;
    let claims = match (&jar, via_cookie) {
        (Some(jar), true) => crate::identity::claims_in(jar),
        _ => Vec::new(),
    };
    let Query(params) = params
        .map_err(|_| dots_api::ValidationError::new("last_event_id", "must be a whole number"))?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(params.last_event_id)
        .unwrap_or(0);
    let mut ends_at_binding = false;
    if jar.is_some() {
        // A session or bearer caller (a stream token was issued for an identity with a flow):
        // the identity must have made a flow; a cookie session's stream ends at its binding.
        match state.db().identity(&identity).await? {
            // A session that never made a flow has no events to follow.
            None => return Err(ProxyError::NotFound("session")),
            Some(bound) => ends_at_binding = via_cookie && bound.is_none(),
        }
    }
    let ticket = state.streams().admit(&identity, client)?;
    // Subscribe before reading the backlog so nothing falls between the two.
    let live = state.hub().subscribe();
    let backlog = state
        .db()
        .events_after(&identity, last, REPLAY_LIMIT)
        .await?;
    let follow = Follow {
        db: state.db().clone(),
        identity,
        last,
        live,
        pending: backlog.into(),
        evicted: ticket.evicted(),
        ends_at_binding,
        claims,
        _ticket: ticket,
        _open: OpenStream::new(),
    };
    let events = stream::unfold(Some(follow), |follow| async move {
        match follow?.next().await {
            Next::Event(row, follow) => Some((to_sse(row), Some(*follow))),
            // The last word: reconnect in a moment (EventSource does, with Last-Event-ID).
            Next::Closing => Some((
                Ok(Event::default()
                    .retry(RECONNECT_AFTER)
                    .comment("this instance is shutting down; reconnect")),
                None,
            )),
            Next::Bound => Some((
                Ok(Event::default()
                    .retry(RECONNECT_AFTER)
                    .comment("this session was bound to its Dots user; reconnect")),
                None,
            )),
            Next::Evicted => Some((
                Ok(Event::default()
                    .retry(EVICTED_RECONNECT_AFTER)
                    .comment("closed for a newer stream of this session")),
                None,
            )),
            Next::End => None,
        }
    });
    Ok((jar, Sse::new(events).keep_alive(KeepAlive::default())).into_response())
}

/// Counts the open event streams (`dots_proxy_event_streams_open`) for as long as it lives.
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        metrics::gauge!("dots_proxy_event_streams_open").increment(1.0);
        OpenStream
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!("dots_proxy_event_streams_open").decrement(1.0);
    }
}

/// One stream's position in its identity's log, and what it still has to send.
struct Follow {
    _open: OpenStream,
    /// Counted among the open streams for as long as this lives.
    _ticket: crate::limits::StreamTicket,
    /// Completes when a newer stream of the identity took this one's place.
    evicted: std::sync::Arc<tokio::sync::Notify>,
    /// A cookie session's stream opened before its binding: it ends at `user_bound` (the
    /// session may be rotated; whoever else holds the old cookie must not hear of the user).
    ends_at_binding: bool,
    /// The hashes of the flow claims the stream's request carried: the browser holding the
    /// binding flow's claim keeps the session, and hears of it.
    claims: Vec<String>,
    db: Db,
    identity: String,
    /// The number of the last event sent (or the client's `Last-Event-ID`).
    last: i64,
    live: tokio::sync::broadcast::Receiver<HubMessage>,
    pending: VecDeque<EventRow>,
}

impl Follow {
    /// The next event to send, in order, none twice and none skipped: the hub's events are
    /// taken only when they are exactly the next number; a gap, a resync or a lagging receiver
    /// reads the log instead. [`Next::End`] ends the stream (the client reconnects and
    /// replays).
    async fn next(mut self) -> Next {
        loop {
            if let Some(row) = self.pending.pop_front() {
                if row.seq <= self.last {
                    continue;
                }
                if self.ends_at_binding && row.kind == "user_bound" {
                    match self.db.holds_claim(&self.identity, &self.claims).await {
                        Ok(true) => self.ends_at_binding = false,
                        Ok(false) => return Next::Bound,
                        Err(err) => {
                            tracing::warn!(%err, "event stream could not check its claim; closing it");
                            return Next::Bound;
                        }
                    }
                }
                self.last = row.seq;
                return Next::Event(row, Box::new(self));
            }
            let received = tokio::select! {
                received = self.live.recv() => received,
                () = self.evicted.notified() => return Next::Evicted,
            };
            let catch_up = match received {
                Ok(HubMessage::Event(row)) if row.identity == self.identity => {
                    if row.seq <= self.last {
                        continue; // sent already (events arrive twice on PostgreSQL)
                    }
                    if row.seq == self.last + 1 {
                        self.pending.push_back(row);
                        continue;
                    }
                    true // a gap: an earlier event is still on its way, or was lost
                }
                Ok(HubMessage::Event(_)) => continue,
                Ok(HubMessage::Resync) | Err(RecvError::Lagged(_)) => true,
                Ok(HubMessage::Closing) => return Next::Closing,
                Err(RecvError::Closed) => return Next::End,
            };
            if catch_up {
                match self
                    .db
                    .events_after(&self.identity, self.last, REPLAY_LIMIT)
                    .await
                {
                    Ok(rows) => self.pending.extend(rows),
                    Err(err) => {
                        tracing::warn!(%err, "event stream could not read the log; closing it");
                        return Next::End;
                    }
                }
            }
        }
    }
}
