//! Issue 25: a hostile client against the proxy. The same-origin check compares scheme, host
//! and port; a request with two `Host` headers is refused; repeated reads of a flow do not
//! spend the app's Dots quota; a planted session cookie does not become the victim's session.

mod common;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `head` (request line and headers, without the final blank line) and `body` over a
/// fresh connection; the status and the whole answer.
async fn raw(base: &str, head: &str, body: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

async fn create_with_origin(base: &str, host: &str, origin: &str, extra: &str) -> (u16, String) {
    let body = r#"{"steps":["compliance"]}"#;
    raw(
        base,
        &format!(
            "POST /api/flows HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: application/json{extra}"
        ),
        body,
    )
    .await
}

/// Item 7: with no allowed origins, a write must come from the request's own scheme, host and
/// port; and a request with two `Host` headers is refused before any route.
#[tokio::test]
async fn same_origin_means_scheme_host_and_port_and_one_host() {
    let stack = common::Stack::with_settings(dots_proxy::ProxySettings {
        allowed_origins: Vec::new(),
        ..common::settings()
    })
    .await;
    let host = stack.base.trim_start_matches("http://").to_owned();
    let port = host.rsplit(':').next().unwrap().to_owned();
    let own = format!("http://{host}");
    let (status, text) = create_with_origin(&stack.base, &host, &own, "").await;
    assert_eq!(status, 200, "the page's own origin: {text}");
    for (origin, why) in [
        (
            format!("https://{host}"),
            "https on the plain-HTTP listener",
        ),
        (
            format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() + 1),
            "another port",
        ),
        ("http://127.0.0.1".to_owned(), "no port (80)"),
        (format!("http://evil.test:{port}"), "another host"),
        ("null".to_owned(), "an opaque origin"),
    ] {
        let (status, text) = create_with_origin(&stack.base, &host, &origin, "").await;
        assert_eq!(status, 403, "{why} ({origin}) is refused: {text}");
        assert!(text.contains("forbidden_origin"), "{text}");
    }
    // Two Host headers: which one names the site is ambiguous; refused whichever is first.
    for extra in [format!("\r\nHost: evil.test"), format!("\r\nhost: {host}")] {
        let (status, text) = create_with_origin(&stack.base, &host, &own, &extra).await;
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains(r#""field":"Host""#),
            "names the header: {text}"
        );
    }
    let (status, text) = raw(
        &stack.base,
        &format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nHost: other"),
        "",
    )
    .await;
    assert_eq!(status, 400, "every route, not only the API: {text}");

    // Behind a trusted TLS-ending balancer, its `X-Forwarded-Proto` is the scheme.
    let behind = common::Stack::with_settings(dots_proxy::ProxySettings {
        allowed_origins: Vec::new(),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..common::settings()
    })
    .await;
    let (status, text) = create_with_origin(
        &behind.base,
        "app.example.com",
        "https://app.example.com",
        "\r\nX-Forwarded-Proto: https",
    )
    .await;
    assert_eq!(status, 200, "https through the balancer: {text}");
    let (status, _) = create_with_origin(
        &behind.base,
        "app.example.com",
        "http://app.example.com",
        "\r\nX-Forwarded-Proto: https",
    )
    .await;
    assert_eq!(status, 403, "plain http where the balancer says https");
}
