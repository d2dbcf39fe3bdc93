//! Messages a server-rendered flow posts before the wasm has arrived.
//!
//! A server-rendered page frames the flow in its first HTML, so the flow loads, and posts its
//! `{height}`, while the page's wasm is still on its way: nobody listens yet. A tiny inline
//! script in the page's `<head>` ([`DotsFlowEarlyMessages`]) keeps every `message` event until
//! then; each `<DotsFlow/>` that adopts a server-made flow replays the ones its own frame sent
//! before it started listening, so ready, heights and steps work as in a client-rendered page.

use leptos::prelude::*;

/// The early listener: keeps the page's `message` events (at most 256) in
/// `window.__dotsFlowEarly`. It holds no `<`, `>`, `&` or quotes, so the text a server renders
/// is byte for byte this (a CSP hash of it stays valid).
pub const EARLY_MESSAGES_SCRIPT: &str = "(function(){var q=window.__dotsFlowEarly=window.__dotsFlowEarly||[];addEventListener(`message`,function(e){q.length==256||q.push(e)})})()";

/// The early listener as a `<script>` for the `<head>` of a server-rendered page's shell:
/// first, above the stylesheets (an inline script waits for the stylesheets before it, and the
/// parser, the flow's iframe included, waits with it) and before `<HydrationScripts/>`. It carries the response's CSP nonce when Leptos' `nonce`
/// feature provides one ([`leptos::nonce::use_nonce`]); a page under a hash-based policy
/// allows the hash of [`EARLY_MESSAGES_SCRIPT`] instead.
///
/// ```
/// # #[cfg(feature = "ssr")] mod example {
/// use dots_flow::{DotsFlowEarlyMessages, DotsFlowStyles};
/// use leptos::prelude::*;
///
/// // cargo-leptos' `shell`: rendered on the server only.
/// pub fn shell(options: LeptosOptions) -> impl IntoView {
///     view! {
///         <!DOCTYPE html>
///         <html lang="en">
///             <head>
///                 <DotsFlowEarlyMessages />
///                 <DotsFlowStyles />
///                 <HydrationScripts options />
///             </head>
///             <body>"…"</body>
///         </html>
///     }
/// }
/// # }
/// ```
#[component]
pub fn DotsFlowEarlyMessages() -> impl IntoView {
    view! { <script nonce=leptos::nonce::use_nonce()>{EARLY_MESSAGES_SCRIPT}</script> }
}

/// The component's stylesheet (`style/dots-flow.css`): its layout, skeleton, error panel and
/// the `--dots-flow-*` custom properties a theme overrides. A client-rendered app links the
/// file itself (trunk: `<link data-trunk rel="css" href="…/dots-flow.css">`); a
/// server-rendered one writes it into its shell with [`DotsFlowStyles`].
pub const STYLESHEET: &str = include_str!("../style/dots-flow.css");

/// The component's stylesheet as a `<style>` for the `<head>` of a server-rendered page's
/// shell, with the response's CSP nonce when Leptos' `nonce` feature provides one
/// ([`leptos::nonce::use_nonce`]; the proxy's `content_security_policy` allows a nonce for
/// styles). It comes with the page, so the frame has its size and skeleton before any
/// stylesheet request or wasm, and it is always the stylesheet of the `dots-flow` version the
/// app is built with: no file to copy into the app's `assets-dir` or `style-file`.
///
/// A shell renders only on the server, so the stylesheet is not in the hydrating wasm (it is,
/// about 1 KiB gzipped, where an app renders this component in the browser).
///
/// ```
/// # #[cfg(feature = "ssr")] mod example {
/// use dots_flow::{DotsFlowEarlyMessages, DotsFlowStyles};
/// use leptos::prelude::*;
///
/// pub fn shell(options: LeptosOptions) -> impl IntoView {
///     view! {
///         <!DOCTYPE html>
///         <html lang="en">
///             <head>
///                 <DotsFlowEarlyMessages />
///                 <DotsFlowStyles />
///                 <HydrationScripts options />
///             </head>
///             <body>"…"</body>
///         </html>
///     }
/// }
/// # }
/// ```
#[component]
pub fn DotsFlowStyles() -> impl IntoView {
    view! { <style nonce=leptos::nonce::use_nonce() inner_html=STYLESHEET></style> }
}

/// How many events the early listener holds now (0 without it): a component that starts
/// listening at this moment replays those below this mark and hears the rest itself.
#[cfg(not(feature = "ssr"))]
pub(crate) fn mark() -> u32 {
    buffer().map_or(0, |q| q.length())
}

/// The events the early listener held below `mark`.
#[cfg(not(feature = "ssr"))]
pub(crate) fn held(mark: u32) -> Vec<web_sys::MessageEvent> {
    use wasm_bindgen::JsCast;
    let Some(q) = buffer() else {
        return Vec::new();
    };
    (0..mark.min(q.length()))
        .filter_map(|i| q.get(i).dyn_into().ok())
        .collect()
}

#[cfg(not(feature = "ssr"))]
fn buffer() -> Option<js_sys::Array> {
    use wasm_bindgen::JsCast;
    js_sys::Reflect::get(&window(), &"__dotsFlowEarly".into())
        .ok()?
        .dyn_into()
        .ok()
}
