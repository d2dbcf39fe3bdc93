//! Metrics as an operator scrapes them (issue 24): the `dots-proxy` binary with
//! `DOTS_PROXY_METRICS_ADDR`, traffic of every kind, and the text scraped during the run parsed
//! with a Prometheus parser: each counter moves with the traffic that should move it, label
//! values are bounded, the public port has no `/metrics`. Logs in JSON carry each request's id,
//! and so do its calls to Dots.

mod common;

use common::{Browser, ADMIN_TOKEN};
use dots_api::webhook::{WebhookSecret, SVIX_ID, SVIX_SIGNATURE, SVIX_TIMESTAMP};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

const CLIENT: (&str, &str) = ("metrics-client", "metrics-api-key-7d1e");

/// Every sample of a scrape: `name{label="value",…}` → value.
async fn scrape(url: &str) -> HashMap<String, f64> {
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
    parsed
        .samples
        .into_iter()
        .filter_map(|sample| {
            let value = match sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                // Histograms: their count, under the metric's name.
                prometheus_parse::Value::Histogram(buckets) => buckets.last()?.count,
                _ => return None,
            };
            let mut labels: Vec<(String, String)> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Some((format!("{}{{{}}}", sample.metric, labels.join(",")), value))
        })
        .collect()
}

fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_counter_moves_with_its_traffic_on_sqlite() {
    every_counter_moves_with_its_traffic(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_counter_moves_with_its_traffic_on_postgres() {
    let Some(url) = common::fresh_postgres("dots_metrics").await else {
        return;
    };
    every_counter_moves_with_its_traffic(Some(&url)).await;
}

async fn every_counter_moves_with_its_traffic(database_url: Option<&str>) {
    let (port, metrics_port) = (common::free_port(), common::free_port());
    let base = format!("http://127.0.0.1:{port}");
    let sandbox = common::sandbox_sending_to(&base, CLIENT).await;
    let data = std::env::temp_dir().join(format!("dots-metrics-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).unwrap();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let mut env = vec![
        ("DOTS_PROXY_METRICS_ADDR", metrics_addr.as_str()),
        ("DOTS_PROXY_ADMIN_TOKEN", ADMIN_TOKEN),
        ("DOTS_PROXY_FLOWS_PER_MINUTE_PER_IDENTITY", "2"),
        ("DOTS_PROXY_LOG_FORMAT", "json"),
    ];
    if let Some(url) = database_url {
        env.push(("DOTS_PROXY_DATABASE_URL", url));
    }
    let (_proxy, logs) =
        common::start_proxy_process(port, &sandbox.api_base(), CLIENT, &data, &env);
    let url = format!("http://{metrics_addr}/metrics");
    let before = scrape(&url).await;

    // Flows: two created (one with the client's request id), the third refused by the limit.
    let mut browser = Browser::at(&base);
    let answer = browser
        .http
        .post(format!("{base}/api/flows"))
        .header("origin", common::ORIGIN)
        .header("x-request-id", "req-metrics-1")
        .json(&json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "req-metrics-1", "echoed");
    let cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    let flow: serde_json::Value = answer.json().await.unwrap();
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    browser.cookie = Some(cookie.clone());
    let generated = browser
        .send(
            reqwest::Method::POST,
            "/api/flows",
            Some(json!({"steps": ["payout"]})),
        )
        .await;
    assert_eq!(generated.status, 200);
    assert_eq!(
        generated.headers["x-request-id"].len(),
        32,
        "one generated when absent"
    );
    let refused = browser
        .send(
            reqwest::Method::POST,
            "/api/flows",
            Some(json!({"steps": ["id-verification"]})),
        )
        .await;
    assert_eq!(refused.status, 429);
    let read = browser
        .send(reqwest::Method::GET, &format!("/api/flows/{flow_id}"), None)
        .await;
    assert_eq!(read.status, 200);

    // An event stream, open during the scrape.
    let stream = reqwest::Client::new()
        .get(format!("{base}/api/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let mut stream = common::SseReader::new(stream);

    // Webhooks: a real one (sign-in), then a forged, a stale, a headerless one and a replay.
    let onboard = reqwest::Client::new()
        .post(format!(
            "{}/_sandbox/flows/{flow_id}/onboard",
            sandbox.origin()
        ))
        .json(
            &json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                      "country_code": "1", "phone_number": "4155550901"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(onboard.status(), 200);
    let bound = stream
        .next(Duration::from_secs(5))
        .await
        .expect("user_bound");
    assert_eq!(bound.kind, "user_bound");
    let user_id = bound.data["user_id"].as_str().unwrap().to_owned();
    let secret = WebhookSecret::parse(common::WEBHOOK_SECRET).unwrap();
    let now = (dots_proxy::db::now_ms() / 1000) as i64;
    let body = json!({"event": "flow.updated", "flow_id": flow_id}).to_string();
    let deliver = |id: &str, ts: i64, signature: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/webhooks/dots"))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(signature) = signature {
            request = request
                .header(SVIX_ID, id)
                .header(SVIX_TIMESTAMP, ts.to_string())
                .header(SVIX_SIGNATURE, signature);
        }
        request.send()
    };
    let good = secret.sign("msg_metrics_1", now, body.as_bytes());
    assert_eq!(
        deliver("msg_metrics_1", now, Some(good.clone()))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        deliver("msg_metrics_1", now, Some(good))
            .await
            .unwrap()
            .status(),
        204
    );
    let forged =
        WebhookSecret::from_key(b"not the key").sign("msg_metrics_2", now, body.as_bytes());
    assert_eq!(
        deliver("msg_metrics_2", now, Some(forged))
            .await
            .unwrap()
            .status(),
        401
    );
    let stale = secret.sign("msg_metrics_3", now - 3600, body.as_bytes());
    assert_eq!(
        deliver("msg_metrics_3", now - 3600, Some(stale))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(deliver("", now, None).await.unwrap().status(), 401);

    // Payments: paid, then the same reference again.
    let pay = json!({"amount_cents": 500, "reference": "metrics-order-1"});
    for _ in 0..2 {
        let paid = reqwest::Client::new()
            .post(format!("{base}/host/users/{user_id}/pay"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&pay)
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), 200);
    }

    // The transfer's webhook has reached the stream (its event is stored and fanned out).
    let told = stream
        .next(Duration::from_secs(5))
        .await
        .expect("transfer_updated");
    assert_eq!(told.kind, "transfer_updated");
    let during = scrape(&url).await;
    let moved = |key: &str| delta(&before, &during, key);
    assert_eq!(
        during.get("dots_proxy_event_streams_open{}"),
        Some(&1.0),
        "one stream open"
    );
    assert_eq!(
        moved("dots_proxy_http_requests_total{method=POST,route=/api/flows,status=200}"),
        2.0
    );
    assert_eq!(
        moved("dots_proxy_http_requests_total{method=POST,route=/api/flows,status=429}"),
        1.0
    );
    assert_eq!(
        moved("dots_proxy_http_requests_total{method=GET,route=/api/flows/:flow_id,status=200}"),
        1.0,
        "by route template, never the raw path"
    );
    assert_eq!(
        moved("dots_proxy_http_request_duration_seconds{method=POST,route=/api/flows,status=200}"),
        2.0
    );
    assert_eq!(
        moved("dots_proxy_rate_limited_total{limit=flows_per_identity}"),
        1.0
    );
    assert_eq!(
        moved("dots_proxy_dots_calls_total{operation=create_flow,outcome=ok}"),
        2.0
    );
    assert!(moved("dots_proxy_dots_calls_total{operation=retrieve_flow,outcome=ok}") >= 2.0);
    assert!(
        moved("dots_proxy_dots_call_duration_seconds{operation=create_flow,outcome=ok}") >= 2.0
    );
    assert!(moved("dots_proxy_webhooks_total{outcome=processed}") >= 2.0);
    assert_eq!(moved("dots_proxy_webhooks_total{outcome=duplicate}"), 1.0);
    assert_eq!(
        moved("dots_proxy_webhooks_total{outcome=refused_signature}"),
        1.0
    );
    assert_eq!(
        moved("dots_proxy_webhooks_total{outcome=refused_stale}"),
        1.0
    );
    assert_eq!(
        moved("dots_proxy_webhooks_total{outcome=refused_malformed}"),
        1.0
    );
    assert!(during["dots_proxy_last_webhook_timestamp_seconds{}"] >= (now - 5) as f64);
    assert!(
        moved("dots_proxy_events_stored_total{}") >= 2.0,
        "user_bound, transfer_updated"
    );
    assert!(
        moved("dots_proxy_events_fanned_out_total{}") >= 1.0,
        "to the open stream"
    );
    assert_eq!(
        moved(
            "dots_proxy_http_requests_total{method=POST,route=/host/users/:user_id/pay,status=200}"
        ),
        2.0
    );
    assert_eq!(moved("dots_proxy_payments_total{outcome=paid}"), 1.0);
    assert_eq!(
        moved("dots_proxy_payments_total{outcome=already_paid}"),
        1.0
    );
    assert!(during.contains_key("dots_proxy_db_connections{pool=write,state=open}"));

    // Bounded labels: no id of a flow, a user or a request in any label value.
    let id_like = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}|[0-9a-f]{32}|req-metrics").unwrap();
    for key in during.keys() {
        let labels = key.split_once('{').map_or("", |(_, l)| l);
        assert!(!id_like.is_match(labels), "an unbounded label value: {key}");
    }
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = scrape(&url).await;
    assert_eq!(
        after.get("dots_proxy_event_streams_open{}"),
        Some(&0.0),
        "closed again"
    );

    // Not on the public port.
    let public = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(public.status(), 404);

    // JSON logs, each line one object; the request's id on its lines and on its call to Dots.
    let lines = logs.lock().unwrap().clone();
    let json_lines: Vec<serde_json::Value> = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("each log line is one JSON object"))
        .collect();
    assert!(
        json_lines
            .iter()
            .any(|l| l["span"]["request_id"] == "req-metrics-1"),
        "a log line of the request carries its id"
    );
    assert!(
        sandbox
            .state()
            .received()
            .iter()
            .any(|r| r.path == "/v2/flows" && r.request_id.as_deref() == Some("req-metrics-1")),
        "its call to Dots carries it too: {:?}",
        sandbox.state().received()
    );
}
