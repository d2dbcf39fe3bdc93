//! The proxy's one error type, answered as `ProxyErrorBody` JSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dots_api::{ProxyErrorBody, ValidationError};

use crate::upstream::UpstreamError;

/// Everything a browser-facing route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The request broke a rule; nothing was sent to Dots.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such object for this caller: `flow`, `user`, `transfer`, `session`. (A flow of
    /// another caller is "no such flow" too.)
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Talking to Dots failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// Missing or invalid credentials (bearer token, admin token).
    #[error("unauthorized")]
    Unauthorized,
    /// A browser request from an origin that is not allowed (CSRF protection).
    #[error("forbidden origin")]
    ForbiddenOrigin,
    /// A step the server-side policy does not let browsers request.
    #[error("step not allowed: {0}")]
    StepNotAllowed(String),
    /// The request conflicts with an earlier one (e.g. a payment reference reused).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request body is over the size limit (in bytes).
    #[error("request body too large")]
    TooLarge(usize),
    /// Too many flows, new identities or flow reads from one caller: wait `retry_after`
    /// seconds.
    #[error("rate limited for {retry_after} s")]
    RateLimited {
        /// Seconds until the next request is allowed.
        retry_after: u64,
        /// What there were too many of, for the message ("new flows from here").
        what: &'static str,
    },
    /// Too many event streams open: of this client address (`client`, 429) or on this
    /// instance (`server`, 503). (The stream route closes the connection of every refusal.)
    #[error("too many event streams ({scope}: at most {limit})")]
    TooManyStreams {
        /// `client` or `server`.
        scope: &'static str,
        /// The cap that was reached.
        limit: usize,
    },
    /// Dots accepted a payment and its answer could not be read. The payment is recorded
    /// against its reference (with the transfer's id when the answer named one), so a retry of
    /// the same reference returns the transfer and never pays again.
    #[error("payment made, answer unreadable: {detail}")]
    PaymentUnconfirmed {
        /// The transfer's id, when the answer named it.
        transfer_id: Option<String>,
        /// The field that failed and why.
        detail: String,
    },
    /// Something broke on this server; the cause is logged, never returned.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::db::DbError> for ProxyError {
    fn from(err: crate::db::DbError) -> Self {
        ProxyError::Internal(err.to_string())
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (status, body, retry_after) = match self {
            ProxyError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ProxyErrorBody::new("unauthorized", "missing or invalid credentials", None),
                None,
            ),
            ProxyError::ForbiddenOrigin => (
                StatusCode::FORBIDDEN,
                ProxyErrorBody::new(
                    "forbidden_origin",
                    "requests must come from an allowed origin",
                    None,
                ),
                None,
            ),
            ProxyError::StepNotAllowed(step) => (
                StatusCode::FORBIDDEN,
                ProxyErrorBody::new(
                    "step_not_allowed",
                    format!("the step `{step}` is not allowed here"),
                    Some("steps".into()),
                ),
                None,
            ),
            ProxyError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ProxyErrorBody::new(
                    "payload_too_large",
                    format!("the body is over {} KiB", limit / 1024),
                    Some("body".into()),
                ),
                None,
            ),
            ProxyError::RateLimited { retry_after, what } => (
                StatusCode::TOO_MANY_REQUESTS,
                ProxyErrorBody::new(
                    "rate_limited",
                    format!("too many {what}; try again in {retry_after} s"),
                    None,
                ),
                Some(retry_after.max(1)),
            ),
            ProxyError::TooManyStreams { scope, limit } => {
                let (status, message) = if scope == "server" {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("this server has {limit} event streams open; try again shortly"),
                    )
                } else {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        format!("at most {limit} event streams may be open from one address"),
                    )
                };
                (
                    status,
                    ProxyErrorBody::new("too_many_streams", message, None),
                    Some(5),
                )
            }
            ProxyError::Conflict(message) => (
                StatusCode::CONFLICT,
                ProxyErrorBody::new("conflict", message, None),
                None,
            ),
            ProxyError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ProxyErrorBody::new("internal", "something went wrong on the server", None),
                    None,
                )
            }
            ProxyError::Invalid(err) => (
                StatusCode::BAD_REQUEST,
                ProxyErrorBody::new("invalid_request", err.to_string(), Some(err.field)),
                None,
            ),
            ProxyError::NotFound(what) | ProxyError::Upstream(UpstreamError::NotFound(what)) => (
                StatusCode::NOT_FOUND,
                ProxyErrorBody::new("not_found", format!("no such {what}"), None),
                None,
            ),
            ProxyError::Upstream(UpstreamError::Rejected {
                status,
                message,
                error_code,
            }) => {
                tracing::info!(status, %message, ?error_code, "Dots rejected a request");
                let mut body = ProxyErrorBody::new("upstream_rejected", message, None);
                body.dots_error_code = error_code;
                (StatusCode::UNPROCESSABLE_ENTITY, body, None)
            }
            ProxyError::Upstream(UpstreamError::Unreadable {
                operation, detail, ..
            }) => (
                // Logged where it was read (operation and field, never the body).
                StatusCode::BAD_GATEWAY,
                ProxyErrorBody::new(
                    "upstream_unreadable",
                    format!(
                        "Dots answered `{operation}` and its answer could not be read: {detail}"
                    ),
                    None,
                ),
                None,
            ),
            ProxyError::PaymentUnconfirmed {
                transfer_id,
                detail,
            } => {
                let mut body = ProxyErrorBody::new(
                    "payment_unconfirmed",
                    format!(
                        "Dots accepted the payment but its answer could not be read ({detail}). \
                         The payment is recorded against this reference: retry it with the same \
                         reference to get the transfer; it is never paid twice"
                    ),
                    None,
                );
                body.transfer_id = transfer_id;
                (StatusCode::BAD_GATEWAY, body, None)
            }
            ProxyError::Upstream(UpstreamError::RateLimited { retry_after }) => (
                StatusCode::TOO_MANY_REQUESTS,
                ProxyErrorBody::new("rate_limited", "too many requests; try again shortly", None),
                Some(retry_after.unwrap_or(1)),
            ),
            ProxyError::Upstream(
                cause @ (UpstreamError::Unauthorized | UpstreamError::Unavailable(_)),
            ) => {
                // The cause stays in the log; the browser learns only that Dots is unavailable.
                match cause {
                    UpstreamError::Unauthorized => tracing::error!(
                        "Dots refused the configured credentials: check DOTS_CLIENT_ID / DOTS_API_KEY / DOTS_ENV"
                    ),
                    other => tracing::warn!(reason = %other, "Dots unavailable"),
                }
                (
                    StatusCode::BAD_GATEWAY,
                    ProxyErrorBody::new(
                        "upstream_unavailable",
                        "the payout service is unavailable",
                        None,
                    ),
                    None,
                )
            }
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
