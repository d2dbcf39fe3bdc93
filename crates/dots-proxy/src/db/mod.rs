//! The proxy's state, in SQLite by default or PostgreSQL, through one code path (sqlx `Any`):
//! connecting and the schema's versions here, the queries by table beside it (`identities`,
//! `flows`, `payments`, `webhooks`); the event log behind the SSE streams has its own home
//! (`crate::event_log`).

mod flows;
mod identities;
mod payments;
mod webhooks;

pub use crate::event_log::{EventRow, EVENT_CHANNEL};
pub use flows::{FlowRow, SweepTurn};
pub use identities::SessionRow;
pub use payments::PaymentRow;
pub use webhooks::WebhookTx;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Database errors: details go to the log, never to a response.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A query or the connection failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// A schema migration failed (or, with [`Migrations::Check`], one is missing).
    #[error("database schema: {0}")]
    Schema(String),
}

impl From<sqlx::migrate::MigrateError> for DbError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        DbError::Schema(err.to_string())
    }
}

/// A SQLite database file about to be created is created readable by this user only (0600);
/// SQLite gives its WAL and shared-memory files the database file's permissions. (The session
/// key beside it is 0600 too.) Other URLs, and files that exist, are left as they are.
fn private_sqlite_file(url: &str) {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return;
    };
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return;
    }
    let path = std::path::Path::new(path);
    if path.exists() {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // A failure here (a missing directory, say) is SQLite's to report, with its own words.
    let _ = options.open(path);
}

/// The versions recorded in `_sqlx_migrations` as applied, in order.
async fn applied_versions(pool: &AnyPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>("version"))
        .collect()
}

/// Applies the missing migrations, or (with [`Migrations::Check`]) refuses a database that
/// lacks one, naming what to run.
async fn bring_up_to_date(pool: &AnyPool, migrations: Migrations) -> Result<(), DbError> {
    if migrations == Migrations::Apply {
        MIGRATOR.run(pool).await?;
        return Ok(());
    }
    // Read only: a database without the migrations table has no version (nothing is created).
    let applied = applied_versions(pool).await.unwrap_or_default();
    let missing: Vec<String> = MIGRATOR
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{} ({})", m.version, m.description))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DbError::Schema(format!(
            "the database lacks migration(s) {}: run `dots-proxy migrate` (or start without DOTS_PROXY_AUTO_MIGRATE=false)",
            missing.join(", ")
        )))
    }
}

/// The database.
#[derive(Clone, Debug)]
pub struct Db {
    /// Reads (and, on PostgreSQL, everything).
    pub(crate) pool: AnyPool,
    /// Writes. On SQLite a single connection: SQLite takes one writer at a time, and writers
    /// queued here wait their turn without spinning in SQLite's busy handler (which sleeps
    /// and retries when several connections write at once).
    pub(crate) writer: AnyPool,
    /// PostgreSQL's URL, for the event listener (never logged); `None` on SQLite.
    pub(crate) listen_url: Option<std::sync::Arc<str>>,
}

/// The schema's versions (`migrations/`, one set for SQLite and PostgreSQL), applied in order
/// by sqlx's migrator, which records each in `_sqlx_migrations` and, on PostgreSQL, holds an
/// advisory lock while it works, so instances starting together apply each version once.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Whether [`Db::connect_with`] brings the schema up to date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Migrations {
    /// Apply what is missing (the default).
    Apply,
    /// Apply nothing; refuse a database that is behind (an operator runs `dots-proxy migrate`).
    Check,
}

impl Db {
    /// Connects and applies the migrations. `url` is `sqlite://...` or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::connect_with(url, Migrations::Apply).await
    }

    /// Connects; applies the migrations, or only checks that none is missing.
    pub async fn connect_with(url: &str, migrations: Migrations) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        private_sqlite_file(url);
        let postgres = url.starts_with("postgres");
        let options = |connections| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if !postgres {
                            // Per connection: wait for a lock rather than fail at once.
                            sqlx::Executor::execute(&mut *conn, "PRAGMA busy_timeout = 5000")
                                .await?;
                        }
                        Ok(())
                    })
                })
        };
        if postgres {
            let pool = options(10).connect(url).await?;
            bring_up_to_date(&pool, migrations).await?;
            return Ok(Self {
                writer: pool.clone(),
                pool,
                listen_url: Some(url.into()),
            });
        }
        // An in-memory database exists once per connection and dies with it: everything shares
        // the one, which the pool must never close as idle or old.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer = if in_memory {
            options(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options(1)
        }
        .connect(url)
        .await?;
        if !in_memory {
            // WAL: readers never wait for the writer. Persistent in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&writer)
                .await?;
        }
        bring_up_to_date(&writer, migrations).await?;
        let pool = if in_memory {
            writer.clone()
        } else {
            options(4).connect(url).await?
        };
        Ok(Self {
            pool,
            writer,
            listen_url: None,
        })
    }

    /// Sets the connection pools' gauges (`dots_proxy_db_connections`), for a scrape.
    pub fn record_pool_gauges(&self) {
        for (name, pool) in [("read", &self.pool), ("write", &self.writer)] {
            metrics::gauge!("dots_proxy_db_connections", "pool" => name, "state" => "open")
                .set(f64::from(pool.size()));
            metrics::gauge!("dots_proxy_db_connections", "pool" => name, "state" => "idle")
                .set(pool.num_idle() as f64);
        }
    }

    /// The schema versions applied to this database, in order.
    pub async fn schema_versions(&self) -> Result<Vec<i64>, DbError> {
        Ok(applied_versions(&self.pool).await?)
    }

    /// PostgreSQL's URL, for the event listener; `None` on SQLite (one instance only: its
    /// events need no fan-out).
    pub(crate) fn listen_url(&self) -> Option<&str> {
        self.listen_url.as_deref()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
