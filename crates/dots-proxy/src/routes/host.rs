//! The host-side API (`/host/...`): server-to-server calls for the app's backend, behind the
//! admin bearer token. Cookies are never looked at here, so a browser can never reach it.

use axum::extract::Query;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use dots_api::{
    ComplianceRequest, CreateTransferRequest, CreateUserRequest, Flow, Transfer, User, UserList,
    UserStatus, ValidationError,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use crate::error::ProxyError;
use crate::json_body::AppJson;
use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", post(create_user).get(list_users))
        .route("/users/{user_id}", get(retrieve_user))
        .route("/users/{user_id}/compliance", put(submit_compliance))
        .route(
            "/users/{user_id}/send-verification-token",
            post(send_verification_token),
        )
        .route("/users/{user_id}/verify", post(verify_user))
        .route("/users/{user_id}/pay", post(pay_user))
        .route("/transfers", post(create_transfer))
        .route("/transfers/{transfer_id}", get(retrieve_transfer))
        .route("/flows/{flow_id}", get(retrieve_flow))
}

/// Only `Authorization: Bearer <admin token>` passes; without a configured token the host API
/// does not exist (404).
pub(crate) async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.settings().admin_token.as_ref() else {
        return ProxyError::NotFound("route").into_response();
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(
        presented
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes()),
    ) {
        next.run(request).await
    } else {
        ProxyError::Unauthorized.into_response()
    }
}

async fn create_user(
    State(state): State<AppState>,
    AppJson(request): AppJson<CreateUserRequest>,
) -> Result<Json<User>, ProxyError> {
    request.validate()?;
    Ok(Json(state.dots().create_user(&request).await?))
}

async fn retrieve_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<User>, ProxyError> {
    Ok(Json(state.dots().retrieve_user(&user_id).await?))
}

/// `GET /host/users?status=&limit=&starting_after=&ending_before=`: Dots' list, checked here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListUsers {
    status: Option<String>,
    limit: Option<String>,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

async fn list_users(
    State(state): State<AppState>,
    query: Result<Query<ListUsers>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UserList>, ProxyError> {
    let Query(query) = query.map_err(|err| ValidationError::new("query", err.body_text()))?;
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => match UserStatus::parse(s) {
            UserStatus::Unknown(_) => {
                return Err(ValidationError::new(
                    "status",
                    "must be verified, unverified, in_review or disabled",
                )
                .into())
            }
            known => Some(known),
        },
    };
    let limit = match query.limit.as_deref() {
        None => None,
        Some(raw) => match raw.parse::<u8>() {
            Ok(n @ 1..=100) => Some(n),
            _ => {
                return Err(
                    ValidationError::new("limit", "must be a whole number from 1 to 100").into(),
                )
            }
        },
    };
    let users = state
        .dots()
        .list_users(
            status.as_ref(),
            limit,
            query.starting_after.as_deref(),
            query.ending_before.as_deref(),
        )
        .await?;
    Ok(Json(users))
}

/// `PUT /host/users/{id}/compliance`: the user's W-9 (TIN, date of birth, address) or W-8BEN,
/// validated before it goes to Dots; answers the user as Dots now has it (TIN status).
async fn submit_compliance(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    AppJson(request): AppJson<ComplianceRequest>,
) -> Result<Json<User>, ProxyError> {
    request.validate()?;
    state.dots().submit_compliance(&user_id, &request).await?;
    Ok(Json(state.dots().retrieve_user(&user_id).await?))
}

async fn send_verification_token(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ProxyError> {
    state.dots().send_verification_token(&user_id).await?;
    Ok(Json(json!({"sent": true})))
}

#[derive(Deserialize)]
struct VerifyBody {
    token: String,
}

async fn verify_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    AppJson(VerifyBody { token }): AppJson<VerifyBody>,
) -> Result<Json<Value>, ProxyError> {
    if token.trim().len() < 6 {
        return Err(ValidationError::new("token", "must be at least 6 characters").into());
    }
    state.dots().verify_user(&user_id, &token).await?;
    Ok(Json(json!({"verified": true})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    /// Cents to pay the user (positive).
    amount_cents: i64,
    /// The host's own id for this payment (e.g. an order id): the same reference is never
    /// paid twice.
    reference: String,
    #[serde(default)]
    metadata: Option<Value>,
}

/// "Pay this user N cents": sends the negative amount Dots expects, with an idempotency key
/// stored before the call, so a retry after a crash reuses it and Dots pays once.
async fn pay_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    AppJson(body): AppJson<PayBody>,
) -> Result<Json<Transfer>, ProxyError> {
    if body.amount_cents <= 0 || body.amount_cents > 100_000_000 {
        return Err(
            ValidationError::new("amount_cents", "must be a positive number of cents").into(),
        );
    }
    let reference = body.reference.trim();
    if reference.is_empty() || reference.len() > 200 {
        return Err(ValidationError::new("reference", "must be 1 to 200 characters").into());
    }
    let transfer = crate::payments::pay(
        &state,
        &user_id,
        body.amount_cents,
        reference,
        body.metadata,
    )
    .await?;
    Ok(Json(transfer))
}

/// A raw transfer; an `idempotency_key` is required so a retry never moves money twice.
async fn create_transfer(
    State(state): State<AppState>,
    AppJson(request): AppJson<CreateTransferRequest>,
) -> Result<Json<Transfer>, ProxyError> {
    request.validate()?;
    if request.idempotency_key.is_none() {
        return Err(ValidationError::new(
            "idempotency_key",
            "is required, so a retry never pays twice",
        )
        .into());
    }
    Ok(Json(state.dots().create_transfer(&request).await?))
}

async fn retrieve_transfer(
    State(state): State<AppState>,
    Path(transfer_id): Path<String>,
) -> Result<Json<Transfer>, ProxyError> {
    Ok(Json(state.dots().retrieve_transfer(&transfer_id).await?))
}

async fn retrieve_flow(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
) -> Result<Json<Flow>, ProxyError> {
    Ok(Json(state.dots().retrieve_flow(&flow_id).await?))
}
