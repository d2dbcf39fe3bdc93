//! Errors in Dots' shape: `{"success": false, "message": ..., "error_code": ...}`.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dots_api::{ApiError, ValidationError};

/// An error response of the sandbox.
#[derive(Debug)]
pub struct SandboxError {
    status: StatusCode,
    body: ApiError,
}

impl SandboxError {
    pub(crate) fn unauthorized() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: ApiError::new("Invalid or missing API credentials", None),
        }
    }

    /// 400 `invalid-input` naming `field`.
    pub fn invalid(field: &str, message: &str) -> Self {
        ValidationError::new(field, message).into()
    }

    /// 400 with a message and a documented error code.
    pub fn bad_request(message: &str, code: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ApiError::new(message, Some(code)),
        }
    }

    /// Any status with a Dots error body.
    pub fn with_status(status: StatusCode, body: ApiError) -> Self {
        Self { status, body }
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: ApiError::new(format!("{what} not found"), None),
        }
    }
}

impl From<ValidationError> for SandboxError {
    fn from(err: ValidationError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ApiError::new(err.to_string(), Some("invalid-input")),
        }
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Every error in Dots' shape, including the framework's own (a query string that does not
/// parse, a method a route does not take): `{"success": false, "message", "error_code"?}`.
pub(crate) async fn dots_shaped(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not take {method}"),
        StatusCode::NOT_FOUND => {
            format!("{method} {path} is not an operation of the local sandbox")
        }
        _ => {
            let text = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if text.trim().is_empty() {
                status.canonical_reason().unwrap_or("error").to_owned()
            } else {
                text
            }
        }
    };
    let code = (status == StatusCode::BAD_REQUEST).then_some("invalid-input");
    SandboxError::with_status(status, ApiError::new(message, code)).into_response()
}
