//! What an operator scrapes (Prometheus text on `DOTS_PROXY_METRICS_ADDR`, a listener of its
//! own so the public port never exposes it) and what ties a request's log lines together (its
//! `X-Request-Id`).
//!
//! The proxy records through the [`metrics`] facade: a no-op until a recorder is installed, so
//! a host that mounts [`crate::router`] in its own app may install its own. The binary installs
//! `metrics-exporter-prometheus`'s (chosen over `prometheus-client` for that: instrumentation
//! that does not tie a library's users to one exporter). Every label value is bounded: route
//! templates, operation names and outcomes, never a raw path or an id.
//!
//! | metric | labels |
//! |---|---|
//! | `dots_proxy_http_requests_total`, `dots_proxy_http_request_duration_seconds` | `route` (template, `/api/flows/:flow_id`), `method`, `status` |
//! | `dots_proxy_dots_calls_total`, `dots_proxy_dots_call_duration_seconds` | `operation`, `outcome` |
//! | `dots_proxy_webhooks_total` | `outcome`: `processed`, `duplicate`, `refused_signature`, `refused_stale`, `refused_malformed`, `failed` |
//! | `dots_proxy_last_webhook_timestamp_seconds` | — (alert on `time() - …`) |
//! | `dots_proxy_events_stored_total`, `dots_proxy_events_fanned_out_total` | — |
//! | `dots_proxy_event_streams_open` | — |
//! | `dots_proxy_rate_limited_total` | `limit` (`flows_per_identity`, `flows_per_client`, `new_identities_per_client`, `flow_reads_per_identity`, `streams_per_client`, `streams_total`) |
//! | `dots_proxy_connections_refused_total` | — (closed at accept, over the per-client cap) |
//! | `dots_proxy_payments_total` | `outcome`: `paid`, `already_paid`, `reconciled`, `unconfirmed`, `refused`, `failed` |
//! | `dots_proxy_reconcile_sweeps_total`, `dots_proxy_reconcile_flows_total` | `result` |
//! | `dots_proxy_db_connections` | `pool` (`read`, `write`), `state` (`open`, `idle`) |

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::time::Instant;
use tracing::Instrument;

/// The request id header, read from the client (when it is a plain token) or generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request being handled, for the calls it makes to Dots.
    static CURRENT_REQUEST: String;
}

/// The id of the request this task is handling, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST.try_with(Clone::clone).ok()
}

/// A request id the client sent, if it is a plain token of at most 64 characters.
fn usable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let plain = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| text.to_owned())
}

/// Middleware: the request's id (the client's `X-Request-Id`, or a new one) on its log lines,
/// on its answer and on the calls it makes to Dots; and its count, status and latency by route
/// template.
pub async fn track(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(usable)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    // The route's template, its parameters written `:name` (`/api/flows/:flow_id`): braces in
    // label values trip some Prometheus text parsers.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().replace('{', ":").replace('}', ""))
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    // The path only: a query may carry a stream token, which no log line may hold.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = CURRENT_REQUEST
        .scope(id.clone(), next.run(request).instrument(span))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("dots_proxy_http_requests_total", &labels).increment(1);
    metrics::histogram!("dots_proxy_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Installs the Prometheus recorder for this process (once; later calls return `None`).
pub fn install() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])
        .ok()?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    Some(handle)
}

/// Serves `GET /metrics` on `addr` (its own listener) until the process ends; the database
/// pool's gauges are read at each scrape.
pub async fn serve(
    addr: SocketAddr,
    handle: PrometheusHandle,
    db: crate::db::Db,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (handle, db) = (handle.clone(), db.clone());
            async move {
                db.record_pool_gauges();
                handle.run_upkeep();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_request_ids_are_taken_from_the_client() {
        assert_eq!(
            usable(&HeaderValue::from_static("abc-123_x.y")).as_deref(),
            Some("abc-123_x.y")
        );
        for bad in ["", "has space", "new\tline", "<script>", &"x".repeat(65)] {
            assert_eq!(
                usable(&HeaderValue::from_str(bad).unwrap()),
                None,
                "{bad:?}"
            );
        }
    }
}
