//! `dots-proxy`: run the proxy (and, in local mode, the Dots sandbox in-process).

use clap::Parser;
use dots_proxy::config::Config;

#[tokio::main]
async fn main() {
    dots_proxy::launch::init_tracing();
    let config = Config::parse();
    if let Some(dots_proxy::config::Command::Check { public_url }) = &config.command {
        let report = dots_proxy::check::check(&config, public_url.as_ref()).await;
        print!("{}", report.render());
        std::process::exit(i32::from(report.problems > 0));
    }
    if let Some(dots_proxy::config::Command::Migrate) = &config.command {
        match dots_proxy::launch::migrate(&config).await {
            Ok(versions) => {
                let last = versions.last().copied().unwrap_or_default();
                println!(
                    "dots-proxy: the database is at schema version {last} (applied: {versions:?})"
                );
                return;
            }
            Err(err) => {
                eprintln!("dots-proxy: {err}");
                std::process::exit(2);
            }
        }
    }
    if let Err(err) = run(config).await {
        eprintln!("dots-proxy: {err}");
        std::process::exit(2);
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let proxy = dots_proxy::launch::launch(&config).await?;
    let mut app = proxy.router.clone();
    if let Some(dir) = &config.static_dir {
        if !dir.join("index.html").is_file() {
            return Err(
                format!("DOTS_PROXY_STATIC_DIR: {} has no index.html", dir.display()).into(),
            );
        }
        let frame_origins = &proxy.frame_origins;
        tracing::info!(%frame_origins, "serving {} under a strict CSP", dir.display());
        app = app.fallback_service(dots_proxy::static_site::static_site(
            dir.clone(),
            frame_origins.clone(),
        ));
    }
    let addr = proxy.addr;
    tracing::info!(%addr, "dots-proxy listening");
    println!("dots-proxy listening on http://{addr}");
    proxy.serve_until_stopped(app).await;
    Ok(())
}
