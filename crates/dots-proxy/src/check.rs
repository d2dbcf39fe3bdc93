//! `dots-proxy check`: for a person about to go live. Reads the configuration exactly as the
//! server does, makes one harmless authenticated call to the configured Dots (`GET
//! /v2/flows?limit=1`), and says what it found: whether Dots accepted the credentials (with
//! Dots' error code when not), the webhook secret's form, the frame origins the CSP will allow
//! and whether the API's flow links fall inside them, and the webhook URL to register in Svix.
//! Every problem is named; the exit status is 0 when there is none, 1 otherwise.

use secrecy::ExposeSecret;
use std::fmt::Write as _;

use crate::config::{Config, Upstream};

/// What `check` found: the report's lines and how many of them are problems.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per finding, `ok` / `PROBLEM` / `note` first.
    pub lines: Vec<String>,
    /// How many findings are problems.
    pub problems: usize,
    /// The configuration is local mode (nothing real is checked).
    pub local: bool,
}

impl Report {
    fn ok(&mut self, what: &str, text: impl AsRef<str>) {
        self.lines
            .push(format!("ok       {what:<16} {}", text.as_ref()));
    }
    fn note(&mut self, what: &str, text: impl AsRef<str>) {
        self.lines
            .push(format!("note     {what:<16} {}", text.as_ref()));
    }
    fn problem(&mut self, what: &str, text: impl AsRef<str>) {
        self.problems += 1;
        self.lines
            .push(format!("PROBLEM  {what:<16} {}", text.as_ref()));
    }

    /// The report as text, with a closing verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let _ = writeln!(out, "{line}");
        }
        match self.problems {
            0 if self.local => out.push_str(
                "all well for local development (local mode: set DOTS_ENV and credentials, then check again before going live)\n",
            ),
            0 => out.push_str("all well: ready to go live\n"),
            n => {
                let _ = writeln!(out, "{n} problem(s): see PROBLEM above");
            }
        }
        out
    }
}

/// Runs the checks for `config`; `public_url` is where Svix will reach this proxy.
pub async fn check(config: &Config, public_url: Option<&url::Url>) -> Report {
    let mut report = Report::default();
    // The same resolution the server does at start; the first failure is reported as the
    // server would refuse to start with it.
    let upstream = match config.upstream() {
        Ok(upstream) => upstream,
        Err(err) => {
            report.problem(err.setting, &err.message);
            return report;
        }
    };
    let local = matches!(upstream, Upstream::LocalSandbox { .. });
    report.local = local;
    for (setting, result) in [
        ("allowed origins", config.origins().map(drop)),
        ("allowed steps", config.step_policy().map(drop)),
        ("bearer tokens", config.jwt_secret().map(drop)),
        ("trusted proxies", config.trusted_proxies().map(drop)),
    ] {
        if let Err(err) = result {
            report.problem(setting, format!("{}: {}", err.setting, err.message));
        }
    }
    if let Some(value) = &config.frame_origins {
        if let Err(err) = crate::config::check_frame_origins(value) {
            report.problem("frame origins", format!("{}: {}", err.setting, err.message));
        }
    }

    // The webhook secret(s): read as the server reads them.
    match config.webhook_secrets(local) {
        Ok(secrets) if secrets.is_empty() => report.problem(
            "webhook secret",
            "none (DOTS_WEBHOOK_SECRET): every webhook will be refused, so flows are not followed",
        ),
        Ok(secrets) => {
            let forms: Vec<&str> = if config.webhook_secret.is_empty() {
                vec!["the local sandbox's public secret (local mode only)"]
            } else {
                config
                    .webhook_secret
                    .iter()
                    .map(|s| dots_api::webhook::secret_form(s.expose_secret()))
                    .collect()
            };
            report.ok(
                "webhook secret",
                format!("{} secret(s): {}", secrets.len(), forms.join("; ")),
            );
        }
        Err(err) => report.problem(
            "webhook secret",
            format!("{}: {}", err.setting, err.message),
        ),
    }

    // One harmless authenticated call (in local mode, to a sandbox started for the check on
    // a free port: the server's own may be running).
    if local {
        report.note(
            "Dots",
            "local mode: the in-process sandbox (no real money moves; set DOTS_ENV and credentials to go live)",
        );
    }
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (client, _sandbox) = match crate::launch::connect(config, upstream, any_port, None).await {
        Ok(connected) => connected,
        Err(err) => {
            report.problem("Dots", err.to_string());
            return report;
        }
    };
    let frame_sources = config.frame_sources(client.base());
    let probe = client.probe().await;
    let mut link = None;
    match probe {
        Ok(answer) if (200..300).contains(&answer.status) => {
            report.ok(
                "credentials",
                format!(
                    "accepted by Dots at {} (GET /v2/flows?limit=1 answered {})",
                    client.base(),
                    answer.status
                ),
            );
            link = answer.first_link;
        }
        Ok(answer) => {
            let code = answer
                .error_code
                .map(|c| format!(", error code `{c}`"))
                .unwrap_or_default();
            let what = match answer.status {
                401 | 403 => "refused: check DOTS_CLIENT_ID, DOTS_API_KEY and DOTS_ENV",
                404 => "the API base answers 404: check DOTS_API_BASE / DOTS_ENV",
                429 => "rate limited by Dots: try again shortly",
                _ => "Dots did not accept the call",
            };
            report.problem(
                "credentials",
                format!(
                    "{what} (Dots answered {}{code}: {})",
                    answer.status, answer.message
                ),
            );
        }
        Err(reason) => report.problem(
            "credentials",
            format!("Dots at {} could not be reached: {reason}", client.base()),
        ),
    }

    // Where flows will be framed from, and whether Dots' links fall inside.
    report.ok(
        "frame origins",
        format!("the CSP frame-src will allow: {frame_sources}"),
    );
    match link {
        Some(link) if frame_allows(&frame_sources, &link) => {
            report.ok("flow links", format!("{} is inside them", origin_of(&link)))
        }
        Some(link) => report.problem(
            "flow links",
            format!(
                "Dots' flow links come from {}, outside the frame origins: set DOTS_PROXY_FRAME_ORIGINS",
                origin_of(&link)
            ),
        ),
        None => report.note(
            "flow links",
            "no flow yet to compare with the frame origins (create one and run check again)",
        ),
    }

    // Whether webhooks arrive: the last one that passed verification, from the database.
    let default_file = config.data_dir.join("dots-proxy.sqlite");
    let opened = if config.database_url.is_none() && !default_file.exists() {
        Err(format!("no database yet at {}", default_file.display()))
    } else {
        crate::db::Db::connect_with(&config.database_url(), crate::db::Migrations::Check)
            .await
            .map_err(|err| err.to_string())
    };
    match opened {
        Ok(db) => match db.last_webhook_ms().await {
            Ok(Some(at)) => {
                let minutes = (crate::db::now_ms() - at).max(0) / 60_000;
                report.ok(
                    "webhooks",
                    format!("the last verified webhook arrived {minutes} min ago"),
                );
            }
            Ok(None) => report.note(
                "webhooks",
                "no verified webhook has arrived yet (register the URL below in Svix; until then the reconciliation sweep completes flows, minutes late)",
            ),
            Err(err) => report.note("webhooks", format!("cannot tell: {err}")),
        },
        Err(err) => report.note("webhooks", format!("cannot tell (the database: {err})")),
    }

    // What to register in Svix.
    let base = public_url
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{}", config.addr));
    let url = format!("{base}/webhooks/dots");
    let unreachable = public_url.is_none() && config.addr.ip().is_loopback();
    if local {
        report.ok(
            "webhook URL",
            format!("{url} (the local sandbox delivers there)"),
        );
    } else if unreachable {
        report.problem(
            "webhook URL",
            format!("{url} is a loopback address Svix cannot reach: give the public URL (--public-url / DOTS_PROXY_PUBLIC_URL) and register <public URL>/webhooks/dots in Svix"),
        );
    } else {
        report.ok(
            "webhook URL",
            format!("register {url} in Svix (Dots dashboard, API Management)"),
        );
    }
    report
}

fn origin_of(link: &str) -> String {
    url::Url::parse(link)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| link.to_owned())
}

/// Whether a CSP source list (`https://*.dots.dev http://127.0.0.1:4010`) allows framing `link`.
pub fn frame_allows(sources: &str, link: &str) -> bool {
    let Ok(url) = url::Url::parse(link) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default();
    sources.split_whitespace().any(|source| {
        let Ok(allowed) = url::Url::parse(&source.replace("*.", "wildcard-marker.")) else {
            return false;
        };
        if allowed.scheme() != url.scheme() || allowed.port_or_known_default() != port {
            return false;
        }
        let pattern = allowed.host_str().unwrap_or_default();
        match pattern.strip_prefix("wildcard-marker.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == pattern,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sources_match_as_a_browser_would() {
        let sources = "https://*.dots.dev http://127.0.0.1:4010";
        assert!(frame_allows(sources, "https://my-sandbox.dots.dev/flow/x"));
        assert!(frame_allows(sources, "http://127.0.0.1:4010/flow/x"));
        assert!(!frame_allows(sources, "https://dots.dev.evil.example/flow"));
        assert!(
            !frame_allows(sources, "http://my.dots.dev/flow"),
            "the scheme counts"
        );
        assert!(
            !frame_allows(sources, "http://127.0.0.1:4011/flow"),
            "the port counts"
        );
        assert!(!frame_allows(
            sources,
            "https://my.senddotssandbox.com/flow"
        ));
    }
}
