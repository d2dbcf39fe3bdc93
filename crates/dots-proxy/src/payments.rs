//! Paying a user, once per host reference, for ever.
//!
//! Dots remembers an idempotency key for 24 hours; a host retries for as long as it likes. So
//! the proxy keeps the reference itself: the key is stored before the first call, the transfer
//! id once Dots answers, and the reference travels in the transfer's metadata. A reference
//! that has a transfer returns that transfer without creating another; one whose answer was
//! lost (a crash or a cut connection between Dots' answer and our commit) is looked up among
//! the user's transfers before anything new is created.

use dots_api::{CreateTransferRequest, Transfer, UserId, ValidationError};
use serde_json::Value;

use crate::db::PaymentRow;
use crate::error::ProxyError;
use crate::upstream::UpstreamError;
use crate::AppState;

/// The metadata key that carries the host's reference on each transfer the proxy creates.
pub const REFERENCE_METADATA_KEY: &str = "dots_flow_reference";

/// Pages of the user's transfers searched for a lost answer (100 each, newest first).
const RECONCILE_PAGES: usize = 20;

/// Pays `user_id` `amount_cents` once per `reference` (see the module docs). `metadata`, if
/// any, must be an object; the reference is added to it.
pub async fn pay(
    state: &AppState,
    user_id: &str,
    amount_cents: i64,
    reference: &str,
    metadata: Option<Value>,
) -> Result<Transfer, ProxyError> {
    let result = pay_once(state, user_id, amount_cents, reference, metadata).await;
    let outcome = match &result {
        Ok((_, outcome)) => *outcome,
        Err(ProxyError::PaymentUnconfirmed { .. }) => "unconfirmed",
        Err(ProxyError::Invalid(_) | ProxyError::Conflict(_)) => "refused",
        Err(_) => "failed",
    };
    metrics::counter!("dots_proxy_payments_total", "outcome" => outcome).increment(1);
    result.map(|(transfer, _)| transfer)
}

/// [`pay`], saying how it went: `paid`, `already_paid` or `reconciled`.
async fn pay_once(
    state: &AppState,
    user_id: &str,
    amount_cents: i64,
    reference: &str,
    metadata: Option<Value>,
) -> Result<(Transfer, &'static str), ProxyError> {
    let mut metadata = match metadata {
        None => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(ValidationError::new("metadata", "must be an object").into()),
    };
    if metadata.contains_key(REFERENCE_METADATA_KEY) {
        return Err(ValidationError::new(
            format!("metadata.{REFERENCE_METADATA_KEY}"),
            "is set by the proxy from `reference`",
        )
        .into());
    }
    let amount = u32::try_from(amount_cents)
        .map_err(|_| ValidationError::new("amount_cents", "is too large"))?;
    let fresh_key = uuid::Uuid::new_v4().to_string();
    let payment = state
        .db()
        .reserve_payment(&PaymentRow {
            reference: reference.to_owned(),
            idempotency_key: fresh_key.clone(),
            user_id: user_id.to_owned(),
            amount: amount_cents,
            transfer_id: None,
        })
        .await?;
    if payment.user_id != user_id || payment.amount != amount_cents {
        return Err(ProxyError::Conflict(format!(
            "reference `{reference}` was already used for another payment"
        )));
    }
    // Paid before: that transfer, never a second one.
    if let Some(transfer_id) = &payment.transfer_id {
        tracing::info!(%transfer_id, "payment reference already paid");
        return match state.dots().retrieve_transfer(transfer_id).await {
            Ok(transfer) => Ok((transfer, "already_paid")),
            Err(UpstreamError::Unreadable { detail, .. }) => Err(ProxyError::PaymentUnconfirmed {
                transfer_id: Some(transfer_id.clone()),
                detail,
            }),
            Err(err) => Err(err.into()),
        };
    }
    // Tried before without a recorded answer: Dots may have paid. Look before paying.
    if payment.idempotency_key != fresh_key {
        if let Some(transfer) = find_by_reference(state, user_id, reference).await? {
            tracing::info!(transfer_id = %transfer.id, "payment reconciled with Dots");
            state
                .db()
                .complete_payment(reference, transfer.id.as_str())
                .await?;
            return Ok((transfer, "reconciled"));
        }
    }
    metadata.insert(REFERENCE_METADATA_KEY.to_owned(), reference.into());
    let mut request = CreateTransferRequest::pay_user(
        UserId(user_id.to_owned()),
        amount,
        payment.idempotency_key,
    );
    request.metadata = Some(Value::Object(metadata));
    let transfer = match state.dots().create_transfer(&request).await {
        Ok(transfer) => transfer,
        // Dots said yes in words we could not read: the money may have moved. Keep what the
        // answer says of it (its id), and tell the host so, not "unavailable". A retry of
        // this reference finds the transfer (by id, or among the user's transfers by its
        // reference) and never creates another.
        Err(UpstreamError::Unreadable { detail, id, .. }) => {
            if let Some(transfer_id) = &id {
                state.db().complete_payment(reference, transfer_id).await?;
            }
            tracing::warn!(transfer_id = ?id, %detail, "payment made, Dots' answer unreadable");
            return Err(ProxyError::PaymentUnconfirmed {
                transfer_id: id,
                detail,
            });
        }
        Err(err) => return Err(err.into()),
    };
    state
        .db()
        .complete_payment(reference, transfer.id.as_str())
        .await?;
    tracing::info!(transfer_id = %transfer.id, "user paid");
    Ok((transfer, "paid"))
}

/// The user's transfer that carries `reference` in its metadata, if Dots has one.
async fn find_by_reference(
    state: &AppState,
    user_id: &str,
    reference: &str,
) -> Result<Option<Transfer>, ProxyError> {
    let mut after: Option<String> = None;
    for _ in 0..RECONCILE_PAGES {
        let page = state
            .dots()
            .list_user_transfers(user_id, after.as_deref())
            .await?;
        if let Some(found) = page.data.iter().find(|t| {
            t.metadata
                .as_ref()
                .and_then(|m| m.get(REFERENCE_METADATA_KEY))
                .and_then(Value::as_str)
                == Some(reference)
        }) {
            return Ok(Some(found.clone()));
        }
        match (page.has_more, page.data.last()) {
            (true, Some(last)) => after = Some(last.id.as_str().to_owned()),
            _ => return Ok(None),
        }
    }
    // Never pay on a guess: a history this long cannot be searched here.
    Err(ProxyError::Conflict(format!(
        "reference `{reference}` has an unrecorded earlier attempt and the user's transfer history is too long to check; reconcile it before retrying"
    )))
}
