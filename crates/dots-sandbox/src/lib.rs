//! A local emulator of the Dots API, faithful to Dots' OpenAPI spec and docs, for development
//! and tests. It serves the API under `/api/v2/...` (Basic auth with `client_id:api_key`) and
//! the hosted flow pages under `/flow/{id}` that post Dots' documented messages to their parent.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig::default()).await?;
//! println!("Dots sandbox API at {}", sandbox.api_base());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod auth;
mod error;
mod flows;
mod page;
mod store;

use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use store::Store;

/// The client id the sandbox accepts when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client-id";
/// The API key the sandbox accepts when none is configured (a public, sandbox-only value).
pub const DEFAULT_API_KEY: &str = "sandbox-api-key";

/// How the sandbox is set up.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The client id requests must present.
    pub client_id: String,
    /// The API key requests must present.
    pub api_key: String,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("addr", &self.addr)
            .field("client_id", &self.client_id)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            api_key: DEFAULT_API_KEY.to_owned(),
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
    /// The origin the sandbox is reachable at, e.g. `http://127.0.0.1:4010` (flow links use it).
    public_origin: String,
    store: Store,
}

impl SandboxState {
    /// State for a sandbox reachable at `public_origin` (scheme, host and port; no path).
    pub fn new(config: SandboxConfig, public_origin: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                public_origin: public_origin.into().trim_end_matches('/').to_owned(),
                store: Store::default(),
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
}

/// The sandbox's routes: the Dots API under `/api/v2` and the hosted flow pages.
pub fn router(state: SandboxState) -> Router {
    let api = Router::new()
        .route("/v2/flows", post(flows::create).get(flows::list))
        .route("/v2/flows/{flow_id}", get(flows::retrieve))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_basic_auth,
        ));
    Router::new()
        .nest("/api", api)
        .route("/flow/{flow_id}", get(page::flow_page))
        .route(
            "/flow/{flow_id}/steps/{step}/complete",
            post(page::complete_step),
        )
        .route("/flow-assets/{name}", get(page::asset))
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
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "sandbox server stopped");
        }
    });
    Ok(RunningSandbox { addr, state, task })
}
