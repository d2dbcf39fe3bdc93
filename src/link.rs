//! Getting a flow: from the host backend's endpoint, or from a function the app supplies.

use dots_api::{BrowserFlow, ProxyErrorBody, StartFlowRequest};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::events::FlowError;

/// The future a [`FlowSource::Fetcher`] returns.
pub type FlowFuture = Pin<Box<dyn Future<Output = Result<BrowserFlow, FlowError>>>>;

/// Where the component gets its flow.
#[derive(Clone)]
pub enum FlowSource {
    /// `POST` the steps as JSON to this URL of the host backend (the dots-flow proxy answers
    /// `/api/flows`). Same-origin cookies are sent.
    Endpoint(String),
    /// Call this function (the Stripe `fetchClientSecret` pattern): the app fetches the flow
    /// however it likes.
    Fetcher(Arc<dyn Fn(StartFlowRequest) -> FlowFuture + Send + Sync>),
}

impl Default for FlowSource {
    fn default() -> Self {
        FlowSource::Endpoint("/api/flows".to_owned())
    }
}

impl std::fmt::Debug for FlowSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowSource::Endpoint(url) => f.debug_tuple("Endpoint").field(url).finish(),
            FlowSource::Fetcher(_) => f.write_str("Fetcher(..)"),
        }
    }
}

impl From<&str> for FlowSource {
    fn from(url: &str) -> Self {
        FlowSource::Endpoint(url.to_owned())
    }
}

impl From<String> for FlowSource {
    fn from(url: String) -> Self {
        FlowSource::Endpoint(url)
    }
}

impl FlowSource {
    /// A source that calls `fetch` for each flow.
    pub fn fetcher<F, Fut>(fetch: F) -> Self
    where
        F: Fn(StartFlowRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BrowserFlow, FlowError>> + 'static,
    {
        FlowSource::Fetcher(Arc::new(move |request| Box::pin(fetch(request))))
    }

    /// Gets a flow for `request`.
    pub async fn get(&self, request: StartFlowRequest) -> Result<BrowserFlow, FlowError> {
        match self {
            FlowSource::Endpoint(url) => request_flow(url, &request).await,
            FlowSource::Fetcher(fetch) => fetch(request).await,
        }
    }
}

/// `POST`s `request` to the host backend at `endpoint` and reads the flow it answers with.
pub async fn request_flow(
    endpoint: &str,
    request: &StartFlowRequest,
) -> Result<BrowserFlow, FlowError> {
    let response = gloo_net::http::Request::post(endpoint)
        .credentials(web_sys::RequestCredentials::SameOrigin)
        .json(request)
        .map_err(|err| {
            FlowError::InvalidSteps(dots_api::ValidationError::new("steps", err.to_string()))
        })?
        .send()
        .await
        .map_err(|err| FlowError::BackendUnreachable(err.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| FlowError::BackendUnreachable(err.to_string()))?;
    if !(200..300).contains(&status) {
        return Err(match serde_json::from_str::<ProxyErrorBody>(&text) {
            Ok(body) => FlowError::BackendRejected {
                status,
                code: body.error,
                message: body.message,
                field: body.field,
            },
            Err(_) => FlowError::BackendRejected {
                status,
                code: "http_error".to_owned(),
                message: format!("the server answered HTTP {status}"),
                field: None,
            },
        });
    }
    serde_json::from_str::<BrowserFlow>(&text)
        .map_err(|err| FlowError::InvalidResponse(err.to_string()))
}
