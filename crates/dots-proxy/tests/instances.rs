//! Several proxy instances on one PostgreSQL (issue 15): two `dots-proxy` processes share a
//! database and a session secret; Dots' webhooks go to A only; a browser's event stream held by
//! B hears what A processed, within milliseconds. Needs `DOTS_PROXY_TEST_POSTGRES_URL` (the test
//! command starts a throwaway cluster); skipped without it, as the other PostgreSQL tests.

mod common;

use common::{Browser, KillOnDrop};
use serde_json::json;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "instances-client";
const API_KEY: &str = "instances-api-key-3c9d";
const SESSION_SECRET: &str = "instances-session-secret-0123456789abcdef";

/// A fresh database on the test cluster, for this test alone.
async fn fresh_database(_admin_url: &str) -> String {
    common::fresh_postgres("instances")
        .await
        .expect("a PostgreSQL cluster")
}

/// Starts a `dots-proxy` process on `port`; returns once it listens. `database_url` empty:
/// SQLite in its own data dir.
fn start_instance(port: u16, api_base: &str, database_url: &str) -> KillOnDrop {
    start_instance_with(port, api_base, database_url, &[])
}

fn start_instance_with(
    port: u16,
    api_base: &str,
    database_url: &str,
    extra: &[(&str, &str)],
) -> KillOnDrop {
    let data_dir = std::env::temp_dir().join(format!(
        "dots-proxy-instance-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&data_dir).unwrap();
    let mut env = vec![("DOTS_PROXY_SESSION_SECRET", SESSION_SECRET)];
    if !database_url.is_empty() {
        env.push(("DOTS_PROXY_DATABASE_URL", database_url));
    }
    env.extend_from_slice(extra);
    common::start_proxy_process(port, api_base, (CLIENT_ID, API_KEY), &data_dir, &env).0
}

/// The test cluster's admin URL; `None` (the test skips) without one.
fn postgres() -> Option<String> {
    let url = std::env::var("DOTS_PROXY_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("skipped: DOTS_PROXY_TEST_POSTGRES_URL is not set");
    }
    url
}

/// A standalone sandbox and two `dots-proxy` processes, A on `a_url` and B on `b_url` (one
/// database, maybe as two roles); Dots' webhooks go to A, or nowhere with `webhooks_to_a`
/// false (the test sends its own).
struct Pair {
    sandbox: dots_sandbox::RunningSandbox,
    base_a: String,
    base_b: String,
    _a: KillOnDrop,
    _b: KillOnDrop,
}

async fn two_instances(a_url: &str, b_url: &str, webhooks_to_a: bool) -> Pair {
    let (port_a, port_b) = (common::free_port(), common::free_port());
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let webhooks = if webhooks_to_a {
        base_a.clone()
    } else {
        "http://127.0.0.1:9".to_owned()
    };
    let sandbox = common::sandbox_sending_to(&webhooks, (CLIENT_ID, API_KEY)).await;
    let _a = start_instance(port_a, &sandbox.api_base(), a_url);
    let _b = start_instance(port_b, &sandbox.api_base(), b_url);
    Pair {
        sandbox,
        base_a,
        base_b,
        _a,
        _b,
    }
}

/// Reads `GET {base}/api/events` in the background: each event's name (with its step) and
/// when it arrived.
async fn follow(base: &str, cookie: &str) -> Arc<Mutex<Vec<(String, Instant)>>> {
    let response = reqwest::Client::new()
        .get(format!("{base}/api/events"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let mut stream = common::SseReader::new(response);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    tokio::spawn(async move {
        while let Some(event) = stream.next(Duration::from_secs(3600)).await {
            out.lock().unwrap().push((event.name(), Instant::now()));
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_on_one_instance_reaches_a_stream_on_another() {
    let Some(admin_url) = postgres() else { return };
    let database_url = fresh_database(&admin_url).await;
    let Pair {
        sandbox,
        base_a,
        base_b,
        _a,
        _b,
    } = two_instances(&database_url, &database_url, true).await;
    for base in [&base_a, &base_b] {
        // Ready once its event listener has connected (a balancer waits for this too).
        common::eventually(&format!("{base} is ready"), || async move {
            let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
            ready.status() == 200 && ready.text().await.unwrap() == "ready"
        })
        .await;
    }

    // The browser's session starts on A; its stream is held by B.
    let mut browser = Browser::at(&base_a);
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let cookie = browser.cookie.clone().expect("a session");
    let seen = follow(&base_b, &cookie).await;

    // Sign-in and the compliance step in the hosted page: Dots' webhooks go to A.
    let sent = Instant::now();
    common::emit_sign_in(&sandbox, &flow_id);
    common::emit_step(&sandbox, &flow_id, &dots_api::StepName::Compliance);

    common::eventually("B's stream hears what A processed", || {
        let seen = seen.clone();
        async move { seen.lock().unwrap().len() >= 3 }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["user_bound", "step_completed:compliance", "flow_completed"],
        "each event once, in order, on the other instance"
    );
    let latency = seen[0].1 - sent;
    eprintln!("webhook sent → event on the other instance's stream: {latency:?}");
    assert!(
        latency < Duration::from_secs(2),
        "at once, not at a reconnect: {latency:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_after_n_never_skips_an_event_committing_late() {
    // Issue 15: with one global sequence, "everything after N" could skip an event whose
    // number was taken before N's but which committed after it (two instances, or two
    // connections, writing at once). Writers on two connection pools (two instances' worth)
    // append events for one identity inside transactions that take a while to commit; a
    // reader replays "after the last seen" over and over and must see 1, 2, 3… with no hole.
    let Some(admin_url) = postgres() else { return };
    let url = fresh_database(&admin_url).await;
    let a = dots_proxy::db::Db::connect(&url).await.unwrap();
    let b = dots_proxy::db::Db::connect(&url).await.unwrap();
    const WRITERS: usize = 6;
    const EACH: usize = 10;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let db = if w % 2 == 0 { a.clone() } else { b.clone() };
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let mut tx = db
                    .begin_webhook(&format!("msg-{w}-{i}"))
                    .await
                    .unwrap()
                    .expect("a new delivery");
                tx.push("session:shared", &common::event("test"))
                    .await
                    .unwrap();
                // Work inside the transaction after the number is taken.
                tokio::time::sleep(Duration::from_millis(((w * 7 + i * 3) % 4) as u64)).await;
                tx.commit().await.unwrap();
            }
        }));
    }
    let total = (WRITERS * EACH) as i64;
    let mut last = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while last < total {
        assert!(Instant::now() < deadline, "all events arrive (last {last})");
        for row in a.events_after("session:shared", last, 1000).await.unwrap() {
            assert_eq!(row.seq, last + 1, "replay after {last} skipped an event");
            last = row.seq;
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_tells_streams_to_reconnect_and_stops_at_once() {
    // Issue 15: a load balancer's instance going away (SIGTERM) must not hold its event
    // streams until the grace period cuts them: each is told to come back soon (`retry:`),
    // reconnects elsewhere with `Last-Event-ID`, and the process exits promptly.
    let port = common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let sandbox = common::sandbox_sending_to(&base, (CLIENT_ID, API_KEY)).await;
    let mut instance = start_instance(port, &sandbox.api_base(), "");
    let mut browser = Browser::at(&base);
    browser.create_flow(json!({"steps": ["compliance"]})).await;
    let cookie = browser.cookie.clone().expect("a session");
    let mut stream = reqwest::Client::new()
        .get(format!("{base}/api/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let stopped = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &instance.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut text = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream ends at once, not after the grace period: {text:?}"
    );
    assert!(
        text.contains("retry: 250"),
        "the client is told to reconnect soon: {text:?}"
    );
    let exit = loop {
        if let Some(exit) = instance.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(3),
            "the process exits promptly"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "a clean exit: {exit:?}");
    eprintln!(
        "SIGTERM → stream ended and process exited in {:?}",
        stopped.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_flows_deliveries_on_two_instances_at_once_store_each_step_once_in_order() {
    // Issue 15: per-flow ordering is the database's job, not an in-process lock's. Eight
    // distinct `flow.updated` deliveries for one flow (as Dots sends one per change, and
    // retries) land on A and B at the same moment, after the user finished both steps: every
    // one reads Dots, and only compare-and-set on the stored progress decides which of them
    // records what. The browser's stream must hear each event exactly once, in order.
    let Some(admin_url) = postgres() else { return };
    let database_url = fresh_database(&admin_url).await;
    // The sandbox's own webhooks go nowhere that listens: this test sends them itself.
    let Pair {
        sandbox,
        base_a,
        base_b,
        _a,
        _b,
    } = two_instances(&database_url, &database_url, false).await;
    let bases = [base_a, base_b];

    let mut browser = Browser::at(&bases[0]);
    let flow = browser
        .create_flow(json!({"steps": ["compliance", "manage-payouts"]}))
        .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let cookie = browser.cookie.clone().expect("a session");
    let seen = follow(&bases[1], &cookie).await;
    common::emit_sign_in(&sandbox, &flow_id);
    common::emit_step(&sandbox, &flow_id, &dots_api::StepName::Compliance);
    common::emit_step(&sandbox, &flow_id, &dots_api::StepName::ManagePayouts);

    let secret = dots_api::webhook::WebhookSecret::parse(common::WEBHOOK_SECRET).unwrap();
    let body = dots_api::WebhookEvent::FlowUpdated {
        flow_id: dots_api::FlowId::from(flow_id.as_str()),
    }
    .to_json()
    .to_string();
    let http = reqwest::Client::new();
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let mut deliveries = Vec::new();
    for n in 0..8 {
        let (http, body, start) = (http.clone(), body.clone(), start.clone());
        let url = format!("{}/webhooks/dots", bases[n % 2]);
        let msg_id = format!("msg_concurrent_{n}");
        let timestamp = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()) as i64;
        let signature = secret.sign(&msg_id, timestamp, body.as_bytes());
        deliveries.push(tokio::spawn(async move {
            start.wait().await;
            http.post(url)
                .header(dots_api::webhook::SVIX_ID, msg_id)
                .header(dots_api::webhook::SVIX_TIMESTAMP, timestamp.to_string())
                .header(dots_api::webhook::SVIX_SIGNATURE, signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for delivery in deliveries {
        assert_eq!(delivery.await.unwrap(), 204, "each delivery is accepted");
    }
    common::eventually("the stream hears the flow complete", || {
        let seen = seen.clone();
        async move { seen.lock().unwrap().len() >= 4 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // room for a duplicate to show
    let kinds: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_bound",
            "step_completed:compliance",
            "step_completed:manage-payouts",
            "flow_completed"
        ],
        "each event once, in order"
    );
    let stored = browser
        .send(reqwest::Method::GET, &format!("/api/flows/{flow_id}"), None)
        .await
        .json();
    assert_eq!(
        stored["completed_steps"],
        json!(["compliance", "manage-payouts"]),
        "progress recorded once, in the flow's order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lost_the_database_catches_up_from_the_log() {
    // Issue 15: an instance whose database connections all drop (a database restart, a
    // network cut) misses the notifications sent meanwhile; once its listener is back, its
    // streams read the log, so nothing is lost. B connects as its own role, which is locked
    // out and its connections terminated while A (another role) processes the webhooks.
    let Some(admin_url) = postgres() else { return };
    use sqlx::Connection;
    let database_url = fresh_database(&admin_url).await;
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let role = format!("instance_b_{}", uuid::Uuid::new_v4().simple());
    sqlx::Executor::execute(
        &mut admin,
        format!("CREATE ROLE {role} LOGIN SUPERUSER").as_str(),
    )
    .await
    .unwrap();
    let b_url = database_url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(b_url, database_url, "B has its own role: {b_url}");

    let Pair {
        sandbox,
        base_a,
        base_b,
        _a,
        _b,
    } = two_instances(&database_url, &b_url, true).await;
    let mut browser = Browser::at(&base_a);
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let cookie = browser.cookie.clone().expect("a session");
    let seen = follow(&base_b, &cookie).await;
    let ready = |base: String| async move {
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready(base_b.clone()).await, 200);

    // B loses the database.
    for statement in [
        format!("ALTER ROLE {role} NOLOGIN"),
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"),
    ] {
        sqlx::Executor::execute(&mut admin, statement.as_str())
            .await
            .unwrap();
    }
    common::eventually("B reports it is not ready", || {
        let base = base_b.clone();
        async move { ready(base).await == 503 }
    })
    .await;

    // Meanwhile A processes the webhooks and stores the events.
    common::emit_sign_in(&sandbox, &flow_id);
    common::emit_step(&sandbox, &flow_id, &dots_api::StepName::Compliance);
    common::eventually("A stored the events", || {
        let url = database_url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM identity_events")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            stored >= 3
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "B heard nothing while it had no database"
    );
    assert_eq!(ready(base_b.clone()).await, 503, "still cut off");

    // B gets the database back: its listener reconnects and its stream reads the log.
    sqlx::Executor::execute(&mut admin, format!("ALTER ROLE {role} LOGIN").as_str())
        .await
        .unwrap();
    let back = Instant::now();
    common::eventually("B's stream catches up", || {
        let seen = seen.clone();
        async move { seen.lock().unwrap().len() >= 3 }
    })
    .await;
    eprintln!(
        "database back → B's stream caught up in {:?}",
        back.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let kinds: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(
        kinds,
        ["user_bound", "step_completed:compliance", "flow_completed"],
        "everything missed, once, in order"
    );
    assert_eq!(ready(base_b.clone()).await, 200, "ready again");
}

/// Issue 24: webhooks delayed while two instances on one PostgreSQL sweep every second: the
/// sweep and the late deliveries apply the same progress through the same code, and each event
/// reaches the stream once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_and_late_webhooks_racing_on_two_instances_tell_each_event_once() {
    let Some(admin_url) = postgres() else { return };
    let database_url = fresh_database(&admin_url).await;
    let sandbox = common::sandbox_sending_to("http://127.0.0.1:9", (CLIENT_ID, API_KEY)).await;
    let sweeping = [("DOTS_PROXY_RECONCILE_EVERY_SECS", "1")];
    let (port_a, port_b) = (common::free_port(), common::free_port());
    let _a = start_instance_with(port_a, &sandbox.api_base(), &database_url, &sweeping);
    let _b = start_instance_with(port_b, &sandbox.api_base(), &database_url, &sweeping);
    let bases = [
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    ];
    let mut browser = Browser::at(&bases[0]);
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let cookie = browser.cookie.clone().expect("a session");
    let seen = follow(&bases[1], &cookie).await;
    common::emit_sign_in(&sandbox, &flow_id);
    common::emit_step(&sandbox, &flow_id, &dots_api::StepName::Compliance);

    // Dots' deliveries arrive late, spread over the sweeps, on both instances.
    let secret = dots_api::webhook::WebhookSecret::parse(common::WEBHOOK_SECRET).unwrap();
    let body = dots_api::WebhookEvent::FlowUpdated {
        flow_id: dots_api::FlowId::from(flow_id.as_str()),
    }
    .to_json()
    .to_string();
    let http = reqwest::Client::new();
    for n in 0..6u64 {
        tokio::time::sleep(Duration::from_millis(350)).await;
        let msg_id = format!("msg_late_{n}");
        let timestamp = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()) as i64;
        let status = http
            .post(format!("{}/webhooks/dots", bases[n as usize % 2]))
            .header(dots_api::webhook::SVIX_ID, &msg_id)
            .header(dots_api::webhook::SVIX_TIMESTAMP, timestamp.to_string())
            .header(
                dots_api::webhook::SVIX_SIGNATURE,
                secret.sign(&msg_id, timestamp, body.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }
    common::eventually("the stream hears the flow complete", || {
        let seen = seen.clone();
        async move { seen.lock().unwrap().len() >= 3 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // two more sweeps: room for a duplicate
    let kinds: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(
        kinds,
        ["user_bound", "step_completed:compliance", "flow_completed"],
        "each event once, in order"
    );
}
