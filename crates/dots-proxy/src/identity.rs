//! Who a browser request is: a signed, HttpOnly session cookie, or a host-signed bearer token
//! (HS256, `sub` = the host's user id) when the host's own login should decide. Plus the
//! same-origin check that keeps cookie-authenticated writes safe from CSRF.
//!
//! A session cannot be planted. Served `Secure`, its cookie is `__Host-dots_flow_session`,
//! which a sibling subdomain cannot set; a request carrying two session cookies is refused;
//! and a session bound to a Dots user is rotated: the browser that created the flow which
//! bound it holds that flow's claim (a cookie set with the flow answer), its next request gets
//! a new cookie generation, and the old cookie, wherever else it was, is no session from then
//! on (an event stream open on it ends at the binding, before telling it).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::error::ProxyError;
use crate::AppState;

/// The session cookie's name over plain HTTP (development); served `Secure`, it is
/// [`SECURE_SESSION_COOKIE`].
pub const SESSION_COOKIE: &str = "dots_flow_session";
/// The session cookie's name when cookies are `Secure`: the `__Host-` prefix makes browsers
/// take it only from this host, over HTTPS, for path `/`, with no `Domain`.
pub const SECURE_SESSION_COOKIE: &str = "__Host-dots_flow_session";
/// The start of a flow claim cookie's name (the flow id follows; `__Host-` first when secure).
const CLAIM_COOKIE: &str = "dots_flow_claim_";

/// The session cookie's name under these settings.
pub fn session_cookie_name(settings: &crate::ProxySettings) -> &'static str {
    if settings.secure_cookies {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The name of the cookie holding flow `flow_id`'s claim.
fn claim_cookie_name(settings: &crate::ProxySettings, flow_id: &str) -> String {
    let id: String = flow_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(64)
        .collect();
    let prefix = if settings.secure_cookies {
        "__Host-"
    } else {
        ""
    };
    format!("{prefix}{CLAIM_COOKIE}{id}")
}

/// A new flow claim for the browser creating `flow_id`: the cookie to send it, and the hash
/// to keep.
pub(crate) fn new_claim(state: &AppState, flow_id: &str) -> (Cookie<'static>, String) {
    let secret =
        uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
    let hash = claim_hash(&secret);
    let cookie = base_cookie(state, claim_cookie_name(state.settings(), flow_id), secret);
    (cookie, hash)
}

/// The hashes of the flow claims a request's cookies carry.
pub(crate) fn claims_in(jar: &SignedCookieJar) -> Vec<String> {
    jar.iter()
        .filter(|c| is_claim_cookie(c.name()))
        .map(|c| claim_hash(c.value()))
        .collect()
}

fn claim_hash(secret: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many cookies named `name` the request carries.
fn count_cookies(headers: &HeaderMap, name: &str) -> usize {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter(|cookie| cookie.as_ref().is_ok_and(|c| c.name() == name))
        .count()
}

/// Whether a cookie of this name holds a flow's claim.
fn is_claim_cookie(name: &str) -> bool {
    name.trim_start_matches("__Host-").starts_with(CLAIM_COOKIE)
}

/// The caller of a browser-facing route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// A stable key: `session:<id>` or `host:<sub>`.
    pub identity: String,
    /// Authenticated by the session cookie (so writes need an allowed `Origin`).
    pub via_cookie: bool,
}

/// Claims of a host-signed bearer token.
#[derive(Debug, Serialize, Deserialize)]
pub struct HostClaims {
    /// The host's user id.
    pub sub: String,
    /// Expiry (Unix seconds); required.
    pub exp: u64,
}

/// Identifies the caller. With `create`, a browser without a session gets one (returned in the
/// jar, to be sent back as `Set-Cookie`).
pub(crate) async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    jar: SignedCookieJar,
    create: bool,
) -> Result<(Option<Caller>, SignedCookieJar), ProxyError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ProxyError::Unauthorized)?;
        let secret = state
            .settings()
            .jwt_secret
            .as_ref()
            .ok_or(ProxyError::Unauthorized)?;
        let settings = state.settings();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 30;
        // A token not valid yet (`nbf` ahead, beyond the leeway) is refused.
        validation.validate_nbf = true;
        // A configured audience or issuer must also be present (jsonwebtoken checks the claim
        // only when the token has it, unless it is required). Without a configured audience
        // the claim is not checked, as the README says (jsonwebtoken would refuse any `aud`).
        match &settings.jwt_audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &settings.jwt_issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        let data = jsonwebtoken::decode::<HostClaims>(
            token.trim(),
            &jsonwebtoken::DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            &validation,
        )
        .map_err(|_| ProxyError::Unauthorized)?;
        if data.claims.sub.trim().is_empty() {
            return Err(ProxyError::Unauthorized);
        }
        return Ok((
            Some(Caller {
                identity: format!("host:{}", data.claims.sub),
                via_cookie: false,
            }),
            jar,
        ));
    }
    let name = session_cookie_name(state.settings());
    if count_cookies(headers, name) > 1 {
        // Which one is the browser's own is unknowable (a second may have been planted).
        return Err(ProxyError::Invalid(dots_api::ValidationError::new(
            "Cookie",
            format!("the request carries more than one `{name}` cookie; clear this site's cookies"),
        )));
    }
    let now = crate::db::now_ms() / 1000;
    let idle = state.settings().session_idle.as_secs() as i64;
    // The cookie is `<id>.<last seen, Unix seconds>[.<generation>]`, signed: a session unused
    // for longer than the idle timeout is over (a stolen cookie does not live for ever), and
    // one in use is renewed at most every few minutes.
    if let Some(session) = jar
        .get(name)
        .and_then(|cookie| parse_session(cookie.value()))
    {
        if now.saturating_sub(session.seen) <= idle {
            if let Some((generation, jar)) = current_session(state, &session, jar.clone()).await? {
                let caller = Caller {
                    identity: format!("session:{}", session.id),
                    via_cookie: true,
                };
                let jar = if now.saturating_sub(session.seen) >= SESSION_RENEW_SECS
                    || generation != session.generation
                {
                    jar.add(session_cookie(
                        state,
                        &session.id,
                        now,
                        generation.as_deref(),
                    ))
                } else {
                    jar
                };
                return Ok((Some(caller), jar));
            }
        }
    }
    if !create {
        return Ok((None, jar));
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    Ok((
        Some(Caller {
            identity: format!("session:{id}"),
            via_cookie: true,
        }),
        jar.add(session_cookie(state, &id, now, None)),
    ))
}

/// How often a session in use gets a fresh last-seen time (and cookie).
const SESSION_RENEW_SECS: i64 = 300;

/// A session cookie's contents.
struct SessionCookie {
    id: String,
    seen: i64,
    generation: Option<String>,
}

fn parse_session(value: &str) -> Option<SessionCookie> {
    let mut parts = value.splitn(3, '.');
    let id = parts.next().filter(|id| !id.is_empty())?.to_owned();
    let seen = parts.next()?.parse().ok()?;
    let generation = parts.next().map(str::to_owned);
    Some(SessionCookie {
        id,
        seen,
        generation,
    })
}

/// Whether `session` is still a session, and its current cookie generation: a session bound
/// by a flow with a claim lives on only in the browser holding that claim (rotated to a new
/// generation on its first request) or with that generation's cookie. `None`: this cookie is
/// no session any more.
async fn current_session(
    state: &AppState,
    session: &SessionCookie,
    jar: SignedCookieJar,
) -> Result<Option<(Option<String>, SignedCookieJar)>, ProxyError> {
    if session.generation.is_some() {
        // Only a claim draws a generation, once per session, never changed after: a signed
        // cookie carrying one is the rotated session itself (no read needed).
        return Ok(Some((session.generation.clone(), jar)));
    }
    let identity = format!("session:{}", session.id);
    let Some(row) = state.db().session(&identity).await? else {
        // No flow yet: nothing to protect, nothing to rotate.
        return Ok(Some((session.generation.clone(), jar)));
    };
    let Some(bound_by) = row.bound_by_flow else {
        return Ok(Some((session.generation.clone(), jar)));
    };
    let Some(claim) = jar.get(&claim_cookie_name(state.settings(), &bound_by)) else {
        tracing::info!("a session cookie without its binding flow's claim is no session");
        return Ok(None);
    };
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    match state
        .db()
        .claim_session(&identity, &claim_hash(claim.value()), &fresh)
        .await?
    {
        Some(generation) => {
            tracing::info!("session rotated by the browser holding its binding flow's claim");
            // The session is bound for good: none of its claims is needed any more.
            let claims: Vec<String> = jar
                .iter()
                .map(|c| c.name().to_owned())
                .filter(|n| is_claim_cookie(n))
                .collect();
            let jar = claims.into_iter().fold(jar, |jar, name| {
                jar.remove(base_cookie(state, name, String::new()))
            });
            Ok(Some((Some(generation), jar)))
        }
        None => Ok(None),
    }
}

/// A cookie with the session's attributes (HttpOnly, SameSite, Secure, path `/`, the idle
/// timeout as its age).
fn base_cookie(state: &AppState, name: String, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(if state.settings().cross_site_cookies {
            SameSite::None
        } else {
            SameSite::Lax
        })
        .secure(state.settings().secure_cookies)
        .path("/")
        .max_age(time::Duration::seconds(
            state.settings().session_idle.as_secs() as i64,
        ))
        .build()
}

fn session_cookie(
    state: &AppState,
    id: &str,
    now: i64,
    generation: Option<&str>,
) -> Cookie<'static> {
    let value = match generation {
        Some(generation) => format!("{id}.{now}.{generation}"),
        None => format!("{id}.{now}"),
    };
    base_cookie(
        state,
        session_cookie_name(state.settings()).to_owned(),
        value,
    )
}

/// [`identify`] for an extractor, with the origin check on cookie-authenticated writes.
pub(crate) async fn caller_of(
    parts: &Parts,
    state: &AppState,
    create: bool,
) -> Result<(Option<Caller>, SignedCookieJar), ProxyError> {
    let jar = SignedCookieJar::from_headers(&parts.headers, state.settings().session_key.clone());
    let (caller, jar) = identify(state, &parts.headers, jar, create).await?;
    if caller.as_ref().is_some_and(|c| c.via_cookie) && !parts.method.is_safe() {
        check_origin(state, parts)?;
    }
    Ok((caller, jar))
}

/// A caller who already has an identity (bearer token or session cookie) — else 404, as for
/// an object that is not theirs. A write authenticated by the cookie must come from an allowed
/// origin (403 `forbidden_origin`).
impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
{
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ProxyError> {
        let (caller, _) = caller_of(parts, &AppState::from_ref(state), false).await?;
        caller.ok_or(ProxyError::NotFound("session"))
    }
}

/// The caller, or a new session for a browser that has none: return `jar` with the response
/// (it carries the new or renewed cookie). Cookie writes need an allowed origin, as for
/// [`Caller`].
#[derive(Debug)]
pub struct Session {
    /// Who is calling.
    pub caller: Caller,
    /// The cookie jar to send back.
    pub jar: SignedCookieJar,
}

impl<S: Send + Sync> FromRequestParts<S> for Session
where
    AppState: FromRef<S>,
{
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ProxyError> {
        let (caller, jar) = caller_of(parts, &AppState::from_ref(state), true).await?;
        let caller = caller.expect("identify creates a session");
        Ok(Session { caller, jar })
    }
}

/// Cookie-authenticated writes must come from an allowed origin: one of the configured
/// origins, or else the request's own: the `Origin`'s scheme, host and port are the request's
/// (its `Host`, and its scheme as below). A request with more than one `Host` never gets here
/// ([`crate::server::refuse_ambiguous_host`]).
///
/// The request's scheme: what a trusted load balancer says in `X-Forwarded-Proto`; else
/// `http` on [`crate::server::serve`]'s plain listener; else the request URI's own. A host
/// that mounts the router behind its own TLS listener without a balancer knows none of these:
/// then `http` and `https` are both taken, with the port each implies (configure
/// `allowed_origins` to pin the scheme).
pub(crate) fn check_origin(state: &AppState, parts: &Parts) -> Result<(), ProxyError> {
    let headers = &parts.headers;
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or(ProxyError::ForbiddenOrigin)?;
    let allowed = &state.settings().allowed_origins;
    if !allowed.is_empty() {
        return if allowed.iter().any(|a| a == origin) {
            Ok(())
        } else {
            Err(ProxyError::ForbiddenOrigin)
        };
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(ProxyError::ForbiddenOrigin)?;
    let origin = url::Url::parse(origin).map_err(|_| ProxyError::ForbiddenOrigin)?;
    if !matches!(origin.scheme(), "http" | "https") || origin.path() != "/" {
        return Err(ProxyError::ForbiddenOrigin);
    }
    if let Some(scheme) = request_scheme(state, parts) {
        if !origin.scheme().eq_ignore_ascii_case(&scheme) {
            return Err(ProxyError::ForbiddenOrigin);
        }
    }
    // The `Host` read as the authority of a URL of the origin's scheme: its default port is
    // that scheme's, as the origin's is.
    let own = url::Url::parse(&format!("{}://{host}/", origin.scheme()))
        .map_err(|_| ProxyError::ForbiddenOrigin)?;
    if own.host_str().is_some()
        && own.host_str() == origin.host_str()
        && own.port_or_known_default() == origin.port_or_known_default()
        && own.username().is_empty()
    {
        Ok(())
    } else {
        Err(ProxyError::ForbiddenOrigin)
    }
}

/// The scheme the browser used for this request, when it can be known (see [`check_origin`]).
fn request_scheme(state: &AppState, parts: &Parts) -> Option<String> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    if peer.is_some_and(|peer| crate::limits::trusts(&state.settings().trusted_proxies, peer)) {
        let forwarded = crate::limits::last_forwarded(&parts.headers, "x-forwarded-proto")
            .map(str::to_ascii_lowercase);
        if let Some(scheme) = forwarded.filter(|s| s == "http" || s == "https") {
            return Some(scheme);
        }
    }
    if parts.extensions.get::<crate::server::PlainHttp>().is_some() {
        return Some("http".to_owned());
    }
    parts.uri.scheme_str().map(str::to_ascii_lowercase)
}

/// How long (at least; at most five minutes more) a stream token opens the event stream. The
/// stream it opened stays open; a browser reconnecting later gets a fresh URL with the flow's
/// next answer.
pub const STREAM_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(600);
/// The audience of stream tokens: nothing else accepts them.
const STREAM_AUDIENCE: &str = "dots-flow:events";

#[derive(Serialize, Deserialize)]
struct StreamClaims {
    sub: String,
    aud: String,
    exp: u64,
}

/// The key stream tokens are signed with: derived from the session secret (shared by every
/// instance), apart from the cookies' own key.
fn stream_key(state: &AppState) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"dots-flow stream token v1\0");
    hasher.update(state.settings().session_key.signing());
    hasher.finalize().into()
}

/// A short-lived token that opens `identity`'s event stream (`GET /api/events?stream_token=`)
/// and nothing else: for callers that authenticate with a bearer token, which `EventSource`
/// cannot send.
pub fn stream_token(state: &AppState, identity: &str) -> String {
    // The expiry is rounded up to the next five minutes: an identity's answers within those
    // minutes carry the same token, so a page's components share one stream (one connection).
    const ROUND: u64 = 300;
    let at_least = (crate::db::now_ms() / 1000) as u64 + STREAM_TOKEN_TTL.as_secs();
    let claims = StreamClaims {
        sub: identity.to_owned(),
        aud: STREAM_AUDIENCE.to_owned(),
        exp: at_least.div_ceil(ROUND) * ROUND,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&stream_key(state)),
    )
    .expect("HS256 signs any claims")
}

/// The identity a stream token opens, if it is genuine, unexpired and meant for the stream.
pub(crate) fn verify_stream_token(state: &AppState, token: &str) -> Result<String, ProxyError> {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 5;
    validation.set_audience(&[STREAM_AUDIENCE]);
    validation.required_spec_claims.insert("aud".to_owned());
    let data = jsonwebtoken::decode::<StreamClaims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&stream_key(state)),
        &validation,
    )
    .map_err(|_| ProxyError::Unauthorized)?;
    Ok(data.claims.sub)
}

/// The caller of `GET /api/events`: a stream token in the query (bearer-token callers), else
/// the session cookie (renewed as for [`Session`]); a browser without a session is refused
/// (404 `session`): it has no flow to follow, and no stream is held for it.
pub(crate) struct StreamCaller {
    pub identity: String,
    pub jar: Option<SignedCookieJar>,
    /// Authenticated by the session cookie (not a stream token or a bearer token).
    pub via_cookie: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for StreamCaller
where
    AppState: FromRef<S>,
{
    type Rejection = ProxyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ProxyError> {
        let state = AppState::from_ref(state);
        let token = parts.uri.query().and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "stream_token")
                .map(|(_, value)| value.into_owned())
        });
        if let Some(token) = token {
            return Ok(StreamCaller {
                identity: verify_stream_token(&state, &token)?,
                jar: None,
                via_cookie: false,
            });
        }
        let (caller, jar) = caller_of(parts, &state, false).await?;
        let caller = caller.ok_or(ProxyError::NotFound("session"))?;
        Ok(StreamCaller {
            identity: caller.identity,
            jar: Some(jar),
            via_cookie: caller.via_cookie,
        })
    }
}
