//! `GET /api/events`: the caller's flow events as Server-Sent Events. A reconnect with
//! `Last-Event-ID` (EventSource sends it by itself) replays what was missed.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;

use crate::db::EventRow;
use crate::error::ProxyError;
use crate::identity::Session;
use crate::AppState;

/// Most events replayed at once (a client further behind reconnects for the rest).
const REPLAY_LIMIT: i64 = 1000;

#[derive(Deserialize)]
pub(crate) struct StreamParams {
    /// For clients that cannot set headers: the same as `Last-Event-ID`.
    last_event_id: Option<i64>,
}

fn to_sse(row: EventRow) -> Result<Event, Infallible> {
    Ok(Event::default()
        .id(row.seq.to_string())
        .event(row.kind)
        .data(row.data))
}

pub(crate) async fn stream(
    State(state): State<AppState>,
    Session { caller, jar }: Session,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<impl IntoResponse, ProxyError> {
    let identity = caller.identity;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(params.last_event_id)
        .unwrap_or(0);
    // Subscribe before reading the backlog so nothing falls between the two.
    let live = state.hub().subscribe();
    let backlog = state
        .db()
        .events_after(&identity, last, REPLAY_LIMIT)
        .await?;
    let replayed_to = backlog.last().map_or(last, |e| e.seq);
    let live = BroadcastStream::new(live)
        // A lagging receiver ends the stream; the client reconnects and replays from the log.
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(move |item| {
            let identity = identity.clone();
            std::future::ready(match item {
                Ok(row) if row.identity == identity && row.seq > replayed_to => Some(row),
                _ => None,
            })
        });
    let events = stream::iter(backlog).chain(live).map(to_sse);
    Ok((jar, Sse::new(events).keep_alive(KeepAlive::default())))
}
