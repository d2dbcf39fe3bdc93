//! Accepting postMessages: only from the flow's exact origin and this component's own frame.

use dots_api::FlowMessage;
use wasm_bindgen::JsValue;
use web_sys::{HtmlIFrameElement, MessageEvent};

use crate::json::JsonObject;

/// A flow message as the component sees it: an undocumented message is kept as JSON text.
pub type FrameMessage = FlowMessage<String>;

/// The origin (`scheme://host[:port]`) of an absolute http(s) link, or `None` for anything
/// else (relative, `javascript:`, `data:`, malformed): such a link is never framed.
pub fn link_origin(link: &str) -> Option<String> {
    let url = web_sys::Url::new(link).ok()?;
    match url.protocol().as_str() {
        "http:" | "https:" => Some(url.origin()),
        _ => None,
    }
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
