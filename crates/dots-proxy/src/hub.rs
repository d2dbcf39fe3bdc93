//! The event log behind `GET /api/events`: every event is stored (so a reconnect with
//! `Last-Event-ID` replays what was missed) and broadcast to the open streams.

use tokio::sync::broadcast;

use crate::db::EventRow;

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
    /// Sends a stored event to the open streams (after its transaction committed: an event
    /// sent before could vanish with a rollback, yet a stream would have shown it).
    pub fn broadcast(&self, row: EventRow) {
        // No receiver is fine: the event is stored for replay.
        let _ = self.sender.send(row);
    }

    /// A receiver of every event broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventRow> {
        self.sender.subscribe()
    }
}
