//! Browser identities (session or bearer subject) and the Dots user each is bound to.

use sqlx::{AnyConnection, Row};

use super::{now_ms, Db, DbError};

impl Db {
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

    /// Binds a Dots user to an identity that has none, by flow `by_flow`. Returns whether it
    /// bound.
    pub async fn bind_user(
        &self,
        identity: &str,
        user_id: &str,
        by_flow: &str,
    ) -> Result<bool, DbError> {
        bind_user_in(
            &mut *self.writer.acquire().await?,
            identity,
            user_id,
            by_flow,
        )
        .await
    }

    /// What the session checks need of a browser session's identity; `None` if unknown.
    pub async fn session(&self, identity: &str) -> Result<Option<SessionRow>, DbError> {
        let row = sqlx::query(
            "SELECT dots_user_id, bound_by_flow, cookie_gen FROM identities WHERE id = $1",
        )
        .bind(identity)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SessionRow {
                dots_user_id: row.try_get("dots_user_id")?,
                bound_by_flow: row.try_get("bound_by_flow")?,
                cookie_gen: row.try_get("cookie_gen")?,
            })
        })
        .transpose()
        .map_err(|err: sqlx::Error| DbError::from(err))
    }

    /// Keeps the SHA-256 (hex) of flow `flow_id`'s claim, held by the browser that created it.
    pub async fn record_claim(&self, flow_id: &str, claim_hash: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE flows SET claim_hash = $1 WHERE id = $2")
            .bind(claim_hash)
            .bind(flow_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Whether one of `claim_hashes` is the claim of the flow that bound `identity`.
    pub async fn holds_claim(
        &self,
        identity: &str,
        claim_hashes: &[String],
    ) -> Result<bool, DbError> {
        let mut conn = self.pool.acquire().await?;
        for hash in claim_hashes {
            if claim_holds_in(&mut conn, identity, hash).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The session's new cookie generation, if `claim_hash` is the claim of the flow that
    /// bound `identity`: the first claim draws `fresh`, any later one (another request of the
    /// same browser) gets the same.
    pub async fn claim_session(
        &self,
        identity: &str,
        claim_hash: &str,
        fresh: &str,
    ) -> Result<Option<String>, DbError> {
        let mut conn = self.writer.acquire().await?;
        if !claim_holds_in(&mut conn, identity, claim_hash).await? {
            return Ok(None);
        }
        sqlx::query("UPDATE identities SET cookie_gen = $1 WHERE id = $2 AND cookie_gen IS NULL")
            .bind(fresh)
            .bind(identity)
            .execute(&mut *conn)
            .await?;
        let row = sqlx::query("SELECT cookie_gen FROM identities WHERE id = $1")
            .bind(identity)
            .fetch_one(&mut *conn)
            .await?;
        Ok(row.try_get("cookie_gen")?)
    }

    /// The identities bound to a Dots user.
    pub async fn identities_of_user(&self, user_id: &str) -> Result<Vec<String>, DbError> {
        identities_of_user_in(&mut *self.pool.acquire().await?, user_id).await
    }
}

/// Whether `claim_hash` is the claim of the flow that bound `identity`.
async fn claim_holds_in(
    conn: &mut AnyConnection,
    identity: &str,
    claim_hash: &str,
) -> Result<bool, DbError> {
    let claimed = sqlx::query(
        "SELECT 1 AS ok FROM identities i JOIN flows f ON f.id = i.bound_by_flow \
         WHERE i.id = $1 AND f.identity = $1 AND f.claim_hash = $2",
    )
    .bind(identity)
    .bind(claim_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(claimed.is_some())
}

/// A browser session's identity as the session checks read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// The Dots user it is bound to.
    pub dots_user_id: Option<String>,
    /// The flow whose claim rotates the session (set when a flow with a claim bound it).
    pub bound_by_flow: Option<String>,
    /// The cookie generation the session was rotated to, once claimed.
    pub cookie_gen: Option<String>,
}

/// Binds; the flow is recorded as the binder when it has a claim (a browser holds it), so the
/// session is rotated on that browser's next request.
pub(super) async fn bind_user_in(
    conn: &mut AnyConnection,
    identity: &str,
    user_id: &str,
    by_flow: &str,
) -> Result<bool, DbError> {
    touch_identity_in(&mut *conn, identity).await?;
    let result = sqlx::query(
        "UPDATE identities SET dots_user_id = $1, \
         bound_by_flow = (SELECT f.id FROM flows f WHERE f.id = $3 AND f.identity = $2 \
                          AND f.claim_hash IS NOT NULL) \
         WHERE id = $2 AND dots_user_id IS NULL",
    )
    .bind(user_id)
    .bind(identity)
    .bind(by_flow)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn touch_identity_in(
    conn: &mut AnyConnection,
    identity: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO identities (id, created_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(identity)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn identities_of_user_in(
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
