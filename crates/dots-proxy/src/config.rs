//! The proxy's configuration: parsed once at start from flags and environment variables.

use clap::{Parser, ValueEnum};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Which Dots the proxy talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DotsEnv {
    /// The local Dots sandbox, started inside the proxy process.
    Local,
    /// Dots' hosted sandbox (`https://pls.senddotssandbox.com/api`).
    Sandbox,
    /// Dots production (`https://api.dots.dev/api`).
    Production,
}

impl DotsEnv {
    /// The documented API base URL of a hosted environment (`None` for local).
    pub fn api_base(self) -> Option<&'static str> {
        match self {
            DotsEnv::Local => None,
            DotsEnv::Sandbox => Some("https://pls.senddotssandbox.com/api"),
            DotsEnv::Production => Some("https://api.dots.dev/api"),
        }
    }

    /// Where this environment's flow pages are served from, as CSP sources: the hosts Dots'
    /// docs show flow links on (`my-sandbox.dots.dev`, `my.senddotssandbox.com`), by domain.
    /// The local sandbox's own origin is added where it is known.
    pub fn frame_origins(self) -> &'static str {
        match self {
            DotsEnv::Local => "",
            DotsEnv::Sandbox => "https://*.dots.dev https://*.senddotssandbox.com",
            DotsEnv::Production => "https://*.dots.dev",
        }
    }
}

/// Checks `DOTS_PROXY_FRAME_ORIGINS`: space-separated CSP sources such as
/// `https://*.dots.dev` (nothing that could end or extend the policy).
pub fn check_frame_origins(value: &str) -> Result<(), ConfigError> {
    let bad = |message: String| ConfigError {
        setting: "DOTS_PROXY_FRAME_ORIGINS",
        message,
    };
    if value.split_whitespace().next().is_none() {
        return Err(bad("names no origin".into()));
    }
    for source in value.split_whitespace() {
        let plain = source.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '-' | '*' | '[' | ']')
        });
        if !plain || !(source.starts_with("https://") || source.starts_with("http://")) {
            return Err(bad(format!(
                "`{source}` is not an origin such as https://*.dots.dev"
            )));
        }
    }
    Ok(())
}

/// The dots-flow proxy: holds the Dots keys and creates and follows flows for the browser.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Config {
    /// Which Dots to talk to: the in-process local sandbox, Dots' sandbox or production.
    /// Without credentials the proxy always uses the local sandbox.
    #[arg(long, env = "DOTS_ENV", value_enum, default_value = "local")]
    pub dots_env: DotsEnv,
    /// Overrides the API base URL picked by DOTS_ENV (e.g. `http://127.0.0.1:4010/api`).
    #[arg(long, env = "DOTS_API_BASE")]
    pub dots_api_base: Option<url::Url>,
    /// The Dots client id (Basic auth user name).
    #[arg(long, env = "DOTS_CLIENT_ID")]
    pub dots_client_id: Option<String>,
    /// The Dots API key (Basic auth password). Never logged.
    #[arg(long, env = "DOTS_API_KEY", hide_env_values = true)]
    pub dots_api_key: Option<SecretString>,
    /// Optional Dots app id, sent as `Api-App-Id` when using organization keys.
    #[arg(long, env = "DOTS_APP_ID")]
    pub dots_app_id: Option<String>,
    /// Address the proxy listens on.
    #[arg(
        long = "addr",
        env = "DOTS_PROXY_ADDR",
        default_value = "127.0.0.1:3000"
    )]
    pub addr: SocketAddr,
    /// Address of the in-process local sandbox (local mode only; port 0 picks a free one).
    #[arg(long, env = "DOTS_SANDBOX_ADDR", default_value = "127.0.0.1:0")]
    pub sandbox_addr: SocketAddr,
    /// A directory of static files to serve at `/` (e.g. the demo's `dist/`), under a strict
    /// Content-Security-Policy.
    #[arg(long, env = "DOTS_PROXY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Where the pages under `--static-dir` may frame flows from (their CSP `frame-src`),
    /// space-separated; default: the Dots environment's flow hosts, plus the API's own origin
    /// (the local sandbox's).
    #[arg(long, env = "DOTS_PROXY_FRAME_ORIGINS")]
    pub frame_origins: Option<String>,
    /// Seconds a connection may take to send a request head (also the idle timeout between
    /// requests); slower connections are closed.
    #[arg(long, env = "DOTS_PROXY_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout_secs: u64,
    /// Most client connections open at once (event streams included); more wait to be accepted.
    #[arg(long, env = "DOTS_PROXY_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Hours the event log behind `/api/events` keeps an event (a stream reconnecting later
    /// than this misses older events).
    #[arg(long, env = "DOTS_PROXY_EVENT_RETENTION_HOURS", default_value_t = 720, value_parser = clap::value_parser!(u64).range(1..=87_600))]
    pub event_retention_hours: u64,
    /// Hours a processed webhook id is remembered, to ignore Dots' retries of it; longer than
    /// Svix's retry horizon (about 28 hours), so at least 48.
    #[arg(long, env = "DOTS_PROXY_WEBHOOK_ID_RETENTION_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u64).range(48..=87_600))]
    pub webhook_id_retention_hours: u64,
    /// Seconds before an upstream call to Dots is abandoned.
    #[arg(long, env = "DOTS_UPSTREAM_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub upstream_timeout_secs: u64,
    /// Webhook signing secret(s) (`whsec_...`, comma-separated during rotation). In local mode
    /// the in-process sandbox signs with the first; default: the sandbox's public secret.
    #[arg(
        long,
        env = "DOTS_WEBHOOK_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub webhook_secret: Vec<SecretString>,
    /// Where the proxy keeps its files (the SQLite database, a generated session key).
    #[arg(long, env = "DOTS_PROXY_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://...` or `postgres://...` (default: SQLite in the data dir).
    #[arg(long, env = "DOTS_PROXY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// Bearer token for the host-side API (`/host/...`); the host API is off without it.
    #[arg(long, env = "DOTS_PROXY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<SecretString>,
    /// Browser origins allowed to call the API (comma-separated). Default: the request's own
    /// origin (same-origin only).
    #[arg(long, env = "DOTS_PROXY_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Key for signing session cookies (at least 32 bytes). Default: generated once and kept in
    /// the data dir.
    #[arg(long, env = "DOTS_PROXY_SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<SecretString>,
    /// HS256 secret of host-signed bearer tokens (`sub` = the host's user id), at least 32
    /// bytes. Off without it.
    #[arg(long, env = "DOTS_PROXY_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// The `aud` bearer tokens must carry (checked when set).
    #[arg(long, env = "DOTS_PROXY_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// The `iss` bearer tokens must carry (checked when set).
    #[arg(long, env = "DOTS_PROXY_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Steps browsers may request (comma-separated); default: all.
    #[arg(long, env = "DOTS_PROXY_ALLOWED_STEPS", value_delimiter = ',')]
    pub allowed_steps: Vec<String>,
    /// Demo mode (local mode only): adds `/api/demo/...` routes that pay the caller's own bound user
    /// from the sandbox app wallet and switch sandbox faults, for the demo page.
    #[arg(long, env = "DOTS_PROXY_DEMO", action = clap::ArgAction::Set, num_args = 0..=1,
          default_value = "false", default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// Hours an unused session cookie stays valid; after that the browser starts a new,
    /// unbound session.
    #[arg(long, env = "DOTS_PROXY_SESSION_IDLE_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub session_idle_hours: u64,
    /// Pre-authenticate money steps (payout, manage-payouts, manage-payments) for cookie
    /// sessions too. Off: a cookie alone never moves money without the user's sign-in.
    #[arg(long, env = "DOTS_PROXY_PREAUTH_COOKIE_MONEY_STEPS", action = clap::ArgAction::Set, num_args = 0..=1,
          default_value = "false", default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub preauth_cookie_money_steps: bool,
    /// Flows one identity may create per minute (0: no limit).
    #[arg(
        long,
        env = "DOTS_PROXY_FLOWS_PER_MINUTE_PER_IDENTITY",
        default_value_t = 20
    )]
    pub flows_per_minute_per_identity: u32,
    /// Flows one client address may create per minute, all its identities together (0: no
    /// limit).
    #[arg(
        long,
        env = "DOTS_PROXY_FLOWS_PER_MINUTE_PER_CLIENT",
        default_value_t = 60
    )]
    pub flows_per_minute_per_client: u32,
    /// New identities (browser sessions or bearer subjects) per client address per minute (0:
    /// no limit).
    #[arg(
        long,
        env = "DOTS_PROXY_NEW_IDENTITIES_PER_MINUTE_PER_CLIENT",
        default_value_t = 10
    )]
    pub new_identities_per_minute_per_client: u32,
    /// IPv6 clients are limited by their network of this many bits (a home or a phone has a
    /// whole /64); IPv4-mapped addresses count as the IPv4 address.
    #[arg(long, env = "DOTS_PROXY_IPV6_PREFIX_LEN", default_value_t = 64, value_parser = clap::value_parser!(u8).range(16..=128))]
    pub ipv6_prefix_len: u8,
    /// Reads of flows (`GET /api/flows/{id}`) one identity may make per minute (0: no
    /// limit); repeated reads of an unchanged flow are answered without asking Dots.
    #[arg(
        long,
        env = "DOTS_PROXY_FLOW_READS_PER_MINUTE_PER_IDENTITY",
        default_value_t = 120
    )]
    pub flow_reads_per_minute_per_identity: u32,
    /// Event streams one identity may have open; one more closes its oldest (a person has one
    /// per open tab).
    #[arg(long, env = "DOTS_PROXY_STREAMS_PER_IDENTITY", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub streams_per_identity: u64,
    /// Event streams open at once from one client address (an IPv6 network counts as one);
    /// more are refused.
    #[arg(long, env = "DOTS_PROXY_STREAMS_PER_CLIENT", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub streams_per_client: u64,
    /// Event streams open at once on this instance; default: seven eighths of
    /// `--max-connections`, the rest kept for health checks, webhooks, the host API and new
    /// flows. More are refused (503).
    #[arg(long, env = "DOTS_PROXY_MAX_STREAMS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_streams: Option<u64>,
    /// Connections open at once from one client address (a trusted load balancer's are not
    /// counted); more are closed as soon as they are accepted (0: no limit).
    #[arg(
        long,
        env = "DOTS_PROXY_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 256
    )]
    pub max_connections_per_client: u64,
    /// Load balancers (addresses or networks, comma-separated) whose `X-Forwarded-For` names
    /// the client for rate limits; from anyone else the header is ignored.
    #[arg(long, env = "DOTS_PROXY_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Send the session cookie only over HTTPS (default: on unless the proxy listens on loopback).
    #[arg(long, env = "DOTS_PROXY_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new())]
    pub secure_cookies: Option<bool>,
    /// `SameSite=None` for the session cookie, for a front end on another *site* than the proxy
    /// (`Lax`, the default, already reaches another origin of the same site). Needs HTTPS
    /// (`Secure` cookies); the allowed origins still guard every cookie-authenticated write.
    #[arg(long, env = "DOTS_PROXY_CROSS_SITE_COOKIES", default_value_t = false, value_parser = clap::builder::BoolishValueParser::new())]
    pub cross_site_cookies: bool,
    /// Where Prometheus scrapes `GET /metrics` (a listener of its own, e.g. `127.0.0.1:9100`,
    /// never the public port); off when unset.
    #[arg(long, env = "DOTS_PROXY_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds between reconciliation sweeps (each re-reads from Dots a batch of unfinished
    /// flows, for webhooks that never came); 0 turns the sweep off.
    #[arg(long, env = "DOTS_PROXY_RECONCILE_EVERY_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub reconcile_every_secs: u64,
    /// Hours back (by creation) the sweep looks at unfinished flows.
    #[arg(long, env = "DOTS_PROXY_RECONCILE_WITHIN_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8_760))]
    pub reconcile_within_hours: u64,
    /// Flows one sweep looks at, at most (one Dots call each).
    #[arg(long, env = "DOTS_PROXY_RECONCILE_BATCH", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub reconcile_batch: u32,
    /// Bring the database's schema up to date at start (versioned migrations, applied once
    /// even when several instances start together). Off: start only on a database that is up
    /// to date, and migrate with `dots-proxy migrate`.
    #[arg(long, env = "DOTS_PROXY_AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub auto_migrate: bool,
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `dots-proxy <command>`: what to do instead of serving.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Before going live: read this configuration as the server does, try the credentials
    /// with one harmless call to Dots, and report the webhook secret's form, the frame origins
    /// and the webhook URL to register. Exits 0 when all is well, 1 otherwise.
    Check {
        /// The proxy's public URL (where Svix will reach it), e.g. `https://pay.example.com`.
        #[arg(long, env = "DOTS_PROXY_PUBLIC_URL")]
        public_url: Option<url::Url>,
    },
    /// Bring the database's schema up to date (DOTS_PROXY_DATABASE_URL, or SQLite in the data
    /// dir), print its versions, and exit.
    Migrate,
}

impl Config {
    /// The configuration of a proxy that lives inside a web app's own server (a Leptos app
    /// built with cargo-leptos, say), for [`crate::launch::launch_in_app`]:
    ///
    /// - every setting from its `DOTS_*` environment variable (or `.env` value the app loaded);
    ///   the process's command-line arguments are the app's and are not read;
    /// - it listens on `addr`, the app's own address (cargo-leptos' `site-addr`, which it passes
    ///   as `LEPTOS_SITE_ADDR`): one listener serves the pages, the browser API and Dots'
    ///   webhooks, and `DOTS_PROXY_ADDR` is not read;
    /// - unless `DOTS_PROXY_DATA_DIR` is set, its files (the SQLite database, the session key)
    ///   go to `dots-proxy/` in cargo's target directory (`CARGO_TARGET_DIR`, else `target`),
    ///   which git already ignores, instead of `.data` in the app's sources. A deployed app
    ///   sets `DOTS_PROXY_DATA_DIR` or `DOTS_PROXY_DATABASE_URL`.
    ///
    /// An error names the variable at fault.
    pub fn for_app(addr: SocketAddr) -> Result<Config, ConfigError> {
        let mut config = Config::try_parse_from(["dots-proxy"]).map_err(env_error)?;
        config.addr = addr;
        if std::env::var_os("DOTS_PROXY_DATA_DIR").is_none() {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"));
            config.data_dir = target.join("dots-proxy");
        }
        Ok(config)
    }

    /// The database: `DOTS_PROXY_DATABASE_URL`, or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("dots-proxy.sqlite").display()
            ),
        }
    }

    /// Where pages may frame flows from (CSP `frame-src` sources, space-separated):
    /// `DOTS_PROXY_FRAME_ORIGINS` when set, else the Dots environment's flow hosts plus the
    /// API's own origin (where a local or standalone sandbox serves its flow pages).
    pub fn frame_sources(&self, api_base: &str) -> String {
        if let Some(value) = &self.frame_origins {
            return value.clone();
        }
        let api_origin = url::Url::parse(api_base)
            .ok()
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null");
        format!(
            "{} {}",
            self.dots_env.frame_origins(),
            api_origin.unwrap_or_default()
        )
        .trim()
        .to_owned()
    }

    /// The webhook secrets, parsed; the sandbox default in local mode when none is given.
    pub fn webhook_secrets(
        &self,
        local: bool,
    ) -> Result<Vec<dots_api::webhook::WebhookSecret>, ConfigError> {
        use secrecy::ExposeSecret;
        let mut secrets = Vec::new();
        for secret in &self.webhook_secret {
            secrets.push(
                dots_api::webhook::WebhookSecret::parse(secret.expose_secret()).map_err(|_| {
                    ConfigError {
                        setting: "DOTS_WEBHOOK_SECRET",
                        message: "each secret must be base64, with or without a `whsec_` prefix"
                            .into(),
                    }
                })?,
            );
        }
        #[cfg(feature = "local-sandbox")]
        if secrets.is_empty() && local {
            secrets.push(
                dots_api::webhook::WebhookSecret::parse(dots_sandbox::DEFAULT_WEBHOOK_SECRET)
                    .expect("the sandbox default parses"),
            );
        }
        #[cfg(not(feature = "local-sandbox"))]
        let _ = local;
        Ok(secrets)
    }

    /// The bearer-token secret, checked to be long enough to resist guessing.
    pub fn jwt_secret(&self) -> Result<Option<SecretString>, ConfigError> {
        use secrecy::ExposeSecret;
        match &self.jwt_secret {
            Some(secret) if secret.expose_secret().len() < crate::MIN_JWT_SECRET_BYTES => {
                Err(ConfigError {
                    setting: "DOTS_PROXY_JWT_SECRET",
                    message: format!(
                        "must be at least {} bytes (e.g. `openssl rand -hex 32`)",
                        crate::MIN_JWT_SECRET_BYTES
                    ),
                })
            }
            other => Ok(other.clone()),
        }
    }

    /// The trusted load balancers, parsed.
    pub fn trusted_proxies(&self) -> Result<Vec<crate::limits::TrustedProxy>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|text| {
                text.parse().map_err(|message| ConfigError {
                    setting: "DOTS_PROXY_TRUSTED_PROXIES",
                    message,
                })
            })
            .collect()
    }

    /// The steps browsers may request, parsed.
    pub fn step_policy(&self) -> Result<Option<Vec<dots_api::StepName>>, ConfigError> {
        if self.allowed_steps.is_empty() {
            return Ok(None);
        }
        let mut steps = Vec::new();
        for name in &self.allowed_steps {
            let step = dots_api::StepName::parse(name.trim());
            if !step.is_requestable() {
                return Err(ConfigError {
                    setting: "DOTS_PROXY_ALLOWED_STEPS",
                    message: format!("`{name}` is not a Dots step"),
                });
            }
            steps.push(step);
        }
        Ok(Some(steps))
    }

    /// Allowed browser origins, checked to be origins.
    pub fn origins(&self) -> Result<Vec<String>, ConfigError> {
        self.allowed_origins
            .iter()
            .map(|o| {
                let url = url::Url::parse(o.trim()).map_err(|_| ConfigError {
                    setting: "DOTS_PROXY_ALLOWED_ORIGINS",
                    message: format!("`{o}` is not an origin like https://app.example.com"),
                })?;
                Ok(url.origin().ascii_serialization())
            })
            .collect()
    }
}

/// Where the proxy will send API calls, once the configuration is resolved.
#[derive(Debug)]
pub enum Upstream {
    /// Start the local sandbox in-process with these credentials.
    LocalSandbox {
        /// Client id the sandbox accepts and the proxy sends.
        client_id: String,
        /// API key the sandbox accepts and the proxy sends.
        api_key: SecretString,
    },
    /// A running Dots API.
    Remote {
        /// The API base URL, e.g. `https://api.dots.dev/api`.
        base: url::Url,
        /// Client id.
        client_id: String,
        /// API key.
        api_key: SecretString,
    },
}

/// A settings error of [`Config::for_app`], worded with the environment variable at fault
/// (clap words it with the command-line flag, which an app's user never typed).
fn env_error(err: clap::Error) -> ConfigError {
    use clap::error::{ContextKind, ContextValue};
    use clap::CommandFactory;
    let flag = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(flag)) => flag.clone(),
        _ => String::new(),
    };
    let command = Config::command();
    let variable = command
        .get_arguments()
        .find(|arg| {
            arg.get_long()
                .is_some_and(|long| flag.starts_with(&format!("--{long}")))
        })
        .and_then(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned());
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    ConfigError {
        setting: "DOTS_*",
        message: match variable {
            Some(variable) => format!("{variable}: {}", first.replace(&flag, &variable)),
            None => first.to_owned(),
        },
    }
}

/// A setting that is missing or malformed; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {setting}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub setting: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl Config {
    /// Decides where API calls go. Remote environments need both credentials; with none at all
    /// (or `DOTS_ENV=local` without `DOTS_API_BASE`) the local sandbox is used.
    pub fn upstream(&self) -> Result<Upstream, ConfigError> {
        let has_credentials = self.dots_client_id.is_some() || self.dots_api_key.is_some();
        let local =
            self.dots_api_base.is_none() && (self.dots_env == DotsEnv::Local || !has_credentials);
        if local {
            if self.dots_env != DotsEnv::Local {
                return Err(ConfigError {
                    setting: "DOTS_CLIENT_ID",
                    message: format!(
                        "DOTS_ENV={:?} needs DOTS_CLIENT_ID and DOTS_API_KEY (or use DOTS_ENV=local)",
                        self.dots_env
                    )
                    .to_lowercase(),
                });
            }
            #[cfg(feature = "local-sandbox")]
            return Ok(Upstream::LocalSandbox {
                client_id: self
                    .dots_client_id
                    .clone()
                    .unwrap_or_else(|| dots_sandbox::DEFAULT_CLIENT_ID.to_owned()),
                api_key: self
                    .dots_api_key
                    .clone()
                    .unwrap_or_else(|| dots_sandbox::DEFAULT_API_KEY.into()),
            });
            #[cfg(not(feature = "local-sandbox"))]
            return Err(ConfigError {
                setting: "DOTS_ENV",
                message: "this build has no local Dots sandbox (dots-proxy was built without its \
                          `local-sandbox` feature): set DOTS_ENV=sandbox or production, with \
                          DOTS_CLIENT_ID and DOTS_API_KEY"
                    .into(),
            });
        }
        let base = match (&self.dots_api_base, self.dots_env.api_base()) {
            (Some(base), _) => base.clone(),
            (None, Some(base)) => url::Url::parse(base).expect("documented base URLs parse"),
            (None, None) => unreachable!("local without DOTS_API_BASE is handled above"),
        };
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ConfigError {
                setting: "DOTS_API_BASE",
                message: "must be an http(s) URL".into(),
            });
        }
        let client_id = self.dots_client_id.clone().ok_or(ConfigError {
            setting: "DOTS_CLIENT_ID",
            message: "is required when talking to a remote Dots API".into(),
        })?;
        if client_id.trim().is_empty() {
            return Err(ConfigError {
                setting: "DOTS_CLIENT_ID",
                message: "must not be empty".into(),
            });
        }
        let api_key = self.dots_api_key.clone().ok_or(ConfigError {
            setting: "DOTS_API_KEY",
            message: "is required when talking to a remote Dots API".into(),
        })?;
        Ok(Upstream::Remote {
            base,
            client_id,
            api_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let mut full = vec!["dots-proxy"];
        full.extend_from_slice(args);
        Config::try_parse_from(full).expect("parses")
    }

    #[test]
    fn a_short_bearer_secret_is_refused_naming_the_setting() {
        // Issue 12: a 1-byte secret was accepted.
        let err = parse(&["--jwt-secret", "x"]).jwt_secret().unwrap_err();
        assert_eq!(err.setting, "DOTS_PROXY_JWT_SECRET");
        assert!(err.message.contains("32 bytes"), "{err}");
        let short = "k".repeat(31);
        assert!(parse(&["--jwt-secret", &short]).jwt_secret().is_err());
        let long = "k".repeat(32);
        assert!(parse(&["--jwt-secret", &long])
            .jwt_secret()
            .unwrap()
            .is_some());
        assert!(parse(&[]).jwt_secret().unwrap().is_none());
        let config = parse(&[
            "--jwt-audience",
            "payouts",
            "--jwt-issuer",
            "https://host.example",
        ]);
        assert_eq!(config.jwt_audience.as_deref(), Some("payouts"));
        assert_eq!(config.jwt_issuer.as_deref(), Some("https://host.example"));
    }

    #[test]
    fn webhook_ids_outlive_svix_retries() {
        // Issue 12: pruning must not forget an id Dots may still retry.
        assert!(
            Config::try_parse_from(["dots-proxy", "--webhook-id-retention-hours", "24"]).is_err()
        );
        let config = parse(&[]);
        assert_eq!(config.webhook_id_retention_hours, 168);
        assert_eq!(config.event_retention_hours, 720);
    }

    #[test]
    #[cfg(not(feature = "local-sandbox"))]
    fn local_mode_without_the_emulator_says_so() {
        // Issue 15: a production build (no `local-sandbox`) asked for the local sandbox stops
        // with a message naming the setting and what to do.
        let err = parse(&["--dots-env", "local"]).upstream().unwrap_err();
        assert_eq!(err.setting, "DOTS_ENV");
        assert!(err.message.contains("local-sandbox"), "{}", err.message);
        assert!(err.message.contains("DOTS_CLIENT_ID"), "{}", err.message);
        let err = parse(&[]).upstream().unwrap_err();
        assert_eq!(err.setting, "DOTS_ENV", "no credentials: the same message");
    }

    #[test]
    #[cfg(feature = "local-sandbox")]
    fn no_credentials_means_local_sandbox() {
        assert!(matches!(
            parse(&[]).upstream(),
            Ok(Upstream::LocalSandbox { .. })
        ));
    }

    #[test]
    fn remote_needs_both_credentials_and_names_the_missing_one() {
        let err = parse(&["--dots-env", "sandbox", "--dots-client-id", "abc"])
            .upstream()
            .unwrap_err();
        assert_eq!(err.setting, "DOTS_API_KEY");
        let err = parse(&["--dots-env", "production"]).upstream().unwrap_err();
        assert_eq!(err.setting, "DOTS_CLIENT_ID");
    }

    #[test]
    fn documented_base_urls_and_override() {
        let config = parse(&[
            "--dots-env",
            "production",
            "--dots-client-id",
            "abc",
            "--dots-api-key",
            "k",
        ]);
        match config.upstream().unwrap() {
            Upstream::Remote { base, .. } => assert_eq!(base.as_str(), "https://api.dots.dev/api"),
            other => panic!("expected remote, got {other:?}"),
        }
        let config = parse(&[
            "--dots-api-base",
            "http://127.0.0.1:9/api",
            "--dots-client-id",
            "abc",
            "--dots-api-key",
            "k",
        ]);
        assert!(matches!(
            config.upstream().unwrap(),
            Upstream::Remote { .. }
        ));
    }

    #[test]
    fn malformed_settings_are_refused_by_name() {
        let mut args = vec!["dots-proxy", "--addr", "not-an-address"];
        let err = Config::try_parse_from(&args).unwrap_err().to_string();
        assert!(err.contains("--addr"), "{err}");
        args = vec!["dots-proxy", "--dots-env", "staging"];
        let err = Config::try_parse_from(&args).unwrap_err().to_string();
        assert!(err.contains("--dots-env"), "{err}");
    }

    #[test]
    fn webhook_secrets_steps_and_origins_are_checked_by_name() {
        let config = parse(&["--webhook-secret", "not-a-secret"]);
        assert_eq!(
            config.webhook_secrets(false).unwrap_err().setting,
            "DOTS_WEBHOOK_SECRET"
        );
        let config = parse(&[]);
        #[cfg(feature = "local-sandbox")]
        assert_eq!(
            config.webhook_secrets(true).unwrap().len(),
            1,
            "local mode defaults to the sandbox secret"
        );
        assert!(config.webhook_secrets(false).unwrap().is_empty());
        let config = parse(&["--webhook-secret", "whsec_b2xk,whsec_bmV3"]);
        assert_eq!(
            config.webhook_secrets(false).unwrap().len(),
            2,
            "rotation: several secrets"
        );

        let config = parse(&["--allowed-steps", "compliance,teleport"]);
        assert_eq!(
            config.step_policy().unwrap_err().setting,
            "DOTS_PROXY_ALLOWED_STEPS"
        );
        let config = parse(&["--allowed-steps", "compliance,payout"]);
        assert_eq!(config.step_policy().unwrap().unwrap().len(), 2);

        let config = parse(&["--allowed-origins", "https://app.example.com/path,notaurl"]);
        assert_eq!(
            config.origins().unwrap_err().setting,
            "DOTS_PROXY_ALLOWED_ORIGINS"
        );
        let config = parse(&["--allowed-origins", "https://app.example.com/"]);
        assert_eq!(
            config.origins().unwrap(),
            vec!["https://app.example.com".to_owned()]
        );
    }

    #[test]
    fn booleans_accept_the_usual_spellings() {
        assert!(parse(&["--demo"]).demo);
        assert!(parse(&["--demo", "1"]).demo);
        assert!(!parse(&["--demo", "false"]).demo);
        assert!(!parse(&[]).demo);
        assert_eq!(
            parse(&["--secure-cookies", "yes"]).secure_cookies,
            Some(true)
        );
        assert_eq!(
            parse(&["--secure-cookies", "0"]).secure_cookies,
            Some(false)
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let envs: &[&str] = if cfg!(feature = "local-sandbox") {
            &["local", "sandbox"]
        } else {
            &["sandbox"]
        };
        for env in envs {
            let config = parse(&[
                "--dots-env",
                env,
                "--dots-client-id",
                "abc",
                "--dots-api-key",
                "super-secret-key",
            ]);
            assert!(!format!("{config:?}").contains("super-secret-key"));
            let upstream = config.upstream().unwrap();
            assert!(!format!("{upstream:?}").contains("super-secret-key"));
        }
    }
}
