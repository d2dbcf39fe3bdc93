//! The event log behind `GET /api/events`: every event is stored (so a reconnect with
//! `Last-Event-ID` replays what was missed) and broadcast to the open streams.

use serde_json::Value;
use tokio::sync::broadcast;

use crate::db::{Db, DbError, EventRow};

/// Stores and fans out identity events.
#[derive(Clone, Debug)]
pub struct Hub {
    sender: broadcast::Sender<EventRow>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(4096).0,
        }
    }
}

impl Hub {
    /// Appends an event for `identity` and sends it to the open streams.
    pub async fn publish(
        &self,
        db: &Db,
        identity: &str,
        kind: &str,
        data: Value,
    ) -> Result<EventRow, DbError> {
        let row = db.append_event(identity, kind, &data.to_string()).await?;
        // No receiver is fine: the event is stored for replay.
        let _ = self.sender.send(row.clone());
        Ok(row)
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventRow> {
        self.sender.subscribe()
    }
}
