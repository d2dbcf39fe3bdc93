//! `dots-proxy`: run the proxy (and, in local mode, the Dots sandbox in-process).

use clap::Parser;
use dots_proxy::config::{Config, Upstream};
use dots_proxy::{router, AppState, DotsClient};
use std::time::Duration;
use tower_http::services::{ServeDir, ServeFile};

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

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let timeout = Duration::from_secs(config.upstream_timeout_secs);
    let mut _sandbox = None;
    let dots = match config.upstream()? {
        Upstream::LocalSandbox { client_id, api_key } => {
            use secrecy::ExposeSecret;
            let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig {
                addr: config.sandbox_addr,
                client_id: client_id.clone(),
                api_key: api_key.expose_secret().to_owned(),
                ..dots_sandbox::SandboxConfig::default()
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
    let mut app = router(AppState::new(dots));
    if let Some(dir) = &config.static_dir {
        if !dir.join("index.html").is_file() {
            return Err(
                format!("DOTS_PROXY_STATIC_DIR: {} has no index.html", dir.display()).into(),
            );
        }
        app = app
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))));
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("DOTS_PROXY_ADDR: cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "dots-proxy listening");
    println!("dots-proxy listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
