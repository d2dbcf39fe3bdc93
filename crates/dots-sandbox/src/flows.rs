//! `/v2/flows`: create, retrieve, list.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use dots_api::{parse_json_body, CreateFlowRequest, Flow, FlowList};

use crate::auth::AppId;
use crate::error::SandboxError;
use crate::paginate::{page, PageParams};
use crate::SandboxState;

pub(crate) async fn create(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    body: Bytes,
) -> Result<Json<Flow>, SandboxError> {
    let request: CreateFlowRequest = parse_json_body(&body)?;
    request.validate()?;
    let flow = state.store().create_flow(
        &app,
        request,
        state.public_origin(),
        state.clock().now_ms(),
        state.behaviour().sign_in_step,
    )?;
    tracing::info!(flow_id = %flow.id, "sandbox: flow created");
    Ok(Json(flow))
}

pub(crate) async fn retrieve(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Path(flow_id): Path<String>,
) -> Result<Json<Flow>, SandboxError> {
    state
        .store()
        .flow(&app, &flow_id)
        .map(Json)
        .ok_or_else(|| SandboxError::not_found("flow"))
}

pub(crate) async fn list(
    State(state): State<SandboxState>,
    Extension(AppId(app)): Extension<AppId>,
    Query(params): Query<PageParams>,
) -> Result<Json<FlowList>, SandboxError> {
    let flows = state.store().flows(&app);
    let (data, has_more) = page(
        &flows,
        |f| f.id.as_str(),
        params.limit()?,
        params.starting_after.as_deref(),
        params.ending_before.as_deref(),
    );
    Ok(Json(FlowList { data, has_more }))
}
