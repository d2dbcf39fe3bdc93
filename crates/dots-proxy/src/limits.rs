//! Rate limits on what spends the app's Dots quota: new flows and new identities, per identity
//! and per client address, answered 429 with `Retry-After`. In memory, per instance (GCRA, the
//! `governor` crate): several instances each allow the configured rate.
//!
//! The client address is the connection's, or, when the connection comes from a trusted load
//! balancer, the last address it appended to `X-Forwarded-For`. A host that mounts
//! [`router`](crate::router) without connect info (`into_make_service_with_connect_info`)
//! gets one shared budget for all clients: still a limit, never none.

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ProxyError;

/// Per-minute limits. The defaults keep one client from minting hundreds of flows or
/// identities a minute while a person using a page never meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Flows one identity may create per minute.
    pub flows_per_identity: u32,
    /// Flows one client address may create per minute (all its identities together).
    pub flows_per_client: u32,
    /// New identities (first flow of a session or a bearer `sub`) per client address per minute.
    pub new_identities_per_client: u32,
    /// IPv6 clients are limited by their network of this many bits (a home or a phone is
    /// given a whole /64, so its addresses are one client).
    pub ipv6_prefix: u8,
    /// Reads of flows (`GET /api/flows/{id}`) one identity may make per minute. Each read
    /// that finds the flow changed is a call to Dots; repeated reads of an unchanged flow are
    /// answered from a short cache (see [`FLOW_READ_FRESH`]).
    pub flow_reads_per_identity: u32,
}

/// How long a flow read from Dots answers repeated reads of it, while no event of its
/// identity says it changed (a webhook's change is seen by the next read).
pub const FLOW_READ_FRESH: std::time::Duration = std::time::Duration::from_secs(3);

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            flows_per_identity: 20,
            flows_per_client: 60,
            new_identities_per_client: 10,
            ipv6_prefix: 64,
            flow_reads_per_identity: 120,
        }
    }
}

/// Caps on open event streams (`GET /api/events`), which hold a connection each for as long
/// as they are open. A page shares one stream among its components, so a person has one per
/// open tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams of one identity open at once; one more closes that identity's oldest (the
    /// newest tab wins), so no identity holds more.
    pub per_identity: usize,
    /// Streams open at once from one client address (see [`limit_key`]); more are refused
    /// (429).
    pub per_client: usize,
    /// Streams open at once on this instance; more are refused (503). Keep it under the
    /// connection limit: the difference is the reserve that health checks, webhooks, the host
    /// API and flow creation always have.
    pub total: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_identity: 8,
            per_client: 64,
            total: StreamLimits::total_for(4096),
        }
    }
}

impl StreamLimits {
    /// The total for a connection limit of `max_connections`: seven eighths of it, leaving an
    /// eighth (at least one connection) to everything else.
    pub fn total_for(max_connections: usize) -> usize {
        max_connections.saturating_sub((max_connections / 8).max(1))
    }
}

/// The open event streams of one instance, by identity and by client address.
#[derive(Debug)]
pub(crate) struct Streams {
    limits: StreamLimits,
    ipv6_prefix: u8,
    open: std::sync::Mutex<OpenStreams>,
}

/// One open stream: its number, client and what ends it.
type OpenStream = (u64, Option<IpAddr>, std::sync::Arc<tokio::sync::Notify>);

#[derive(Debug, Default)]
struct OpenStreams {
    next: u64,
    total: usize,
    /// Oldest first, with what closes each.
    by_identity: std::collections::HashMap<String, std::collections::VecDeque<OpenStream>>,
    by_client: std::collections::HashMap<Option<IpAddr>, usize>,
}

/// An admitted stream: counted until dropped. [`StreamTicket::evicted`] completes when a newer
/// stream of the same identity took its place.
#[derive(Debug)]
pub(crate) struct StreamTicket {
    streams: std::sync::Arc<Streams>,
    id: u64,
    identity: String,
    client: Option<IpAddr>,
    evicted: std::sync::Arc<tokio::sync::Notify>,
}

impl StreamTicket {
    /// Completes when this stream must end for a newer one of its identity.
    pub(crate) fn evicted(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.evicted.clone()
    }
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().expect("never poisoned");
        open.remove(self.id, &self.identity, self.client);
    }
}

impl OpenStreams {
    /// Forgets stream `id` (once: an evicted stream was forgotten when it was evicted).
    fn remove(&mut self, id: u64, identity: &str, client: Option<IpAddr>) {
        let Some(list) = self.by_identity.get_mut(identity) else {
            return;
        };
        let Some(at) = list.iter().position(|(open, _, _)| *open == id) else {
            return;
        };
        list.remove(at);
        if list.is_empty() {
            self.by_identity.remove(identity);
        }
        if let Some(count) = self.by_client.get_mut(&client) {
            *count -= 1;
            if *count == 0 {
                self.by_client.remove(&client);
            }
        }
        self.total -= 1;
    }
}

impl Streams {
    pub(crate) fn new(limits: StreamLimits, ipv6_prefix: u8) -> Self {
        Self {
            limits,
            ipv6_prefix,
            open: Default::default(),
        }
    }

    /// Whether `client` may open one more stream now (checked before anything else is read).
    pub(crate) fn check_client(&self, client: Option<IpAddr>) -> Result<(), ProxyError> {
        let client = client.map(|ip| limit_key(ip, self.ipv6_prefix));
        let open = self.open.lock().expect("never poisoned");
        self.refusal(&open, client)
    }

    fn refusal(&self, open: &OpenStreams, client: Option<IpAddr>) -> Result<(), ProxyError> {
        if open.total >= self.limits.total {
            metrics::counter!("dots_proxy_rate_limited_total", "limit" => "streams_total")
                .increment(1);
            return Err(ProxyError::TooManyStreams {
                scope: "server",
                limit: self.limits.total,
            });
        }
        if open.by_client.get(&client).copied().unwrap_or(0) >= self.limits.per_client {
            metrics::counter!("dots_proxy_rate_limited_total", "limit" => "streams_per_client")
                .increment(1);
            return Err(ProxyError::TooManyStreams {
                scope: "client",
                limit: self.limits.per_client,
            });
        }
        Ok(())
    }

    /// Admits a stream of `identity` from `client`: refused over the client's or the
    /// instance's cap; over the identity's, that identity's oldest stream is told to end.
    pub(crate) fn admit(
        self: &std::sync::Arc<Self>,
        identity: &str,
        client: Option<IpAddr>,
    ) -> Result<StreamTicket, ProxyError> {
        let client = client.map(|ip| limit_key(ip, self.ipv6_prefix));
        let mut open = self.open.lock().expect("never poisoned");
        let own = open.by_identity.get(identity).map_or(0, |list| list.len());
        if own >= self.limits.per_identity.max(1) {
            // The newest tab wins: the oldest stream of this identity ends (its client, an
            // EventSource, reconnects later and is admitted or not as any other).
            let (oldest, oldest_client, close) = open.by_identity[identity][0].clone();
            open.remove(oldest, identity, oldest_client);
            close.notify_one();
        } else {
            self.refusal(&open, client)?;
        }
        open.next += 1;
        let id = open.next;
        let evicted = std::sync::Arc::new(tokio::sync::Notify::new());
        open.by_identity
            .entry(identity.to_owned())
            .or_default()
            .push_back((id, client, evicted.clone()));
        *open.by_client.entry(client).or_default() += 1;
        open.total += 1;
        Ok(StreamTicket {
            streams: self.clone(),
            id,
            identity: identity.to_owned(),
            client,
            evicted,
        })
    }
}

/// The key a client address is limited under: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
/// is the IPv4 address it maps; any other IPv6 address counts by its network of `ipv6_prefix`
/// bits.
pub fn limit_key(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        },
    }
}

/// A trusted load balancer's address or network (`10.0.0.7`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0 to {max}"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl TrustedProxy {
    /// Whether `ip` is this address or in this network (an IPv4-mapped address as its IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let ((net, net_width), (addr, addr_width)) = (bits(self.network), bits(ip));
        if net_width != addr_width {
            return false;
        }
        let mask = if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        };
        net & mask == addr & mask
    }
}

/// The limiters of one proxy instance.
pub(crate) struct Limiter {
    flows_by_identity: Option<DefaultKeyedRateLimiter<String>>,
    reads_by_identity: Option<DefaultKeyedRateLimiter<String>>,
    flows_by_client: Option<DefaultKeyedRateLimiter<Option<IpAddr>>>,
    identities_by_client: Option<DefaultKeyedRateLimiter<Option<IpAddr>>>,
    checks: AtomicU64,
    ipv6_prefix: u8,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(n).map(|n| governor::RateLimiter::keyed(Quota::per_minute(n)))
}

/// Checks `key` against `limiter` (`name` for the metric, `what` for the message); the wait,
/// in whole seconds, when over.
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
    name: &'static str,
    what: &'static str,
) -> Result<(), ProxyError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        metrics::counter!("dots_proxy_rate_limited_total", "limit" => name).increment(1);
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ProxyError::RateLimited {
            retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            what,
        }
    })
}

/// What a refused new flow or new identity was one too many of.
const NEW_FLOWS: &str = "new flows from here";

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            flows_by_identity: per_minute(limits.flows_per_identity),
            reads_by_identity: per_minute(limits.flow_reads_per_identity),
            flows_by_client: per_minute(limits.flows_per_client),
            identities_by_client: per_minute(limits.new_identities_per_client),
            checks: AtomicU64::new(0),
            ipv6_prefix: limits.ipv6_prefix,
        }
    }

    /// One more flow for `identity` from `client`.
    pub(crate) fn flow(&self, identity: &str, client: Option<IpAddr>) -> Result<(), ProxyError> {
        self.tidy();
        check(
            &self.flows_by_identity,
            &identity.to_owned(),
            "flows_per_identity",
            NEW_FLOWS,
        )?;
        let client = client.map(|ip| limit_key(ip, self.ipv6_prefix));
        check(
            &self.flows_by_client,
            &client,
            "flows_per_client",
            NEW_FLOWS,
        )
    }

    /// One more read of a flow by `identity`.
    pub(crate) fn flow_read(&self, identity: &str) -> Result<(), ProxyError> {
        self.tidy();
        check(
            &self.reads_by_identity,
            &identity.to_owned(),
            "flow_reads_per_identity",
            "reads of flows",
        )
    }

    /// One more new identity from `client`.
    pub(crate) fn new_identity(&self, client: Option<IpAddr>) -> Result<(), ProxyError> {
        let client = client.map(|ip| limit_key(ip, self.ipv6_prefix));
        check(
            &self.identities_by_client,
            &client,
            "new_identities_per_client",
            NEW_FLOWS,
        )
    }

    /// Forgets keys whose budget is full again, now and then, so memory stays bounded.
    fn tidy(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for limiter in [&self.flows_by_client, &self.identities_by_client]
                .into_iter()
                .flatten()
            {
                limiter.retain_recent();
            }
            for limiter in [&self.flows_by_identity, &self.reads_by_identity]
                .into_iter()
                .flatten()
            {
                limiter.retain_recent();
            }
        }
    }
}

/// The client address of a request from `peer` (the connection's, if known; see the module
/// docs).
pub fn client_address(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[TrustedProxy],
) -> Option<IpAddr> {
    let peer = peer?.ip();
    if !trusts(trusted, peer) {
        return Some(peer);
    }
    // The address the trusted load balancer appended.
    let forwarded = last_forwarded(headers, "x-forwarded-for").and_then(|v| v.parse().ok());
    Some(forwarded.unwrap_or(peer))
}

/// Whether `ip` is one of the `trusted` load balancers.
pub fn trusts(trusted: &[TrustedProxy], ip: IpAddr) -> bool {
    trusted.iter().any(|t| t.contains(ip))
}

/// The last value of a list header a load balancer appends to (`X-Forwarded-For`,
/// `X-Forwarded-Proto`): the one the trusted balancer added (anything before it came from the
/// client and proves nothing).
pub(crate) fn last_forwarded<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let last = headers.get_all(name).iter().next_back()?;
    Some(last.to_str().ok()?.rsplit(',').next()?.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 25: 24 addresses of one IPv6 /64 all passed a limit of 10, and `::ffff:a.b.c.d`
    /// counted apart from `a.b.c.d`.
    #[test]
    fn one_ipv6_network_and_an_ipv4_mapped_address_are_one_client() {
        let limiter = Limiter::new(RateLimits {
            new_identities_per_client: 10,
            ..RateLimits::default()
        });
        let refused = (0..24)
            .filter(|n| {
                let ip: IpAddr = format!("2001:db8:1:2::{n:x}").parse().unwrap();
                limiter.new_identity(Some(ip)).is_err()
            })
            .count();
        assert_eq!(
            refused, 14,
            "one /64 is one client: 10 pass, 14 are refused"
        );
        assert!(
            limiter
                .new_identity(Some("2001:db8:1:3::1".parse().unwrap()))
                .is_ok(),
            "the next /64 is another client"
        );
        let limiter = Limiter::new(RateLimits {
            new_identities_per_client: 1,
            ..RateLimits::default()
        });
        assert!(limiter
            .new_identity(Some("192.0.2.7".parse().unwrap()))
            .is_ok());
        assert!(
            limiter
                .new_identity(Some("::ffff:192.0.2.7".parse().unwrap()))
                .is_err(),
            "the mapped address is the same client"
        );
        assert_eq!(
            limit_key("2001:db8::1:2:3:4".parse().unwrap(), 48),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            limit_key("2001:db8::1".parse().unwrap(), 128),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn trusted_networks_match_what_they_say() {
        let net: TrustedProxy = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.1.0.9".parse().unwrap()),
            "IPv4-mapped"
        );
        let one: TrustedProxy = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: TrustedProxy = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("example.com".parse::<TrustedProxy>().is_err());
    }

    #[test]
    fn only_a_trusted_peer_may_name_the_client() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let from = |peer: &str, forwarded: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = forwarded {
                headers.insert("x-forwarded-for", value.parse().unwrap());
            }
            client_address(Some(peer.parse().unwrap()), &headers, &trusted)
        };
        assert_eq!(
            from("10.0.0.5:4000", Some("6.6.6.6, 203.0.113.9")),
            ip("203.0.113.9"),
            "the address the balancer appended, not the client's claim before it"
        );
        assert_eq!(
            from("198.51.100.7:4000", Some("203.0.113.9")),
            ip("198.51.100.7"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(from("10.0.0.5:4000", None), ip("10.0.0.5"));
        assert_eq!(
            client_address(None, &HeaderMap::new(), &trusted),
            None,
            "no connect info"
        );
    }
}
