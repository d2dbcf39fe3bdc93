//! `POST /api/flows` and `GET /api/flows/{id}`.

use axum::extract::{ConnectInfo, OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::Extension;
use axum::Json;
use axum_extra::extract::cookie::{Cookie, SignedCookieJar};
use dots_api::{BrowserFlow, CreateFlowRequest, StartFlowRequest, StepName, UserId};
use std::net::SocketAddr;

use crate::db::{now_ms, FlowRow};
use crate::error::ProxyError;
use crate::identity::{Caller, Session};
use crate::json_body::AppJson;
use crate::{AppState, PREAUTH_LINK_TTL_MS};

/// `POST /api/flows`: [`start_flow`] for the session or bearer identity of the request.
pub(crate) async fn create(
    State(state): State<AppState>,
    Session { caller, jar }: Session,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    OriginalUri(original): OriginalUri,
    uri: axum::http::Uri,
    AppJson(request): AppJson<StartFlowRequest>,
) -> Result<(SignedCookieJar, Json<BrowserFlow>), ProxyError> {
    // Each flow spends the app's Dots quota: limited per identity and per client address.
    let client = crate::limits::client_address(
        connect.map(|Extension(ConnectInfo(addr))| addr),
        &headers,
        &state.settings().trusted_proxies,
    );
    let base = api_base(&original, &uri);
    let (flow, claim) =
        create_or_reuse(&state, &caller, client, request, false, &base, true).await?;
    let jar = match claim {
        Some(claim) => jar.add(claim),
        None => jar,
    };
    Ok((jar, Json(flow)))
}

/// Where the browser API is mounted (`/api`, or under the prefix a host nested the router
/// in): the request's full path without the part this router matched.
fn api_base(original: &axum::http::Uri, uri: &axum::http::Uri) -> String {
    original
        .path()
        .strip_suffix(uri.path())
        .unwrap_or(DEFAULT_API_BASE)
        .to_owned()
}

/// Where [`crate::router`] puts the browser API.
const DEFAULT_API_BASE: &str = "/api";

/// The URL of `caller`'s event stream for a flow answer ([`BrowserFlow::events`]): the
/// browser API's `/events` under `api_base`, starting after event `after` (the latest one
/// when the answer was made), with a stream token for a bearer-token caller.
fn events_url(state: &AppState, caller: &Caller, api_base: &str, after: i64) -> String {
    let mut url = format!("{api_base}/events?last_event_id={after}");
    if !caller.via_cookie {
        url.push_str("&stream_token=");
        url.push_str(&crate::identity::stream_token(state, &caller.identity));
    }
    url
}

/// Creates a flow at Dots for `caller`, exactly as the browser API does, for a server that
/// renders the page itself (a Leptos server function, say, with the caller from the
/// request's [`Session`] and its client address for the rate limits): the request is
/// validated completely before anything is sent to Dots; the browser never names a `user_id`:
/// the Dots user bound to this identity (if any) is attached, which makes the link
/// pre-authenticated for 15 minutes, except for money steps of cookie sessions (see
/// [`crate::ProxySettings`]) or when the request asks for `require_auth`.
pub async fn start_flow(
    state: &AppState,
    caller: &Caller,
    client: Option<std::net::IpAddr>,
    request: StartFlowRequest,
) -> Result<BrowserFlow, ProxyError> {
    let (flow, _) = create_or_reuse(
        state,
        caller,
        client,
        request,
        false,
        DEFAULT_API_BASE,
        false,
    )
    .await?;
    Ok(flow)
}

/// [`start_flow`], but an earlier flow of the same caller made from the same request (steps
/// with their options, metadata, the same user and sign-in) is answered again while it is not
/// complete and its link has at least five minutes left: a page rendered on every view does
/// not create a flow (nor spend the rate limit) per view. Dots is asked for the flow's current
/// state; a flow Dots has forgotten or finished is not reused.
pub async fn start_or_reuse_flow(
    state: &AppState,
    caller: &Caller,
    client: Option<std::net::IpAddr>,
    request: StartFlowRequest,
) -> Result<BrowserFlow, ProxyError> {
    let (flow, _) = create_or_reuse(
        state,
        caller,
        client,
        request,
        true,
        DEFAULT_API_BASE,
        false,
    )
    .await?;
    Ok(flow)
}

/// A flow for the page being rendered, and the cookies to send with the page.
#[derive(Debug)]
pub struct PageFlow {
    /// The flow, as the browser API would answer it (give it to `<DotsFlow flow=…/>`).
    pub flow: BrowserFlow,
    /// `Set-Cookie` values for the response (a new or renewed session); empty when the
    /// request's session stands as it is.
    pub set_cookie: Vec<axum::http::HeaderValue>,
}

/// [`start_or_reuse_flow`] for the caller of a request a server is rendering a page for (a
/// Leptos server function or resource, with the request's `Parts`): the caller is the
/// request's bearer token or session cookie, or a new session (its cookie is in
/// [`PageFlow::set_cookie`]); the client address for the rate limits comes from the
/// connection (`ConnectInfo`) and the trusted proxies' `X-Forwarded-For`. A write (a server
/// function called from the browser) must come from an allowed origin, as for the API.
pub async fn start_or_reuse_flow_for(
    state: &AppState,
    parts: &axum::http::request::Parts,
    request: StartFlowRequest,
) -> Result<PageFlow, ProxyError> {
    use axum::response::IntoResponse;
    let (caller, jar) = crate::identity::caller_of(parts, state, true).await?;
    let caller = caller.expect("identify creates a session");
    let client = crate::limits::client_address(
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr),
        &parts.headers,
        &state.settings().trusted_proxies,
    );
    let (flow, claim) = create_or_reuse(
        state,
        &caller,
        client,
        request,
        true,
        DEFAULT_API_BASE,
        true,
    )
    .await?;
    let jar = match claim {
        Some(claim) => jar.add(claim),
        None => jar,
    };
    let mut set_cookie: Vec<axum::http::HeaderValue> = jar
        .into_response()
        .headers()
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    // The session's first (a jar's order is a hash set's).
    let session = format!(
        "{}=",
        crate::identity::session_cookie_name(state.settings())
    );
    set_cookie.sort_by_key(|c| !c.as_bytes().starts_with(session.as_bytes()));
    Ok(PageFlow { flow, set_cookie })
}

/// Reuse needs this much of a pre-authenticated link's life left.
const REUSE_MARGIN_MS: i64 = 5 * 60 * 1000;
/// Flows without expiry are reused for at most this long.
const REUSE_MAX_AGE_MS: i64 = 60 * 60 * 1000;

async fn create_or_reuse(
    state: &AppState,
    caller: &Caller,
    client: Option<std::net::IpAddr>,
    request: StartFlowRequest,
    reuse: bool,
    api_base: &str,
    claims: bool,
) -> Result<(BrowserFlow, Option<Cookie<'static>>), ProxyError> {
    // Read before Dots is asked (a reused flow's state comes from Dots): the stream starts no
    // later than the answer's state, and an event committed in between is replayed.
    let after = flow_seq(state, caller).await?;
    let (mut flow, claim) =
        create_or_reuse_flow(state, caller, client, request, reuse, claims).await?;
    flow.events = Some(events_url(state, caller, api_base, after));
    Ok((flow, claim))
}

async fn flow_seq(state: &AppState, caller: &Caller) -> Result<i64, ProxyError> {
    Ok(state.db().last_event_seq(&caller.identity).await?)
}

async fn create_or_reuse_flow(
    state: &AppState,
    caller: &Caller,
    client: Option<std::net::IpAddr>,
    request: StartFlowRequest,
    reuse: bool,
    claims: bool,
) -> Result<(BrowserFlow, Option<Cookie<'static>>), ProxyError> {
    request.validate()?;
    if let Some(allowed) = &state.settings().allowed_steps {
        if let Some(step) = request.steps.iter().find(|s| !allowed.contains(&s.name)) {
            return Err(ProxyError::StepNotAllowed(step.name.to_string()));
        }
    }
    let db = state.db();
    // One read for a known identity; a write only for a new one. (Checked in this order so a
    // refused request spends no other budget.)
    let known = db.identity(&caller.identity).await?;
    let bound = known.clone().flatten();
    // Money moves only after the user's own sign-in or the host's word: for a cookie session
    // (whoever holds the browser), steps that move money or change where it goes ask the user
    // to sign in even when the session knows its user.
    let moves_money = request.steps.iter().any(|s| {
        matches!(
            s.name,
            StepName::Payout | StepName::ManagePayouts | StepName::ManagePayments
        )
    });
    let policy_requires_auth = bound.is_some()
        && caller.via_cookie
        && moves_money
        && !state.settings().preauth_money_steps_for_cookies;
    // The browser may ask for more (its own sign-in), never for less than the policy.
    let require_auth = policy_requires_auth || request.require_auth == Some(true);
    let preauthenticated = bound.is_some() && !require_auth;
    let mut upstream = CreateFlowRequest::new(request.steps);
    upstream.metadata = request.metadata;
    upstream.user_id = bound.clone().map(UserId);
    upstream.hide_go_to_dashboard_on_complete = request.hide_go_to_dashboard_on_complete;
    if require_auth {
        upstream.require_auth = Some(true);
    }
    let request_key = serde_json::to_string(&upstream).unwrap_or_default();
    if reuse {
        if let Some(flow) = reusable(state, caller, &request_key).await? {
            return Ok((flow, None));
        }
    }
    if known.is_none() {
        state.limiter().new_identity(client)?;
    }
    state.limiter().flow(&caller.identity, client)?;
    if known.is_none() {
        db.touch_identity(&caller.identity).await?;
    }
    let created_at = now_ms();
    let flow = state.dots().create_flow(&upstream).await?;
    db.insert_flow(&FlowRow {
        id: flow.id.to_string(),
        identity: caller.identity.clone(),
        steps: flow.steps.clone(),
        completed_steps: flow.completed_steps.clone(),
        user_id: flow.user_id.as_ref().map(|u| u.to_string()),
    })
    .await?;
    state.remember_owner(flow.id.as_str(), &caller.identity);
    // The browser creating a flow for an unbound session holds its claim: should this flow
    // bind the session to a Dots user, only that browser keeps the session (see
    // [`crate::identity`]).
    let claim = if claims && caller.via_cookie && bound.is_none() {
        let (cookie, hash) = crate::identity::new_claim(state, flow.id.as_str());
        db.record_claim(flow.id.as_str(), &hash).await?;
        Some(cookie)
    } else {
        None
    };
    tracing::info!(flow_id = %flow.id, preauthenticated, "flow created");
    let expires = preauthenticated.then_some(created_at + PREAUTH_LINK_TTL_MS);
    db.record_flow_request(
        flow.id.as_str(),
        &caller.identity,
        &request_key,
        expires.map(|at| at - REUSE_MARGIN_MS),
    )
    .await?;
    Ok((with_expiry(BrowserFlow::from(flow), expires), claim))
}

/// `flow` with `expires_at` / `expires_in` for a link that expires at `expires` (ms).
fn with_expiry(mut flow: BrowserFlow, expires: Option<i64>) -> BrowserFlow {
    if let Some(expires) = expires {
        flow.expires_at = Some(dots_api::Timestamp::from_unix_ms(expires).to_rfc3339());
        flow.expires_in = Some(u64::try_from((expires - now_ms()) / 1000).unwrap_or(0));
    }
    flow
}

/// An earlier, still usable flow of `caller` made from `request_key`, as Dots has it now.
async fn reusable(
    state: &AppState,
    caller: &Caller,
    request_key: &str,
) -> Result<Option<BrowserFlow>, ProxyError> {
    let now = now_ms();
    let Some((row, usable_until)) = state
        .db()
        .reusable_flow(&caller.identity, request_key, now, REUSE_MAX_AGE_MS)
        .await?
    else {
        return Ok(None);
    };
    let flow = match state.dots().retrieve_flow(&row.id).await {
        Ok(flow) => flow,
        Err(crate::UpstreamError::NotFound(_)) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    if flow.is_complete() {
        return Ok(None);
    }
    tracing::info!(flow_id = %flow.id, "flow reused");
    Ok(Some(with_expiry(
        BrowserFlow::from(flow),
        usable_until.map(|until| until + REUSE_MARGIN_MS),
    )))
}

/// Retrieves a flow the caller created (404 for any other, whether or not it exists).
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    caller: Result<Caller, ProxyError>,
    Path(flow_id): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: axum::http::Uri,
) -> Result<Json<BrowserFlow>, ProxyError> {
    // No session, a missing flow and another caller's flow all read the same.
    let caller = caller.map_err(|err| match err {
        ProxyError::NotFound(_) => ProxyError::NotFound("flow"),
        other => other,
    })?;
    let owner = state
        .flow_owner(&flow_id)
        .await?
        .ok_or(ProxyError::NotFound("flow"))?;
    if owner != caller.identity {
        return Err(ProxyError::NotFound("flow"));
    }
    // Each read may be a call to Dots, whose rate limit is the whole app's.
    state.limiter().flow_read(&caller.identity)?;
    // The stream's starting point is read before Dots' answer: whatever Dots reports is at
    // least as new as the events before it (an event committed in between is replayed).
    let after = flow_seq(&state, &caller).await?;
    let mut flow = BrowserFlow::from(read_flow(&state, &flow_id, after).await?);
    // `…/flows/{id}` → the API's base is above `/flows`.
    let base = api_base(&original, &uri);
    flow.events = Some(events_url(&state, &caller, &base, after));
    Ok(Json(flow))
}

/// A flow as Dots answered it, when, and its identity's last event number then.
#[derive(Debug)]
pub(crate) struct FlowRead {
    flow: dots_api::Flow,
    at: std::time::Instant,
    seq: i64,
}

/// Flow `flow_id` as Dots has it, for a reader whose identity's last event is `seq`: Dots'
/// answer to an earlier read is reused while it is younger than
/// [`crate::limits::FLOW_READ_FRESH`] and no event of the identity came since (a webhook that
/// changes the flow stores one, on whichever instance received it, so the next read asks
/// Dots). Concurrent reads of one flow wait for one call to Dots.
async fn read_flow(
    state: &AppState,
    flow_id: &str,
    seq: i64,
) -> Result<dots_api::Flow, ProxyError> {
    let fresh =
        |read: &FlowRead| read.seq == seq && read.at.elapsed() < crate::limits::FLOW_READ_FRESH;
    let cache = state.flow_reads();
    loop {
        match cache.get_value_or_guard_async(flow_id).await {
            Ok(read) if fresh(&read) => return Ok(read.flow.clone()),
            Ok(_) => {
                cache.remove_if(flow_id, |read| !fresh(read));
            }
            Err(guard) => {
                // On an error the guard is dropped unfilled and the next waiter asks Dots.
                let flow = state.dots().retrieve_flow(flow_id).await?;
                let _ = guard.insert(std::sync::Arc::new(FlowRead {
                    flow: flow.clone(),
                    at: std::time::Instant::now(),
                    seq,
                }));
                return Ok(flow);
            }
        }
    }
}
