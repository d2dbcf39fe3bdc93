//! Helpers shared by the browser tests: a fresh mount point, waiting, and real
//! `MessageEvent`s dispatched as a frame's `postMessage` would.
#![allow(dead_code)]

use dots_flow::{BrowserFlow, FlowId, FlowSource};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlElement, HtmlIFrameElement, MessageEvent, MessageEventInit, Window};

pub static NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn win() -> Window {
    web_sys::window().expect("a window")
}

pub fn page_origin() -> String {
    win().location().origin().unwrap()
}

/// A fresh element to mount into.
pub fn container() -> HtmlElement {
    let document = win().document().unwrap();
    let div: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&div).unwrap();
    div
}

/// A link on the test server's own origin (its content does not matter: messages are
/// dispatched by the test as if the frame had posted them).
pub fn frame_link() -> String {
    format!(
        "{}/dots-frame-{}",
        page_origin(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A source that answers with a flow at `link` for the requested steps, counting calls.
pub fn fixed_source(link: String, calls: Arc<AtomicUsize>) -> FlowSource {
    FlowSource::fetcher(move |request| {
        let link = link.clone();
        let calls = calls.clone();
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok(BrowserFlow::new(
                FlowId::from(format!("flow-{n}").as_str()),
                link,
                request.steps.iter().map(|s| s.name.clone()).collect(),
                Vec::new(),
            ))
        }
    })
}

pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        win()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Lets spawned futures, effects and the DOM settle.
pub async fn settle() {
    for _ in 0..3 {
        leptos::task::tick().await;
        sleep(10).await;
    }
}

/// Waits (bounded) until `check` holds.
pub async fn wait_until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        sleep(10).await;
    }
    panic!("timed out waiting for: {what}");
}

/// The frame showing a flow: the iframe once it has a `src` (the element itself is there from
/// the start, blank, so creating it costs nothing once the link arrives).
pub fn frame_in(root: &HtmlElement) -> Option<HtmlIFrameElement> {
    root.query_selector("iframe[src]")
        .unwrap()
        .map(|e| e.unchecked_into())
}

/// The frame's height as laid out (the component sets it through a CSS variable).
pub fn css_height(frame: &HtmlIFrameElement) -> String {
    win()
        .get_computed_style(frame)
        .unwrap()
        .expect("a computed style")
        .get_property_value("height")
        .unwrap()
}

pub fn status_of(root: &HtmlElement) -> String {
    root.query_selector(".dots-flow")
        .unwrap()
        .and_then(|e| e.get_attribute("data-status"))
        .unwrap_or_default()
}

/// What the component's polite live region says now.
pub fn announced(root: &HtmlElement) -> String {
    root.query_selector(".dots-flow__status[role=status]")
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// Dispatches a `message` event on the window, as a frame's `postMessage` would.
pub fn post(origin: &str, source: Option<&Window>, data: &JsValue) {
    let init = MessageEventInit::new();
    init.set_data(data);
    init.set_origin(origin);
    init.set_source(source.map(|w| w.unchecked_ref::<js_sys::Object>()));
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    win().dispatch_event(&event).unwrap();
}

pub fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

/// A real `MessageEvent` whose `origin` getter counts how often a listener reads it, so the
/// test can tell whether any listener of the component still runs.
pub fn counting_message(
    origin: &str,
    source: &Window,
    data: &JsValue,
    reads: Arc<AtomicUsize>,
) -> MessageEvent {
    let init = MessageEventInit::new();
    init.set_data(data);
    init.set_source(Some(source.unchecked_ref::<js_sys::Object>()));
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    let origin = origin.to_owned();
    let getter = wasm_bindgen::closure::Closure::<dyn FnMut() -> JsValue>::new(move || {
        reads.fetch_add(1, Ordering::SeqCst);
        JsValue::from_str(&origin)
    });
    let descriptor = js_sys::Object::new();
    js_sys::Reflect::set(&descriptor, &"get".into(), getter.as_ref()).unwrap();
    js_sys::Object::define_property(&event, &"origin".into(), &descriptor);
    getter.forget();
    event
}
