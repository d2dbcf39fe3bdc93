//! Browser tests of the component's features in headless Chromium, one module per concept
//! (one test binary: each wasm test binary is a build and a browser of its own).
#![cfg(target_arch = "wasm32")]

use dots_flow::{
    use_dots_flow_with_options, BrowserFlow, DotsFlow, FlowError, FlowEvent, FlowId, FlowOptions,
    FlowSource, FlowStatus, FlowStyle, StartFlowRequest, Step, StepName, StyleVariable,
};
use leptos::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "../support/mod.rs"]
mod support;
use support::*;

type Log<T> = Arc<Mutex<Vec<T>>>;

fn flow_for(request: &StartFlowRequest, id: &str, link: String) -> BrowserFlow {
    BrowserFlow::new(
        FlowId::from(id),
        link,
        request.steps.iter().map(|s| s.name.clone()).collect(),
        Vec::new(),
    )
}

fn root_of(container: &HtmlElement) -> HtmlElement {
    container
        .query_selector(".dots-flow")
        .unwrap()
        .expect("the component's root")
        .unchecked_into()
}

mod link_refresh;
mod mounting;
mod progress;
mod sources;
mod styles;
mod without_leptos;
