//! The example's server: the page (rendered with the flow already in it), its server
//! function, the client's files under `/pkg`, and the dots-flow proxy's routes (browser API,
//! webhooks) in the same axum app. Configured exactly like the `dots-proxy` binary (its
//! flags and `DOTS_*` variables; `DOTS_ENV=local` starts the local Dots sandbox in-process).

use axum::routing::{get, post};
use axum::Router;
use clap::Parser;
use dots_flow_ssr_example::app::{shell, FrameOrigins};
use leptos::prelude::*;
use std::path::PathBuf;
use tower_http::services::ServeDir;

#[tokio::main]
async fn main() {
    dots_proxy::launch::init_tracing();
    if let Err(err) = run(dots_proxy::config::Config::parse()).await {
        eprintln!("dots-flow-ssr-example: {err}");
        std::process::exit(2);
    }
}

async fn run(config: dots_proxy::config::Config) -> Result<(), Box<dyn std::error::Error>> {
    // Leptos' resources and effects run their futures on tokio.
    any_spawner::Executor::init_tokio()?;
    // Where the client's files are (what cargo-leptos calls the site root).
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let pkg = PathBuf::from(&site_root).join("pkg");
    if !pkg.join("dots_flow_ssr_example.js").is_file() {
        return Err(format!(
            "LEPTOS_SITE_ROOT: {} has no pkg/dots_flow_ssr_example.js (build the client: \
             scripts/ssr-example.sh)",
            site_root
        )
        .into());
    }
    let options = LeptosOptions::builder()
        .output_name("dots_flow_ssr_example")
        .site_root(site_root.as_str())
        .site_pkg_dir("pkg")
        .build();

    let proxy = dots_proxy::launch::launch(&config).await?;
    let state = proxy.state.clone();
    let frames = FrameOrigins(proxy.frame_origins.clone());
    // What every render and server function can reach: the proxy's state, the frame origins
    // for the policy, and a fresh CSP nonce.
    let context = move || {
        provide_context(state.clone());
        provide_context(frames.clone());
        leptos::nonce::provide_nonce();
    };
    let page = leptos_axum::render_app_async_with_context(context.clone(), {
        let options = options.clone();
        move || shell(options.clone())
    });
    let app = Router::new()
        .route("/", get(page))
        .route(
            "/app/{*fn_name}",
            post(move |request| {
                leptos_axum::handle_server_fns_with_context(context.clone(), request)
            }),
        )
        .nest_service("/pkg", ServeDir::new(pkg))
        .merge(proxy.router.clone());

    let addr = proxy.addr;
    tracing::info!(%addr, "dots-flow SSR example listening");
    println!("dots-flow SSR example on http://{addr}");
    proxy.serve_until_stopped(app).await;
    Ok(())
}
