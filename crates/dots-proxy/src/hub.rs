//! The event log behind `GET /api/events`: every event is stored (so a reconnect with
//! `Last-Event-ID` replays what was missed) and broadcast to the open streams of this
//! instance. On PostgreSQL every instance also hears every other instance's events
//! (LISTEN/NOTIFY): a webhook handled by one instance reaches a stream held by another.
//!
//! What a stream may rely on: an identity's events are numbered 1, 2, 3… with no gap, in
//! commit order (see the `event_counters` table), so a stream that sees a number more than one
//! past the last it sent knows it missed something and reads the log; and after anything that
//! could lose notifications (the listener's connection dropped, a lagging receiver) the hub
//! says [`HubMessage::Resync`], and every stream reads the log from its last number.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

use crate::db::EventRow;

/// What the hub sends its streams.
#[derive(Clone, Debug)]
pub enum HubMessage {
    /// A committed event (possibly twice, or out of order across instances: streams keep
    /// only the next number and read the log on a gap).
    Event(EventRow),
    /// Notifications may have been lost: read the log from the last number sent.
    Resync,
    /// This instance is shutting down: tell the client to reconnect (elsewhere) and end.
    Closing,
}

#[derive(Debug)]
struct HubInner {
    sender: broadcast::Sender<HubMessage>,
    /// Whether the cross-instance listener is connected (always true without one).
    listening: AtomicBool,
}

/// Stores and fans out identity events.
#[derive(Clone, Debug)]
pub struct Hub {
    inner: Arc<HubInner>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            inner: Arc::new(HubInner {
                sender: broadcast::channel(4096).0,
                listening: AtomicBool::new(true),
            }),
        }
    }
}

impl Hub {
    /// Sends a stored event to the open streams (after its transaction committed: an event
    /// sent before could vanish with a rollback, yet a stream would have shown it).
    pub fn broadcast(&self, row: EventRow) {
        // No receiver is fine: the event is stored for replay.
        let streams = self.inner.sender.send(HubMessage::Event(row)).unwrap_or(0);
        metrics::counter!("dots_proxy_events_fanned_out_total").increment(streams as u64);
    }

    /// Tells every stream to read the log from its last number.
    pub fn resync(&self) {
        let _ = self.inner.sender.send(HubMessage::Resync);
    }

    /// Ends every open stream, each telling its client to reconnect soon (to another instance
    /// behind the load balancer), so a shutdown does not wait on streams that never end.
    pub fn close_streams(&self) {
        let _ = self.inner.sender.send(HubMessage::Closing);
    }

    /// A receiver of everything sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HubMessage> {
        self.inner.sender.subscribe()
    }

    /// Whether events of other instances reach this one now (for `/readyz`).
    pub fn listening(&self) -> bool {
        self.inner.listening.load(Ordering::Relaxed)
    }

    /// Listens on PostgreSQL for every instance's events (this one's too: they arrive twice,
    /// which streams ignore) until the hub is dropped. A lost connection is retried every
    /// second; once back, every stream resyncs from the log, which covers the gap.
    pub fn listen(&self, url: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.inner.listening.store(false, Ordering::Relaxed);
        let hub = Arc::downgrade(&self.inner);
        let url = url.to_owned();
        runtime.spawn(listen(hub, url));
    }
}

async fn listen(hub: Weak<HubInner>, url: String) {
    use sqlx::postgres::PgListener;
    let alive = |hub: &Weak<HubInner>| hub.upgrade().map(|inner| Hub { inner });
    let mut first = true;
    loop {
        let Some(current) = alive(&hub) else { return };
        let connected = async {
            let mut listener = PgListener::connect(&url).await?;
            listener.listen(crate::db::EVENT_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(err) => {
                // The URL holds a password: only the error's kind is logged.
                tracing::warn!(error = %short(&err), "event listener cannot connect; retrying");
                drop(current);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        current.inner.listening.store(true, Ordering::Relaxed);
        if !first {
            tracing::info!("event listener reconnected; streams catch up from the log");
        }
        // Whatever committed while nobody listened is in the log.
        current.resync();
        first = false;
        drop(current);
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), listener.try_recv()).await;
            let Some(current) = alive(&hub) else { return };
            match next {
                // Quiet: check again that the hub still exists.
                Err(_) => continue,
                Ok(Ok(Some(notification))) => {
                    match serde_json::from_str::<EventRow>(notification.payload()) {
                        Ok(row) => current.broadcast(row),
                        // Too long for a notification: streams read it from the log.
                        Err(_) => current.resync(),
                    }
                }
                Ok(Ok(None)) | Ok(Err(_)) => {
                    tracing::warn!("event listener lost its connection; reconnecting");
                    current.inner.listening.store(false, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

/// An error's kind without the connection details it may quote.
fn short(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::Io(_) => "connection failed",
        sqlx::Error::Tls(_) => "TLS failed",
        sqlx::Error::Database(_) => "refused by the database",
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => "pool unavailable",
        sqlx::Error::Configuration(_) => "bad database URL",
        _ => "database error",
    }
}
