//! Serving the proxy on the open internet: what `axum::serve` leaves out. A connection that
//! sends half a request head, or nothing, or sits idle between requests, is closed after a
//! deadline (`axum::serve` sets no timer, so such connections were held for ever and about a
//! thousand of them exhausted the file descriptors); at most `max_connections` are open at
//! once (more wait in the listen backlog); TCP_NODELAY for the event streams' small writes;
//! graceful shutdown that lets requests in flight finish, for a bounded time.
//!
//! HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a load balancer in front ends.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

/// Marks a request that came in on [`serve`]'s listener, which speaks plain HTTP (TLS, if
/// any, ended before it): the scheme the same-origin check expects when no trusted balancer
/// says otherwise.
#[derive(Clone, Copy, Debug)]
pub struct PlainHttp;

/// The answer to a request with more than one `Host` header: 400 in the proxy's JSON error
/// shape, naming `Host`, and the connection closed. Which of them names the site is ambiguous
/// (a front end may have routed by the other), so none is trusted. `None` for one or none.
pub fn refuse_ambiguous_host(headers: &axum::http::HeaderMap) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    if headers.get_all(axum::http::header::HOST).iter().count() <= 1 {
        return None;
    }
    Some(closing(
        crate::ProxyError::Invalid(dots_api::ValidationError::new(
            "Host",
            "the request carries more than one Host header",
        ))
        .into_response(),
    ))
}

/// `response`, closing its connection after it (a refused client keeps no connection for a
/// next request).
pub(crate) fn closing(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// Middleware form of [`refuse_ambiguous_host`], for a router served some other way.
pub async fn one_host(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match refuse_ambiguous_host(request.headers()) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// Connection limits of [`serve`].
#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// How long a connection may take to send a request head, counted from when it is
    /// opened or from the end of its previous response (so it is also the idle timeout).
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long shutdown waits for open connections (event streams never end by themselves).
    pub shutdown_grace: Duration,
    /// Most connections open at once from one client address (0: no limit); more are closed
    /// as soon as they are accepted. Connections of `trusted_proxies` are not counted (they
    /// carry everyone's).
    pub max_connections_per_client: usize,
    /// Load balancers, whose connections the per-client cap does not count.
    pub trusted_proxies: Vec<crate::limits::TrustedProxy>,
    /// IPv6 clients count by their network of this many bits (see
    /// [`crate::limits::limit_key`]).
    pub ipv6_prefix: u8,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(5),
            max_connections_per_client: 256,
            trusted_proxies: Vec::new(),
            ipv6_prefix: 64,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, within `limits`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = Arc::new(PerClient::default());
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer's address for the rate limits, as `into_make_service_with_connect_info`
        // would give it. A clone of a built router is a reference count, not a new route table.
        let peer = stream.peer_addr().ok();
        // One address may not hold every connection: over its share, closed at once.
        let counted = match peer {
            Some(peer)
                if limits.max_connections_per_client > 0
                    && !crate::limits::trusts(&limits.trusted_proxies, peer.ip()) =>
            {
                let key = crate::limits::limit_key(peer.ip(), limits.ipv6_prefix);
                match per_client.enter(key, limits.max_connections_per_client) {
                    Some(entered) => Some(entered),
                    None => {
                        metrics::counter!("dots_proxy_connections_refused_total").increment(1);
                        drop(stream);
                        continue;
                    }
                }
            }
            _ => None,
        };
        let router = app.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                if let Some(peer) = peer {
                    request.extensions_mut().insert(ConnectInfo(peer));
                }
                request.extensions_mut().insert(PlainHttp);
                let refused = refuse_ambiguous_host(request.headers());
                let mut router = router.clone();
                async move {
                    match refused {
                        // Before any route, the static site included.
                        Some(refused) => Ok(refused),
                        None => router.call(request).await,
                    }
                }
            },
        ));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection closed with an error");
            }
            drop(permit);
            drop(counted);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("shutdown: connections still open after the grace period are dropped");
    }
}

/// Open connections by client address.
#[derive(Default)]
struct PerClient {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One counted connection of a client address, until dropped.
struct Entered {
    of: Arc<PerClient>,
    key: std::net::IpAddr,
}

impl PerClient {
    fn enter(self: &Arc<Self>, key: std::net::IpAddr, max: usize) -> Option<Entered> {
        let mut open = self.open.lock().expect("never poisoned");
        let count = open.entry(key).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Entered {
            of: self.clone(),
            key,
        })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().expect("never poisoned");
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}
