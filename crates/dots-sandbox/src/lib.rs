//! A local emulator of the Dots API, faithful to Dots' OpenAPI spec and docs, for development
//! and tests.
//!
//! - The API under `/api/v2/...` (Basic auth `client_id:api_key`, optional `Api-App-Id`):
//!   flows, users (with compliance, OFAC, payout methods), transfers with wallets and
//!   idempotency keys.
//! - Hosted flow pages under `/flow/{id}` (a flow's `link`), with a small real UI per step,
//!   that post Dots' documented messages to their parent window and apply `?styles=`.
//! - Svix-signed webhooks with retries.
//! - A control plane under `/_sandbox/` (not part of Dots): reset, clock, programmatic step
//!   completion, webhook settings, holding and releasing webhooks, fault injection, what Dots
//!   received; described by `control-plane.yaml` (OpenAPI), served at
//!   `/_sandbox/openapi.yaml`.
//! - [`kit::TestDots`]: all of it in-process for a host's own integration tests, with a
//!   [`kit::Person`] who uses the hosted pages.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig::default()).await?;
//! println!("Dots sandbox API at {}", sandbox.api_base());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod auth;
pub mod clock;
mod control;
pub mod dialect;
mod error;
pub mod faults;
mod flows;
pub mod kit;
mod page;
pub mod paginate;
pub mod store;
mod styles;
mod transfers;
mod users;
pub mod webhooks;

use axum::routing::{get, post, put};
use axum::Router;
use dots_api::webhook::WebhookSecret;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use dialect::{Behaviour, Dialect, Heights, SignInStep, WebhookHeaders};
pub use error::SandboxError;
pub use faults::{FaultKind, FaultRule, Faults, Operation};
pub use kit::{Person, TestDots};
pub use store::{Event, Store};
pub use styles::default_styles;
pub use webhooks::{Attempt, HeldEvent, ReleaseOrder, Webhooks};

/// The client id the sandbox accepts when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client-id";
/// The API key the sandbox accepts when none is configured (a public, sandbox-only value).
pub const DEFAULT_API_KEY: &str = "sandbox-api-key";
/// The webhook signing secret the sandbox uses when none is configured (public, sandbox-only).
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_ZG90cy1mbG93LWxvY2FsLXNhbmRib3gtc2VjcmV0";
/// The standalone sandbox's default address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4010";

/// How the sandbox is set up.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The client id requests must present.
    pub client_id: String,
    /// The API key requests must present.
    pub api_key: String,
    /// URLs that receive webhooks.
    pub webhook_urls: Vec<String>,
    /// The secret webhooks are signed with.
    pub webhook_secret: WebhookSecret,
    /// How it speaks at start (and after a reset): the captured dialect by default.
    pub behaviour: Behaviour,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("addr", &self.addr)
            .field("client_id", &self.client_id)
            .field("api_key", &"[redacted]")
            .field("webhook_urls", &self.webhook_urls)
            .field("webhook_secret", &self.webhook_secret)
            .field("behaviour", &self.behaviour)
            .finish()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            api_key: DEFAULT_API_KEY.to_owned(),
            webhook_urls: Vec::new(),
            webhook_secret: WebhookSecret::parse(DEFAULT_WEBHOOK_SECRET).expect("valid default"),
            behaviour: Behaviour::default(),
        }
    }
}

/// Shared state of one sandbox instance.
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    public_origin: String,
    store: Store,
    clock: Clock,
    faults: Faults,
    webhooks: Webhooks,
    behaviour: std::sync::Mutex<Behaviour>,
    received: std::sync::Mutex<std::collections::VecDeque<Received>>,
}

/// An API request the sandbox received (the last 1000 are kept).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Received {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path after `/api`, e.g. `/v2/flows`.
    pub path: String,
    /// The caller's `X-Request-Id`, if it sent one.
    pub request_id: Option<String>,
}

impl SandboxState {
    /// State for a sandbox reachable at `public_origin` (scheme, host and port; no path).
    pub fn new(config: SandboxConfig, public_origin: impl Into<String>) -> Self {
        let webhooks = Webhooks::new(config.webhook_urls.clone(), config.webhook_secret.clone());
        Self {
            inner: Arc::new(Inner {
                public_origin: public_origin.into().trim_end_matches('/').to_owned(),
                store: Store::default(),
                clock: Clock::default(),
                faults: Faults::default(),
                webhooks,
                behaviour: std::sync::Mutex::new(config.behaviour),
                received: Default::default(),
                config,
            }),
        }
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub(crate) fn public_origin(&self) -> &str {
        &self.inner.public_origin
    }

    /// The sandbox's data.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The sandbox's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The fault injection rules.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// How it speaks now (see [`dialect`]).
    pub fn behaviour(&self) -> Behaviour {
        *self
            .inner
            .behaviour
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Changes how it speaks.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self
            .inner
            .behaviour
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = behaviour;
    }

    /// The API requests received, oldest first (the last 1000).
    pub fn received(&self) -> Vec<Received> {
        let received = self
            .inner
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        received.iter().cloned().collect()
    }

    pub(crate) fn note_request(&self, request: &axum::extract::Request) {
        let mut received = self
            .inner
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if received.len() == 1000 {
            received.pop_front();
        }
        received.push_back(Received {
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            request_id: request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
    }

    /// The webhook sender.
    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// Sends webhooks for `events`.
    pub fn emit(&self, events: Vec<Event>) {
        for event in events {
            self.inner.webhooks.send(event, self.clone());
        }
    }
}

/// The sandbox's routes: the Dots API under `/api/v2`, hosted flow pages, control plane.
pub fn router(state: SandboxState) -> Router {
    let api = Router::new()
        .route("/v2/flows", post(flows::create).get(flows::list))
        .route("/v2/flows/{flow_id}", get(flows::retrieve))
        .route("/v2/users", post(users::create).get(users::list))
        .route("/v2/users/{user_id}", get(users::retrieve))
        .route("/v2/users/{user_id}/compliance", put(users::compliance))
        .route(
            "/v2/users/{user_id}/send-verification-token",
            post(users::send_verification_token),
        )
        .route("/v2/users/{user_id}/verify", post(users::verify))
        .route(
            "/v2/users/{user_id}/payout-methods",
            get(users::payout_methods).put(users::add_payout_method),
        )
        .route(
            "/v2/transfers",
            post(transfers::create).get(transfers::list),
        )
        .route("/v2/transfers/{transfer_id}", get(transfers::retrieve))
        // A route the sandbox lacks (Dots has more): inside the API's layers, so it needs
        // credentials like any other, and `dots_shaped` words the 404.
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            dialect::speak,
        ))
        .layer(axum::middleware::from_fn(error::dots_shaped))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_basic_auth,
        ));
    Router::new()
        .nest("/api", api)
        .merge(page::routes().layer(axum::middleware::from_fn(error::dots_shaped)))
        .nest(
            "/_sandbox",
            control::routes().layer(axum::middleware::from_fn(error::dots_shaped)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// A sandbox running in the background of this process.
pub struct RunningSandbox {
    addr: SocketAddr,
    state: SandboxState,
    task: JoinHandle<()>,
}

impl RunningSandbox {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its origin, e.g. `http://127.0.0.1:4010`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base URL to give a client, e.g. `http://127.0.0.1:4010/api`.
    pub fn api_base(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// Its state (to inspect or change data in tests).
    pub fn state(&self) -> &SandboxState {
        &self.state
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `config.addr` and serves the sandbox until the returned handle is dropped.
pub async fn spawn(config: SandboxConfig) -> std::io::Result<RunningSandbox> {
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let state = SandboxState::new(config, format!("http://{addr}"));
    let app = router(state.clone());
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        // Routes built once, not per connection (see the proxy's main).
        let app = app.with_state(()).into_make_service();
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox { addr, state, task })
}
