//! Transfers between the app's wallet and a user's wallet; amounts in cents.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::{string_enum, Timestamp, TransferId, User, UserId, ValidationError};

string_enum!(
    /// Where a transfer stands.
    TransferStatus {
        /// Created.
        Created = "created",
        /// In progress.
        Pending = "pending",
        /// Failed (terminal).
        Failed = "failed",
        /// Completed (terminal).
        Completed = "completed",
        /// Reversed.
        Reversed = "reversed",
        /// Canceled.
        Canceled = "canceled",
        /// Flagged for review.
        Flagged = "flagged",
    }
);

string_enum!(
    /// What kind of movement a transfer is.
    TransferType {
        /// Refill of an app's wallet.
        Refill = "refill",
        /// Payout to a user's external account.
        Payout = "payout",
        /// Between Dots wallets (app ↔ user).
        Balance = "balance",
        /// From a user to the app.
        Payment = "payment",
        /// Legacy.
        Settlement = "settlement",
        /// Accounts payable.
        Payable = "payable",
    }
);

/// One ledger line of a transfer.
///
/// Dots writes a line's amount as a number of cents or as a decimal string with ten places
/// (`"1000.0000000000"`); both are read as whole cents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transaction {
    /// Its id.
    pub id: i64,
    /// Amount in cents.
    #[serde(deserialize_with = "cents")]
    pub amount: i64,
    /// When.
    pub created: Timestamp,
    /// Who paid.
    #[serde(default, deserialize_with = "text_or_null")]
    pub source_name: String,
    /// Who received.
    #[serde(default, deserialize_with = "text_or_null")]
    pub destination_name: String,
    /// `balance`, `payout`, `fee`, ...; not every answer names it.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The transfer it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<TransferId>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl Transaction {
    /// A ledger line of `amount` cents of `kind`.
    pub fn new(id: i64, amount: i64, created: Timestamp, kind: impl Into<String>) -> Self {
        Self {
            id,
            amount,
            created,
            source_name: String::new(),
            destination_name: String::new(),
            kind: Some(kind.into()),
            transfer_id: None,
            metadata: None,
        }
    }
}

/// One entry of a transfer's `status_history`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusChange {
    /// The status the transfer reached.
    pub status: TransferStatus,
    /// When (Dots writes it as an HTTP date).
    pub timestamp: Timestamp,
}

impl StatusChange {
    /// The transfer reached `status` at `timestamp`.
    pub fn new(status: TransferStatus, timestamp: Timestamp) -> Self {
        Self { status, timestamp }
    }
}

/// A Dots transfer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transfer {
    /// Its id.
    pub id: TransferId,
    /// When.
    pub created: Timestamp,
    /// The user on the other side.
    pub user_id: UserId,
    /// Status.
    pub status: TransferStatus,
    /// Kind.
    #[serde(rename = "type")]
    pub kind: TransferType,
    /// Cents; negative = the app paid the user. Dots writes it as a number or a string.
    #[serde(deserialize_with = "cents")]
    pub amount: i64,
    /// Every status the transfer went through, when Dots tells.
    #[serde(
        default,
        deserialize_with = "list_or_null",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub status_history: Vec<StatusChange>,
    /// External rail details, for payouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_data: Option<Value>,
    /// Ledger lines.
    #[serde(default, deserialize_with = "list_or_null")]
    pub transactions: Vec<Transaction>,
    /// The payout link it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_link_id: Option<String>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl Transfer {
    /// A transfer with no transactions, external data or metadata.
    pub fn new(
        id: TransferId,
        created: Timestamp,
        user_id: UserId,
        status: TransferStatus,
        kind: TransferType,
        amount: i64,
    ) -> Self {
        Self {
            id,
            created,
            user_id,
            status,
            kind,
            amount,
            status_history: Vec::new(),
            external_data: None,
            transactions: Vec::new(),
            payout_link_id: None,
            metadata: None,
        }
    }
}

/// `POST /v2/transfers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateTransferRequest {
    /// Cents; negative moves money from the app to the user. Accepted as a number or a string.
    #[serde(deserialize_with = "cents")]
    pub amount: i64,
    /// The user.
    pub user_id: UserId,
    /// Not counted towards the 1099 threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_exempt: Option<bool>,
    /// Same key within 24 h → the same transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl CreateTransferRequest {
    /// A transfer of `amount` cents (negative: app pays user).
    pub fn new(amount: i64, user_id: UserId) -> Self {
        Self {
            amount,
            user_id,
            tax_exempt: None,
            idempotency_key: None,
            metadata: None,
        }
    }

    /// "Pay this user `cents`": the negative amount Dots expects, with an idempotency key.
    pub fn pay_user(user_id: UserId, cents: u32, idempotency_key: impl Into<String>) -> Self {
        let mut request = Self::new(-i64::from(cents), user_id);
        request.idempotency_key = Some(idempotency_key.into());
        request
    }

    /// Checks the rules; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.amount == 0 {
            return Err(ValidationError::new("amount", "must not be zero"));
        }
        if self.user_id.as_str().trim().is_empty() {
            return Err(ValidationError::new("user_id", "is required"));
        }
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() || key.len() > 255 {
                return Err(ValidationError::new(
                    "idempotency_key",
                    "must be 1 to 255 characters",
                ));
            }
        }
        Ok(())
    }
}

/// A page of transfers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferList {
    /// The transfers.
    pub data: Vec<Transfer>,
    /// More follow.
    #[serde(default)]
    pub has_more: bool,
}

/// A page of users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserList {
    /// The users.
    pub data: Vec<User>,
    /// More follow.
    #[serde(default)]
    pub has_more: bool,
}

/// Cents from an integer, an integral float, or a string holding either; a decimal string
/// is read only when it names whole cents (`"1000.0000000000"`). Dots' ledger lines carry ten
/// decimal places; a fraction of a cent is refused, never rounded.
pub(crate) fn cents<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Number(n) => match n.as_i64() {
            Some(whole) => Ok(whole),
            None => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
                .ok_or_else(|| D::Error::custom("must be a whole number of cents")),
        },
        Value::String(text) => cents_from_text(&text).map_err(D::Error::custom),
        _ => Err(D::Error::custom("must be a number of cents")),
    }
}

/// [`cents`] for a field that may be absent or `null`.
pub(crate) fn cents_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(0),
        other => cents(other).map_err(D::Error::custom),
    }
}

fn cents_from_text(text: &str) -> Result<i64, &'static str> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = whole.strip_prefix(['-', '+']).unwrap_or(whole);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a whole number of cents");
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a whole number of cents");
    }
    if fraction.bytes().any(|b| b != b'0') {
        return Err(
            "must be a whole number of cents (a fraction of a cent is not a payable amount)",
        );
    }
    whole
        .parse::<i64>()
        .map_err(|_| "is out of range for an amount in cents")
}

/// A list that Dots may also send as `null`.
pub(crate) fn list_or_null<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A text that Dots may also send as `null`.
pub(crate) fn text_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_as_numbers_or_strings() {
        for amount in [json!(-1000), json!("-1000"), json!(-1000.0)] {
            let request: CreateTransferRequest =
                serde_json::from_value(json!({"amount": amount, "user_id": "u"})).unwrap();
            assert_eq!(request.amount, -1000, "{amount}");
        }
        for bad in [
            json!("ten"),
            json!(10.5),
            json!(null),
            json!("10.5"),
            json!("1000.0000000001"),
            json!("1e3"),
            json!(""),
        ] {
            assert!(
                serde_json::from_value::<CreateTransferRequest>(
                    json!({"amount": bad, "user_id": "u"})
                )
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn ledger_lines_in_decimal_text_are_whole_cents() {
        for (text, cents) in [
            ("1000.0000000000", 1000),
            ("-1000", -1000),
            ("+25", 25),
            ("7.", 7),
        ] {
            assert_eq!(cents_from_text(text), Ok(cents), "{text}");
        }
        let line: Result<Transaction, _> = crate::parse_json_body(
            br#"{"id": 1, "amount": "12.5000000000", "created": "2024-07-11T21:17:33.950405"}"#,
        );
        let err = line.unwrap_err();
        assert_eq!(err.field, "amount");
        assert!(err.message.contains("fraction of a cent"), "{err}");
    }

    #[test]
    fn pay_user_sends_a_negative_amount_with_a_key() {
        let request = CreateTransferRequest::pay_user(UserId::from("u"), 2500, "k-1");
        assert_eq!(request.amount, -2500);
        assert_eq!(request.idempotency_key.as_deref(), Some("k-1"));
    }
}
