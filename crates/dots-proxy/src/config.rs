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
    /// A directory of static files to serve at `/` (e.g. the demo's `dist/`).
    #[arg(long, env = "DOTS_PROXY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Seconds before an upstream call to Dots is abandoned.
    #[arg(long, env = "DOTS_UPSTREAM_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub upstream_timeout_secs: u64,
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
    fn debug_output_never_shows_the_key() {
        let config = parse(&[
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
