#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() {
    use axum::Router;
    use dots_flow_ssr_example::app::*;
    use leptos::logging::log;
    use leptos::prelude::*;
    use leptos_axum::{generate_route_list, LeptosRoutes};

    let conf = get_configuration(None).unwrap();
    let leptos_options = conf.leptos_options;
    // dots-flow: the proxy, configured by its DOTS_* variables, on the app's own address (the
    // local Dots sandbox runs inside it until DOTS_ENV and the keys say otherwise).
    let proxy = match dots_proxy::launch::launch_in_app(leptos_options.site_addr).await {
        Ok(proxy) => proxy,
        Err(err) => {
            eprintln!("dots-flow-ssr-example: {err}");
            std::process::exit(2);
        }
    };
    let context = dots_flow_ssr_example::server::context(&proxy);
    // Generate the list of routes in your Leptos App
    let routes = generate_route_list(App);

    let app = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(leptos_options)
        // dots-flow: the browser API and Dots' webhooks, on the same listener.
        .merge(proxy.router.clone());

    log!("listening on http://{}", proxy.addr);
    // dots-flow: serves until Ctrl-C or SIGTERM, then drains (event streams, requests in flight).
    proxy.serve_until_stopped(app).await;
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // no client-side main function
    // unless we want this to work with e.g., Trunk for pure client-side testing
    // see lib.rs for hydration function instead
}
