//! Server-side rendering never touches `window`: rendering the component on the server (the
//! `ssr` feature, natively) must work and produce the loading state.
//! Run with `cargo test -p dots-flow --features ssr --test ssr`.
#![cfg(all(not(target_arch = "wasm32"), feature = "ssr"))]

use dots_flow::{DotsFlow, FlowStyle, Step};
use leptos::prelude::*;

#[test]
fn renders_on_the_server_without_a_browser() {
    let owner = Owner::new();
    let html = owner.with(|| {
        view! {
            <DotsFlow
                steps=vec![Step::compliance(), Step::id_verification()]
                style=FlowStyle::dark()
                title="Payouts"
            />
        }
        .to_html()
    });
    assert!(html.contains(r#"data-status="loading""#), "{html}");
    assert!(
        html.contains(r#"<p role="status" class="dots-flow__status">Loading Payouts…</p>"#),
        "the live region is in the first HTML, saying it is loading: {html}"
    );
    assert!(
        html.contains("dots-flow__skeleton"),
        "a skeleton is rendered: {html}"
    );
    assert!(
        !html.contains("<iframe"),
        "no frame before the client fetched a flow: {html}"
    );
    assert!(
        html.contains("--dots-flow-background:#000000"),
        "themed chrome: {html}"
    );
}
