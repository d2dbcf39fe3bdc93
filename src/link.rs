//! Getting a flow: from the host backend's endpoint, or from functions the app supplies.

use dots_api::{BrowserFlow, FlowId, StartFlowRequest, StepName};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::events::FlowError;
use crate::json::JsonObject;

/// The future a fetcher returns.
pub type FlowFuture = Pin<Box<dyn Future<Output = Result<BrowserFlow, FlowError>>>>;
type CreateFn = Arc<dyn Fn(StartFlowRequest) -> FlowFuture + Send + Sync>;
type RetrieveFn = Arc<dyn Fn(FlowId) -> FlowFuture + Send + Sync>;

/// Where the component gets its flow, and how it confirms progress with the server.
///
/// ```no_run
/// use dots_flow::{BrowserFlow, Credentials, FlowError, FlowSource, StartFlowRequest};
///
/// // The dots-flow proxy on this origin (the default: `/api/flows`).
/// let same_origin = FlowSource::default();
/// // The proxy on another origin of the same site, with its session cookie.
/// let api = FlowSource::from("https://api.example.com/api/flows")
///     .with_credentials(Credentials::Include);
/// // The app's own backend, through functions (any request, any answer shape).
/// async fn my_backend(request: StartFlowRequest) -> Result<BrowserFlow, FlowError> {
///     dots_flow::request_flow("/my/flows", &request).await
/// }
/// let custom = FlowSource::fetcher(my_backend);
/// ```
#[derive(Clone)]
pub enum FlowSource {
    /// `POST` the steps as JSON to this URL of the host backend, and `GET {url}/{id}` to
    /// confirm progress (the dots-flow proxy answers `/api/flows`).
    Endpoint {
        /// The endpoint's URL, e.g. `/api/flows` or `https://api.example.com/api/flows`.
        url: String,
        /// Whether cookies go with the requests (`SameOrigin` by default; `Include` for a
        /// backend on another origin of the same site, which must allow it by CORS).
        credentials: Credentials,
    },
    /// App-supplied functions (the Stripe `fetchClientSecret` pattern).
    Fetcher {
        /// Creates a flow for the request.
        create: CreateFn,
        /// Retrieves a flow by id, to confirm progress from the server (optional).
        retrieve: Option<RetrieveFn>,
    },
}

impl FlowSource {
    /// The default endpoint: the dots-flow proxy's, on the page's own origin.
    pub const DEFAULT_ENDPOINT: &'static str = "/api/flows";
}

impl Default for FlowSource {
    /// `POST` to [`FlowSource::DEFAULT_ENDPOINT`] with same-origin cookies.
    fn default() -> Self {
        FlowSource::from(Self::DEFAULT_ENDPOINT)
    }
}

impl std::fmt::Debug for FlowSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowSource::Endpoint { url, credentials } => f
                .debug_struct("Endpoint")
                .field("url", url)
                .field("credentials", credentials)
                .finish(),
            FlowSource::Fetcher { retrieve, .. } => f
                .debug_struct("Fetcher")
                .field("retrieve", &retrieve.is_some())
                .finish_non_exhaustive(),
        }
    }
}

impl From<&str> for FlowSource {
    fn from(url: &str) -> Self {
        FlowSource::from(url.to_owned())
    }
}

impl From<String> for FlowSource {
    fn from(url: String) -> Self {
        FlowSource::Endpoint {
            url,
            credentials: Credentials::SameOrigin,
        }
    }
}

/// Whether the component's requests to its endpoint carry the browser's cookies (fetch's
/// `credentials`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Only to the page's own origin (the default).
    #[default]
    SameOrigin,
    /// Also to another origin, which must answer with CORS allowing credentials for this page
    /// (`dots-proxy` does for `DOTS_PROXY_ALLOWED_ORIGINS`).
    Include,
    /// Never.
    Omit,
}

impl Credentials {
    fn web(self) -> web_sys::RequestCredentials {
        match self {
            Credentials::SameOrigin => web_sys::RequestCredentials::SameOrigin,
            Credentials::Include => web_sys::RequestCredentials::Include,
            Credentials::Omit => web_sys::RequestCredentials::Omit,
        }
    }
}

impl FlowSource {
    /// The same endpoint with this cookie policy (a fetcher source is returned unchanged:
    /// its functions make their own requests).
    pub fn with_credentials(self, credentials: Credentials) -> Self {
        match self {
            FlowSource::Endpoint { url, .. } => FlowSource::Endpoint { url, credentials },
            fetcher => fetcher,
        }
    }

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
            FlowSource::Endpoint { url, credentials } => {
                request_flow_with(url, &request, *credentials)
                    .await
                    .map(|flow| events_from(flow, url))
            }
            FlowSource::Fetcher { create, .. } => create(request).await,
        }
    }

    /// The server's view of flow `id`, or `None` if this source cannot retrieve.
    pub async fn retrieve(&self, id: FlowId) -> Option<Result<BrowserFlow, FlowError>> {
        match self {
            FlowSource::Endpoint {
                url: endpoint,
                credentials,
            } => {
                let url = format!("{}/{}", endpoint.trim_end_matches('/'), id);
                let request = gloo_net::http::Request::get(&url).credentials(credentials.web());
                Some(
                    send(request.build())
                        .await
                        .map(|flow| events_from(flow, endpoint)),
                )
            }
            FlowSource::Fetcher {
                retrieve: Some(retrieve),
                ..
            } => Some(retrieve(id).await),
            FlowSource::Fetcher { retrieve: None, .. } => None,
        }
    }
}

/// `flow` with its stream's URL (`events`) made absolute against the endpoint that answered
/// (the proxy names it by path; for a backend on another origin the path is that origin's),
/// so whoever gets the flow next (a prefetching wrapper, the app) needs no base.
#[cfg(not(feature = "ssr"))]
fn events_from(mut flow: BrowserFlow, endpoint: &str) -> BrowserFlow {
    if let Some(events) = &flow.events {
        let base = web_sys::window()
            .map(|w| w.location())
            .and_then(|l| l.href().ok())
            .and_then(|page| web_sys::Url::new_with_base(endpoint, &page).ok());
        if let Some(url) =
            base.and_then(|base| web_sys::Url::new_with_base(events, &base.href()).ok())
        {
            flow.events = Some(url.href());
        }
    }
    flow
}

/// On the server nothing is fetched (and there is no page to resolve against).
#[cfg(feature = "ssr")]
fn events_from(flow: BrowserFlow, _endpoint: &str) -> BrowserFlow {
    flow
}

/// `POST`s `request` to the host backend at `endpoint` (same-origin cookies) and reads the
/// flow it answers with.
pub async fn request_flow(
    endpoint: &str,
    request: &StartFlowRequest,
) -> Result<BrowserFlow, FlowError> {
    request_flow_with(endpoint, request, Credentials::SameOrigin).await
}

/// [`request_flow`] with the given cookie policy.
pub async fn request_flow_with(
    endpoint: &str,
    request: &StartFlowRequest,
    credentials: Credentials,
) -> Result<BrowserFlow, FlowError> {
    // Steps always can be written; metadata with a number beyond 2^53 cannot (in a browser).
    let body = crate::json::to_text(request).ok_or_else(|| {
        FlowError::InvalidSteps(dots_api::ValidationError::new(
            "metadata",
            crate::json::UNWRITABLE,
        ))
    })?;
    let built = gloo_net::http::Request::post(endpoint)
        .credentials(credentials.web())
        .header("content-type", "application/json")
        .body(body);
    send(built).await
}

/// What went wrong with a request, in words (formatting only strings keeps the wasm small).
fn unreachable(err: gloo_net::Error) -> FlowError {
    FlowError::BackendUnreachable(match err {
        gloo_net::Error::JsError(js) => js.message,
        gloo_net::Error::GlooError(message) => message,
        #[allow(unreachable_patterns)]
        _ => "the request failed".to_owned(),
    })
}

/// The answer's body as text. (Read from the browser's `Response` itself: gloo-net's
/// `text()` unwraps a `Result<_, JsValue>`, whose panic message would format the `JsValue`
/// and bring wasm-bindgen's `debugString` into every bundle.)
async fn body_text(response: &web_sys::Response) -> Result<String, FlowError> {
    let failed = |err: wasm_bindgen::JsValue| {
        use wasm_bindgen::JsCast;
        FlowError::BackendUnreachable(
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| "the answer could not be read".to_owned()),
        )
    };
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(failed)?)
        .await
        .map_err(failed)?;
    Ok(text.as_string().unwrap_or_default())
}

async fn send(
    request: Result<gloo_net::http::Request, gloo_net::Error>,
) -> Result<BrowserFlow, FlowError> {
    let response = request
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let text = body_text(&web_sys::Response::from(response)).await?;
    if !(200..300).contains(&status) {
        let body = JsonObject::parse(&text);
        let field = |key| body.as_ref().and_then(|b| b.string(key));
        return Err(match (field("error"), field("message")) {
            (Some(code), Some(message)) => FlowError::BackendRejected {
                status,
                code,
                message,
                field: field("field"),
                dots_code: field("dots_error_code"),
            },
            _ => FlowError::BackendRejected {
                status,
                code: "http_error".to_owned(),
                message: format!("the server answered HTTP {status}"),
                field: None,
                dots_code: None,
            },
        });
    }
    read_flow(&text).map_err(FlowError::InvalidResponse)
}

/// A flow from its JSON (the proxy's `BrowserFlow` shape, as a backend answers it), read with
/// the browser's own parser; the error names the field at fault. For a flow that reaches the
/// page as JSON (the custom element's `flow` property, a server's inline data).
pub fn parse_flow(text: &str) -> Result<BrowserFlow, String> {
    read_flow(text)
}

/// A flow from the backend's JSON; the error names the field at fault.
fn read_flow(text: &str) -> Result<BrowserFlow, String> {
    let object = JsonObject::parse(text).ok_or("the answer is not a JSON object")?;
    let wrong = |field: &str, kind: &str| format!("`{field}` is missing or not {kind}");
    let string = |field| object.string(field).ok_or_else(|| wrong(field, "a string"));
    let steps = |field| {
        object
            .strings(field)
            .map(|names| names.iter().map(|n| StepName::parse(n)).collect())
            .ok_or_else(|| wrong(field, "a list of step names"))
    };
    let mut flow = BrowserFlow::new(
        FlowId::from(string("id")?),
        string("link")?,
        steps("steps")?,
        steps("completed_steps")?,
    );
    flow.expires_at = object
        .optional_string("expires_at")
        .map_err(|()| wrong("expires_at", "a string"))?;
    flow.events = object
        .optional_string("events")
        .map_err(|()| wrong("events", "a string"))?;
    flow.expires_in = match object.optional_number("expires_in") {
        Ok(None) => None,
        Ok(Some(n)) if (0.0..=1e9).contains(&n) && n.fract() == 0.0 => Some(n as u64),
        _ => return Err(wrong("expires_in", "whole seconds")),
    };
    Ok(flow)
}

/// Starts creating a flow for `request` now — when a user shows intent (hovers or focuses the
/// button that opens the flow), before the component mounts — and returns a source for the
/// component: its first request equal to `request` gets that flow (already there, or arriving)
/// instead of making another; any other request, retries and progress checks go to `source`.
/// `request` must be exactly what the component will send (the same steps, metadata and
/// flow options), or the prefetched flow is not used.
///
/// ```no_run
/// # #[cfg(feature = "leptos")] mod example {
/// use dots_flow::{prefetch_flow, DotsFlow, FlowSource, StartFlowRequest, Step};
/// use leptos::prelude::*;
///
/// #[component]
/// fn Payouts() -> impl IntoView {
///     let steps = vec![Step::manage_payouts()];
///     let source = StoredValue::new(FlowSource::default());
///     let open = RwSignal::new(false);
///     let warm = {
///         let steps = steps.clone();
///         // The user shows intent: the flow is on its way before the click.
///         move |_| source.update_value(|s| {
///             *s = prefetch_flow(s.clone(), StartFlowRequest::new(steps.clone()))
///         })
///     };
///     view! {
///         <button on:pointerenter=warm on:click=move |_| open.set(true)>"Payout settings"</button>
///         <Show when=move || open.get()>
///             <DotsFlow steps=steps.clone() source=source.get_value() />
///         </Show>
///     }
/// }
/// # }
/// ```
pub fn prefetch_flow(source: FlowSource, request: StartFlowRequest) -> FlowSource {
    let (sender, receiver) = futures_channel::oneshot::channel();
    {
        let source = source.clone();
        let request = request.clone();
        let fetch = async move {
            let _ = sender.send(source.create(request).await);
        };
        // Straight onto the browser's microtask queue: Leptos' executor is set up by the first
        // mount, and a page may well prefetch before it mounts anything.
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_futures::spawn_local(fetch);
        #[cfg(all(not(target_arch = "wasm32"), feature = "leptos"))]
        leptos::task::spawn_local(fetch);
        // Natively without Leptos there is no executor: the component's first request then
        // asks `source` itself.
        #[cfg(all(not(target_arch = "wasm32"), not(feature = "leptos")))]
        drop(fetch);
    }
    let pending = Arc::new(std::sync::Mutex::new(Some((request, receiver))));
    let fallback = source.clone();
    let prefetched = FlowSource::fetcher(move |wanted: StartFlowRequest| {
        let taken = pending
            .lock()
            .ok()
            .and_then(|mut slot| match slot.as_ref() {
                Some((request, _)) if *request == wanted => slot.take(),
                _ => None,
            });
        let source = fallback.clone();
        async move {
            match taken {
                Some((_, receiver)) => match receiver.await {
                    Ok(result) => result,
                    Err(_) => source.create(wanted).await,
                },
                None => source.create(wanted).await,
            }
        }
    });
    if matches!(source, FlowSource::Fetcher { retrieve: None, .. }) {
        return prefetched;
    }
    prefetched.with_retrieve(move |id| {
        let source = source.clone();
        async move {
            match source.retrieve(id).await {
                Some(result) => result,
                None => Err(FlowError::InvalidResponse(
                    "this source cannot retrieve".into(),
                )),
            }
        }
    })
}
