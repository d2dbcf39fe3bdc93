//! Serving a built front end (`--static-dir`, e.g. trunk's `dist/`) under a strict
//! Content-Security-Policy.
//!
//! Every answer carries the policy. Its `script-src` has no `'unsafe-inline'`: the one inline
//! script a trunk build writes (the wasm loader) runs because the policy of its page names its
//! SHA-256 hash (a static build has the same scripts on every answer, so a hash does what a
//! per-answer nonce does, and `trunk serve` is left alone). `style-src` is `'self'` only: the
//! component sets its inline styles through the CSSOM, which a policy does not govern.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The policy for a page whose inline scripts have the given CSP sources (`'sha256-…'`
/// hashes, or the response's `'nonce-…'`), whose flows come from `frame_origins`
/// (space-separated CSP sources, e.g. `https://*.dots.dev`). A nonce is allowed for inline
/// styles too (`style-src`), so a server-rendered page can carry the component's stylesheet
/// inline (`<DotsFlowStyles/>` writes it with the response's nonce); hashes stay script-only.
pub fn content_security_policy(script_sources: &[String], frame_origins: &str) -> String {
    let mut scripts = String::from("'self' 'wasm-unsafe-eval'");
    let mut styles = String::from("'self'");
    for source in script_sources {
        scripts.push(' ');
        scripts.push_str(source);
        if source.starts_with("'nonce-") {
            styles.push(' ');
            styles.push_str(source);
        }
    }
    format!(
        "default-src 'self'; script-src {scripts}; style-src {styles}; img-src 'self' data:; \
         connect-src 'self'; frame-src {frame_origins}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'self'"
    )
}

/// The CSP hash source (`'sha256-…'`) of each inline script (a `<script>` without `src`) of
/// `html`.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let element = &rest[start..];
        let Some(open_end) = element.find('>') else {
            break;
        };
        let Some(close) = element[open_end + 1..].find("</script>") else {
            break;
        };
        let body = &element[open_end + 1..open_end + 1 + close];
        if !element[..open_end].contains(" src=") && !body.is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &element[open_end + 1 + close + "</script>".len()..];
    }
    hashes
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
    // The app's pages are for reading; and a path of the proxy's own APIs that no route took is
    // a wrong URL (a client's endpoint setting, say), answered as one, not with the app's page.
    let path = request.uri().path();
    let api = ["/api/", "/host/", "/webhooks/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    if api
        || !matches!(
            request.method(),
            &axum::http::Method::GET | &axum::http::Method::HEAD
        )
    {
        return crate::error::ProxyError::NotFound("route").into_response();
    }
    let wants_page = {
        let path = request.uri().path();
        path.ends_with('/')
            || path.ends_with(".html")
            || !path.rsplit('/').next().unwrap_or("").contains('.')
    };
    // Never a file outside `dir`: a link inside it that leads out is not followed.
    if !inside(dir, request.uri().path()) {
        return crate::error::ProxyError::NotFound("file").into_response();
    }
    let (mut response, script_hashes) = if wants_page {
        page(dir, request.uri().path()).await
    } else {
        match ServeDir::new(dir).oneshot(request).await {
            Ok(response) => (response.map(Body::new), Vec::new()),
            Err(never) => match never {},
        }
    };
    if let Ok(value) =
        HeaderValue::from_str(&content_security_policy(&script_hashes, frame_origins))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // The same headers as the API's answers (that layer does not cover this fallback).
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Whether the file `path` names (percent-decoded, under `dir`) is really inside `dir` once
/// every link is resolved. A path naming nothing is "inside" (the app's index answers it).
fn inside(dir: &Path, path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let relative = decoded.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return false;
    }
    let (Ok(root), Ok(target)) = (dir.canonicalize(), dir.join(relative).canonicalize()) else {
        return true;
    };
    target.starts_with(root)
}

/// An HTML page of `dir` (or `index.html` for a path that names none), with the hashes of its
/// inline scripts for its policy.
async fn page(dir: &Path, path: &str) -> (Response, Vec<String>) {
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
        Ok(html) => {
            let hashes = inline_script_hashes(&html);
            let response = (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                html,
            )
                .into_response();
            (response, hashes)
        }
        Err(err) => {
            tracing::error!(%err, file = %file.display(), "cannot read a static page");
            (
                StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                Vec::new(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_strict() {
        let policy = content_security_policy(&["'sha256-abc'".into()], "https://*.dots.dev");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc';"));
        assert!(policy.contains("style-src 'self';"));
        assert!(policy.contains("frame-src https://*.dots.dev;"));
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn a_nonce_allows_inline_styles_and_a_hash_does_not() {
        let policy = content_security_policy(&["'nonce-r4nd0m'".into()], "https://*.dots.dev");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-r4nd0m';"));
        assert!(policy.contains("style-src 'self' 'nonce-r4nd0m';"));
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn inline_scripts_are_hashed_and_others_not() {
        let html = "<script src=\"/a.js\"></script><script type=\"module\">go();</script>\
                    <p>x</p><script>\nlet a = 1;\n</script>";
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 2, "{hashes:?}");
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"go();"));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
    }

    #[tokio::test]
    async fn api_paths_and_writes_are_not_the_apps_page() {
        // Issue 16: a client with a wrong endpoint (`POST /api/no-such`) got the app's
        // index.html with 200, so its error was "not JSON" instead of "no such route".
        let dir =
            std::env::temp_dir().join(format!("static-site-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<p>app</p>").unwrap();
        let status = |method: &str, path: &str| {
            let dir = dir.clone();
            let request = Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap();
            async move { serve(&dir, "", request).await.status().as_u16() }
        };
        assert_eq!(
            status("GET", "/settings/payouts").await,
            200,
            "a page of the app"
        );
        assert_eq!(status("POST", "/api/no-such").await, 404);
        assert_eq!(status("GET", "/api/no-such").await, 404);
        assert_eq!(
            status("POST", "/settings").await,
            404,
            "pages are for reading"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 25: the static answers lacked `nosniff`, and a link inside the directory served a
    /// file outside it.
    #[cfg(unix)]
    #[tokio::test]
    async fn no_link_leads_out_and_every_answer_says_nosniff() {
        let base =
            std::env::temp_dir().join(format!("static-out-{}", uuid::Uuid::new_v4().simple()));
        let dir = base.join("site");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<p>app</p>").unwrap();
        std::fs::write(dir.join("app.js"), "go()").unwrap();
        std::fs::write(base.join("secret.txt"), "not for the web").unwrap();
        std::os::unix::fs::symlink(base.join("secret.txt"), dir.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(&base, dir.join("up")).unwrap();
        let get = |path: &str| {
            let dir = dir.clone();
            let request = Request::builder().uri(path).body(Body::empty()).unwrap();
            async move { serve(&dir, "", request).await }
        };
        for path in ["/leak.txt", "/up/secret.txt", "/up%2Fsecret.txt"] {
            let response = get(path).await;
            assert_eq!(response.status(), 404, "{path}");
        }
        for path in ["/", "/app.js"] {
            let response = get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(
                response.headers()[header::X_CONTENT_TYPE_OPTIONS],
                "nosniff",
                "{path}"
            );
        }
        let _ = std::fs::remove_dir_all(&base);
    }
}
