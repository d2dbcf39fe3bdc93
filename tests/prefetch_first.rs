//! A page may prefetch before it has mounted anything (its own test binary: nothing else has
//! set up Leptos' executor). Found by the first-load benchmark: `prefetch_flow` panicked there.
#![cfg(target_arch = "wasm32")]

use dots_flow::{prefetch_flow, DotsFlow, StartFlowRequest, Step};
use leptos::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

#[wasm_bindgen_test]
async fn a_page_prefetches_before_it_mounts_anything() {
    // Issue 14.
    let calls = Arc::new(AtomicUsize::new(0));
    let link = frame_link();
    let steps = vec![Step::compliance()];
    let prefetched = prefetch_flow(
        fixed_source(link.clone(), calls.clone()),
        StartFlowRequest::new(steps.clone()),
    );
    wait_until("the request went out before any mount", || {
        calls.load(Ordering::SeqCst) == 1
    })
    .await;
    let container = container();
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=steps source=prefetched /> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    assert_eq!(frame_in(&container).unwrap().src(), link);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "framed without a second request"
    );
}
