//! Host payouts: each host reference with its idempotency key and, once known, its transfer.

use sqlx::Row;

use super::{now_ms, Db, DbError};

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

impl Db {
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
