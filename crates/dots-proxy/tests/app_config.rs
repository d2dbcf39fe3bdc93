//! A proxy started inside a web app's server (`launch_in_app`, a Leptos app built with
//! cargo-leptos): its settings come from the `DOTS_*` environment only, it listens on the app's
//! address, and its files stay out of the app's sources. One test in its own binary: it sets
//! the process's environment, which every other test would see.

use std::time::Duration;

#[tokio::test]
async fn a_proxy_in_an_app_reads_its_environment_listens_on_the_apps_address_and_keeps_its_files_in_target(
) {
    let target = std::env::temp_dir().join(format!("dots-proxy-app-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&target);
    for (name, value) in [
        ("DOTS_ENV", Some("local")),
        ("DOTS_PROXY_ADDR", Some("127.0.0.1:1")),
        ("CARGO_TARGET_DIR", target.to_str()),
        ("DOTS_PROXY_DATA_DIR", None),
        ("DOTS_PROXY_DATABASE_URL", None),
        ("DOTS_API_KEY", None),
        ("DOTS_CLIENT_ID", None),
        ("DOTS_API_BASE", None),
    ] {
        match value {
            Some(value) => std::env::set_var(name, value),
            None => std::env::remove_var(name),
        }
    }

    // A setting the proxy refuses is named by its variable, not by a flag nobody typed.
    std::env::set_var("DOTS_PROXY_STREAMS_PER_CLIENT", "many");
    let err = dots_proxy::launch::launch_in_app("127.0.0.1:0".parse().unwrap())
        .await
        .err()
        .expect("a malformed setting stops the start")
        .to_string();
    assert!(err.contains("DOTS_PROXY_STREAMS_PER_CLIENT"), "{err}");
    assert!(err.contains("many"), "{err}");
    assert!(!err.contains("--streams-per-client"), "{err}");
    std::env::remove_var("DOTS_PROXY_STREAMS_PER_CLIENT");

    // The app's address, whatever DOTS_PROXY_ADDR says; the files under the target directory.
    let proxy = dots_proxy::launch::launch_in_app("127.0.0.1:0".parse().unwrap())
        .await
        .expect("starts");
    assert!(
        proxy.addr.ip().is_loopback() && proxy.addr.port() > 1,
        "{}",
        proxy.addr
    );
    assert!(
        target.join("dots-proxy/dots-proxy.sqlite").is_file(),
        "the database is in $CARGO_TARGET_DIR/dots-proxy"
    );
    // The app's routes and the proxy's share the one listener.
    let addr = proxy.addr;
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the app's page" }))
        .merge(proxy.router.clone());
    tokio::spawn(proxy.serve_until_stopped(app));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let page = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(page.text().await.unwrap(), "the app's page");
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let _ = std::fs::remove_dir_all(&target);
}
