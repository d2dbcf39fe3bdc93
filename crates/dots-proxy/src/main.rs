//! `dots-proxy`: run the proxy (and, in local mode, the Dots sandbox in-process).

use axum_extra::extract::cookie::Key;
use clap::Parser;
use dots_proxy::config::{Config, ConfigError, Upstream};
use dots_proxy::db::Db;
use dots_proxy::{router, AppState, DotsClient, ProxySettings};
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::Duration;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    if let Err(err) = run(Config::parse()).await {
        eprintln!("dots-proxy: {err}");
        std::process::exit(2);
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

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let timeout = Duration::from_secs(config.upstream_timeout_secs);
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
        session_key: session_key(&config)?,
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
        rate_limits: dots_proxy::limits::RateLimits {
            flows_per_identity: config.flows_per_minute_per_identity,
            flows_per_client: config.flows_per_minute_per_client,
            new_identities_per_client: config.new_identities_per_minute_per_client,
        },
        trusted_proxies: config.trusted_proxies()?,
    };
    let database_url = match &config.database_url {
        Some(url) => url.expose_secret().to_owned(),
        None => format!(
            "sqlite://{}?mode=rwc",
            config.data_dir.join("dots-proxy.sqlite").display()
        ),
    };
    let db = Db::connect(&database_url)
        .await
        .map_err(|e| format!("DOTS_PROXY_DATABASE_URL: {e}"))?;

    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("DOTS_PROXY_ADDR: cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;

    if config.demo && !local {
        return Err(ConfigError {
            setting: "DOTS_PROXY_DEMO",
            message: "demo mode pays from the sandbox wallet and only runs with DOTS_ENV=local"
                .into(),
        }
        .into());
    }
    let mut _sandbox = None;
    let dots = match upstream {
        Upstream::LocalSandbox { client_id, api_key } => {
            let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig {
                addr: config.sandbox_addr,
                client_id: client_id.clone(),
                api_key: api_key.expose_secret().to_owned(),
                webhook_urls: vec![format!("http://{addr}/webhooks/dots")],
                webhook_secret: webhook_secrets[0].clone(),
            })
            .await
            .map_err(|e| {
                format!(
                    "DOTS_SANDBOX_ADDR: cannot listen on {}: {e}",
                    config.sandbox_addr
                )
            })?;
            tracing::info!(api = %sandbox.api_base(), "local mode: Dots sandbox started in-process; no real money moves");
            let dots = DotsClient::new(
                sandbox.api_base(),
                client_id,
                api_key,
                config.dots_app_id.clone(),
                timeout,
            );
            _sandbox = Some(sandbox);
            dots
        }
        Upstream::Remote {
            base,
            client_id,
            api_key,
        } => {
            tracing::info!(api = %base, "talking to Dots");
            DotsClient::new(
                base.as_str(),
                client_id,
                api_key,
                config.dots_app_id.clone(),
                timeout,
            )
        }
    };
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
    let pruned = db.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let now = dots_proxy::db::now_ms();
            let before = |age: Duration| now - age.as_millis() as i64;
            match pruned.prune(before(retention.0), before(retention.1)).await {
                Ok((events, ids)) => {
                    tracing::info!(events, webhook_ids = ids, "pruned old records")
                }
                Err(err) => tracing::warn!(%err, "pruning failed; will try again"),
            }
        }
    });
    // The origin flow links come from when the API is a local or standalone sandbox.
    let api_origin = url::Url::parse(dots.base())
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null");
    let state = AppState::new(dots, db, settings);
    let mut app = router(state.clone());
    if config.demo {
        let sandbox = _sandbox
            .as_ref()
            .expect("demo mode is local")
            .state()
            .clone();
        app = app.merge(dots_proxy::demo::demo_router(dots_proxy::demo::DemoState {
            app: state,
            sandbox,
        }));
        tracing::info!(
            "demo mode: /api/demo routes pay the caller's own user from the sandbox wallet"
        );
    }
    if let Some(dir) = &config.static_dir {
        if !dir.join("index.html").is_file() {
            return Err(
                format!("DOTS_PROXY_STATIC_DIR: {} has no index.html", dir.display()).into(),
            );
        }
        let frame_origins = match &config.frame_origins {
            Some(value) => {
                dots_proxy::config::check_frame_origins(value)?;
                value.clone()
            }
            None => format!(
                "{} {}",
                config.dots_env.frame_origins(),
                api_origin.unwrap_or_default()
            )
            .trim()
            .to_owned(),
        };
        tracing::info!(%frame_origins, "serving {} under a strict CSP", dir.display());
        app = app.fallback_service(dots_proxy::static_site::static_site(
            dir.clone(),
            frame_origins,
        ));
    }
    tracing::info!(%addr, "dots-proxy listening");
    println!("dots-proxy listening on http://{addr}");
    // `with_state` once, then a cheap `Arc` clone of the built router per connection (served
    // as an unbuilt `Router`, axum rebuilt the route table for every connection: ~7 KiB each,
    // most of what 1,000 open event streams cost).
    let limits = dots_proxy::server::ServeLimits {
        header_timeout: Duration::from_secs(config.header_timeout_secs),
        max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        ..Default::default()
    };
    dots_proxy::server::serve(listener, app.with_state(()), limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
