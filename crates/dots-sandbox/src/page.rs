//! The hosted flow pages (`/flow/{id}`, a flow's `link`) and the calls they make.
//!
//! The page is a small real UI for every step kind. The flow id in the URL is the capability,
//! as with Dots' own links; a pre-authenticated link cannot be opened once it has expired.
//!
//! A page opened in time keeps working past the link's expiry until it idles out
//! ([`crate::store::PAGE_SESSION_IDLE_SECS`]): the page gets a session token when it is served
//! and sends it with every call. Dots documents only the link's lifetime, so this is the
//! sandbox's assumption (the README says so); the component copes with either behaviour.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dots_api::{
    parse_json_body, AddPayoutMethodRequest, ApiError, ComplianceRequest, CreateUserRequest,
    StepName, StepStatus,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::SandboxError;
use crate::store::FlowRecord;
use crate::SandboxState;

const PAGE: &str = include_str!("../assets/flow.html");
const SCRIPT: &str = include_str!("../assets/flow.js");
const STYLES: &str = include_str!("../assets/flow.css");
/// The stylesheet as served: the theme defaults, then the page's rules.
static STYLESHEET: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::styles::defaults_css() + STYLES);

pub(crate) fn routes() -> Router<SandboxState> {
    Router::new()
        .route("/flow/{flow_id}", get(flow_page))
        .route("/flow/{flow_id}/session", get(session))
        .route("/flow/{flow_id}/onboarding/start", post(onboarding_start))
        .route("/flow/{flow_id}/onboarding/verify", post(onboarding_verify))
        .route("/flow/{flow_id}/payout-methods", post(add_payout_method))
        .route("/flow/{flow_id}/steps/{step}/complete", post(complete_step))
        .route("/flow-assets/{name}", get(asset))
}

/// A page-side failure: Dots' error shape, with 401 for "sign in first" and 410 for expiry.
fn page_error(status: StatusCode, message: &str) -> SandboxError {
    SandboxError::with_status(status, ApiError::new(message, None))
}

/// The header a served page sends its session token in (the test kit's person does too).
pub(crate) const PAGE_SESSION_HEADER: &str = "x-sandbox-page-session";

/// The flow behind a page call, refusing expired links (unless the page was opened while the
/// link worked and has not idled out: its session token in [`PAGE_SESSION_HEADER`]) and
/// (unless `allow_anonymous`) callers who have not signed in.
fn usable_flow(
    state: &SandboxState,
    flow_id: &str,
    headers: &HeaderMap,
    allow_anonymous: bool,
) -> Result<FlowRecord, SandboxError> {
    let record = state
        .store()
        .flow_record(flow_id)
        .ok_or_else(|| SandboxError::not_found("flow"))?;
    let now = state.clock().now();
    let open = !record.expired(now)
        || headers
            .get(PAGE_SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|token| state.store().touch_page(flow_id, token, now));
    if !open {
        return Err(page_error(StatusCode::GONE, "This link has expired"));
    }
    if !allow_anonymous && !record.signed_in {
        return Err(page_error(StatusCode::UNAUTHORIZED, "Sign in first"));
    }
    Ok(record)
}

/// What the page script needs to render; `open` says whether the page may act (see
/// [`usable_flow`]).
fn session_json(state: &SandboxState, record: &FlowRecord, open: bool) -> Value {
    let now = state.clock().now();
    let expired = !open;
    // An expired pre-authenticated link shows nothing of its user (whoever holds the old
    // link must not read their name, wallet or payout methods).
    let user = record
        .flow
        .user_id
        .as_ref()
        .filter(|_| record.signed_in && !expired)
        .and_then(|id| state.store().user_record(&record.app, id.as_str(), now));
    let steps: Vec<Value> = record
        .requested
        .iter()
        .map(|step| {
            let mut object = serde_json::to_value(&step.options).unwrap_or_else(|_| json!({}));
            object["name"] = json!(step.name);
            object
        })
        .collect();
    json!({
        "id": record.flow.id,
        "steps": steps,
        "completed_steps": record.flow.completed_steps,
        "signed_in": record.signed_in,
        "expired": expired,
        "hide_dashboard": record.hide_dashboard,
        // How the page speaks (see `crate::dialect`).
        "heights": state.behaviour().heights,
        "sign_in_posts": state.behaviour().sign_in_step.posted(),
        "user": user.map(|u| json!({
            "first_name": u.user.first_name,
            "last_name": u.user.last_name,
            "wallet": u.user.wallet,
            "default_payout_method": u.user.default_payout_method,
            "payout_methods": u.payout_methods,
            "tax_id_verification": u.user.compliance.clone().unwrap_or_default().tax_id_verification,
            "id_verified": u.user.compliance.clone().unwrap_or_default().id_verified,
        })),
    })
}

/// JSON safe to place inside `<script type="application/json">`: no `<` can close the tag.
fn json_for_script(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn flow_page(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
) -> Result<Response, SandboxError> {
    let record = state
        .store()
        .flow_record(&flow_id)
        .ok_or_else(|| SandboxError::not_found("flow"))?;
    let token = state.store().open_page(&flow_id, state.clock().now());
    let mut session = session_json(&state, &record, token.is_some());
    session["page_session"] = json!(token);
    let html = PAGE.replace("__FLOW_STATE__", &json_for_script(&session));
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors *"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    Ok(response)
}

async fn session(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SandboxError> {
    let record = usable_flow(&state, &flow_id, &headers, true)?;
    Ok(Json(session_json(&state, &record, true)))
}

async fn onboarding_start(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    usable_flow(&state, &flow_id, &headers, true)?;
    let request: CreateUserRequest = parse_json_body(&body)?;
    state.store().start_onboarding(&flow_id, request)?;
    Ok(Json(json!({"sent": true})))
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

async fn onboarding_verify(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    usable_flow(&state, &flow_id, &headers, true)?;
    let Code { code } = parse_json_body(&body)?;
    let (_, events) = state
        .store()
        .finish_onboarding(&flow_id, &code, state.clock().now_ms())?;
    state.emit(events);
    let record = usable_flow(&state, &flow_id, &headers, false)?;
    Ok(Json(session_json(&state, &record, true)))
}

async fn add_payout_method(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let record = usable_flow(&state, &flow_id, &headers, false)?;
    let user = record
        .flow
        .user_id
        .clone()
        .ok_or_else(|| page_error(StatusCode::UNAUTHORIZED, "Sign in first"))?;
    let request: AddPayoutMethodRequest = parse_json_body(&body)?;
    let (_, events) = state
        .store()
        .add_payout_method(&record.app, user.as_str(), &request)?;
    state.store().mark_payouts_changed(&flow_id);
    state.emit(events);
    Ok(Json(session_json(
        &state,
        &usable_flow(&state, &flow_id, &headers, false)?,
        true,
    )))
}

#[derive(Deserialize, Default)]
struct StepBody {
    #[serde(default)]
    consent: Option<bool>,
    #[serde(default)]
    default_payout_method: Option<String>,
    #[serde(default)]
    document: Option<String>,
    #[serde(default)]
    signature: Option<String>,
}

async fn complete_step(
    State(state): State<SandboxState>,
    Path((flow_id, step)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, SandboxError> {
    let record = usable_flow(&state, &flow_id, &headers, false)?;
    let step = StepName::parse(&step);
    if !record.flow.steps.contains(&step) {
        return Err(SandboxError::not_found("flow step"));
    }
    let app = record.app.clone();
    let user = record
        .flow
        .user_id
        .clone()
        .ok_or_else(|| page_error(StatusCode::UNAUTHORIZED, "Sign in first"))?;
    let user = user.as_str();
    let now_ms = state.clock().now_ms();
    let store = state.store();
    let simple = || -> Result<StepBody, SandboxError> {
        if body.is_empty() {
            Ok(StepBody::default())
        } else {
            Ok(parse_json_body(&body)?)
        }
    };
    let mut status = StepStatus::Completed;
    let mut extra = json!({});
    match step {
        StepName::Compliance => {
            let request: ComplianceRequest = parse_json_body(&body)?;
            store.submit_compliance(&app, user, &request, state.clock().now())?;
        }
        StepName::IdVerification => {
            let body = simple()?;
            if body.document.as_deref().is_none_or(str::is_empty) {
                return Err(SandboxError::invalid("document", "add a photo of your ID"));
            }
            state.emit(store.verify_identity(&app, user)?);
        }
        StepName::BackgroundCheck => {
            if simple()?.consent != Some(true) {
                return Err(SandboxError::invalid(
                    "consent",
                    "consent is required for a background check",
                ));
            }
            state.emit(store.run_background_check(&app, user, now_ms)?);
        }
        StepName::ManagePayouts => {
            if let Some(platform) = simple()?.default_payout_method {
                let events = store.set_default_payout_method(&app, user, &platform)?;
                if !events.is_empty() {
                    store.mark_payouts_changed(&flow_id);
                }
                state.emit(events);
            }
            let options = record
                .options_of(&step)
                .map(|s| s.options.clone())
                .unwrap_or_default();
            let current = store
                .user_record(&app, user, state.clock().now())
                .ok_or_else(|| SandboxError::not_found("user"))?;
            if options.require_default_payout_method == Some(true)
                && current.user.default_payout_method.is_none()
            {
                return Err(SandboxError::invalid(
                    "default_payout_method",
                    "choose a default payout method",
                ));
            }
            if !store.take_payouts_changed(&flow_id) {
                status = StepStatus::CompletedSaved;
            }
        }
        StepName::ManagePayments => {
            let request: AddPayoutMethodRequest = parse_json_body(&body)?;
            store.connect_payment_account(&app, user, &request)?;
        }
        StepName::Payout => {
            let (transfer, events) = store.payout(&app, user, now_ms)?;
            state.emit(events);
            if transfer.status.as_str() == "failed" {
                return Err(SandboxError::bad_request(
                    "The payout failed; try another payout method",
                    "invalid-transaction",
                ));
            }
            extra = json!({"transfer": transfer});
        }
        StepName::PdfFormFill => {
            let signature = simple()?.signature.unwrap_or_default();
            if signature.trim().is_empty() {
                return Err(SandboxError::invalid("signature", "sign the form"));
            }
        }
        _ => {}
    }
    let (_, events) = store
        .complete_step(&flow_id, &step, now_ms)
        .ok_or_else(|| SandboxError::not_found("flow step"))?;
    state.emit(events);
    tracing::info!(%flow_id, %step, status = status.as_str(), "sandbox: step completed on the page");
    let record = usable_flow(&state, &flow_id, &headers, false)?;
    Ok(Json(json!({
        "status": status,
        "session": session_json(&state, &record, true),
        "result": extra,
    })))
}

/// Static assets of the page.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "flow.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "flow.css" => (STYLESHEET.as_str(), "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
