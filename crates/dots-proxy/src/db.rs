//! The proxy's state, in SQLite by default or PostgreSQL, through one code path (sqlx `Any`):
//! who owns which flow, which Dots user a browser identity is bound to, processed webhook ids,
//! the event log behind the SSE streams, and host payouts' idempotency keys.

use dots_api::StepName;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A stored flow.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowRow {
    /// Flow id.
    pub id: String,
    /// The identity that created it.
    pub identity: String,
    /// Its steps.
    pub steps: Vec<StepName>,
    /// Steps known complete.
    pub completed_steps: Vec<StepName>,
    /// The Dots user on the flow, once known.
    pub user_id: Option<String>,
}

/// One event of an identity's stream.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventRow {
    /// Position in the log (the SSE id).
    pub seq: i64,
    /// Whose stream.
    pub identity: String,
    /// Event name, e.g. `step_completed`.
    pub kind: String,
    /// JSON data.
    pub data: String,
}

/// PostgreSQL's limit on a notification's payload is 8000 bytes.
const MAX_NOTIFICATION: usize = 7900;

impl EventRow {
    /// The event as a notification payload: all of it, or (if too long) only whose it is and
    /// its number, for the listener to read it from the log.
    pub fn to_notification(&self) -> String {
        let full = serde_json::to_string(self).expect("strings serialize");
        if full.len() <= MAX_NOTIFICATION {
            return full;
        }
        serde_json::json!({ "identity": self.identity, "seq": self.seq }).to_string()
    }
}

/// A host payout and its idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentRow {
    /// The host's reference (e.g. an order id).
    pub reference: String,
    /// The key sent to Dots.
    pub idempotency_key: String,
    /// The user paid.
    pub user_id: String,
    /// Cents.
    pub amount: i64,
    /// The Dots transfer that paid it, once known.
    pub transfer_id: Option<String>,
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

/// Applies the missing migrations, or (with [`Migrations::Check`]) refuses a database that
/// lacks one, naming what to run.
async fn bring_up_to_date(pool: &AnyPool, migrations: Migrations) -> Result<(), DbError> {
    if migrations == Migrations::Apply {
        MIGRATOR.run(pool).await?;
        return Ok(());
    }
    // Read only: a database without the migrations table has no version (nothing is created).
    let applied: Vec<i64> = match sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
    {
        Ok(rows) => rows
            .iter()
            .map(|row| row.try_get::<i64, _>("version"))
            .collect::<Result<_, _>>()?,
        Err(_) => Vec::new(),
    };
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
    pool: AnyPool,
    /// Writes. On SQLite a single connection: SQLite takes one writer at a time, and writers
    /// queued here wait their turn without spinning in SQLite's busy handler (which sleeps
    /// and retries when several connections write at once).
    writer: AnyPool,
    /// PostgreSQL's URL, for the event listener (never logged); `None` on SQLite.
    listen_url: Option<std::sync::Arc<str>>,
}

/// The advisory lock key of the reconciliation sweep (one instance sweeps at a time).
const SWEEP_LOCK_KEY: i64 = 0x646f_7473_7377_6570; // "dotsswep"

/// One instance's turn to sweep; dropping it ends the turn (see [`Db::sweep_turn`]).
pub struct SweepTurn(#[allow(dead_code)] Option<Transaction<'static, Any>>);

/// The PostgreSQL channel on which every instance hears every committed event.
pub const EVENT_CHANNEL: &str = "dots_flow_events";

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

fn steps_to_text(steps: &[StepName]) -> String {
    serde_json::to_string(steps).expect("step names serialize")
}

fn steps_from_text(text: &str) -> Vec<StepName> {
    serde_json::from_str(text).unwrap_or_default()
}

fn flow_from(row: &AnyRow) -> Result<FlowRow, sqlx::Error> {
    Ok(FlowRow {
        id: row.try_get("id")?,
        identity: row.try_get("identity")?,
        steps: steps_from_text(&row.try_get::<String, _>("steps")?),
        completed_steps: steps_from_text(&row.try_get::<String, _>("completed_steps")?),
        user_id: row.try_get("user_id")?,
    })
}

impl Db {
    /// Connects and applies the migrations. `url` is `sqlite://...` or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::connect_with(url, Migrations::Apply).await
    }

    /// Connects; applies the migrations, or only checks that none is missing.
    pub async fn connect_with(url: &str, migrations: Migrations) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
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
        let rows =
            sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| row.try_get::<i64, _>("version"))
            .collect::<Result<_, _>>()
            .map_err(DbError::from)
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

    /// Makes sure the identity exists.
    pub async fn touch_identity(&self, identity: &str) -> Result<(), DbError> {
        touch_identity_in(&mut *self.writer.acquire().await?, identity).await
    }

    /// The Dots user bound to an identity.
    pub async fn bound_user(&self, identity: &str) -> Result<Option<String>, DbError> {
        Ok(self.identity(identity).await?.flatten())
    }

    /// `None` if the identity is unknown, else its bound Dots user (if any).
    pub async fn identity(&self, identity: &str) -> Result<Option<Option<String>>, DbError> {
        let row = sqlx::query("SELECT dots_user_id FROM identities WHERE id = $1")
            .bind(identity)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| row.try_get::<Option<String>, _>("dots_user_id"))
            .transpose()
            .map_err(DbError::from)
    }

    /// Binds a Dots user to an identity that has none. Returns whether it bound.
    pub async fn bind_user(&self, identity: &str, user_id: &str) -> Result<bool, DbError> {
        bind_user_in(&mut *self.writer.acquire().await?, identity, user_id).await
    }

    /// The identities bound to a Dots user.
    pub async fn identities_of_user(&self, user_id: &str) -> Result<Vec<String>, DbError> {
        identities_of_user_in(&mut *self.pool.acquire().await?, user_id).await
    }

    /// Records a flow created for `identity`.
    pub async fn insert_flow(&self, flow: &FlowRow) -> Result<(), DbError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO flows (id, identity, steps, completed_steps, user_id, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&flow.id)
        .bind(&flow.identity)
        .bind(steps_to_text(&flow.steps))
        .bind(steps_to_text(&flow.completed_steps))
        .bind(flow.user_id.clone())
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Notes what `flow_id` was created from: `request_key` (the request sent to Dots) for
    /// `identity`, usable until `usable_until_ms` (a pre-authenticated link) or, if `None`, as
    /// long as it is not complete.
    pub async fn record_flow_request(
        &self,
        flow_id: &str,
        identity: &str,
        request_key: &str,
        usable_until_ms: Option<i64>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO flow_requests (flow_id, identity, request_key, usable_until_ms, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(flow_id)
        .bind(identity)
        .bind(request_key)
        .bind(usable_until_ms)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The newest flow of `identity` created from `request_key` that is still usable at
    /// `now_ms` (with its `usable_until_ms`), not older than `max_age_ms`.
    pub async fn reusable_flow(
        &self,
        identity: &str,
        request_key: &str,
        now_ms: i64,
        max_age_ms: i64,
    ) -> Result<Option<(FlowRow, Option<i64>)>, DbError> {
        let row = sqlx::query(
            "SELECT flow_id, usable_until_ms FROM flow_requests WHERE identity = $1 AND request_key = $2 \
             AND created_ms > $3 AND (usable_until_ms IS NULL OR usable_until_ms > $4) \
             ORDER BY created_ms DESC LIMIT 1",
        )
        .bind(identity)
        .bind(request_key)
        .bind(now_ms - max_age_ms)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let flow_id: String = row.try_get("flow_id")?;
        let until: Option<i64> = row.try_get("usable_until_ms")?;
        Ok(self.flow(&flow_id).await?.map(|flow| (flow, until)))
    }

    /// A stored flow.
    pub async fn flow(&self, id: &str) -> Result<Option<FlowRow>, DbError> {
        flow_in(&mut *self.pool.acquire().await?, id).await
    }

    /// Whether a webhook message id was processed (its effects are committed).
    pub async fn delivered(&self, svix_id: &str) -> Result<bool, DbError> {
        let row = sqlx::query("SELECT 1 AS one FROM webhook_messages WHERE svix_id = $1")
            .bind(svix_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Starts processing webhook `svix_id`: its delivery mark and everything it changes are
    /// written through the returned transaction and commit together, so a crash or an error
    /// before [`WebhookTx::commit`] leaves no trace and Dots' retry does it all again.
    /// `None` if the id is already processed; a concurrent duplicate (another request or
    /// another instance) waits on the mark's unique key and then finds it.
    pub async fn begin_webhook(&self, svix_id: &str) -> Result<Option<WebhookTx>, DbError> {
        let mut tx = self.writer.begin().await?;
        let marked = sqlx::query("INSERT INTO webhook_messages (svix_id, received_ms) VALUES ($1, $2) ON CONFLICT (svix_id) DO NOTHING")
            .bind(svix_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        if marked.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(WebhookTx {
            tx,
            notify: self.listen_url.is_some(),
            events: Vec::new(),
        }))
    }

    /// Starts a change that no webhook delivered (the reconciliation sweep): like
    /// [`Db::begin_webhook`], without a delivery mark.
    pub async fn begin_change(&self) -> Result<WebhookTx, DbError> {
        Ok(WebhookTx {
            tx: self.writer.begin().await?,
            notify: self.listen_url.is_some(),
            events: Vec::new(),
        })
    }

    /// Up to `limit` unfinished flows created after `created_after_ms`, the longest unseen
    /// first.
    pub async fn unfinished_flows(
        &self,
        created_after_ms: i64,
        limit: i64,
    ) -> Result<Vec<FlowRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, identity, steps, completed_steps, user_id FROM flows \
             WHERE finished = 0 AND created_ms > $1 ORDER BY swept_ms, created_ms LIMIT $2",
        )
        .bind(created_after_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(flow_from)
            .collect::<Result<_, _>>()
            .map_err(DbError::from)
    }

    /// Notes that the sweep looked at `flow_id` now, and whether it is finished.
    pub async fn mark_swept(&self, flow_id: &str, finished: bool) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE flows SET swept_ms = $1, finished = CASE WHEN $2 THEN 1 ELSE finished END WHERE id = $3",
        )
        .bind(now_ms())
        .bind(finished)
        .bind(flow_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// When the last webhook that passed verification arrived (Unix ms), if one did (and its
    /// mark is not pruned yet).
    pub async fn last_webhook_ms(&self) -> Result<Option<i64>, DbError> {
        let row = sqlx::query("SELECT MAX(received_ms) AS last FROM webhook_messages")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("last")?)
    }

    /// On PostgreSQL, the sweep's turn: a transaction holding the sweep's advisory lock, or
    /// `None` while another instance holds it (the lock goes with the transaction, whatever
    /// happens to this instance). On SQLite (one instance) always a turn, holding nothing.
    pub async fn sweep_turn(&self) -> Result<Option<SweepTurn>, DbError> {
        if self.listen_url.is_none() {
            return Ok(Some(SweepTurn(None)));
        }
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT pg_try_advisory_xact_lock($1) AS mine")
            .bind(SWEEP_LOCK_KEY)
            .fetch_one(&mut *tx)
            .await?;
        Ok(row
            .try_get::<bool, _>("mine")?
            .then_some(SweepTurn(Some(tx))))
    }

    /// Deletes events stored before `events_before_ms` and webhook delivery marks received
    /// before `deliveries_before_ms` (Unix ms), so stored data does not grow for ever.
    /// Returns how many of each were deleted.
    pub async fn prune(
        &self,
        events_before_ms: i64,
        deliveries_before_ms: i64,
    ) -> Result<(u64, u64), DbError> {
        let events = sqlx::query("DELETE FROM identity_events WHERE created_ms < $1")
            .bind(events_before_ms)
            .execute(&self.writer)
            .await?;
        let deliveries = sqlx::query("DELETE FROM webhook_messages WHERE received_ms < $1")
            .bind(deliveries_before_ms)
            .execute(&self.writer)
            .await?;
        Ok((events.rows_affected(), deliveries.rows_affected()))
    }

    /// Appends an event to an identity's log.
    pub async fn append_event(
        &self,
        identity: &str,
        kind: &str,
        data: &str,
    ) -> Result<EventRow, DbError> {
        let mut tx = self.writer.begin().await?;
        let row = append_event_in(&mut tx, self.listen_url.is_some(), identity, kind, data).await?;
        tx.commit().await?;
        metrics::counter!("dots_proxy_events_stored_total").increment(1);
        Ok(row)
    }

    /// The number of an identity's latest event (0 before its first).
    pub async fn last_event_seq(&self, identity: &str) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT last_seq FROM event_counters WHERE identity = $1")
            .bind(identity)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("last_seq")?,
            None => 0,
        })
    }

    /// An identity's events after `after` (oldest first, at most `limit`).
    pub async fn events_after(
        &self,
        identity: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, DbError> {
        let rows = sqlx::query(
            "SELECT seq, identity, kind, data FROM identity_events WHERE identity = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(identity)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    seq: r.try_get("seq")?,
                    identity: r.try_get("identity")?,
                    kind: r.try_get("kind")?,
                    data: r.try_get("data")?,
                })
            })
            .collect()
    }

    /// The payment for a host reference, if any.
    pub async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, DbError> {
        let row = sqlx::query(
            "SELECT reference, idempotency_key, user_id, amount, transfer_id FROM payments WHERE reference = $1",
        )
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(PaymentRow {
                reference: r.try_get("reference")?,
                idempotency_key: r.try_get("idempotency_key")?,
                user_id: r.try_get("user_id")?,
                amount: r.try_get("amount")?,
                transfer_id: r.try_get("transfer_id")?,
            })
        })
        .transpose()
    }

    /// Stores a payment's key before it is sent, so a retry after a crash reuses it.
    /// Returns the stored row (the existing one, with its transfer if paid, if an earlier
    /// request got there first). The row's `transfer_id` is not stored from here.
    pub async fn reserve_payment(&self, payment: &PaymentRow) -> Result<PaymentRow, DbError> {
        sqlx::query(
            "INSERT INTO payments (reference, idempotency_key, user_id, amount, created_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&payment.reference)
        .bind(&payment.idempotency_key)
        .bind(&payment.user_id)
        .bind(payment.amount)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(self
            .payment(&payment.reference)
            .await?
            .expect("just stored"))
    }

    /// Records the transfer a payment produced.
    pub async fn complete_payment(
        &self,
        reference: &str,
        transfer_id: &str,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE payments SET transfer_id = $1 WHERE reference = $2")
            .bind(transfer_id)
            .bind(reference)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

/// One webhook's changes and its delivery mark, in one database transaction (see
/// [`Db::begin_webhook`]). Dropped without [`commit`](Self::commit), it rolls back.
pub struct WebhookTx {
    tx: Transaction<'static, Any>,
    /// Tell the other instances (PostgreSQL).
    notify: bool,
    events: Vec<EventRow>,
}

impl std::fmt::Debug for WebhookTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTx")
            .field("events", &self.events.len())
            .finish()
    }
}

impl WebhookTx {
    /// A stored flow, as this transaction sees it.
    pub async fn flow(&mut self, id: &str) -> Result<Option<FlowRow>, DbError> {
        flow_in(&mut self.tx, id).await
    }

    /// Updates a flow's progress only if it is still `expected` (compare-and-set: two
    /// instances processing webhooks of one flow never both report the same step; the loser
    /// rolls back and starts over). Returns whether it updated.
    pub async fn update_flow_if(
        &mut self,
        id: &str,
        expected: &[StepName],
        completed: &[StepName],
        user_id: Option<&str>,
        finished: bool,
    ) -> Result<bool, DbError> {
        let result = sqlx::query(
            "UPDATE flows SET completed_steps = $1, user_id = COALESCE($2, user_id), updated_ms = $3, \
             finished = CASE WHEN $4 THEN 1 ELSE 0 END \
             WHERE id = $5 AND completed_steps = $6",
        )
        .bind(steps_to_text(completed))
        .bind(user_id.map(str::to_owned))
        .bind(now_ms())
        .bind(finished)
        .bind(id)
        .bind(steps_to_text(expected))
        .execute(&mut *self.tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Binds a Dots user to an identity that has none. Returns whether it bound.
    pub async fn bind_user(&mut self, identity: &str, user_id: &str) -> Result<bool, DbError> {
        bind_user_in(&mut self.tx, identity, user_id).await
    }

    /// The identities bound to a Dots user.
    pub async fn identities_of_user(&mut self, user_id: &str) -> Result<Vec<String>, DbError> {
        identities_of_user_in(&mut self.tx, user_id).await
    }

    /// Stores `event` for `identity`'s stream (sent once committed).
    pub async fn push(
        &mut self,
        identity: &str,
        event: &dots_api::StreamEvent,
    ) -> Result<(), DbError> {
        self.append_event(identity, event.kind(), &event.data())
            .await
    }

    /// Appends an event to an identity's log (visible once committed).
    pub async fn append_event(
        &mut self,
        identity: &str,
        kind: &str,
        data: &str,
    ) -> Result<(), DbError> {
        let row = append_event_in(&mut self.tx, self.notify, identity, kind, data).await?;
        self.events.push(row);
        Ok(())
    }

    /// Commits the delivery mark with every change; returns the events appended, for the
    /// live streams (send them only now: before the commit they might never exist).
    pub async fn commit(self) -> Result<Vec<EventRow>, DbError> {
        self.tx.commit().await?;
        metrics::counter!("dots_proxy_events_stored_total").increment(self.events.len() as u64);
        Ok(self.events)
    }
}

async fn flow_in(conn: &mut AnyConnection, id: &str) -> Result<Option<FlowRow>, DbError> {
    let row = sqlx::query(
        "SELECT id, identity, steps, completed_steps, user_id FROM flows WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(flow_from)
        .transpose()
        .map_err(DbError::from)
}

async fn bind_user_in(
    conn: &mut AnyConnection,
    identity: &str,
    user_id: &str,
) -> Result<bool, DbError> {
    touch_identity_in(&mut *conn, identity).await?;
    let result = sqlx::query(
        "UPDATE identities SET dots_user_id = $1 WHERE id = $2 AND dots_user_id IS NULL",
    )
    .bind(user_id)
    .bind(identity)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

async fn touch_identity_in(conn: &mut AnyConnection, identity: &str) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO identities (id, created_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(identity)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn identities_of_user_in(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Vec<String>, DbError> {
    let rows = sqlx::query("SELECT id FROM identities WHERE dots_user_id = $1")
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get("id").map_err(DbError::from))
        .collect()
}

async fn append_event_in(
    conn: &mut AnyConnection,
    notify: bool,
    identity: &str,
    kind: &str,
    data: &str,
) -> Result<EventRow, DbError> {
    let seq: i64 = sqlx::query(
        "INSERT INTO event_counters (identity, last_seq) VALUES ($1, 1) \
         ON CONFLICT (identity) DO UPDATE SET last_seq = event_counters.last_seq + 1 RETURNING last_seq",
    )
    .bind(identity)
    .fetch_one(&mut *conn)
    .await?
    .try_get("last_seq")?;
    sqlx::query(
        "INSERT INTO identity_events (identity, seq, kind, data, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(identity)
    .bind(seq)
    .bind(kind)
    .bind(data)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    let row = EventRow {
        seq,
        identity: identity.to_owned(),
        kind: kind.to_owned(),
        data: data.to_owned(),
    };
    if notify {
        // Delivered to every listening instance when (and only if) the transaction commits,
        // in commit order.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENT_CHANNEL)
            .bind(row.to_notification())
            .execute(&mut *conn)
            .await?;
    }
    Ok(row)
}
