//! The marketplace's server: its own routes and the proxy's on one listener, configured by the
//! proxy's settings (`DOTS_ENV`, `DOTS_API_BASE`, `DOTS_CLIENT_ID`, ...; see docs/proxy.md).

use clap::Parser;

#[tokio::main]
async fn main() {
    dots_proxy::launch::init_tracing();
    let config = dots_proxy::config::Config::parse();
    let proxy = match dots_proxy::launch::launch(&config).await {
        Ok(proxy) => proxy,
        Err(err) => {
            eprintln!("marketplace: {err}");
            std::process::exit(2);
        }
    };
    let app = dots_host_example::app(&proxy);
    println!("marketplace listening on http://{}", proxy.addr);
    proxy.serve_until_stopped(app).await;
}
