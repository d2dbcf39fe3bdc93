//! `POST /api/flows` and `GET /api/flows/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use dots_api::{parse_json_body, BrowserFlow, CreateFlowRequest, StartFlowRequest};

use crate::error::ProxyError;
use crate::AppState;

/// Creates a flow upstream for the browser. The body is validated completely before anything
/// is sent to Dots; the browser cannot name a `user_id`.
pub(crate) async fn create(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<BrowserFlow>, ProxyError> {
    let request: StartFlowRequest = parse_json_body(&body)?;
    request.validate()?;
    let mut upstream = CreateFlowRequest::new(request.steps);
    upstream.metadata = request.metadata;
    let flow = state.dots().create_flow(&upstream).await?;
    state.remember_flow(flow.id.as_str());
    tracing::info!(flow_id = %flow.id, "flow created");
    Ok(Json(flow.into()))
}

/// Retrieves a flow this proxy created.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
) -> Result<Json<BrowserFlow>, ProxyError> {
    if !state.knows_flow(&flow_id) {
        return Err(ProxyError::NotFound);
    }
    let flow = state.dots().retrieve_flow(&flow_id).await?;
    Ok(Json(flow.into()))
}
