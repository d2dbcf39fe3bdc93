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
        html.contains("<iframe") && !html.contains("src="),
        "a blank frame, no link before the client fetched a flow: {html}"
    );
    assert!(html.contains(r#"data-theme="dark""#), "themed: {html}");
    // Issue 14: no inline `style` attribute, which a strict Content-Security-Policy blocks;
    // the client sets the chrome's styles through the CSSOM.
    assert!(!html.contains("style="), "no style attribute: {html}");
}

#[test]
fn an_initial_flow_is_in_the_first_html() {
    // Issue 14: with a flow created while the page renders, the iframe and its link are in
    // the server's HTML, so the flow starts loading before the wasm arrives.
    let owner = Owner::new();
    let flow = dots_flow::BrowserFlow::new(
        dots_flow::FlowId::from("0b7e6a4e-58a8-4a48-9c3c-2b0d1c5e1a10"),
        "https://flows.example.com/flow/0b7e6a4e".to_owned(),
        vec![dots_flow::StepName::Compliance],
        Vec::new(),
    );
    let html =
        owner.with(|| view! { <DotsFlow steps=vec![Step::compliance()] flow=flow /> }.to_html());
    assert!(
        html.contains(r#"src="https://flows.example.com/flow/0b7e6a4e""#),
        "the frame with its link: {html}"
    );
    assert!(html.contains(r#"data-status="loading""#), "{html}");
    assert!(!html.contains("style="), "no style attribute: {html}");
}

#[test]
fn an_initial_flow_with_a_bad_link_is_never_framed_on_the_server() {
    for link in [
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://user:pw@evil.example/flow",
        "/flow/relative",
        "https://exa mple.com/x",
    ] {
        let owner = Owner::new();
        let flow = dots_flow::BrowserFlow::new(
            dots_flow::FlowId::from("f"),
            link.to_owned(),
            vec![dots_flow::StepName::Compliance],
            Vec::new(),
        );
        let html = owner
            .with(|| view! { <DotsFlow steps=vec![Step::compliance()] flow=flow /> }.to_html());
        assert!(
            !html.contains("src=") && !html.contains(link),
            "{link} never reaches the frame: {html}"
        );
    }
}

#[test]
fn a_page_rendered_on_one_thread_is_dropped_on_another() {
    // Issue 14: a server (tokio's worker pool) may drop a page's owner on another thread than
    // the one that rendered it; the component's cleanup panicked there (thread-local storage).
    let owner = Owner::new();
    let flow = dots_flow::BrowserFlow::new(
        dots_flow::FlowId::from("0b7e6a4e"),
        "https://flows.example.com/flow/0b7e6a4e".to_owned(),
        vec![dots_flow::StepName::Compliance],
        Vec::new(),
    );
    let html =
        owner.with(|| view! { <DotsFlow steps=vec![Step::compliance()] flow=flow /> }.to_html());
    assert!(html.contains("<iframe"));
    std::thread::spawn(move || drop(owner))
        .join()
        .expect("dropping the owner elsewhere does not panic");
}
