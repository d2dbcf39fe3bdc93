//! `/v2/users`: create (found-or-created by phone number), retrieve, list, verification,
//! compliance, payout methods.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use dots_api::{
    parse_json_body, AddPayoutMethodRequest, ComplianceRequest, CreateUserRequest, PayoutMethod,
    User, UserList,
};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AppId;
use crate::error::SandboxError;
use crate::paginate::{page, PageParams};
use crate::SandboxState;

pub(crate) async fn create(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    body: Bytes,
) -> Result<Response, SandboxError> {
    let request: CreateUserRequest = parse_json_body(&body)?;
    request.validate()?;
    // Found or created by phone number, 201 either way: the only status v2.yaml lists.
    let (user, _created) = state.store().create_user(&app, request);
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

pub(crate) async fn retrieve(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(user_id): Path<String>,
) -> Result<Json<User>, SandboxError> {
    state
        .store()
        .user(&app, &user_id, state.clock().now())
        .map(Json)
        .ok_or_else(|| SandboxError::not_found("user"))
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    status: Option<String>,
}

pub(crate) async fn list(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Query(params): Query<ListParams>,
) -> Result<Json<UserList>, SandboxError> {
    if let Some(status) = params.status.as_deref() {
        if !["verified", "unverified", "in_review", "disabled"].contains(&status) {
            return Err(SandboxError::invalid(
                "status",
                "must be one of verified, unverified, in_review, disabled",
            ));
        }
    }
    let users = state
        .store()
        .users(&app, params.status.as_deref(), state.clock().now());
    let (data, has_more) = page(
        &users,
        |u| u.id.as_str(),
        params.page.limit()?,
        params.page.starting_after.as_deref(),
        params.page.ending_before.as_deref(),
    );
    Ok(Json(UserList { data, has_more }))
}

pub(crate) async fn send_verification_token(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(user_id): Path<String>,
) -> Result<Response, SandboxError> {
    if !state.store().has_user(&app, &user_id) {
        return Err(SandboxError::not_found("user"));
    }
    tracing::info!(%user_id, "sandbox: verification token \"sent\" (the sandbox code is 123456)");
    Ok((StatusCode::ACCEPTED, Json(json!({"success": true}))).into_response())
}

#[derive(Deserialize)]
struct VerifyBody {
    token: String,
}

pub(crate) async fn verify(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, SandboxError> {
    let request: VerifyBody = parse_json_body(&body)?;
    if request.token.chars().count() < 6 {
        return Err(SandboxError::invalid(
            "token",
            "must be at least 6 characters",
        ));
    }
    state.store().verify_user(&app, &user_id, &request.token)?;
    Ok(Json(json!({"success": true})))
}

pub(crate) async fn compliance(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, SandboxError> {
    let request: ComplianceRequest = parse_json_body(&body)?;
    state
        .store()
        .submit_compliance(&app, &user_id, &request, state.clock().now())?;
    Ok(Json(json!({"success": true})))
}

pub(crate) async fn payout_methods(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(user_id): Path<String>,
) -> Result<Json<Vec<PayoutMethod>>, SandboxError> {
    state
        .store()
        .payout_methods(&app, &user_id)
        .map(Json)
        .ok_or_else(|| SandboxError::not_found("user"))
}

pub(crate) async fn add_payout_method(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Json<PayoutMethod>, SandboxError> {
    let request: AddPayoutMethodRequest = parse_json_body(&body)?;
    let (method, events) = state.store().add_payout_method(&app, &user_id, &request)?;
    state.emit(events);
    Ok(Json(method))
}
