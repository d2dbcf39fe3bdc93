//! Flow Styles: into the link and the component's own chrome, live; unsafe values kept out.

use super::*;

#[wasm_bindgen_test]
async fn flow_styles_go_into_the_link_and_the_chrome_and_rethemes_live() {
    let container = container();
    let link = frame_link();
    let calls = Arc::new(AtomicUsize::new(0));
    let source = fixed_source(link.clone(), calls.clone());
    let style = RwSignal::new(Some(
        FlowStyle::dark()
            .with(StyleVariable::ButtonBackgroundColor, "#ff0000")
            .with(StyleVariable::BorderRadius, "12px"),
    ));
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=vec![Step::payout()] source=source style=style/> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let expected = style.get_untracked().unwrap().apply_to_link(&link);
    assert_eq!(
        frame_in(&container).unwrap().src(),
        expected,
        "?styles= is appended exactly"
    );
    assert!(
        expected.contains("styles=%7B%22theme%22%3A%22dark%22"),
        "JSON, URL-encoded: {expected}"
    );
    let root = root_of(&container);
    // Set through the CSSOM (no `style` attribute written as text: CSP-clean).
    let declared = |name: &str| root.style().get_property_value(name).unwrap();
    assert_eq!(
        declared("--dots-flow-button-background"),
        "#ff0000",
        "chrome follows the style"
    );
    assert_eq!(declared("--dots-flow-radius"), "12px");
    assert_eq!(root.get_attribute("data-theme").as_deref(), Some("dark"));

    style.set(Some(FlowStyle::brand("#00aa55")));
    settle().await;
    let src = frame_in(&container).unwrap().src();
    assert!(
        src.contains("%2300aa55"),
        "changing the style re-themes the frame: {src}"
    );
    assert_eq!(
        root_of(&container).get_attribute("data-theme").as_deref(),
        Some("light")
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "re-theming does not create a new flow"
    );
}

#[wasm_bindgen_test]
async fn unsafe_style_values_never_reach_the_chrome_css() {
    let style = FlowStyle::light()
        .with(StyleVariable::ButtonBackgroundColor, "red;position:fixed")
        .with(StyleVariable::ButtonTextColor, "#fff");
    let css = dots_flow::chrome_css(&style);
    assert_eq!(
        css, "--dots-flow-button-text:#fff;",
        "a value with `;` is dropped"
    );
}
