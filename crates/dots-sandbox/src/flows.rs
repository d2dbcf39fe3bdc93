//! `/v2/flows`: create, retrieve, list.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use dots_api::{parse_json_body, CreateFlowRequest, Flow, FlowList, ValidationError};
use serde::Deserialize;

use crate::error::SandboxError;
use crate::SandboxState;

pub(crate) async fn create(
    State(state): State<SandboxState>,
    body: Bytes,
) -> Result<Json<Flow>, SandboxError> {
    let request: CreateFlowRequest = parse_json_body(&body)?;
    request.validate()?;
    let flow = state.store().create_flow(request, state.public_origin());
    tracing::info!(flow_id = %flow.id, "sandbox: flow created");
    Ok(Json(flow))
}

pub(crate) async fn retrieve(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
) -> Result<Json<Flow>, SandboxError> {
    state
        .store()
        .flow(&flow_id)
        .map(|record| Json(record.flow))
        .ok_or_else(|| SandboxError::not_found("flow"))
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    limit: Option<String>,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

pub(crate) async fn list(
    State(state): State<SandboxState>,
    Query(params): Query<ListParams>,
) -> Result<Json<FlowList>, SandboxError> {
    let limit = match params.limit.as_deref() {
        None => 10,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n @ 1..=100) => n,
            _ => {
                return Err(ValidationError::new(
                    "limit",
                    "limit must be an integer between 1 and 100",
                )
                .into())
            }
        },
    };
    let (data, has_more) = state.store().list_flows(
        limit,
        params.starting_after.as_deref(),
        params.ending_before.as_deref(),
    );
    Ok(Json(FlowList { data, has_more }))
}
