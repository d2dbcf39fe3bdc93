//! A typed client of the Dots API: Basic auth, timeouts, retried GETs, typed errors.

use dots_api::{
    ApiError, ComplianceRequest, CreateFlowRequest, CreateTransferRequest, CreateUserRequest, Flow,
    Transfer, TransferList, User, UserList, UserStatus,
};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// What can go wrong talking to Dots.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Dots could not be reached, timed out, or answered 5xx.
    #[error("Dots is unavailable: {0}")]
    Unavailable(String),
    /// Dots answered 2xx and the answer could not be read: it did what was asked (a transfer
    /// may have moved money), we do not know the details.
    #[error("Dots answered `{operation}` and we could not read the answer: {detail}")]
    Unreadable {
        /// What was asked (`create_transfer`, `retrieve_flow`, ...).
        operation: &'static str,
        /// The field that failed and why (never a value from the body).
        detail: String,
        /// The answer's top-level `id`, when the body is a JSON object that has one.
        id: Option<String>,
    },
    /// Dots refused the request (4xx other than 401/403/404/429), with its message.
    #[error("Dots rejected the request: {message}")]
    Rejected {
        /// Dots' HTTP status.
        status: u16,
        /// Dots' message.
        message: String,
        /// Dots' documented error code (`transaction-insufficient-funds`, `invalid-input`,
        /// ...), when it gave one.
        error_code: Option<String>,
    },
    /// The object (`flow`, `user`, `transfer`) does not exist upstream.
    #[error("no such {0} at Dots")]
    NotFound(&'static str),
    /// Dots asks us to slow down.
    #[error("rate limited by Dots")]
    RateLimited {
        /// Seconds to wait, from `Retry-After`.
        retry_after: Option<u64>,
    },
    /// Dots refused our credentials: a configuration problem on this server.
    #[error("Dots refused the configured credentials")]
    Unauthorized,
}

/// What [`DotsClient::probe`] heard.
#[derive(Debug)]
pub struct Probe {
    /// Dots' HTTP status.
    pub status: u16,
    /// Dots' message (or the status, when it gave none).
    pub message: String,
    /// Dots' error code, when it gave one.
    pub error_code: Option<String>,
    /// The link of the first flow listed, when there is one.
    pub first_link: Option<String>,
}

/// A client of one Dots API base URL.
#[derive(Clone)]
pub struct DotsClient {
    http: reqwest::Client,
    base: String,
    client_id: String,
    api_key: SecretString,
    app_id: Option<String>,
}

impl std::fmt::Debug for DotsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DotsClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

const GET_ATTEMPTS: u32 = 3;

impl DotsClient {
    /// A client of the API at `base` (e.g. `https://api.dots.dev/api`), with a per-call timeout.
    pub fn new(
        base: impl Into<String>,
        client_id: impl Into<String>,
        api_key: SecretString,
        app_id: Option<String>,
        timeout: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .user_agent(concat!("dots-flow-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            api_key,
            app_id,
        }
    }

    /// The API base URL this client talks to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /v2/flows`. Never retried: a retry could create a second flow.
    pub async fn create_flow(&self, request: &CreateFlowRequest) -> Result<Flow, UpstreamError> {
        let builder = self.request(Method::POST, "/v2/flows").json(request);
        self.send(builder, "create_flow", "flow").await
    }

    /// `GET /v2/flows/{id}`, retried with backoff on transient failures.
    pub async fn retrieve_flow(&self, flow_id: &str) -> Result<Flow, UpstreamError> {
        if flow_id.is_empty()
            || !flow_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(UpstreamError::NotFound("flow"));
        }
        self.get(&format!("/v2/flows/{flow_id}"), "retrieve_flow", "flow")
            .await
    }

    /// `POST /v2/users` (found or created by phone number). Never retried.
    pub async fn create_user(&self, request: &CreateUserRequest) -> Result<User, UpstreamError> {
        self.send(
            self.request(Method::POST, "/v2/users").json(request),
            "create_user",
            "user",
        )
        .await
    }

    /// `GET /v2/users/{id}`, retried with backoff.
    pub async fn retrieve_user(&self, user_id: &str) -> Result<User, UpstreamError> {
        check_id(user_id, "user")?;
        self.get(&format!("/v2/users/{user_id}"), "retrieve_user", "user")
            .await
    }

    /// `GET /v2/users`: one page of users (newest first), optionally of one `status`, after
    /// `starting_after` or before `ending_before`; retried with backoff.
    pub async fn list_users(
        &self,
        status: Option<&UserStatus>,
        limit: Option<u8>,
        starting_after: Option<&str>,
        ending_before: Option<&str>,
    ) -> Result<UserList, UpstreamError> {
        let mut query = Vec::new();
        if let Some(status) = status {
            query.push(format!("status={}", status.as_str()));
        }
        if let Some(limit) = limit {
            query.push(format!("limit={}", limit.clamp(1, 100)));
        }
        for (name, id) in [
            ("starting_after", starting_after),
            ("ending_before", ending_before),
        ] {
            if let Some(id) = id {
                check_id(id, "user")?;
                query.push(format!("{name}={id}"));
            }
        }
        let mut path = "/v2/users".to_owned();
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        self.get(&path, "list_users", "user").await
    }

    /// `GET /v2/flows?limit=1`, the lightest authenticated call there is, answered as it
    /// came (`dots-proxy check` tries the credentials with it). `Err` when Dots could not be
    /// reached at all.
    pub async fn probe(&self) -> Result<Probe, String> {
        let response = self
            .request(Method::GET, "/v2/flows?limit=1")
            .send()
            .await
            .map_err(|err| describe(&err))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let error = serde_json::from_value::<ApiError>(value.clone()).ok();
        Ok(Probe {
            status,
            message: error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| format!("HTTP {status}")),
            error_code: error.and_then(|e| e.error_code),
            first_link: value["data"][0]["link"].as_str().map(str::to_owned),
        })
    }

    /// `PUT /v2/users/{id}/compliance`: the user's tax details (W-9 or W-8BEN). Never retried.
    pub async fn submit_compliance(
        &self,
        user_id: &str,
        request: &ComplianceRequest,
    ) -> Result<(), UpstreamError> {
        check_id(user_id, "user")?;
        let builder = self
            .request(Method::PUT, &format!("/v2/users/{user_id}/compliance"))
            .json(request);
        self.send::<serde_json::Value>(builder, "submit_compliance", "user")
            .await
            .map(drop)
    }

    /// `POST /v2/users/{id}/send-verification-token`.
    pub async fn send_verification_token(&self, user_id: &str) -> Result<(), UpstreamError> {
        check_id(user_id, "user")?;
        let builder = self
            .request(
                Method::POST,
                &format!("/v2/users/{user_id}/send-verification-token"),
            )
            .json(&serde_json::json!({}));
        self.send::<serde_json::Value>(builder, "send_verification_token", "user")
            .await
            .map(drop)
    }

    /// `POST /v2/users/{id}/verify`.
    pub async fn verify_user(&self, user_id: &str, token: &str) -> Result<(), UpstreamError> {
        check_id(user_id, "user")?;
        let builder = self
            .request(Method::POST, &format!("/v2/users/{user_id}/verify"))
            .json(&serde_json::json!({ "token": token }));
        self.send::<serde_json::Value>(builder, "verify_user", "user")
            .await
            .map(drop)
    }

    /// `POST /v2/transfers`. Never retried here: callers pass an idempotency key and retry
    /// with the same key.
    pub async fn create_transfer(
        &self,
        request: &CreateTransferRequest,
    ) -> Result<Transfer, UpstreamError> {
        self.send(
            self.request(Method::POST, "/v2/transfers").json(request),
            "create_transfer",
            "user",
        )
        .await
    }

    /// `GET /v2/transfers/{id}`, retried with backoff.
    pub async fn retrieve_transfer(&self, transfer_id: &str) -> Result<Transfer, UpstreamError> {
        check_id(transfer_id, "transfer")?;
        self.get(
            &format!("/v2/transfers/{transfer_id}"),
            "retrieve_transfer",
            "transfer",
        )
        .await
    }

    /// `GET /v2/transfers?user_id=...`: one page of a user's transfers (newest first, at most
    /// 100), after `starting_after`; retried with backoff.
    pub async fn list_user_transfers(
        &self,
        user_id: &str,
        starting_after: Option<&str>,
    ) -> Result<TransferList, UpstreamError> {
        check_id(user_id, "user")?;
        let mut path = format!("/v2/transfers?user_id={user_id}&limit=100");
        if let Some(after) = starting_after {
            check_id(after, "transfer")?;
            path.push_str(&format!("&starting_after={after}"));
        }
        self.get(&path, "list_transfers", "user").await
    }

    /// A GET of `path`, whose 404 means no such `what`.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        operation: &'static str,
        what: &'static str,
    ) -> Result<T, UpstreamError> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match self
                .send(self.request(Method::GET, path), operation, what)
                .await
            {
                Err(UpstreamError::Unavailable(reason)) if attempt < GET_ATTEMPTS => {
                    tracing::warn!(%path, attempt, %reason, "retrying a GET to Dots");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.client_id, Some(self.api_key.expose_secret()));
        if let Some(app_id) = &self.app_id {
            builder = builder.header("Api-App-Id", app_id);
        }
        // The id of the request this call serves, so Dots' logs and ours can be matched.
        if let Some(id) = crate::metrics::current_request_id() {
            builder = builder.header(crate::metrics::REQUEST_ID, id);
        }
        builder
    }

    /// Sends the request of `operation`, whose 404 means no such `what` (`flow`, `user`,
    /// `transfer`); counts it and its latency by operation and outcome.
    async fn send<T: DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
        operation: &'static str,
        what: &'static str,
    ) -> Result<T, UpstreamError> {
        let started = std::time::Instant::now();
        let result = self.send_once(builder, operation, what).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UpstreamError::Unavailable(_)) => "unavailable",
            Err(UpstreamError::Unreadable { .. }) => "unreadable",
            Err(UpstreamError::Rejected { .. }) => "rejected",
            Err(UpstreamError::NotFound(_)) => "not_found",
            Err(UpstreamError::RateLimited { .. }) => "rate_limited",
            Err(UpstreamError::Unauthorized) => "unauthorized",
        };
        let labels = [("operation", operation), ("outcome", outcome)];
        metrics::counter!("dots_proxy_dots_calls_total", &labels).increment(1);
        metrics::histogram!("dots_proxy_dots_call_duration_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
        operation: &'static str,
        what: &'static str,
    ) -> Result<T, UpstreamError> {
        let response = builder
            .send()
            .await
            .map_err(|err| UpstreamError::Unavailable(describe(&err)))?;
        let status = response.status();
        if status.is_success() {
            // Dots said yes: a body cut short is "unavailable" (we may retry a read), a body we
            // cannot read is "unreadable" (Dots did it; we do not know the details).
            let body = response.bytes().await.map_err(|err| {
                UpstreamError::Unavailable(format!("answer cut short: {}", describe(&err)))
            })?;
            return read_answer(&body, operation);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = response.bytes().await.unwrap_or_default();
        let (message, error_code) = match serde_json::from_slice::<ApiError>(&body) {
            Ok(error) => (error.message, error.error_code),
            Err(_) => (format!("HTTP {status}"), None),
        };
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => UpstreamError::Unauthorized,
            StatusCode::NOT_FOUND => UpstreamError::NotFound(what),
            StatusCode::TOO_MANY_REQUESTS => UpstreamError::RateLimited { retry_after },
            s if s.is_client_error() => UpstreamError::Rejected {
                status: s.as_u16(),
                message,
                error_code,
            },
            s => UpstreamError::Unavailable(format!("HTTP {s}")),
        })
    }
}

/// Reads a 2xx answer of `operation` as `T`; a failure names the field and why (never a value
/// from the body: it may hold a person's details), and keeps the body's top-level `id`.
pub(crate) fn read_answer<T: DeserializeOwned>(
    body: &[u8],
    operation: &'static str,
) -> Result<T, UpstreamError> {
    // An empty 2xx body is "nothing to say" (`null`): fine where the answer is not used.
    let body: &[u8] = if body.trim_ascii().is_empty() {
        b"null"
    } else {
        body
    };
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let detail = if inner.is_syntax() || inner.is_eof() {
                "the body is not JSON".to_owned()
            } else {
                let text = inner.to_string();
                let reason = match text.rfind(" at line ") {
                    Some(cut) => &text[..cut],
                    None => &text,
                };
                // serde quotes the offending value in some messages (`invalid value: string
                // "..."`): keep the kind of problem, not the value.
                let reason = reason.split(": string \"").next().unwrap_or(reason);
                if path == "." {
                    reason.to_owned()
                } else {
                    format!("`{path}` {reason}")
                }
            };
            let id = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned))
                .filter(|id| check_id(id, "transfer").is_ok());
            tracing::warn!(operation, %detail, has_id = id.is_some(), "Dots answered and we could not read it");
            Err(UpstreamError::Unreadable {
                operation,
                detail,
                id,
            })
        }
    }
}

/// Ids go into URL paths: only letters, digits, `-` and `_`.
fn check_id(id: &str, what: &'static str) -> Result<(), UpstreamError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(UpstreamError::NotFound(what));
    }
    Ok(())
}

/// A description of a transport error without the URL (which is ours, but keep logs lean).
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else if err.is_decode() {
        "malformed response".into()
    } else {
        "request failed".into()
    }
}
