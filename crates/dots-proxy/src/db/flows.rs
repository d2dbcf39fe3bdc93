//! Who owns which flow, what it was created from, its progress, and the reconciliation
//! sweep's bookkeeping.

use dots_api::StepName;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{now_ms, Db, DbError};

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

/// The advisory lock key of the reconciliation sweep (one instance sweeps at a time).
const SWEEP_LOCK_KEY: i64 = 0x646f_7473_7377_6570; // "dotsswep"

/// One instance's turn to sweep; dropping it ends the turn (see [`Db::sweep_turn`]).
pub struct SweepTurn(#[allow(dead_code)] Option<Transaction<'static, Any>>);

pub(super) fn steps_to_text(steps: &[StepName]) -> String {
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
}

pub(super) async fn flow_in(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<FlowRow>, DbError> {
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
