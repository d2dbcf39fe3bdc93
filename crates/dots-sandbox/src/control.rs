//! The control plane under `/_sandbox/` (not part of Dots): for tests and the demo.
//!
//! | route | effect |
//! |---|---|
//! | `POST /_sandbox/reset` | forget all data, faults, webhook attempts; real time again |
//! | `GET /_sandbox/clock`, `POST /_sandbox/clock/advance {seconds}` | read / move the clock |
//! | `POST /_sandbox/flows/{id}/onboard {first_name, last_name, email, country_code, phone_number}` | sign the flow's user in as onboarding would |
//! | `POST /_sandbox/flows/{id}/complete {step}` | complete a step as the page would |
//! | `GET/PUT /_sandbox/webhooks {endpoints, secret, retry_delays_ms}` | webhook settings |
//! | `GET /_sandbox/webhooks/attempts` | every delivery attempt |
//! | `POST /_sandbox/webhooks/hold` | keep events back instead of sending them |
//! | `GET /_sandbox/webhooks/held` | whether holding, and the held event types |
//! | `POST /_sandbox/webhooks/release {order?}` | send the held events (`as_happened` or `reversed`), stop holding |
//! | `DELETE /_sandbox/webhooks/held` | forget the held events (lost), stop holding |
//! | `GET /_sandbox/transfers?app_id=`, `GET /_sandbox/users?app_id=` | what Dots has made (an app's transfers, newest first; its users) |
//! | `GET /_sandbox/openapi.yaml` | this control plane as OpenAPI 3.1 |
//! | `GET/POST/DELETE /_sandbox/faults` | list / add / clear fault rules |
//! | `POST /_sandbox/wallet {app_id?, amount}` | add cents to an app's wallet |
//! | `GET /_sandbox/requests` | the API requests received (method, path, `X-Request-Id`), oldest first, the last 1000 |
//! | `POST /_sandbox/import {app_id?, flows, users, transfers}` | restore objects as Dots gave them (ids kept), e.g. what a sandbox answered before a restart |
//! | `GET/PUT /_sandbox/behaviour {dialect, heights, sign_in_step, webhook_headers}` | how it speaks (see [`crate::dialect`]); a PUT changes only the fields it names |

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dots_api::webhook::WebhookSecret;
use dots_api::{parse_json_body, ApiError, CreateUserRequest, StepName};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

use crate::error::SandboxError;
use crate::faults::FaultRule;
use crate::webhooks::WebhookSettings;
use crate::SandboxState;

/// The control plane changes the sandbox for everyone, so a web page the developer happens to
/// visit must not drive it: a state-changing request with a body must be `application/json`
/// (which a page on another origin cannot send without a preflight), and one whose `Origin`
/// is not the sandbox's own is refused. Requests without an `Origin` (tests, curl) pass.
async fn same_origin_json(request: Request, next: Next) -> Response {
    let method = request.method();
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .map(|host| format!("http://{host}"));
        if origin.to_str().ok() != own.as_deref() {
            return SandboxError::with_status(
                StatusCode::FORBIDDEN,
                ApiError::new(
                    "The control plane only takes requests from its own origin",
                    None,
                ),
            )
            .into_response();
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let has_body = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|len| len != "0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    let json = content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if (has_body || content_type.is_some()) && !json {
        return SandboxError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::new(
                "content-type must be application/json",
                Some("invalid-input"),
            ),
        )
        .into_response();
    }
    next.run(request).await
}

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
        .route("/reset", post(reset))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/flows/{flow_id}/onboard", post(onboard))
        .route("/flows/{flow_id}/complete", post(complete))
        .route("/webhooks", get(webhooks).put(configure_webhooks))
        .route("/webhooks/attempts", get(attempts))
        .route("/webhooks/hold", post(hold_webhooks))
        .route(
            "/webhooks/held",
            get(held_webhooks).delete(drop_held_webhooks),
        )
        .route("/webhooks/release", post(release_webhooks))
        .route("/transfers", get(transfers))
        .route("/users", get(users))
        .route("/openapi.yaml", get(openapi))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/wallet", post(refill))
        .route("/behaviour", get(behaviour).put(set_behaviour))
        .route("/import", post(import))
        .route("/requests", get(requests))
        .layer(middleware::from_fn(same_origin_json))
}

async fn reset(State(state): State<SandboxState>) -> Json<Value> {
    state.store().reset();
    state.faults().clear();
    state.webhooks().clear_attempts();
    state.webhooks().drop_held();
    state.clock().reset();
    state.set_behaviour(state.config().behaviour);
    Json(json!({"success": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Import {
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    flows: Vec<dots_api::Flow>,
    #[serde(default)]
    users: Vec<dots_api::User>,
    #[serde(default)]
    transfers: Vec<dots_api::Transfer>,
}

async fn import(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let Import {
        app_id,
        flows,
        users,
        transfers,
    } = parse_json_body(&body)?;
    let added = state.store().import(&app_id, flows, users, transfers);
    Ok(Json(json!({"added": added})))
}

async fn requests(State(state): State<SandboxState>) -> Json<Vec<crate::Received>> {
    Json(state.received())
}

async fn behaviour(State(state): State<SandboxState>) -> Json<crate::Behaviour> {
    Json(state.behaviour())
}

async fn set_behaviour(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<crate::Behaviour>, SandboxError> {
    // Only the fields named change: the body is laid over what is in force.
    let mut current = serde_json::to_value(state.behaviour()).unwrap_or_default();
    let changes: Value = parse_json_body(&body)?;
    let Value::Object(changes) = changes else {
        return Err(SandboxError::invalid("body", "must be an object"));
    };
    for (key, value) in changes {
        current[key] = value;
    }
    let behaviour: crate::Behaviour = parse_json_body(current.to_string().as_bytes())?;
    state.set_behaviour(behaviour);
    tracing::info!(?behaviour, "sandbox: behaviour changed");
    Ok(Json(behaviour))
}

async fn clock(State(state): State<SandboxState>) -> Json<Value> {
    Json(json!({"now": state.clock().now_rfc3339(), "unix": state.clock().now()}))
}

#[derive(Deserialize)]
struct Advance {
    seconds: i64,
}

async fn advance(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let Advance { seconds } = parse_json_body(&body)?;
    if seconds < 0 {
        return Err(SandboxError::invalid(
            "seconds",
            "the clock only moves forward",
        ));
    }
    state
        .clock()
        .advance(seconds)
        .map_err(|err| SandboxError::invalid("seconds", &err.to_string()))?;
    Ok(clock(State(state)).await)
}

async fn onboard(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let request: CreateUserRequest = parse_json_body(&body)?;
    let now = state.clock().now_ms();
    state.store().start_onboarding(&flow_id, request)?;
    let (flow, events) =
        state
            .store()
            .finish_onboarding(&flow_id, crate::store::VERIFICATION_CODE, now)?;
    state.emit(events);
    Ok(Json(json!(flow)))
}

#[derive(Deserialize)]
struct Complete {
    step: String,
}

async fn complete(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let Complete { step } = parse_json_body(&body)?;
    let (flow, events) = state
        .store()
        .complete_step(&flow_id, &StepName::parse(&step), state.clock().now_ms())
        .ok_or_else(|| SandboxError::not_found("flow step"))?;
    state.emit(events);
    Ok(Json(json!(flow)))
}

fn describe_webhooks(settings: &WebhookSettings) -> Value {
    json!({
        "endpoints": settings.endpoints,
        "retry_delays_ms": settings.retry_delays.iter().map(|d| d.as_millis() as u64).collect::<Vec<_>>(),
    })
}

async fn webhooks(State(state): State<SandboxState>) -> Json<Value> {
    Json(describe_webhooks(&state.webhooks().settings()))
}

#[derive(Deserialize)]
struct WebhookBody {
    endpoints: Vec<String>,
    secret: Option<String>,
    retry_delays_ms: Option<Vec<u64>>,
}

async fn configure_webhooks(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let request: WebhookBody = parse_json_body(&body)?;
    for (i, endpoint) in request.endpoints.iter().enumerate() {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(SandboxError::invalid(
                &format!("endpoints[{i}]"),
                "must be an http(s) URL",
            ));
        }
    }
    let mut settings = state.webhooks().settings();
    settings.endpoints = request.endpoints;
    if let Some(secret) = request.secret {
        settings.secret = WebhookSecret::parse(&secret)
            .map_err(|_| SandboxError::invalid("secret", "must be `whsec_` followed by base64"))?;
    }
    if let Some(delays) = request.retry_delays_ms {
        settings.retry_delays = delays.into_iter().map(Duration::from_millis).collect();
    }
    state.webhooks().configure(settings.clone());
    Ok(Json(describe_webhooks(&settings)))
}

async fn attempts(State(state): State<SandboxState>) -> Json<Value> {
    Json(json!({"data": state.webhooks().attempts()}))
}

async fn hold_webhooks(State(state): State<SandboxState>) -> Json<Value> {
    state.webhooks().hold();
    held_webhooks(State(state)).await
}

async fn held_webhooks(State(state): State<SandboxState>) -> Json<Value> {
    Json(json!({"holding": state.webhooks().holding(), "data": state.webhooks().held()}))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Release {
    #[serde(default)]
    order: crate::ReleaseOrder,
}

async fn release_webhooks(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let Release { order } = if body.is_empty() {
        Release::default()
    } else {
        parse_json_body(&body)?
    };
    let released = state.webhooks().release(order, state.clone());
    Ok(Json(json!({"released": released})))
}

async fn drop_held_webhooks(State(state): State<SandboxState>) -> Json<Value> {
    Json(json!({"dropped": state.webhooks().drop_held()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppQuery {
    #[serde(default)]
    app_id: String,
}

async fn transfers(
    State(state): State<SandboxState>,
    Query(AppQuery { app_id }): Query<AppQuery>,
) -> Json<Value> {
    Json(json!({"data": state.store().transfers(&app_id)}))
}

async fn users(
    State(state): State<SandboxState>,
    Query(AppQuery { app_id }): Query<AppQuery>,
) -> Json<Value> {
    let now = state.clock().now();
    Json(json!({"data": state.store().users(&app_id, None, now)}))
}

/// This control plane as OpenAPI (kept in the repository, checked against these routes by a
/// test).
pub(crate) const OPENAPI: &str = include_str!("../control-plane.yaml");

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        OPENAPI,
    )
        .into_response()
}

async fn list_faults(State(state): State<SandboxState>) -> Json<Value> {
    Json(json!({"data": state.faults().list()}))
}

async fn add_fault(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let rule: FaultRule = parse_json_body(&body)?;
    state.faults().add(rule);
    Ok(list_faults(State(state)).await)
}

async fn clear_faults(State(state): State<SandboxState>) -> Json<Value> {
    state.faults().clear();
    Json(json!({"data": []}))
}

#[derive(Deserialize)]
struct Refill {
    #[serde(default)]
    app_id: String,
    amount: i64,
}

async fn refill(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let Refill { app_id, amount } = parse_json_body(&body)?;
    if amount <= 0 {
        return Err(SandboxError::invalid(
            "amount",
            "must be a positive number of cents",
        ));
    }
    let wallet = state
        .store()
        .refill(&app_id, amount)
        .ok_or_else(|| SandboxError::invalid("amount", "the wallet cannot hold that much"))?;
    Ok(Json(json!({"app_id": app_id, "wallet": wallet})))
}
