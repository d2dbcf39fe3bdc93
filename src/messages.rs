//! Accepting postMessages: only from the flow's exact origin and this component's own frame.

use dots_api::FlowMessage;
use wasm_bindgen::JsValue;
use web_sys::{HtmlIFrameElement, MessageEvent};

use crate::json::JsonObject;

/// A flow message as the component sees it: an undocumented message is kept as JSON text.
pub type FrameMessage = FlowMessage<String>;

/// The origin (`scheme://host[:port]`) of an absolute http(s) link, or `None` for anything
/// else (relative, `javascript:`, `data:`, malformed): such a link is never framed.
#[cfg(not(feature = "ssr"))]
pub fn link_origin(link: &str) -> Option<String> {
    let url = web_sys::Url::new(link).ok()?;
    match url.protocol().as_str() {
        "http:" | "https:" => Some(url.origin()),
        _ => None,
    }
}

/// On the server (no browser URL parser): only a plain `http(s)://host[:port]/...` link is
/// framed, never one with credentials, odd characters or another scheme. Its origin is not
/// used there (no messages arrive on the server); the browser computes its own on hydration.
#[cfg(feature = "ssr")]
pub fn link_origin(link: &str) -> Option<String> {
    let (scheme, rest) = link.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']');
    if host.is_empty() || !host.chars().all(plain) || link.chars().any(char::is_whitespace) {
        return None;
    }
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// The flow message carried by `event`, if it came from `frame`'s window at exactly
/// `expected_origin` and its data is a JSON object (or a JSON string holding one).
pub fn accept(
    event: &MessageEvent,
    expected_origin: &str,
    frame: &HtmlIFrameElement,
) -> Option<FrameMessage> {
    if event.origin() != expected_origin {
        return None;
    }
    let frame_window = frame.content_window()?;
    let source = event.source()?;
    if JsValue::from(source) != JsValue::from(frame_window) {
        return None;
    }
    parse_data(&event.data())
}

/// Turns message `data` (an object or a JSON string) into a flow message, with the classifier
/// `dots_api` uses natively (property-tested and fuzzed there) reading the browser's object.
pub fn parse_data(data: &JsValue) -> Option<FrameMessage> {
    let object = match data.as_string() {
        Some(text) => JsonObject::parse(&text)?,
        None => JsonObject::from_value(data.clone())?,
    };
    Some(FlowMessage::classify(object).map_other(|object| object.to_json()))
}
