//! Demo-only routes (`/api/demo/...`, under `/api` so a dev server forwards the page's API
//! and demo calls to the proxy with one rule), mounted by the binary only in local mode with
//! `DOTS_PROXY_DEMO=1`. They stand in for the host's own backend in the demo page: the page
//! never holds the admin token; these routes act for the caller's bound user alone, and reach
//! into the in-process sandbox for its app wallet, clock and fault injection.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use dots_api::ValidationError;
use dots_sandbox::{FaultKind, FaultRule, SandboxState};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ProxyError;
use crate::identity::Caller;
use crate::json_body::AppJson;
use crate::AppState;

/// The demo routes' state: the proxy's plus the in-process sandbox's.
#[derive(Clone)]
pub struct DemoState {
    /// The proxy.
    pub app: AppState,
    /// The local sandbox.
    pub sandbox: SandboxState,
}

/// `/api/demo/state`, `/api/demo/pay`, `/api/demo/faults`, `/api/demo/style-defaults`.
pub fn demo_router(state: DemoState) -> Router {
    Router::new()
        .route("/api/demo/state", get(demo_state))
        .route("/api/demo/pay", post(demo_pay))
        .route("/api/demo/faults", post(demo_faults))
        .route("/api/demo/style-defaults", get(style_defaults))
        .with_state(state)
}

/// The sandbox's Flow Styles defaults per theme (`{"light": {"backgroundColor": ...}, ...}`),
/// so the theme editor shows the values a flow really uses for what it leaves unset.
async fn style_defaults() -> Json<Value> {
    let theme = |theme| {
        dots_sandbox::default_styles(theme)
            .iter()
            .map(|(variable, value)| (variable.as_str().to_owned(), json!(value)))
            .collect::<serde_json::Map<_, _>>()
    };
    Json(json!({
        "light": theme(dots_api::Theme::Light),
        "dark": theme(dots_api::Theme::Dark),
    }))
}

impl axum::extract::FromRef<DemoState> for AppState {
    fn from_ref(state: &DemoState) -> Self {
        state.app.clone()
    }
}

async fn wallets(state: &DemoState, user_id: Option<&str>) -> Result<Value, ProxyError> {
    let user = match user_id {
        Some(id) => Some(state.app.dots().retrieve_user(id).await?),
        None => None,
    };
    Ok(json!({
        "user_id": user_id,
        "user_wallet": user.as_ref().and_then(|u| u.wallet.as_ref()).map(|w| w.amount),
        "app_wallet": state.sandbox.store().app_wallet(""),
    }))
}

async fn demo_state(
    State(state): State<DemoState>,
    caller: Result<Caller, ProxyError>,
) -> Result<Json<Value>, ProxyError> {
    // A visitor without a session yet simply has no user.
    let bound = match caller {
        Ok(caller) => state.app.db().bound_user(&caller.identity).await?,
        Err(ProxyError::NotFound(_)) => None,
        Err(err) => return Err(err),
    };
    Ok(Json(wallets(&state, bound.as_deref()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    amount_cents: i64,
    /// The page's id for this intended payment (a double click or a retry sends the same one,
    /// so it pays once).
    reference: String,
}

async fn demo_pay(
    State(state): State<DemoState>,
    caller: Caller,
    AppJson(PayBody {
        amount_cents,
        reference,
    }): AppJson<PayBody>,
) -> Result<Json<Value>, ProxyError> {
    if reference.is_empty()
        || reference.len() > 64
        || !reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(
            ValidationError::new("reference", "must be 1 to 64 letters, digits or dashes").into(),
        );
    }
    if !(1..=10_000).contains(&amount_cents) {
        return Err(ValidationError::new(
            "amount_cents",
            "must be between 1 and 10000 cents in the demo",
        )
        .into());
    }
    let user = state
        .app
        .db()
        .bound_user(&caller.identity)
        .await?
        .ok_or_else(|| ProxyError::Conflict("finish onboarding first: no user yet".into()))?;
    // Scoped to the caller: another visitor's reference can never match this one's.
    let reference = format!("demo:{}:{reference}", caller.identity);
    let transfer = crate::payments::pay(&state.app, &user, amount_cents, &reference, None).await?;
    let mut answer = wallets(&state, Some(&user)).await?;
    answer["transfer"] = json!(transfer);
    Ok(Json(answer))
}

#[derive(Deserialize)]
struct FaultBody {
    fault: String,
}

async fn demo_faults(
    State(state): State<DemoState>,
    _caller: Caller,
    AppJson(FaultBody { fault }): AppJson<FaultBody>,
) -> Result<Json<Value>, ProxyError> {
    let faults = state.sandbox.faults();
    let rule = |kind: FaultKind, count: Option<u32>| FaultRule {
        operation: None,
        path: "/v2/flows".into(),
        method: Some("POST".into()),
        kind,
        count,
        ratio: None,
    };
    match fault.as_str() {
        "slow" => faults.add(rule(FaultKind::Latency { latency_ms: 3000 }, Some(1))),
        "errors" => faults.add(rule(
            FaultKind::Status {
                status: 502,
                retry_after: None,
            },
            Some(1),
        )),
        "expire" => state
            .sandbox
            .clock()
            .advance(16 * 60)
            .map_err(|err| ValidationError::new("fault", err.to_string()))?,
        // Flow pages post `{height}` only when they first load, as Dots' guide words it.
        "first-load-heights" => {
            let mut behaviour = state.sandbox.behaviour();
            behaviour.heights = dots_sandbox::Heights::FirstLoad;
            state.sandbox.set_behaviour(behaviour);
        }
        "clear" => {
            faults.clear();
            let mut behaviour = state.sandbox.behaviour();
            behaviour.heights = dots_sandbox::Heights::EveryResize;
            state.sandbox.set_behaviour(behaviour);
        }
        _ => {
            return Err(ValidationError::new(
                "fault",
                "must be slow, errors, expire, first-load-heights or clear",
            )
            .into())
        }
    }
    Ok(Json(json!({
        "fault": fault,
        "active": faults.list(),
        "heights": state.sandbox.behaviour().heights,
    })))
}
