//! The app: the `start-axum` template's shell and router, with a home page that sets up
//! payouts. The flow is made on the server while the page renders, so the frame is in the
//! first HTML and loads while the wasm is still on its way.

use dots_flow::{
    BrowserFlow, DotsFlow, DotsFlowEarlyMessages, DotsFlowStyles, FlowError, FlowStatus, Step,
    StepCompleted, StepName,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // dots-flow: the page's Content-Security-Policy (server only).
    #[cfg(feature = "ssr")]
    crate::server::send_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // dots-flow: first in <head>, the listener that keeps the flow's messages until
                // the wasm arrives, then the component's stylesheet.
                <DotsFlowEarlyMessages />
                <DotsFlowStyles />
                <link rel="icon" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Provides context that manages stylesheets, titles, meta tags, etc.
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/dots_flow_ssr_example.css" />
        <Title text="dots-flow · server-rendered" />
        <Router>
            <main>
                <Routes fallback=|| "Page not found.".into_view()>
                    // dots-flow: the page's blocking resource (the flow) renders in place, in
                    // the first HTML; anything else on the page still streams.
                    <Route path=StaticSegment("") view=HomePage ssr=SsrMode::PartiallyBlocked />
                </Routes>
            </main>
        </Router>
    }
}

/// The steps this page asks for.
fn steps() -> Vec<Step> {
    vec![Step::new(StepName::Compliance), Step::manage_payouts()]
}

/// The payout setup page.
#[component]
fn HomePage() -> impl IntoView {
    // dots-flow: the flow for this visitor, made while the server renders. Blocking: the HTML
    // waits for it and carries it, and the hydrating page reads it from there. Only the server
    // build calls the proxy; the browser build never runs this fetcher on the first load (and
    // links no server-function client). After a client-side navigation it does run there and
    // gives `None`: the component then asks the proxy for the flow itself.
    let flow = Resource::new_blocking(
        || (),
        |_| async move {
            #[cfg(feature = "ssr")]
            return crate::server::page_flow(steps()).await;
            #[cfg(not(feature = "ssr"))]
            None::<BrowserFlow>
        },
    );
    let status = RwSignal::new(FlowStatus::Loading);
    let log = RwSignal::new(Vec::<String>::new());
    let note = move |line: String| log.update(|l| l.push(line));
    view! {
        <div class="page" data-flow-status=move || status.get().as_str()>
            <h1>"Get paid"</h1>
            <p class="page__lead">
                "Tell us about yourself and where your payouts should go. This page was rendered "
                "on the server with the flow already in it."
            </p>
            <Suspense fallback=|| view! { <p>"Preparing your payout setup…"</p> }>
                {move || Suspend::new(async move {
                    view! {
                        <DotsFlow
                            steps=steps()
                            flow=flow.await
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
        </div>
    }
}
