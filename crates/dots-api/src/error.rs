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

/// Parses a JSON request body into `T`; on failure the error names the field at fault
/// (e.g. `steps[1].redirect_url`) instead of a line and column.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." || path == "?" {
            "body".to_owned()
        } else {
            path
        };
        let inner = err.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            "the body is not valid JSON".to_owned()
        } else {
            // serde's messages end with " at line L column C"; the path already says where.
            let text = inner.to_string();
            match text.rfind(" at line ") {
                Some(cut) => text[..cut].to_owned(),
                None => text,
            }
        };
        ValidationError::new(field, message)
    })?;
    // One JSON value and nothing after it but whitespace (`{...} xxx` is not a body).
    de.end()
        .map_err(|_| ValidationError::new("body", "unexpected text after the JSON body"))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StartFlowRequest;

    #[test]
    fn body_errors_name_the_field() {
        let err = parse_json_body::<StartFlowRequest>(br#"{"steps": ["payout", 7]}"#).unwrap_err();
        assert_eq!(err.field, "steps[1]");
        let err = parse_json_body::<StartFlowRequest>(br#"{"steps": ["payout"], "user_id": "x"}"#)
            .unwrap_err();
        assert!(err.message.contains("user_id"), "{err}");
        let err = parse_json_body::<StartFlowRequest>(b"{not json").unwrap_err();
        assert_eq!(err.field, "body");
        let err = parse_json_body::<StartFlowRequest>(b"{}").unwrap_err();
        assert!(err.message.contains("steps"), "{err}");
    }

    #[test]
    fn text_after_the_body_and_unknown_step_keys_are_refused() {
        // Issue 12: both were accepted (the tail ignored, the key silently dropped).
        let err = parse_json_body::<StartFlowRequest>(br#"{"steps": ["payout"]} xxx"#).unwrap_err();
        assert_eq!(err.field, "body");
        assert!(err.message.contains("after the JSON body"), "{err}");
        assert!(parse_json_body::<StartFlowRequest>(b"{\"steps\": [\"payout\"]}\n ").is_ok());
        let err = parse_json_body::<StartFlowRequest>(
            br#"{"steps": ["compliance", {"name": "manage-payouts", "hide_continue_buton": true}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.field, "steps[1].hide_continue_buton",
            "the unknown key is named"
        );
        assert!(
            err.message.contains("unknown field `hide_continue_buton`"),
            "{err}"
        );
        let err =
            parse_json_body::<StartFlowRequest>(br#"{"steps": [{"hide_continue_button": true}]}"#)
                .unwrap_err();
        assert_eq!(err.field, "steps[0]");
        assert!(err.message.contains("missing field `name`"), "{err}");
        let err = parse_json_body::<StartFlowRequest>(br#"{"steps": [7]}"#).unwrap_err();
        assert_eq!(err.field, "steps[0]");
    }
}

/// The error body the dots-flow proxy answers the browser with:
/// `{"error": "invalid_request", "message": "...", "field": "steps[1]"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProxyErrorBody {
    /// A stable machine-readable code: `invalid_request`, `not_found`, `upstream_unavailable`,
    /// `upstream_unreadable`, `upstream_rejected`, `payment_unconfirmed`, `rate_limited`,
    /// `internal`.
    pub error: String,
    /// What went wrong, safe to show to a user.
    pub message: String,
    /// The request field at fault, for `invalid_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What Dots itself said, for `upstream_rejected`: its documented error code
    /// (`transaction-insufficient-funds`, `invalid-input`, ...), so a host can tell them apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dots_error_code: Option<String>,
    /// For `payment_unconfirmed`: the transfer Dots made, when its answer named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
}

impl ProxyErrorBody {
    /// An error body.
    pub fn new(
        error: impl Into<String>,
        message: impl Into<String>,
        field: Option<String>,
    ) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
            field,
            dots_error_code: None,
            transfer_id: None,
        }
    }
}
