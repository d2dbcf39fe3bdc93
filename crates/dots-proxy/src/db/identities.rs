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

    /// Binds a Dots user to an identity that has none. Returns whether it bound.
    pub async fn bind_user(&self, identity: &str, user_id: &str) -> Result<bool, DbError> {
        bind_user_in(&mut *self.writer.acquire().await?, identity, user_id).await
    }

    /// The identities bound to a Dots user.
    pub async fn identities_of_user(&self, user_id: &str) -> Result<Vec<String>, DbError> {
        identities_of_user_in(&mut *self.pool.acquire().await?, user_id).await
    }
}

pub(super) async fn bind_user_in(
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
