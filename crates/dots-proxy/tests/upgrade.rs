//! Upgrading on real old data (issue 24): databases written by dots-proxy before versioned
//! migrations (SQLite file and PostgreSQL dump in `tests/fixtures/`, made by
//! `make-upgrade-fixtures.sh` with that version's binary) are opened by this proxy. A browser's
//! session cookie still works, its flows are still its own, a paid reference still answers its
//! first transfer and never pays again, an event stream resumed from an old `Last-Event-ID`
//! misses nothing after it, and the schema version is recorded. Every later schema change adds
//! its migration and passes this test.

mod common;

use common::{settings, Stack, ADMIN_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// The session secret the fixtures were made with (see the script).
const FIXTURE_SESSION_SECRET: &str = "upgrade-fixture-session-secret-0123456789abcdef";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn facts(database: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("upgrade-facts.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()[database].clone()
}

/// The proxy over the old data, with the sandbox holding what Dots held then.
async fn open(url: &str, facts: &Value) -> Stack {
    let mut settings = settings();
    settings.session_key =
        axum_extra::extract::cookie::Key::derive_from(FIXTURE_SESSION_SECRET.as_bytes());
    // The fixture's cookie was issued when it was made: its idle time is the fixture's age.
    settings.session_idle = Duration::from_secs(100 * 365 * 24 * 3600);
    let stack = Stack::start_on(settings, url).await;
    let response = reqwest::Client::new()
        .post(format!("{}/_sandbox/import", stack.sandbox.origin()))
        .json(&facts["sandbox"])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    stack
}

async fn old_data_still_works(stack: &Stack, facts: &Value) {
    // The schema version is recorded: every migration this proxy knows.
    let versions = stack.state.db().schema_versions().await.unwrap();
    let known: Vec<i64> = dots_proxy::db::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(versions, known);

    // The browser's session cookie still works, and its flows are still its own.
    let mut browser = stack.browser();
    browser.cookie = Some(facts["cookie"].as_str().unwrap().to_owned());
    let mut stranger = stack.browser();
    for flow in facts["flows"].as_array().unwrap() {
        let path = format!("/api/flows/{}", flow.as_str().unwrap());
        let answer = browser.send(Method::GET, &path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        assert_eq!(answer.json()["id"], *flow);
        assert_eq!(stranger.send(Method::GET, &path, None).await.status, 404);
    }

    // The paid reference answers its first transfer and never pays again.
    let user = facts["user_id"].as_str().unwrap();
    let transfers = || stack.sandbox.state().store().transfers("").len();
    let before = transfers();
    let (status, paid) = stack
        .host(
            Method::POST,
            &format!("/host/users/{user}/pay"),
            Some(json!({"amount_cents": facts["amount_cents"], "reference": facts["reference"]})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["id"], facts["transfer_id"]);
    assert_eq!(transfers(), before, "never paid again");

    // The stream resumed from an old Last-Event-ID misses nothing after it, and what happens
    // next is numbered after the old events.
    let old: Vec<(i64, String)> = facts["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(old.len() >= 3, "{old:?}");
    let resume = old[0].0;
    let response = reqwest::Client::new()
        .get(format!("{}/api/events", stack.base))
        .header("cookie", facts["cookie"].as_str().unwrap())
        .header("last-event-id", resume.to_string())
        .send()
        .await
        .unwrap();
    let mut stream = common::SseReader::new(response);
    for (id, kind) in &old[1..] {
        let event = stream
            .next(Duration::from_secs(5))
            .await
            .expect("a stored event");
        assert_eq!((event.id.parse::<i64>().unwrap(), &event.kind), (*id, kind));
    }
    let flow = browser
        .create_flow(json!({"steps": ["id-verification"]}))
        .await;
    stack
        .complete_step(flow["id"].as_str().unwrap(), "id-verification")
        .await;
    let next = stream
        .next(Duration::from_secs(5))
        .await
        .expect("a new event");
    assert_eq!(next.kind, "step_completed");
    assert_eq!(
        next.id.parse::<i64>().unwrap(),
        old.last().unwrap().0 + 1,
        "numbered right after the old events"
    );
}

#[tokio::test]
async fn a_sqlite_database_from_before_migrations_opens_with_everything_in_it() {
    let dir = std::env::temp_dir().join(format!("dots-upgrade-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.sqlite");
    std::fs::copy(fixtures().join("upgrade-sqlite.db"), &path).unwrap();
    let facts = facts("sqlite");
    let stack = open(&format!("sqlite://{}?mode=rwc", path.display()), &facts).await;
    old_data_still_works(&stack, &facts).await;
}

#[tokio::test]
async fn a_postgresql_dump_from_before_migrations_opens_with_everything_in_it() {
    let Some(url) = common::fresh_postgres("dots_upgrade").await else {
        return;
    };
    // The dump, as pg_dump wrote it, less psql's own meta-commands (`\restrict`), on a
    // connection of its own (the dump empties its search_path).
    let dump = std::fs::read_to_string(fixtures().join("upgrade-postgres.sql")).unwrap();
    let sql: String = dump
        .lines()
        .filter(|line| !line.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n");
    {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
    let facts = facts("postgres");
    let stack = open(&url, &facts).await;
    old_data_still_works(&stack, &facts).await;
}

/// A database from before the per-identity numbering (issue 15) kept one global `events` table;
/// its events are carried over under their numbers, so a browser resuming with an old id gets
/// exactly what it missed, and new events follow them.
#[tokio::test]
async fn the_global_event_log_of_older_versions_is_carried_over() {
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("dots-upgrade-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("older.sqlite").display());
    {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        for statement in [
            "CREATE TABLE identities (id TEXT PRIMARY KEY, dots_user_id TEXT, created_ms BIGINT NOT NULL)",
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, identity TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL, created_ms BIGINT NOT NULL)",
            "INSERT INTO identities VALUES ('session:a', 'user-a', 1), ('session:b', NULL, 1)",
            "INSERT INTO events (identity, kind, data, created_ms) VALUES ('session:a', 'user_bound', '{}', 1), ('session:b', 'step_completed', '{}', 2), ('session:a', 'step_completed', '{}', 3)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let db = dots_proxy::db::Db::connect(&url).await.unwrap();
    let a = db.events_after("session:a", 0, 10).await.unwrap();
    assert_eq!(a.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(
        db.events_after("session:a", 1, 10).await.unwrap().len(),
        1,
        "after the old id 1: exactly the one it missed"
    );
    assert_eq!(db.events_after("session:b", 0, 10).await.unwrap()[0].seq, 2);
    // The next event of `a` follows its last old one.
    let mut tx = db.begin_webhook("msg-1").await.unwrap().unwrap();
    tx.push(
        "session:a",
        &dots_api::StreamEvent::UserUpdated {
            user_id: "user-a".into(),
        },
    )
    .await
    .unwrap();
    let stored = tx.commit().await.unwrap();
    assert_eq!(stored[0].seq, 4);
    let known: Vec<i64> = dots_proxy::db::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(db.schema_versions().await.unwrap(), known);
}

/// `dots-proxy migrate` brings a database up to date and exits; a proxy told not to migrate
/// refuses a database that is behind, naming what to run, and starts on one that is not.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_then_start_without_migrating() {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("dots-migrate-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig::default())
        .await
        .unwrap();
    let proxy = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dots-proxy"));
        command
            .args(args)
            .env_clear()
            .env("DOTS_ENV", "sandbox")
            .env("DOTS_API_BASE", sandbox.api_base())
            .env("DOTS_CLIENT_ID", "id")
            .env("DOTS_API_KEY", "key")
            .env("DOTS_PROXY_DATA_DIR", &dir)
            .env("DOTS_PROXY_AUTO_MIGRATE", "false")
            .env(
                "DOTS_PROXY_ADDR",
                format!("127.0.0.1:{}", common::free_port()),
            );
        command
    };
    let refused = proxy(&[]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("dots-proxy migrate"), "{said}");
    assert!(
        said.contains("1 (baseline)"),
        "names what is missing: {said}"
    );

    let migrated = proxy(&["migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    let last = dots_proxy::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&migrated.stdout).contains(&format!("schema version {last}")),
        "{migrated:?}"
    );
    let port = common::free_port();
    let (_running, _) = common::start_proxy_process(
        port,
        &sandbox.api_base(),
        ("id", "key"),
        &dir,
        &[("DOTS_PROXY_AUTO_MIGRATE", "false")],
    );
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

/// Several instances starting together on one PostgreSQL apply each migration once: sqlx's
/// migrator holds an advisory lock while it works (without it, two `CREATE TABLE`s race on
/// PostgreSQL's catalog and the second record of a version breaks its key: an instance fails).
#[tokio::test(flavor = "multi_thread")]
async fn instances_starting_together_on_postgres_migrate_once() {
    let Some(url) = common::fresh_postgres("dots_together").await else {
        return;
    };
    let sandbox = dots_sandbox::spawn(dots_sandbox::SandboxConfig::default())
        .await
        .unwrap();
    let api = sandbox.api_base();
    let ports = [
        common::free_port(),
        common::free_port(),
        common::free_port(),
    ];
    let dirs: Vec<PathBuf> = ports
        .iter()
        .map(|p| {
            let dir = std::env::temp_dir().join(format!(
                "dots-together-{p}-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            dir
        })
        .collect();
    let running: Vec<_> = std::thread::scope(|scope| {
        let started: Vec<_> = ports
            .iter()
            .zip(&dirs)
            .map(|(port, dir)| {
                let (api, url) = (&api, &url);
                scope.spawn(move || {
                    common::start_proxy_process(
                        *port,
                        api,
                        ("id", "key"),
                        dir,
                        &[("DOTS_PROXY_DATABASE_URL", url.as_str())],
                    )
                    .0
                })
            })
            .collect();
        started
            .into_iter()
            .map(|t| t.join().expect("every instance starts"))
            .collect()
    });
    for port in ports {
        // Ready once its event listener has connected too (a moment after it listens).
        common::eventually(&format!("the instance on {port} is ready"), || async move {
            reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
    }
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&pool)
        .await
        .unwrap();
    let applied: Vec<i64> = rows
        .iter()
        .map(|r| sqlx::Row::get::<i64, _>(r, "version"))
        .collect();
    let known: Vec<i64> = dots_proxy::db::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied, known, "each version once");
    drop(running);
}
