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
    for extra in [
        "\r\nHost: evil.test".to_owned(),
        format!("\r\nhost: {host}"),
    ] {
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

/// The GETs of `flow_id`'s path the sandbox has received.
fn dots_reads(stack: &common::Stack, flow_id: &str) -> usize {
    let path = format!("/v2/flows/{flow_id}");
    stack
        .sandbox
        .state()
        .received()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

/// Item 2: a burst of reads of one flow is limited per identity and makes at most a couple of
/// calls to Dots (150 reads made 150 calls); a webhook's change is seen by the very next read.
#[tokio::test]
async fn a_burst_of_flow_reads_spends_no_dots_quota_and_a_webhook_change_shows_at_once() {
    let stack = common::Stack::with_settings(dots_proxy::ProxySettings {
        rate_limits: dots_proxy::limits::RateLimits {
            flow_reads_per_identity: 120,
            ..common::settings().rate_limits
        },
        ..common::settings()
    })
    .await;
    let mut browser = stack.browser();
    let flow = browser
        .create_flow(serde_json::json!({"steps": ["compliance", "payout"]}))
        .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let path = format!("{}/api/flows/{flow_id}", stack.base);
    let cookie = browser.cookie.clone().unwrap();
    let before = dots_reads(&stack, &flow_id);
    let http = reqwest::Client::new();
    let reads = (0..150).map(|_| {
        let request = http.get(&path).header("cookie", &cookie).send();
        async move { request.await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(reads).await;
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (ok, limited),
        (120, 30),
        "120 a minute per identity: {statuses:?}"
    );
    let calls = dots_reads(&stack, &flow_id) - before;
    assert!(
        (1..=2).contains(&calls),
        "150 reads of an unchanged flow made {calls} calls to Dots"
    );

    // Another identity's reads have their own budget (and see only their own flows).
    let mut other = stack.browser();
    other
        .create_flow(serde_json::json!({"steps": ["compliance"]}))
        .await;
    let answer = other
        .send(reqwest::Method::GET, &format!("/api/flows/{flow_id}"), None)
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);

    // A webhook changes the flow: the next read shows it, though the last answer is fresh.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await; // two reads of budget back
    let events = common::get_with_cookie(&format!("{}/api/events", stack.base), &cookie).await;
    let mut events = common::SseReader::new(events);
    let read = common::get_with_cookie(&path, &cookie).await;
    assert_eq!(read.status(), 200);
    let read_at = std::time::Instant::now();
    assert_eq!(
        read.json::<serde_json::Value>().await.unwrap()["completed_steps"],
        serde_json::json!([])
    );
    stack.complete_step(&flow_id, "compliance").await;
    loop {
        let event = events
            .next(std::time::Duration::from_secs(10))
            .await
            .expect("the webhook's event");
        if event.kind == "step_completed" {
            break;
        }
    }
    let read = common::get_with_cookie(&path, &cookie).await;
    assert!(
        read_at.elapsed() < dots_proxy::limits::FLOW_READ_FRESH,
        "the last answer was still fresh"
    );
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.json::<serde_json::Value>().await.unwrap()["completed_steps"],
        serde_json::json!(["compliance"]),
        "the webhook's change, on the next read"
    );
}

/// Item 1, the rules: a browser without a flow gets no stream (and no session); an identity's
/// ninth stream closes its oldest; an address over its cap and an instance over its total are
/// refused; every refusal closes its connection.
#[tokio::test]
async fn event_streams_are_capped_per_identity_per_client_and_in_total() {
    use std::time::Duration;
    let stack = common::Stack::with_settings(dots_proxy::ProxySettings {
        stream_limits: dots_proxy::limits::StreamLimits {
            per_identity: 8,
            per_client: 12,
            total: 1000,
        },
        ..common::settings()
    })
    .await;
    let http = reqwest::Client::new();
    let open = |cookie: Option<String>| {
        let mut request = http.get(format!("{}/api/events", stack.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move { request.send().await.unwrap() }
    };
    let anonymous = open(None).await;
    assert_eq!(anonymous.status(), 404);
    assert_eq!(anonymous.headers()["connection"], "close");
    assert!(
        anonymous.headers().get("set-cookie").is_none(),
        "no session minted for a stream"
    );

    let cookie = browser_cookie(&stack).await;
    let mut streams = Vec::new();
    for _ in 0..8 {
        let stream = open(Some(cookie.clone())).await;
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let ninth = open(Some(cookie.clone())).await;
    assert_eq!(ninth.status(), 200, "the newest tab wins");
    let mut oldest = streams.remove(0);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut text = String::new();
        while let Ok(Some(chunk)) = oldest.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("the oldest stream ends");
    assert!(
        ended.contains("retry: 10000"),
        "and is told to wait before reconnecting: {ended}"
    );

    // Four more identities from the same address: 8 + 4 = 12 streams, the 13th is refused.
    let mut others = Vec::new();
    for _ in 0..5 {
        others.push(browser_cookie(&stack).await);
    }
    for cookie in &others[..4] {
        let stream = open(Some(cookie.clone())).await;
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let refused = open(Some(others[4].clone())).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["connection"], "close");
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_streams", "{body}");
    // Closing one makes room again.
    drop(streams.pop());
    common::eventually("a closed stream frees its place", || {
        let request = open(Some(others[4].clone()));
        async move { request.await.status() == 200 }
    })
    .await;
    drop(ninth);

    // The instance's total: the reserve is never given to streams.
    let full = common::Stack::with_settings(dots_proxy::ProxySettings {
        stream_limits: dots_proxy::limits::StreamLimits {
            per_identity: 8,
            per_client: 1000,
            total: 2,
        },
        ..common::settings()
    })
    .await;
    let cookie = browser_cookie(&full).await;
    let url = format!("{}/api/events", full.base);
    let _a = common::get_with_cookie(&url, &cookie).await;
    let _b = http
        .get(&url)
        .header("cookie", &browser_cookie(&full).await)
        .send()
        .await
        .unwrap();
    let third = http
        .get(&url)
        .header("cookie", &browser_cookie(&full).await)
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()["connection"], "close");
    let health = http
        .get(format!("{}/healthz", full.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the reserve serves the rest");
}

/// The cookie of a new browser that made one flow on `stack`.
async fn browser_cookie(stack: &common::Stack) -> String {
    let mut browser = stack.browser();
    browser
        .create_flow(serde_json::json!({"steps": ["compliance"]}))
        .await;
    browser.cookie.unwrap()
}

/// The session part of a cookie header (`dots_flow_session=…`).
fn session_pair(cookies: &str) -> String {
    cookies
        .split("; ")
        .find(|c| c.starts_with("dots_flow_session="))
        .unwrap()
        .to_owned()
}

/// Reads a stream until it ends or is quiet for 3 s; the kinds of events it told.
async fn kinds_until_end(stream: reqwest::Response) -> Vec<String> {
    let mut stream = common::SseReader::new(stream);
    let mut kinds = Vec::new();
    while let Some(event) = stream.next(std::time::Duration::from_secs(3)).await {
        kinds.push(event.kind);
    }
    kinds
}

/// Item 3, the reproduction: an attacker plants their session cookie in the victim's
/// browser; the victim onboards with it. Before: the attacker's cookie was bound to the
/// victim's Dots user, heard `user_bound` and got pre-authenticated links as the victim.
/// Now the session is rotated to the browser that created the binding flow, and the
/// attacker's copy is no session at all.
#[tokio::test]
async fn a_planted_session_cookie_never_becomes_the_victims_session() {
    let stack = common::Stack::start().await;
    let events = format!("{}/api/events", stack.base);
    // The attacker's own session (one flow made, so its stream opens).
    let planted = session_pair(&browser_cookie(&stack).await);
    let attacker_stream = common::get_with_cookie(&events, &planted).await;
    assert_eq!(attacker_stream.status(), 200);
    let attacker_heard = tokio::spawn(kinds_until_end(attacker_stream));

    // The victim's browser carries the planted cookie and creates its flow with it.
    let mut victim = stack.browser();
    victim.cookie = Some(planted.clone());
    let flow = victim
        .create_flow(serde_json::json!({"steps": ["compliance"]}))
        .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let victim_cookies = victim.cookie.clone().unwrap();
    assert!(
        victim_cookies.contains("dots_flow_claim_"),
        "the flow's claim: {victim_cookies}"
    );
    let victim_stream = common::get_with_cookie(&events, &victim_cookies).await;
    let mut victim_stream = common::SseReader::new(victim_stream);

    // The victim signs in to Dots: the webhook binds the session.
    stack.onboard(&flow_id, "4155550977").await;
    let bound = victim_stream
        .next(std::time::Duration::from_secs(10))
        .await
        .expect("the victim hears of the binding");
    assert_eq!(bound.kind, "user_bound");
    let heard = attacker_heard.await.unwrap();
    assert!(
        !heard.contains(&"user_bound".to_owned()),
        "the attacker's open stream ends before the binding: {heard:?}"
    );

    // The planted cookie is no session any more: no stream, no flow, a new session for a write.
    let stream = common::get_with_cookie(&events, &planted).await;
    assert_eq!(stream.status(), 404, "no stream for the old cookie");
    let read =
        common::get_with_cookie(&format!("{}/api/flows/{flow_id}", stack.base), &planted).await;
    assert_eq!(read.status(), 404, "nor the victim's flow");
    let mut replay = stack.browser();
    replay.cookie = Some(planted.clone());
    let answer = replay
        .create_flow(serde_json::json!({"steps": ["compliance"]}))
        .await;
    assert!(
        answer.get("expires_at").is_none(),
        "not pre-authenticated as the victim: {answer}"
    );
    assert_ne!(
        session_pair(replay.cookie.as_deref().unwrap()),
        planted,
        "the attacker was given a new, empty session"
    );
    let upstream = stack
        .sandbox
        .state()
        .store()
        .flow("", answer["id"].as_str().unwrap())
        .unwrap();
    assert!(
        upstream.user_id.is_none(),
        "created for nobody: {upstream:?}"
    );

    // The victim's browser keeps the session, rotated on its next request, pre-authenticated.
    let next = victim
        .create_flow(serde_json::json!({"steps": ["compliance"]}))
        .await;
    assert!(
        next.get("expires_at").is_some(),
        "the victim's own link signs in: {next}"
    );
    assert!(
        !victim
            .cookie
            .as_deref()
            .unwrap()
            .contains("dots_flow_claim_"),
        "the claims are cleared once the session is bound: {:?}",
        victim.cookie
    );
    let rotated = session_pair(victim.cookie.as_deref().unwrap());
    assert_ne!(rotated, planted, "rotated");
    assert_eq!(
        rotated.matches('.').count(),
        2,
        "a new cookie generation: {rotated}"
    );
    let again = common::get_with_cookie(&events, &rotated).await;
    assert_eq!(
        again.status(),
        200,
        "the rotated cookie alone is the session"
    );
}

/// Item 3: two session cookies are refused (the last one used to win); served `Secure`, the
/// cookies carry the `__Host-` prefix, which a sibling subdomain cannot set.
#[tokio::test]
async fn two_session_cookies_are_refused_and_secure_cookies_are_host_only() {
    let stack = common::Stack::start().await;
    let both = format!(
        "{}; {}",
        session_pair(&browser_cookie(&stack).await),
        session_pair(&browser_cookie(&stack).await)
    );
    let mut browser = stack.browser();
    browser.cookie = Some(both);
    let answer = browser
        .send(
            reqwest::Method::POST,
            "/api/flows",
            Some(serde_json::json!({"steps": ["compliance"]})),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json()["field"], "Cookie", "{}", answer.text);

    let secure = common::Stack::with_settings(dots_proxy::ProxySettings {
        secure_cookies: true,
        ..common::settings()
    })
    .await;
    let answer = common::first_flow(&secure.base).await;
    assert_eq!(answer.status(), 200);
    let set: Vec<String> = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(set.len(), 2, "{set:?}");
    for cookie in &set {
        assert!(cookie.starts_with("__Host-dots_flow_"), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
}
