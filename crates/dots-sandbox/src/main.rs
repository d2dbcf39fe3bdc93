//! `dots-sandbox`: run the local Dots emulator on its own.

use clap::Parser;
use dots_api::webhook::WebhookSecret;
use std::net::SocketAddr;

/// A local emulator of the Dots API, its hosted flow pages and its webhooks.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "DOTS_SANDBOX_ADDR", default_value = dots_sandbox::DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Client id that API requests must present.
    #[arg(long, env = "DOTS_CLIENT_ID", default_value = dots_sandbox::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// API key that API requests must present.
    #[arg(long, env = "DOTS_API_KEY", default_value = dots_sandbox::DEFAULT_API_KEY, hide_env_values = true, hide_default_value = true)]
    api_key: String,
    /// Webhook endpoint(s), comma-separated.
    #[arg(long, env = "DOTS_SANDBOX_WEBHOOK_URLS", value_delimiter = ',')]
    webhook_url: Vec<String>,
    /// The `whsec_...` secret webhooks are signed with.
    #[arg(long, env = "DOTS_WEBHOOK_SECRET", default_value = dots_sandbox::DEFAULT_WEBHOOK_SECRET, hide_env_values = true, hide_default_value = true)]
    webhook_secret: String,
    /// The forms the API answers in: `captured` (as the answers captured in Dots' guides) or
    /// `schema` (as Dots' OpenAPI schema).
    #[arg(
        long,
        env = "DOTS_SANDBOX_DIALECT",
        value_enum,
        default_value = "captured"
    )]
    dialect: dots_sandbox::Dialect,
    /// When the hosted pages post `{height}`: `every-resize` or `first-load`.
    #[arg(
        long,
        env = "DOTS_SANDBOX_HEIGHTS",
        value_enum,
        default_value = "every-resize"
    )]
    heights: dots_sandbox::Heights,
    /// What the sign-in step is called: `onboarding`, `onboard`, `authorization` or
    /// `authentication-onboarding`.
    #[arg(
        long,
        env = "DOTS_SANDBOX_SIGN_IN_STEP",
        value_enum,
        default_value = "onboarding"
    )]
    sign_in_step: dots_sandbox::SignInStep,
    /// The webhook header names: `svix` (`svix-id`, ...) or `webhook` (`webhook-id`, ...).
    #[arg(
        long,
        env = "DOTS_SANDBOX_WEBHOOK_HEADERS",
        value_enum,
        default_value = "svix"
    )]
    webhook_headers: dots_sandbox::WebhookHeaders,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let Ok(webhook_secret) = WebhookSecret::parse(&args.webhook_secret) else {
        eprintln!(
            "dots-sandbox: DOTS_WEBHOOK_SECRET must be base64, with or without a `whsec_` prefix"
        );
        std::process::exit(2);
    };
    let config = dots_sandbox::SandboxConfig {
        addr: args.addr,
        client_id: args.client_id,
        api_key: args.api_key,
        webhook_urls: args.webhook_url,
        webhook_secret,
        behaviour: dots_sandbox::Behaviour {
            dialect: args.dialect,
            heights: args.heights,
            sign_in_step: args.sign_in_step,
            webhook_headers: args.webhook_headers,
        },
    };
    let sandbox = match dots_sandbox::spawn(config).await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!(
                "dots-sandbox: DOTS_SANDBOX_ADDR: cannot listen on {}: {err}",
                args.addr
            );
            std::process::exit(2);
        }
    };
    tracing::info!(api = %sandbox.api_base(), "local Dots sandbox listening");
    println!("dots-sandbox listening on {}", sandbox.origin());
    let _ = tokio::signal::ctrl_c().await;
}
