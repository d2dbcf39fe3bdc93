//! A server-rendered Leptos app with a Dots flow: the page (`app`), the client's entry point
//! (`hydrate`), and the server (`main.rs`).
pub mod app;

/// The client's entry point: hydrates the server's HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
