//! The server half of dots-flow: the only place that holds the Dots client id and API key.
//!
//! It creates and retrieves flows for the browser (`POST /api/flows`, `GET /api/flows/{id}`)
//! and turns every failure into a typed JSON error. Mount it inside your own axum app with
//! [`router`], or run the `dots-proxy` binary.
//!
//! ```no_run
//! # async fn run() {
//! use dots_proxy::{router, AppState, DotsClient};
//! use std::time::Duration;
//!
//! let dots = DotsClient::new(
//!     "https://pls.senddotssandbox.com/api",
//!     "my-client-id",
//!     std::env::var("DOTS_API_KEY").unwrap().into(),
//!     None,
//!     Duration::from_secs(10),
//! );
//! let app = axum::Router::new().merge(router(AppState::new(dots)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
#![warn(missing_docs)]

pub mod config;
mod error;
mod routes;
mod upstream;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ProxyError;
pub use upstream::{DotsClient, UpstreamError};

/// Largest request body accepted from a browser.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Shared state of the proxy.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dots: DotsClient,
    flows: Mutex<HashSet<String>>,
}

impl AppState {
    /// State talking to Dots through `dots`.
    pub fn new(dots: DotsClient) -> Self {
        Self {
            inner: Arc::new(Inner {
                dots,
                flows: Mutex::new(HashSet::new()),
            }),
        }
    }

    pub(crate) fn dots(&self) -> &DotsClient {
        &self.inner.dots
    }

    fn flows(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner.flows.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn remember_flow(&self, id: &str) {
        self.flows().insert(id.to_owned());
    }

    pub(crate) fn knows_flow(&self, id: &str) -> bool {
        self.flows().contains(id)
    }
}

/// The proxy's routes (`/api/...`), ready to merge into a host's axum app.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/flows", post(routes::flows::create))
        .route("/flows/{flow_id}", get(routes::flows::retrieve))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .nest("/api", api)
        .route("/healthz", get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
