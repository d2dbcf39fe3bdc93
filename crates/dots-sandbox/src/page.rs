//! The hosted flow page (`/flow/{id}`, the flow's `link`) and its step-completion endpoint.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use dots_api::{Flow, StepName};

use crate::error::SandboxError;
use crate::SandboxState;

const PAGE: &str = include_str!("../assets/flow.html");
const SCRIPT: &str = include_str!("../assets/flow.js");
const STYLES: &str = include_str!("../assets/flow.css");

/// The page: static HTML with the flow's state embedded as inert JSON.
pub(crate) async fn flow_page(
    State(state): State<SandboxState>,
    Path(flow_id): Path<String>,
) -> Result<Response, SandboxError> {
    let record = state
        .store()
        .flow(&flow_id)
        .ok_or_else(|| SandboxError::not_found("flow"))?;
    let page_state = serde_json::json!({
        "id": record.flow.id,
        "steps": record.flow.steps,
        "completed_steps": record.flow.completed_steps,
    });
    let html = PAGE.replace("__FLOW_STATE__", &json_for_script(&page_state));
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors *"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// JSON safe to place inside `<script type="application/json">`: no `<` can close the tag.
fn json_for_script(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Static assets of the page.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "flow.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "flow.css" => (STYLES, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The page's own call when the user finishes a step.
pub(crate) async fn complete_step(
    State(state): State<SandboxState>,
    Path((flow_id, step)): Path<(String, String)>,
) -> Result<Json<Flow>, SandboxError> {
    let step = StepName::parse(&step);
    let flow = state
        .store()
        .complete_step(&flow_id, &step)
        .ok_or_else(|| SandboxError::not_found("flow step"))?;
    tracing::info!(flow_id = %flow.id, %step, "sandbox: step completed");
    Ok(Json(flow))
}
