//! `dots-sandbox`: run the local Dots emulator on its own.

use clap::Parser;
use std::net::SocketAddr;

/// A local emulator of the Dots API and hosted flow pages.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "DOTS_SANDBOX_ADDR", default_value = "127.0.0.1:4010")]
    addr: SocketAddr,
    /// Client id that API requests must present.
    #[arg(long, env = "DOTS_CLIENT_ID", default_value = dots_sandbox::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// API key that API requests must present.
    #[arg(long, env = "DOTS_API_KEY", default_value = dots_sandbox::DEFAULT_API_KEY, hide_env_values = true)]
    api_key: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig {
        addr: args.addr,
        client_id: args.client_id,
        api_key: args.api_key,
    })
    .await?;
    tracing::info!(api = %sandbox.api_base(), "local Dots sandbox listening");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
