//! Errors in Dots' shape: `{"success": false, "message": ..., "error_code": ...}`.

use axum::http::StatusCode;
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
