//! The page: a payout setup whose flow the server creates while it renders, so the frame is in
//! the first HTML and loads while the wasm is still on its way.

use dots_flow::{
    BrowserFlow, DotsFlow, DotsFlowEarlyMessages, FlowError, FlowStatus, Step, StepCompleted,
    StepName,
};
use leptos::prelude::*;

/// The steps this page asks for.
pub fn steps() -> Vec<Step> {
    vec![Step::new(StepName::Compliance), Step::manage_payouts()]
}

/// The CSP `frame-src` sources: where the page may frame flows from (server only).
#[derive(Clone, Debug)]
pub struct FrameOrigins(pub String);

/// The flow for this page's visitor, created (or reused while unfinished) on the server as the
/// page renders: the proxy library is called directly (no HTTP hop; the Dots key never leaves
/// the server), and a new visitor's session cookie goes out with the page.
#[server(prefix = "/app", endpoint = "page_flow")]
pub async fn page_flow() -> Result<BrowserFlow, ServerFnError> {
    use axum::http::{header, request::Parts};
    let state = expect_context::<dots_proxy::AppState>();
    let parts = expect_context::<Parts>();
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let request = dots_flow::StartFlowRequest::new(steps());
    match dots_proxy::start_or_reuse_flow_for(&state, &parts, request).await {
        Ok(page) => {
            for cookie in page.set_cookie {
                response.append_header(header::SET_COOKIE, cookie);
            }
            Ok(page.flow)
        }
        Err(err) => {
            // The component then asks for the flow itself and shows its own error panel.
            eprintln!("page_flow: {err}");
            Err(ServerFnError::new(err.to_string()))
        }
    }
}

/// The whole document, rendered on the server (only `<App/>` hydrates). Sends the page's
/// Content-Security-Policy: scripts only from this origin or with this response's nonce, no
/// inline styles, frames only from the flow's origin.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use leptos::nonce::use_nonce;
        let nonce = use_nonce().map(|n| format!("'nonce-{}'", &*n));
        let frames = expect_context::<FrameOrigins>().0;
        let policy = dots_proxy::static_site::content_security_policy(nonce.as_slice(), &frames);
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>"dots-flow · server-rendered"</title>
                // First: keeps the flow's messages for hydration. (Above the stylesheets: an
                // inline script waits for the stylesheets before it, and the page's parsing, the
                // iframe's included, would wait with it.)
                <DotsFlowEarlyMessages />
                <link rel="icon" href="data:," />
                <link rel="stylesheet" href="/pkg/dots-flow.css" />
                <link rel="stylesheet" href="/pkg/example.css" />
                <HydrationScripts options />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The page.
#[component]
pub fn App() -> impl IntoView {
    // Blocking: the server waits for it before sending the HTML, so the frame is in it.
    let flow = Resource::new_blocking(|| (), |_| page_flow());
    let status = RwSignal::new(FlowStatus::Loading);
    let log = RwSignal::new(Vec::<String>::new());
    let note = move |line: String| log.update(|l| l.push(line));
    view! {
        <main class="page" data-flow-status=move || status.get().as_str()>
            <h1>"Get paid"</h1>
            <p class="page__lead">
                "Tell us about yourself and where your payouts should go. This page was rendered "
                "on the server with the flow already in it."
            </p>
            <Suspense fallback=|| view! { <p>"Preparing your payout setup…"</p> }>
                {move || Suspend::new(async move {
                    let initial = flow.await.ok();
                    view! {
                        <DotsFlow
                            steps=steps()
                            flow=initial
                            status=status
                            on_ready=move |()| note("ready".into())
                            on_step_complete=move |done: StepCompleted| {
                                note(format!("step {} {}", done.step, done.status.as_str()))
                            }
                            on_flow_complete=move |flow: BrowserFlow| {
                                note(format!("flow {} complete", flow.id))
                            }
                            on_error=move |err: FlowError| note(format!("error: {err}"))
                        />
                    }
                })}
            </Suspense>
            <h2>"What the component reported"</h2>
            <ol id="events">
                <For each=move || log.get().into_iter().enumerate() key=|(i, _)| *i let((_, line))>
                    <li>{line}</li>
                </For>
            </ol>
        </main>
    }
}
