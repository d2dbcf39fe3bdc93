//! The event log behind the SSE streams, in one home: storing each identity's events under
//! gap-free numbers, announcing them to every instance (PostgreSQL `NOTIFY`), handing committed
//! ones to this instance's open streams, reading them back for a replay, and pruning old ones.
//! (The streams' transport between instances, listening and fan-out, is `crate::hub`.)

use dots_api::StreamEvent;
use sqlx::{AnyConnection, Row};
use std::time::Duration;

use crate::db::{now_ms, Db, DbError, WebhookTx};
use crate::AppState;

/// One event of an identity's stream.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRow {
    /// Position in the log (the SSE id).
    pub seq: i64,
    /// Whose stream.
    pub identity: String,
    /// Event name, e.g. `step_completed`.
    pub kind: String,
    /// JSON data.
    pub data: String,
}

/// PostgreSQL's limit on a notification's payload is 8000 bytes.
const MAX_NOTIFICATION: usize = 7900;

impl EventRow {
    /// The event as a notification payload: all of it, or (if too long) only whose it is and
    /// its number, for the listener to read it from the log.
    pub fn to_notification(&self) -> String {
        let full = serde_json::to_string(self).expect("strings serialize");
        if full.len() <= MAX_NOTIFICATION {
            return full;
        }
        serde_json::json!({ "identity": self.identity, "seq": self.seq }).to_string()
    }
}

/// The PostgreSQL channel on which every instance hears every committed event.
pub const EVENT_CHANNEL: &str = "dots_flow_events";

impl Db {
    /// Deletes events stored before `events_before_ms` and webhook delivery marks received
    /// before `deliveries_before_ms` (Unix ms), so stored data does not grow for ever.
    /// Returns how many of each were deleted.
    pub async fn prune(
        &self,
        events_before_ms: i64,
        deliveries_before_ms: i64,
    ) -> Result<(u64, u64), DbError> {
        let events = sqlx::query("DELETE FROM identity_events WHERE created_ms < $1")
            .bind(events_before_ms)
            .execute(&self.writer)
            .await?;
        let deliveries = sqlx::query("DELETE FROM webhook_messages WHERE received_ms < $1")
            .bind(deliveries_before_ms)
            .execute(&self.writer)
            .await?;
        Ok((events.rows_affected(), deliveries.rows_affected()))
    }

    /// Stores `event` for `identity`'s stream, on its own (committed at once).
    pub async fn push(&self, identity: &str, event: &StreamEvent) -> Result<EventRow, DbError> {
        let mut tx = self.writer.begin().await?;
        let row = append_event_in(&mut tx, self.listen_url.is_some(), identity, event).await?;
        tx.commit().await?;
        metrics::counter!("dots_proxy_events_stored_total").increment(1);
        Ok(row)
    }

    /// The number of an identity's latest event (0 before its first).
    pub async fn last_event_seq(&self, identity: &str) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT last_seq FROM event_counters WHERE identity = $1")
            .bind(identity)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("last_seq")?,
            None => 0,
        })
    }

    /// An identity's events after `after` (oldest first, at most `limit`).
    pub async fn events_after(
        &self,
        identity: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, DbError> {
        let rows = sqlx::query(
            "SELECT seq, identity, kind, data FROM identity_events WHERE identity = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(identity)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    seq: r.try_get("seq")?,
                    identity: r.try_get("identity")?,
                    kind: r.try_get("kind")?,
                    data: r.try_get("data")?,
                })
            })
            .collect()
    }
}

impl WebhookTx {
    /// Stores `event` for `identity`'s stream (sent once committed).
    pub async fn push(&mut self, identity: &str, event: &StreamEvent) -> Result<(), DbError> {
        let row = append_event_in(&mut self.tx, self.notify, identity, event).await?;
        self.events.push(row);
        Ok(())
    }
}

/// Hands committed events to this instance's open streams (the other instances hear them from
/// the database).
pub fn publish(state: &AppState, events: Vec<EventRow>) {
    for row in events {
        state.hub().broadcast(row);
    }
}

/// Prunes, every hour, events older than `events` and webhook ids older than `webhook_ids`, so
/// stored data does not grow for ever.
pub fn spawn_pruning(db: Db, events: Duration, webhook_ids: Duration) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let now = now_ms();
            let before = |age: Duration| now - age.as_millis() as i64;
            match db.prune(before(events), before(webhook_ids)).await {
                Ok((events, ids)) => {
                    tracing::info!(events, webhook_ids = ids, "pruned old records")
                }
                Err(err) => tracing::warn!(%err, "pruning failed; will try again"),
            }
        }
    });
}

async fn append_event_in(
    conn: &mut AnyConnection,
    notify: bool,
    identity: &str,
    event: &StreamEvent,
) -> Result<EventRow, DbError> {
    let (kind, data) = (event.kind(), event.data());
    let seq: i64 = sqlx::query(
        "INSERT INTO event_counters (identity, last_seq) VALUES ($1, 1) \
         ON CONFLICT (identity) DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq",
    )
    .bind(identity)
    .fetch_one(&mut *conn)
    .await?
    .try_get("last_seq")?;
    sqlx::query(
        "INSERT INTO identity_events (identity, seq, kind, data, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(identity)
    .bind(seq)
    .bind(kind)
    .bind(&data)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    let row = EventRow {
        seq,
        identity: identity.to_owned(),
        kind: kind.to_owned(),
        data,
    };
    if notify {
        // Delivered to every listening instance when (and only if) the transaction commits,
        // in commit order.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENT_CHANNEL)
            .bind(row.to_notification())
            .execute(&mut *conn)
            .await?;
    }
    Ok(row)
}
