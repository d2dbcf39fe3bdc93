//! Serving a built front end (`--static-dir`, e.g. trunk's `dist/`) under a strict
//! Content-Security-Policy.
//!
//! Every answer carries the policy. Its `script-src` has no `'unsafe-inline'`: the one inline
//! script a trunk build writes (the wasm loader) runs because it carries a nonce. Trunk writes a
//! placeholder in its `nonce` attribute (`create_nonce = true` in `Trunk.toml`); each HTML page
//! is served with the placeholder replaced by a fresh random nonce, the same one the policy
//! names. `style-src` is `'self'` only: the component sets its inline styles through the CSSOM,
//! which a policy does not govern.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// What trunk writes in the `nonce` attributes of the scripts it injects.
pub const TRUNK_NONCE_PLACEHOLDER: &str = "{{__TRUNK NONCE__}}";

/// The policy for a page whose inline scripts carry `nonce`, whose flows come from
/// `frame_origins` (space-separated CSP sources, e.g. `https://*.dots.dev`).
pub fn content_security_policy(nonce: &str, frame_origins: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src {frame_origins}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )
}

/// A fresh nonce: 128 random bits, base64.
fn new_nonce() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Routes serving `dir` under the policy; unknown paths get `index.html` (a single-page app).
pub fn static_site(dir: PathBuf, frame_origins: String) -> Router {
    let frame_origins: std::sync::Arc<str> = frame_origins.into();
    Router::new().fallback(move |request: Request| {
        let dir = dir.clone();
        let frame_origins = frame_origins.clone();
        async move { serve(&dir, &frame_origins, request).await }
    })
}

async fn serve(dir: &Path, frame_origins: &str, request: Request) -> Response {
    let nonce = new_nonce();
    let wants_page = {
        let path = request.uri().path();
        path.ends_with('/')
            || path.ends_with(".html")
            || !path.rsplit('/').next().unwrap_or("").contains('.')
    };
    let mut response = if wants_page {
        page(dir, request.uri().path(), &nonce).await
    } else {
        match ServeDir::new(dir).oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(never) => match never {},
        }
    };
    if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce, frame_origins)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// An HTML page of `dir` (or `index.html` for a path that names none) with its nonce placeholders
/// filled in. Never cached: each answer has its own nonce.
async fn page(dir: &Path, path: &str, nonce: &str) -> Response {
    let relative = path.trim_start_matches('/');
    let candidate = if relative.is_empty() || relative.ends_with('/') {
        dir.join(relative).join("index.html")
    } else {
        dir.join(relative)
    };
    // Only a plain relative path inside `dir`; anything else is the app's index.
    let safe = !relative
        .split('/')
        .any(|part| part == ".." || part.contains('\\'));
    let file = if safe && candidate.is_file() {
        candidate
    } else {
        dir.join("index.html")
    };
    match tokio::fs::read_to_string(&file).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html.replace(TRUNK_NONCE_PLACEHOLDER, nonce),
        )
            .into_response(),
        Err(err) => {
            tracing::error!(%err, file = %file.display(), "cannot read a static page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_strict() {
        let policy = content_security_policy("abc", "https://*.dots.dev");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-abc';"));
        assert!(policy.contains("style-src 'self';"));
        assert!(policy.contains("frame-src https://*.dots.dev;"));
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn nonces_are_fresh_and_long_enough() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert!(a.len() >= 22, "{a}");
    }
}
