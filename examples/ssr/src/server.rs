//! dots-flow: the server's part of the page. The proxy library is called in place (no HTTP
//! hop; the Dots key never leaves the server).

use axum::http::{header, request::Parts, HeaderValue};
use dots_flow::{BrowserFlow, StartFlowRequest, Step};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

/// Where the page may frame flows from: the CSP `frame-src` sources the proxy derives from its
/// Dots environment.
#[derive(Clone, Debug)]
pub struct FrameOrigins(pub String);

/// What every render needs from the proxy, for `leptos_routes_with_context`: its state, the
/// frame origins and a fresh CSP nonce per response.
pub fn context(proxy: &dots_proxy::launch::Launched) -> impl Fn() + Clone + Send + 'static {
    let state = proxy.state.clone();
    let frames = FrameOrigins(proxy.frame_origins.clone());
    move || {
        provide_context(state.clone());
        provide_context(frames.clone());
        leptos::nonce::provide_nonce();
    }
}

/// The flow for this request's visitor: their unfinished flow of the same steps when they have
/// one with at least five minutes of link left (a page rendered on every view does not make
/// a flow per view), else a new one. The caller is the request's session cookie (a new
/// visitor's goes out with the page) or bearer token, with the same checks and rate limits as
/// `POST /api/flows`. `None` when the proxy refuses or Dots fails: the component then asks for
/// the flow itself and shows its own error panel.
pub async fn page_flow(steps: Vec<Step>) -> Option<BrowserFlow> {
    let state = expect_context::<dots_proxy::AppState>();
    let parts = expect_context::<Parts>();
    let response = expect_context::<ResponseOptions>();
    match dots_proxy::start_or_reuse_flow_for(&state, &parts, StartFlowRequest::new(steps)).await {
        Ok(page) => {
            for cookie in page.set_cookie {
                response.append_header(header::SET_COOKIE, cookie);
            }
            Some(page.flow)
        }
        Err(err) => {
            leptos::logging::warn!("the page's flow: {err}");
            None
        }
    }
}

/// Sends the page's Content-Security-Policy: scripts only from this origin or with this
/// response's nonce (the hydration loader, the resource's data, the early listener), styles
/// only from this origin or with the nonce (the component's stylesheet), frames only from the
/// flows' origins.
pub fn send_content_security_policy() {
    let nonce = leptos::nonce::use_nonce().map(|n| format!("'nonce-{n}'"));
    let frames = expect_context::<FrameOrigins>().0;
    let policy = dots_proxy::static_site::content_security_policy(nonce.as_slice(), &frames);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        expect_context::<ResponseOptions>().insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}
