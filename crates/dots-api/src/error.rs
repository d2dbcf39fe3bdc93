//! Error shapes: Dots' own error body and the validation error every side reports.

use serde::{Deserialize, Serialize};

/// The error body Dots answers with (`{"success": false, "message": ...}`), optionally with
/// one of the documented error codes (`invalid-input`, `transaction-insufficient-funds`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// Always `false` for an error.
    #[serde(default)]
    pub success: bool,
    /// What went wrong, for people.
    pub message: String,
    /// A documented Dots error code, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

impl ApiError {
    /// An error with a message and an optional code.
    pub fn new(message: impl Into<String>, error_code: Option<&str>) -> Self {
        Self {
            success: false,
            message: message.into(),
            error_code: error_code.map(str::to_owned),
        }
    }
}

/// A request that breaks one of Dots' documented rules, naming the offending field with a
/// JSON-path-like string such as `steps[1].redirect_url`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field at fault, e.g. `steps[0]` or `steps[2].template_id`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
