//! The server half of dots-flow: the only place that holds the Dots client id and API key.
//!
//! - Browser API (session cookie or host-signed bearer token): `POST /api/flows`,
//!   `GET /api/flows/{id}` (own flows only), `GET /api/events` (SSE, replay with
//!   `Last-Event-ID`).
//! - `POST /webhooks/dots`: Svix-verified Dots webhooks, deduplicated, feeding the streams and
//!   binding each browser identity to the Dots user its onboarding created.
//! - Host API (`/host/...`, admin bearer token only): users, transfers, "pay this user".
//!
//! Mount it inside your own axum app with [`router`], or run the `dots-proxy` binary.
//!
//! ```no_run
//! # async fn run() {
//! use dots_proxy::{db::Db, router, AppState, DotsClient, ProxySettings};
//! use std::time::Duration;
//!
//! let dots = DotsClient::new(
//!     "https://pls.senddotssandbox.com/api",
//!     "my-client-id",
//!     std::env::var("DOTS_API_KEY").unwrap().into(),
//!     None,
//!     Duration::from_secs(10),
//! );
//! let db = Db::connect("sqlite://dots-proxy.sqlite?mode=rwc").await.unwrap();
//! let app = axum::Router::new().merge(router(AppState::new(dots, db, ProxySettings::default())));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
#![warn(missing_docs)]

pub mod check;
pub mod config;
pub mod db;
#[cfg(feature = "local-sandbox")]
pub mod demo;
mod error;
pub mod event_log;
pub mod hub;
pub mod identity;
pub mod json_body;
pub mod launch;
pub mod limits;
pub mod metrics;
pub mod payments;
pub mod reconcile;
mod routes;
pub mod server;
pub mod static_site;
mod upstream;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::Key;
use dots_api::webhook::WebhookSecret;
use dots_api::StepName;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ProxyError;
pub use routes::flows::{start_flow, start_or_reuse_flow, start_or_reuse_flow_for, PageFlow};
pub use upstream::{DotsClient, UpstreamError};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most bytes of a webhook delivery. Dots' largest documented payloads (a payout link with its
/// payee and delivery, a finished transfer with its ledger lines) are under 1 KiB; this leaves
/// a margin of a few hundred for lists and metadata Dots may add.
pub const MAX_WEBHOOK_BYTES: usize = 256 * 1024;
/// Deadline of every request but the event stream (upstream calls have their own, shorter one).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The shortest HS256 secret accepted for bearer tokens (RFC 7518: a key as long as the hash).
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// How long an unused session cookie stays valid by default.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(24 * 3600);
/// How long a pre-authenticated Dots link lives.
pub const PREAUTH_LINK_TTL_MS: i64 = 15 * 60 * 1000;

/// Security settings of the proxy.
#[derive(Clone)]
pub struct ProxySettings {
    /// Signs session cookies.
    pub session_key: Key,
    /// Verifies host-signed bearer tokens (HS256; at least [`MIN_JWT_SECRET_BYTES`]); bearer
    /// auth is off without it.
    pub jwt_secret: Option<SecretString>,
    /// When set, a bearer token's `aud` must be this.
    pub jwt_audience: Option<String>,
    /// When set, a bearer token's `iss` must be this.
    pub jwt_issuer: Option<String>,
    /// The host API's bearer token; the host API is off without it.
    pub admin_token: Option<SecretString>,
    /// Accepted webhook signing secrets (several during rotation).
    pub webhook_secrets: Vec<WebhookSecret>,
    /// Allowed browser origins; empty means same-origin only.
    pub allowed_origins: Vec<String>,
    /// Steps browsers may request; `None` means all.
    pub allowed_steps: Option<Vec<StepName>>,
    /// Mark the session cookie `Secure`.
    pub secure_cookies: bool,
    /// `SameSite=None` instead of `Lax` (a front end on another site; needs `secure_cookies`).
    pub cross_site_cookies: bool,
    /// A session cookie unused for this long is a new, unbound session.
    pub session_idle: Duration,
    /// Pre-authenticate money steps (`payout`, `manage-payouts`, `manage-payments`) for
    /// cookie sessions too. Off by default: whoever holds a browser's cookie must still sign
    /// in before moving money; identities the host vouches for (bearer tokens) never need to.
    pub preauth_money_steps_for_cookies: bool,
    /// How long a webhook may spend on calls to Dots, retries included; past it the webhook
    /// is answered 502 (nothing committed) and Dots retries. Keep it under the 30 s request
    /// deadline.
    pub webhook_upstream_budget: Duration,
    /// Limits on new flows and identities (see [`limits`]).
    pub rate_limits: limits::RateLimits,
    /// Load balancers whose `X-Forwarded-For` names the client (see [`limits`]).
    pub trusted_proxies: Vec<limits::TrustedProxy>,
    /// Caps on open event streams (see [`limits::StreamLimits`]).
    pub stream_limits: limits::StreamLimits,
}

impl Default for ProxySettings {
    /// A random session key, nothing else enabled, secure cookies.
    fn default() -> Self {
        Self {
            session_key: Key::generate(),
            jwt_secret: None,
            jwt_audience: None,
            jwt_issuer: None,
            admin_token: None,
            webhook_secrets: Vec::new(),
            allowed_origins: Vec::new(),
            allowed_steps: None,
            secure_cookies: true,
            cross_site_cookies: false,
            session_idle: DEFAULT_SESSION_IDLE,
            preauth_money_steps_for_cookies: false,
            webhook_upstream_budget: Duration::from_secs(20),
            rate_limits: limits::RateLimits::default(),
            trusted_proxies: Vec::new(),
            stream_limits: limits::StreamLimits::default(),
        }
    }
}

impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySettings")
            .field("session_key", &"[redacted]")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_issuer", &self.jwt_issuer)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_steps", &self.allowed_steps)
            .field("secure_cookies", &self.secure_cookies)
            .field("cross_site_cookies", &self.cross_site_cookies)
            .field("session_idle", &self.session_idle)
            .field(
                "preauth_money_steps_for_cookies",
                &self.preauth_money_steps_for_cookies,
            )
            .field("webhook_upstream_budget", &self.webhook_upstream_budget)
            .field("rate_limits", &self.rate_limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("stream_limits", &self.stream_limits)
            .finish()
    }
}

/// Shared state of the proxy.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dots: DotsClient,
    db: db::Db,
    hub: hub::Hub,
    settings: ProxySettings,
    /// Who owns which flow, for the hot `GET /api/flows/{id}` path. A flow's owner never
    /// changes once recorded, so entries cannot go stale; the database stays the record.
    owners: quick_cache::sync::Cache<String, String>,
    /// Rate limits of this instance.
    limiter: limits::Limiter,
    /// The open event streams of this instance.
    streams: Arc<limits::Streams>,
    /// Flows as Dots last answered them, for repeated reads (see
    /// [`limits::FLOW_READ_FRESH`]); one call to Dots at a time per flow.
    flow_reads: quick_cache::sync::Cache<String, Arc<routes::flows::FlowRead>>,
}

/// Flows whose last answer is kept for repeated reads.
const FLOW_READ_ENTRIES: usize = 10_000;

/// Flows whose owner is kept in memory (about 100 bytes each).
const OWNER_CACHE_ENTRIES: usize = 100_000;

impl AppState {
    /// State talking to Dots through `dots`, keeping its records in `db`.
    pub fn new(dots: DotsClient, db: db::Db, settings: ProxySettings) -> Self {
        let limiter = limits::Limiter::new(settings.rate_limits);
        let streams = Arc::new(limits::Streams::new(
            settings.stream_limits,
            settings.rate_limits.ipv6_prefix,
        ));
        let hub = hub::Hub::default();
        if let Some(url) = db.listen_url() {
            // Several instances share PostgreSQL: hear the others' events.
            hub.listen(url);
        }
        Self {
            inner: Arc::new(Inner {
                dots,
                db,
                hub,
                settings,
                owners: quick_cache::sync::Cache::new(OWNER_CACHE_ENTRIES),
                limiter,
                streams,
                flow_reads: quick_cache::sync::Cache::new(FLOW_READ_ENTRIES),
            }),
        }
    }

    /// The identity that created flow `id`, from memory or the database.
    pub async fn flow_owner(&self, id: &str) -> Result<Option<String>, db::DbError> {
        if let Some(owner) = self.inner.owners.get(id) {
            return Ok(Some(owner));
        }
        let owner = self.inner.db.flow(id).await?.map(|row| row.identity);
        if let Some(owner) = &owner {
            self.inner.owners.insert(id.to_owned(), owner.clone());
        }
        Ok(owner)
    }

    /// Records that `identity` owns flow `id` (after it is in the database).
    pub(crate) fn remember_owner(&self, id: &str, identity: &str) {
        self.inner.owners.insert(id.to_owned(), identity.to_owned());
    }

    /// The Dots client.
    pub fn dots(&self) -> &DotsClient {
        &self.inner.dots
    }

    /// The database.
    pub fn db(&self) -> &db::Db {
        &self.inner.db
    }

    /// The event hub.
    pub fn hub(&self) -> &hub::Hub {
        &self.inner.hub
    }

    /// The rate limiter.
    pub(crate) fn limiter(&self) -> &limits::Limiter {
        &self.inner.limiter
    }

    /// The open event streams.
    pub(crate) fn streams(&self) -> &Arc<limits::Streams> {
        &self.inner.streams
    }

    /// The last answers of flows read.
    pub(crate) fn flow_reads(
        &self,
    ) -> &quick_cache::sync::Cache<String, Arc<routes::flows::FlowRead>> {
        &self.inner.flow_reads
    }

    /// The security settings.
    pub fn settings(&self) -> &ProxySettings {
        &self.inner.settings
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.inner.settings.session_key.clone()
    }
}

/// CORS for the browser API: a front end on one of the allowed origins (say
/// `https://app.example.com` with the proxy at `https://api.example.com`) may call it with the
/// session cookie. No other origin gets any `Access-Control-*` answer; without allowed
/// origins there is no CORS at all (same-origin only).
fn cors(allowed: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::Method;
    let origins: Vec<HeaderValue> = allowed
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::HeaderName::from_static("last-event-id"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// The proxy's routes, ready to merge into a host's axum app.
pub fn router(state: AppState) -> Router {
    let no_store = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    let nosniff = SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Every request but the event stream (which stays open) has a deadline.
    let deadline =
        TimeoutLayer::with_status_code(axum::http::StatusCode::GATEWAY_TIMEOUT, REQUEST_TIMEOUT);
    let mut api = Router::new()
        .route("/flows", post(routes::flows::create))
        .route("/flows/{flow_id}", get(routes::flows::retrieve))
        .layer(deadline)
        .route("/events", get(routes::events::stream));
    if let Some(cors) = cors(&state.settings().allowed_origins) {
        api = api.layer(cors);
    }
    let host = routes::host::routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::host::require_admin,
        ))
        .layer(deadline);
    Router::new()
        .nest("/api", api)
        .nest("/host", host)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A webhook refused for its size would be retried by Dots until it gives up: its own,
        // larger limit.
        .merge(
            Router::new()
                .route(
                    "/webhooks/dots",
                    post(routes::webhooks::receive).layer(deadline),
                )
                .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)),
        )
        .layer(no_store)
        .layer(nosniff)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        // The path only: a query may carry a stream token, which no log line may hold.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                tracing::debug_span!(
                    "http",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        // Outermost: the request's id (on its log lines, its answer and its calls to Dots),
        // and its count and latency by route template.
        .layer(axum::middleware::from_fn(metrics::track))
        // Mounted in a host's app and served some other way, still one `Host` or none.
        .layer(axum::middleware::from_fn(server::one_host))
        .with_state(state)
}

/// `GET /readyz`: 200 when this instance can serve: its database answers and (on PostgreSQL)
/// it hears the other instances' events; else 503 naming what is down. (`/healthz` only says
/// the process is up.)
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    use axum::http::StatusCode;
    if state.db().ping().await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    if !state.hub().listening() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "event listener not connected",
        );
    }
    (StatusCode::OK, "ready")
}
