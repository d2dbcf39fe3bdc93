//! Basic authentication as Dots does it: `Authorization: Basic base64(client_id:api_key)`.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::error::SandboxError;
use crate::SandboxState;

/// The app a request acts for: the `Api-App-Id` header, or `""` for the default app.
#[derive(Clone, Debug)]
pub(crate) struct AppId(pub String);

/// Rejects requests without the configured client id and API key.
pub(crate) async fn require_basic_auth(
    State(state): State<SandboxState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(b64.trim()))
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let config = state.config();
    let ok = presented
        .as_deref()
        .and_then(|pair| pair.split_once(':'))
        .is_some_and(|(id, key)| {
            let id_ok = id.as_bytes().ct_eq(config.client_id.as_bytes());
            let key_ok = key.as_bytes().ct_eq(config.api_key.as_bytes());
            bool::from(id_ok & key_ok)
        });
    if ok {
        let app = request
            .headers()
            .get("api-app-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        let mut request = request;
        request.extensions_mut().insert(AppId(app));
        next.run(request).await
    } else {
        SandboxError::unauthorized().into_response()
    }
}
