//! Getting a flow: from the host backend's endpoint, or from functions the app supplies.

use dots_api::{BrowserFlow, FlowId, ProxyErrorBody, StartFlowRequest};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::events::FlowError;

/// The future a fetcher returns.
pub type FlowFuture = Pin<Box<dyn Future<Output = Result<BrowserFlow, FlowError>>>>;
type CreateFn = Arc<dyn Fn(StartFlowRequest) -> FlowFuture + Send + Sync>;
type RetrieveFn = Arc<dyn Fn(FlowId) -> FlowFuture + Send + Sync>;

/// Where the component gets its flow, and how it confirms progress with the server.
#[derive(Clone)]
pub enum FlowSource {
    /// `POST` the steps as JSON to this URL of the host backend, and `GET {url}/{id}` to
    /// confirm progress (the dots-flow proxy answers `/api/flows`). Same-origin cookies are sent.
    Endpoint(String),
    /// App-supplied functions (the Stripe `fetchClientSecret` pattern).
    Fetcher {
        /// Creates a flow for the request.
        create: CreateFn,
        /// Retrieves a flow by id, to confirm progress from the server (optional).
        retrieve: Option<RetrieveFn>,
    },
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
            FlowSource::Fetcher { retrieve, .. } => f
                .debug_struct("Fetcher")
                .field("retrieve", &retrieve.is_some())
                .finish_non_exhaustive(),
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
    /// A source that calls `create` for each flow.
    pub fn fetcher<F, Fut>(create: F) -> Self
    where
        F: Fn(StartFlowRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BrowserFlow, FlowError>> + 'static,
    {
        FlowSource::Fetcher {
            create: Arc::new(move |request| Box::pin(create(request))),
            retrieve: None,
        }
    }

    /// Adds a function that retrieves a flow by id, so completion is confirmed by the server
    /// even if a message from the frame is lost. (Endpoints have this built in.)
    pub fn with_retrieve<F, Fut>(self, retrieve: F) -> Self
    where
        F: Fn(FlowId) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BrowserFlow, FlowError>> + 'static,
    {
        match self {
            FlowSource::Fetcher { create, .. } => FlowSource::Fetcher {
                create,
                retrieve: Some(Arc::new(move |id| Box::pin(retrieve(id)))),
            },
            endpoint => endpoint,
        }
    }

    /// Gets a flow for `request`.
    pub async fn create(&self, request: StartFlowRequest) -> Result<BrowserFlow, FlowError> {
        match self {
            FlowSource::Endpoint(url) => request_flow(url, &request).await,
            FlowSource::Fetcher { create, .. } => create(request).await,
        }
    }

    /// The server's view of flow `id`, or `None` if this source cannot retrieve.
    pub async fn retrieve(&self, id: FlowId) -> Option<Result<BrowserFlow, FlowError>> {
        match self {
            FlowSource::Endpoint(url) => {
                let url = format!("{}/{}", url.trim_end_matches('/'), id);
                Some(send(gloo_net::http::Request::get(&url).build()).await)
            }
            FlowSource::Fetcher {
                retrieve: Some(retrieve),
                ..
            } => Some(retrieve(id).await),
            FlowSource::Fetcher { retrieve: None, .. } => None,
        }
    }
}

/// `POST`s `request` to the host backend at `endpoint` and reads the flow it answers with.
pub async fn request_flow(
    endpoint: &str,
    request: &StartFlowRequest,
) -> Result<BrowserFlow, FlowError> {
    let built = gloo_net::http::Request::post(endpoint)
        .credentials(web_sys::RequestCredentials::SameOrigin)
        .json(request);
    send(built).await
}

async fn send(
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<BrowserFlow, FlowError> {
    let request = request.map_err(|err| FlowError::BackendUnreachable(err.to_string()))?;
    let response = request
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
