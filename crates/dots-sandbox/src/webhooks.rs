//! Webhook delivery as Dots does it through Svix: a JSON POST to each endpoint with
//! `svix-id`, `svix-timestamp` and `svix-signature`, retried with backoff on a non-2xx answer
//! or a timeout (15 s), every attempt logged and kept for inspection.

use dots_api::webhook::{HeaderNames, WebhookSecret};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::Event;
use crate::SandboxState;

/// How long an endpoint has to answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// Svix-like backoff between attempts (the first attempt is immediate).
pub const DEFAULT_RETRY_DELAYS_MS: [u64; 5] = [5_000, 30_000, 120_000, 600_000, 1_800_000];

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The message id (the same across retries of one message).
    pub msg_id: String,
    /// The event type, e.g. `flow.updated`.
    pub event_type: String,
    /// Where it was sent.
    pub endpoint: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The endpoint's status, if it answered.
    pub status: Option<u16>,
    /// Why it failed without a status (timeout, connection refused).
    pub error: Option<String>,
    /// Whether this attempt delivered the message.
    pub delivered: bool,
    /// The payload sent.
    pub payload: serde_json::Value,
}

/// Delivery settings, changeable at run time through `PUT /_sandbox/webhooks`.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Endpoints that receive every event.
    pub endpoints: Vec<String>,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// Delays between attempts; its length is the number of retries.
    pub retry_delays: Vec<Duration>,
}

/// An event held back (see [`Webhooks::hold`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldEvent {
    /// The event type, e.g. `flow.updated`.
    pub event_type: String,
    /// The payload it will carry.
    pub payload: serde_json::Value,
}

/// The order [`Webhooks::release`] sends held events in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseOrder {
    /// The order they happened in.
    #[default]
    AsHappened,
    /// Newest first (a late event arriving before an earlier one).
    Reversed,
}

/// The sender.
pub struct Webhooks {
    settings: RwLock<WebhookSettings>,
    attempts: Mutex<Vec<Attempt>>,
    /// While holding: the events not sent yet, oldest first.
    held: Mutex<Option<Vec<Event>>>,
    /// Deliveries started and not finished (delivered, or out of retries).
    in_flight: AtomicUsize,
    http: reqwest::Client,
}

impl Webhooks {
    /// A sender to `endpoints`, signing with `secret`.
    pub fn new(endpoints: Vec<String>, secret: WebhookSecret) -> Self {
        Self {
            settings: RwLock::new(WebhookSettings {
                endpoints,
                secret,
                retry_delays: DEFAULT_RETRY_DELAYS_MS
                    .iter()
                    .map(|ms| Duration::from_millis(*ms))
                    .collect(),
            }),
            attempts: Mutex::new(Vec::new()),
            held: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            http: reqwest::Client::builder()
                .timeout(DELIVERY_TIMEOUT)
                .build()
                .expect("a TLS backend is compiled in"),
        }
    }

    /// The current settings.
    pub fn settings(&self) -> WebhookSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the settings.
    pub fn configure(&self, settings: WebhookSettings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    /// Every attempt so far, oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets the attempt log.
    pub fn clear_attempts(&self) {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// From now on, keeps events instead of sending them, until [`Webhooks::release`] or
    /// [`Webhooks::drop_held`]. Deliveries already started go on.
    pub fn hold(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_none() {
            *held = Some(Vec::new());
        }
    }

    /// Whether events are being held.
    pub fn holding(&self) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The events held so far, oldest first.
    pub fn held(&self) -> Vec<HeldEvent> {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .flatten()
            .map(|event| HeldEvent {
                event_type: event.event_type.to_owned(),
                payload: event.payload.clone(),
            })
            .collect()
    }

    /// Stops holding and sends what was held, in `order`, one after another to each endpoint
    /// (each one's first attempt answered before the next is sent; retries follow as usual).
    /// Returns how many events were held.
    pub fn release(&self, order: ReleaseOrder, state: SandboxState) -> usize {
        let Some(mut events) = self.held.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return 0;
        };
        if order == ReleaseOrder::Reversed {
            events.reverse();
        }
        let count = events.len();
        let settings = self.settings();
        for endpoint in settings.endpoints.clone() {
            let state = state.clone();
            let settings = settings.clone();
            let events = events.clone();
            self.in_flight.fetch_add(events.len(), Ordering::SeqCst);
            tokio::spawn(async move {
                for event in events {
                    let msg_id = new_msg_id();
                    if attempt(&state, &settings, &endpoint, &event, &msg_id, 1).await {
                        state.webhooks().in_flight.fetch_sub(1, Ordering::SeqCst);
                        continue;
                    }
                    let (state, settings, endpoint) =
                        (state.clone(), settings.clone(), endpoint.clone());
                    tokio::spawn(async move {
                        deliver(&state, &settings, &endpoint, &event, &msg_id, 2).await;
                    });
                }
            });
        }
        count
    }

    /// Stops holding and forgets what was held, as if Dots had lost it. Returns how many
    /// events were dropped.
    pub fn drop_held(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map_or(0, |events| events.len())
    }

    /// How many deliveries are under way (an attempt running or a retry waiting).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    fn record(&self, attempt: Attempt) {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(attempt);
    }

    /// Sends `event` to every endpoint in the background.
    pub(crate) fn send(&self, event: Event, state: SandboxState) {
        if let Some(held) = self.held.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            tracing::info!(event = event.event_type, "sandbox: webhook held");
            held.push(event);
            return;
        }
        let settings = self.settings();
        for endpoint in settings.endpoints.clone() {
            let state = state.clone();
            let settings = settings.clone();
            let event = event.clone();
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                deliver(&state, &settings, &endpoint, &event, &new_msg_id(), 1).await;
            });
        }
    }
}

fn new_msg_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Attempts `first` and the ones after it until one delivers or the retries run out; then the
/// delivery is no longer in flight.
async fn deliver(
    state: &SandboxState,
    settings: &WebhookSettings,
    endpoint: &str,
    event: &Event,
    msg_id: &str,
    first: u32,
) {
    let total = settings.retry_delays.len() as u32 + 1;
    for number in first..=total {
        if number > 1 {
            if let Some(delay) = settings.retry_delays.get(number as usize - 2) {
                tokio::time::sleep(*delay).await;
            }
        }
        if attempt(state, settings, endpoint, event, msg_id, number).await {
            break;
        }
    }
    state.webhooks().in_flight.fetch_sub(1, Ordering::SeqCst);
}

/// One attempt, recorded; whether it delivered.
async fn attempt(
    state: &SandboxState,
    settings: &WebhookSettings,
    endpoint: &str,
    event: &Event,
    msg_id: &str,
    attempt: u32,
) -> bool {
    let webhooks = state.webhooks();
    let body = serde_json::to_vec(&event.payload).expect("JSON values serialize");
    // Svix timestamps are real time, not the sandbox's adjustable clock.
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let signature = settings.secret.sign(msg_id, timestamp, &body);
    // Svix sends its branded header names or the unbranded ones.
    let [id_header, timestamp_header, signature_header] =
        HeaderNames::from(state.behaviour().webhook_headers).names();
    let result = webhooks
        .http
        .post(endpoint)
        .header("content-type", "application/json")
        .header(id_header, msg_id)
        .header(timestamp_header, timestamp.to_string())
        .header(signature_header, signature)
        .body(body)
        .send()
        .await;
    let (status, error) = match &result {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(err) if err.is_timeout() => (None, Some("timed out".to_owned())),
        Err(_) => (None, Some("connection failed".to_owned())),
    };
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    tracing::info!(
        %msg_id, event = event.event_type, %endpoint, attempt, ?status, ?error, delivered,
        "sandbox: webhook attempt"
    );
    webhooks.record(Attempt {
        msg_id: msg_id.to_owned(),
        event_type: event.event_type.to_owned(),
        endpoint: endpoint.to_owned(),
        attempt,
        status,
        error,
        delivered,
        payload: event.payload.clone(),
    });
    delivered
}
