//! Errors in Dots' shape: `{"success": false, "message": ..., "error_code": ...}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dots_api::{ApiError, ValidationError};

/// An error response of the sandbox.
#[derive(Debug)]
pub(crate) struct SandboxError {
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
