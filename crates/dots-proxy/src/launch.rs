//! Starting the proxy from its [`Config`]: what the `dots-proxy` binary does before it serves,
//! as a library call, so an app that serves pages itself (a Leptos SSR server, say) runs the
//! same proxy with the same settings and environment variables, and mounts its router beside
//! its own routes.
//!
//! An app that serves pages itself calls [`launch_in_app`] with its own address instead.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use clap::Parser;
//! let proxy = dots_proxy::launch::launch(&dots_proxy::config::Config::parse()).await?;
//! let app = axum::Router::new() /* your pages */ .merge(proxy.router.clone());
//! proxy.serve_until_stopped(app).await;
//! # Ok(()) }
//! ```

use axum::Router;
use axum_extra::extract::cookie::Key;
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError, Upstream};
use crate::db::Db;
use crate::{router, AppState, DotsClient, ProxySettings};

/// `dots-proxy migrate`: brings the configured database's schema up to date and says which
/// versions it has.
pub async fn migrate(config: &Config) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "DOTS_PROXY_DATA_DIR: cannot create {}: {e}",
            config.data_dir.display()
        )
    })?;
    let db = Db::connect_with(&config.database_url(), crate::db::Migrations::Apply)
        .await
        .map_err(|e| format!("DOTS_PROXY_DATABASE_URL: {e}"))?;
    Ok(db.schema_versions().await?)
}

/// The local sandbox a proxy started in-process, if it did.
#[cfg(feature = "local-sandbox")]
pub(crate) type LocalSandbox = Option<dots_sandbox::RunningSandbox>;
/// Nothing: this build has no local sandbox.
#[cfg(not(feature = "local-sandbox"))]
pub(crate) type LocalSandbox = ();

/// A client of the Dots `upstream` names: the remote API, or the local sandbox started here on
/// `sandbox_addr` (delivering webhooks to the URL given, signed with its secret), which is
/// returned to be kept alive.
pub(crate) async fn connect(
    config: &Config,
    upstream: Upstream,
    sandbox_addr: SocketAddr,
    webhooks: Option<(String, dots_api::webhook::WebhookSecret)>,
) -> Result<(DotsClient, LocalSandbox), Box<dyn std::error::Error>> {
    let timeout = Duration::from_secs(config.upstream_timeout_secs);
    #[cfg(not(feature = "local-sandbox"))]
    let _ = (sandbox_addr, webhooks);
    match upstream {
        #[cfg(feature = "local-sandbox")]
        Upstream::LocalSandbox { client_id, api_key } => {
            let mut sandbox_config = dots_sandbox::SandboxConfig {
                addr: sandbox_addr,
                client_id: client_id.clone(),
                api_key: api_key.expose_secret().to_owned(),
                // The standalone sandbox's DOTS_SANDBOX_* settings apply in-process too.
                behaviour: dots_sandbox::Behaviour::from_env()?,
                ..Default::default()
            };
            if let Some((url, secret)) = webhooks {
                sandbox_config.webhook_urls = vec![url];
                sandbox_config.webhook_secret = secret;
            }
            let started = dots_sandbox::spawn(sandbox_config)
                .await
                .map_err(|e| format!("DOTS_SANDBOX_ADDR: cannot listen on {sandbox_addr}: {e}"))?;
            tracing::info!(api = %started.api_base(), "local mode: Dots sandbox started in-process; no real money moves");
            let dots = DotsClient::new(
                started.api_base(),
                client_id,
                api_key,
                config.dots_app_id.clone(),
                timeout,
            );
            Ok((dots, Some(started)))
        }
        #[cfg(not(feature = "local-sandbox"))]
        Upstream::LocalSandbox { .. } => unreachable!("Config::upstream refuses local mode"),
        Upstream::Remote {
            base,
            client_id,
            api_key,
        } => {
            tracing::info!(api = %base, "talking to Dots");
            let dots = DotsClient::new(
                base.as_str(),
                client_id,
                api_key,
                config.dots_app_id.clone(),
                timeout,
            );
            #[cfg(feature = "local-sandbox")]
            return Ok((dots, None));
            #[cfg(not(feature = "local-sandbox"))]
            return Ok((dots, ()));
        }
    }
}

/// A started proxy: its listener (bound, not yet serving), state and router.
pub struct Launched {
    listener: Option<TcpListener>,
    /// Where the listener listens.
    pub addr: SocketAddr,
    /// The proxy's state (for [`crate::start_or_reuse_flow`] and friends).
    pub state: AppState,
    /// The proxy's routes (browser API, webhooks, host API; demo routes in demo mode).
    pub router: Router,
    /// Where pages may frame flows from: the CSP `frame-src` sources (space-separated).
    pub frame_origins: String,
    /// The connection limits from the configuration.
    pub limits: crate::server::ServeLimits,
    /// Whether the API is the in-process local sandbox.
    pub local: bool,
    /// The in-process sandbox (local mode), kept running as long as this lives.
    #[cfg(feature = "local-sandbox")]
    sandbox: Option<dots_sandbox::RunningSandbox>,
}

impl Launched {
    /// The bound listener, for [`crate::server::serve`] (once).
    ///
    /// # Panics
    /// When called twice.
    pub fn take_listener(&mut self) -> TcpListener {
        self.listener.take().expect("the listener is taken once")
    }

    /// The in-process sandbox's state (local mode).
    #[cfg(feature = "local-sandbox")]
    pub fn sandbox(&self) -> Option<&dots_sandbox::RunningSandbox> {
        self.sandbox.as_ref()
    }

    /// Serves `app` (the proxy's router merged into yours) on the listener, within the
    /// configured limits, until Ctrl-C (SIGINT) or SIGTERM. Then it drains: open event streams
    /// are told to reconnect (to another instance behind the load balancer) and closed, no new
    /// connection is accepted, and requests in flight finish (within the grace period). The
    /// local sandbox runs as long as this.
    pub async fn serve_until_stopped(mut self, app: Router) {
        let hub = self.state.hub().clone();
        let stopped = async move {
            stop_signal().await;
            tracing::info!("stopping: event streams told to reconnect, requests in flight finish");
            hub.close_streams();
        };
        // `with_state` once, then a cheap `Arc` clone of the built router per connection
        // (served as an unbuilt `Router`, axum rebuilt the route table for every connection:
        // ~7 KiB each, most of what 1,000 open event streams cost).
        crate::server::serve(
            self.take_listener(),
            app.with_state(()),
            self.limits,
            stopped,
        )
        .await;
    }
}

/// Starts the proxy inside a web app's own server, on the app's address: the settings of
/// [`Config::for_app`] (the `DOTS_*` environment, `addr`, files under `target/dots-proxy`
/// unless `DOTS_PROXY_DATA_DIR` says otherwise), the proxy's log lines on stdout unless the
/// app installed a `tracing` subscriber of its own, then [`launch`]. Merge
/// [`Launched::router`] into the app's router and serve both with
/// [`Launched::serve_until_stopped`]: the pages, the browser API and Dots' webhooks share the
/// one listener.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // In a cargo-leptos app: `let addr = leptos_options.site_addr;`
/// let addr = "127.0.0.1:3000".parse()?;
/// let proxy = dots_proxy::launch::launch_in_app(addr).await?;
/// let app = axum::Router::new() /* the app's routes */ .merge(proxy.router.clone());
/// proxy.serve_until_stopped(app).await;
/// # Ok(()) }
/// ```
pub async fn launch_in_app(addr: SocketAddr) -> Result<Launched, Box<dyn std::error::Error>> {
    let config = Config::for_app(addr)?;
    if !tracing::dispatcher::has_been_set() {
        init_tracing();
    }
    launch(&config).await
}

/// Logs to stdout, filtered by `RUST_LOG` (default `info,tower_http=warn`), as the binary does.
///
/// # Panics
/// When a global `tracing` subscriber is already installed.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // DOTS_PROXY_LOG_FORMAT=json: one JSON object per line, with the request's span fields
    // (its `request_id`) on each.
    if std::env::var("DOTS_PROXY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

/// The session key: from DOTS_PROXY_SESSION_SECRET, or generated once and kept in the data dir
/// so sessions survive a restart.
fn session_key(config: &Config) -> Result<Key, Box<dyn std::error::Error>> {
    if let Some(secret) = &config.session_secret {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < 32 {
            return Err(ConfigError {
                setting: "DOTS_PROXY_SESSION_SECRET",
                message: "must be at least 32 bytes".into(),
            }
            .into());
        }
        return Ok(Key::derive_from(bytes));
    }
    let path = config.data_dir.join("session.key");
    if let Ok(existing) = std::fs::read(&path) {
        if existing.len() >= 64 {
            return Ok(Key::from(&existing));
        }
    }
    let key = Key::generate();
    write_private(&path, key.master())?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(bytes)
}

/// Checks the configuration, opens the database, binds the listener, starts the local
/// sandbox (local mode) and the hourly pruning, and builds the router. Every error names the
/// setting at fault.
pub async fn launch(config: &Config) -> Result<Launched, Box<dyn std::error::Error>> {
    let upstream = config.upstream()?;
    let local = matches!(upstream, Upstream::LocalSandbox { .. });
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "DOTS_PROXY_DATA_DIR: cannot create {}: {e}",
            config.data_dir.display()
        )
    })?;
    let webhook_secrets = config.webhook_secrets(local)?;
    let secure_cookies = config
        .secure_cookies
        .unwrap_or(!config.addr.ip().is_loopback());
    if config.cross_site_cookies && !secure_cookies {
        return Err(ConfigError {
            setting: "DOTS_PROXY_CROSS_SITE_COOKIES",
            message: "browsers accept SameSite=None cookies only with Secure: serve over HTTPS \
                      with DOTS_PROXY_SECURE_COOKIES=on"
                .into(),
        }
        .into());
    }
    let settings = ProxySettings {
        session_key: session_key(config)?,
        jwt_secret: config.jwt_secret()?,
        jwt_audience: config.jwt_audience.clone(),
        jwt_issuer: config.jwt_issuer.clone(),
        admin_token: config.admin_token.clone(),
        webhook_secrets: webhook_secrets.clone(),
        allowed_origins: config.origins()?,
        allowed_steps: config.step_policy()?,
        secure_cookies,
        cross_site_cookies: config.cross_site_cookies,
        session_idle: Duration::from_secs(config.session_idle_hours * 3600),
        preauth_money_steps_for_cookies: config.preauth_cookie_money_steps,
        webhook_upstream_budget: Duration::from_secs(20),
        rate_limits: crate::limits::RateLimits {
            flows_per_identity: config.flows_per_minute_per_identity,
            flows_per_client: config.flows_per_minute_per_client,
            new_identities_per_client: config.new_identities_per_minute_per_client,
            ipv6_prefix: config.ipv6_prefix_len,
            flow_reads_per_identity: config.flow_reads_per_minute_per_identity,
        },
        trusted_proxies: config.trusted_proxies()?,
        stream_limits: crate::limits::StreamLimits {
            per_identity: usize::try_from(config.streams_per_identity).unwrap_or(usize::MAX),
            per_client: usize::try_from(config.streams_per_client).unwrap_or(usize::MAX),
            total: config
                .max_streams
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or_else(|| {
                    crate::limits::StreamLimits::total_for(
                        usize::try_from(config.max_connections).unwrap_or(usize::MAX),
                    )
                }),
        },
    };
    if config
        .max_streams
        .is_some_and(|n| n >= config.max_connections)
    {
        return Err(ConfigError {
            setting: "DOTS_PROXY_MAX_STREAMS",
            message: format!(
                "must be under DOTS_PROXY_MAX_CONNECTIONS ({}): the difference is the reserve \
                 that health checks, webhooks and new flows always have",
                config.max_connections
            ),
        }
        .into());
    }
    if config.demo && !local {
        return Err(ConfigError {
            setting: "DOTS_PROXY_DEMO",
            message: "demo mode pays from the sandbox wallet and only runs with DOTS_ENV=local"
                .into(),
        }
        .into());
    }
    if let Some(value) = &config.frame_origins {
        crate::config::check_frame_origins(value)?;
    }
    let migrations = if config.auto_migrate {
        crate::db::Migrations::Apply
    } else {
        crate::db::Migrations::Check
    };
    let db = Db::connect_with(&config.database_url(), migrations)
        .await
        .map_err(|e| format!("DOTS_PROXY_DATABASE_URL: {e}"))?;

    if let Some(metrics_addr) = config.metrics_addr {
        let handle = crate::metrics::install().ok_or(
            "DOTS_PROXY_METRICS_ADDR: a metrics recorder is already installed in this process",
        )?;
        let bound = crate::metrics::serve(metrics_addr, handle, db.clone())
            .await
            .map_err(|e| {
                format!("DOTS_PROXY_METRICS_ADDR: cannot listen on {metrics_addr}: {e}")
            })?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let listener = listen(config.addr)
        .map_err(|e| format!("DOTS_PROXY_ADDR: cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;

    let (dots, sandbox) = connect(
        config,
        upstream,
        config.sandbox_addr,
        Some((
            format!("http://{addr}/webhooks/dots"),
            webhook_secrets[0].clone(),
        )),
    )
    .await?;
    #[cfg(not(feature = "local-sandbox"))]
    let () = sandbox;
    if settings.webhook_secrets.is_empty() {
        tracing::warn!(
            "no DOTS_WEBHOOK_SECRET: webhooks will be refused, so flows are not followed"
        );
    }
    // Stored data does not grow for ever: old events and webhook ids go, hourly.
    let retention = (
        Duration::from_secs(config.event_retention_hours * 3600),
        Duration::from_secs(config.webhook_id_retention_hours * 3600),
    );
    crate::event_log::spawn_pruning(db.clone(), retention.0, retention.1);
    let frame_origins = config.frame_sources(dots.base());
    let state = AppState::new(dots, db, settings);
    // Flows complete on the server even when their webhooks never come.
    if config.reconcile_every_secs > 0 {
        crate::reconcile::spawn(
            state.clone(),
            crate::reconcile::ReconcileSettings {
                every: Duration::from_secs(config.reconcile_every_secs),
                within: Duration::from_secs(config.reconcile_within_hours * 3600),
                batch: config.reconcile_batch,
            },
        );
    }
    #[cfg_attr(not(feature = "local-sandbox"), allow(unused_mut))]
    let mut app = router(state.clone());
    #[cfg(feature = "local-sandbox")]
    if config.demo {
        let sandbox = sandbox
            .as_ref()
            .expect("demo mode is local")
            .state()
            .clone();
        app = app.merge(crate::demo::demo_router(crate::demo::DemoState {
            app: state.clone(),
            sandbox,
        }));
        tracing::info!(
            "demo mode: /api/demo routes pay the caller's own user from the sandbox wallet"
        );
    }
    let limits = crate::server::ServeLimits {
        header_timeout: Duration::from_secs(config.header_timeout_secs),
        max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        max_connections_per_client: usize::try_from(config.max_connections_per_client)
            .unwrap_or(usize::MAX),
        trusted_proxies: state.settings().trusted_proxies.clone(),
        ipv6_prefix: config.ipv6_prefix_len,
        ..Default::default()
    };
    Ok(Launched {
        listener: Some(listener),
        addr,
        state,
        router: app,
        frame_origins,
        limits,
        local,
        #[cfg(feature = "local-sandbox")]
        sandbox,
    })
}

/// Most connections waiting to be accepted (the kernel caps it at `net.core.somaxconn`):
/// during a flood of connections from one address, a longer queue is what keeps other
/// clients' connections from being dropped (and retried a second later) before the proxy
/// sees them. tokio's `bind` asks for 1024.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `bind` sets).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Ctrl-C or (on Unix) SIGTERM, whichever comes first.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(err) => tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
