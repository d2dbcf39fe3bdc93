//! `/v2/transfers`: create (with idempotency keys), retrieve, list with filters.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use dots_api::{parse_json_body, CreateTransferRequest, Transfer, TransferList};
use serde::Deserialize;

use crate::auth::AppId;
use crate::error::SandboxError;
use crate::paginate::{page, PageParams};
use crate::SandboxState;

pub(crate) async fn create(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    body: Bytes,
) -> Result<Json<Transfer>, SandboxError> {
    let request: CreateTransferRequest = parse_json_body(&body)?;
    let (transfer, events) =
        state
            .store()
            .create_transfer(&app, request, state.clock().now_ms())?;
    state.emit(events);
    Ok(Json(transfer))
}

pub(crate) async fn retrieve(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(transfer_id): Path<String>,
) -> Result<Json<Transfer>, SandboxError> {
    state
        .store()
        .transfer(&app, &transfer_id)
        .map(Json)
        .ok_or_else(|| SandboxError::not_found("transfer"))
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    user_id: Option<String>,
    reverse_order: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
}

fn parse_date(
    field: &str,
    value: Option<&str>,
) -> Result<Option<time::OffsetDateTime>, SandboxError> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| SandboxError::invalid(field, "must be an RFC 3339 date-time"))
        })
        .transpose()
}

pub(crate) async fn list(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Query(params): Query<ListParams>,
) -> Result<Json<TransferList>, SandboxError> {
    let reverse = match params.reverse_order.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(SandboxError::invalid(
                "reverse_order",
                "must be true or false",
            ))
        }
    };
    let start = parse_date("start_date", params.start_date.as_deref())?;
    let end = parse_date("end_date", params.end_date.as_deref())?;
    let mut transfers: Vec<Transfer> = state
        .store()
        .transfers(&app)
        .into_iter()
        .filter(|t| {
            params
                .user_id
                .as_deref()
                .is_none_or(|u| t.user_id.as_str() == u)
        })
        .filter(|t| params.kind.as_deref().is_none_or(|k| t.kind.as_str() == k))
        .filter(|t| {
            params
                .status
                .as_deref()
                .is_none_or(|s| t.status.as_str() == s)
        })
        .filter(|t| {
            let created = t.created.to_offset_date_time();
            start.is_none_or(|s| created >= s) && end.is_none_or(|e| created <= e)
        })
        .collect();
    if reverse {
        transfers.reverse();
    }
    let (data, has_more) = page(
        &transfers,
        |t| t.id.as_str(),
        params.page.limit()?,
        params.page.starting_after.as_deref(),
        params.page.ending_before.as_deref(),
    );
    Ok(Json(TransferList { data, has_more }))
}
