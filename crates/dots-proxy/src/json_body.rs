//! `AppJson<T>`: a JSON request body whose every rejection is the proxy's own error shape
//! (axum's `Json` answers plain-text rejections): a malformed or mistyped body is `400
//! invalid_request` naming the field, text after the body too, an oversized one `413`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use dots_api::parse_json_body;
use serde::de::DeserializeOwned;

use crate::error::ProxyError;

/// A request body parsed as `T`, strictly (see the module docs).
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ProxyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ProxyError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ProxyError::TooLarge(crate::MAX_BODY_BYTES)
                } else {
                    ProxyError::Invalid(dots_api::ValidationError::new(
                        "body",
                        "the body could not be read",
                    ))
                }
            })?;
        Ok(AppJson(parse_json_body(&bytes)?))
    }
}
