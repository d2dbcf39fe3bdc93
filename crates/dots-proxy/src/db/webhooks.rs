//! Webhook deliveries: which message ids took effect, and the transaction that commits a
//! delivery's mark together with everything it changes.

use dots_api::StepName;
use sqlx::{Any, Row, Transaction};

use super::flows::{flow_in, steps_to_text};
use super::identities::{bind_user_in, identities_of_user_in};
use super::{now_ms, Db, DbError, EventRow, FlowRow};

impl Db {
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

    /// When the last webhook that passed verification arrived (Unix ms), if one did (and its
    /// mark is not pruned yet).
    pub async fn last_webhook_ms(&self) -> Result<Option<i64>, DbError> {
        let row = sqlx::query("SELECT MAX(received_ms) AS last FROM webhook_messages")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("last")?)
    }
}

/// One webhook's changes and its delivery mark, in one database transaction (see
/// [`Db::begin_webhook`]). Dropped without [`commit`](Self::commit), it rolls back.
pub struct WebhookTx {
    pub(crate) tx: Transaction<'static, Any>,
    /// Tell the other instances (PostgreSQL).
    pub(crate) notify: bool,
    pub(crate) events: Vec<EventRow>,
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

    /// Binds a Dots user to an identity that has none, by flow `by_flow`. Returns whether it
    /// bound.
    pub async fn bind_user(
        &mut self,
        identity: &str,
        user_id: &str,
        by_flow: &str,
    ) -> Result<bool, DbError> {
        bind_user_in(&mut self.tx, identity, user_id, by_flow).await
    }

    /// The identities bound to a Dots user.
    pub async fn identities_of_user(&mut self, user_id: &str) -> Result<Vec<String>, DbError> {
        identities_of_user_in(&mut self.tx, user_id).await
    }

    /// Commits the delivery mark with every change; returns the events appended, for the
    /// live streams (send them only now: before the commit they might never exist).
    pub async fn commit(self) -> Result<Vec<EventRow>, DbError> {
        self.tx.commit().await?;
        metrics::counter!("dots_proxy_events_stored_total").increment(self.events.len() as u64);
        Ok(self.events)
    }
}
