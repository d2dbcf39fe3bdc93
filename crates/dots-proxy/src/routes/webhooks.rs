//! `POST /webhooks/dots`: Dots webhooks (Svix). The raw body's signature and timestamp are
//! checked before anything is parsed (headers `svix-*` or `webhook-*`, as Svix sends either);
//! each message id takes effect once: its delivery mark
//! commits with its effects, so a crash, a timeout or an error before the commit leaves the
//! id unmarked and Dots' retry is processed in full.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use dots_api::webhook::{verify, SvixHeaders};
use dots_api::{Flow, FlowId, StepName, StreamEvent, UserId, WebhookEvent};
use serde_json::Value;
use tokio::time::Instant;

use crate::db::now_ms;
use crate::error::ProxyError;
use crate::event_log::publish;
use crate::upstream::UpstreamError;
use crate::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode, ProxyError> {
    // Every refusal in the proxy's JSON shape (the extractor's own is plain text).
    let body = body.map_err(|rejection| {
        metrics::counter!("dots_proxy_webhooks_total", "outcome" => "refused_malformed")
            .increment(1);
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ProxyError::TooLarge(crate::MAX_WEBHOOK_BYTES)
        } else {
            ProxyError::Invalid(dots_api::ValidationError::new(
                "body",
                rejection.body_text(),
            ))
        }
    })?;
    // Svix signs with its branded header names or the unbranded (Standard Webhooks) ones.
    let svix = SvixHeaders::read(|name| header(&headers, name));
    if let Err(err) = verify(
        &state.settings().webhook_secrets,
        &svix,
        &body,
        now_ms() / 1000,
    ) {
        let outcome = match err {
            dots_api::webhook::WebhookError::StaleTimestamp => "refused_stale",
            dots_api::webhook::WebhookError::MissingHeader(_) => "refused_malformed",
            _ => "refused_signature",
        };
        metrics::counter!("dots_proxy_webhooks_total", "outcome" => outcome).increment(1);
        tracing::warn!(%err, "webhook refused");
        return Err(ProxyError::Unauthorized);
    }
    metrics::gauge!("dots_proxy_last_webhook_timestamp_seconds").set((now_ms() / 1000) as f64);
    let msg_id = svix.id.expect("verified messages have an id").to_owned();
    // At least once in, exactly once in effect: the delivery is marked in the same transaction
    // as its effects, so an id is "done" only once everything it changes is committed. This
    // early look only spares Dots a call for a plain replay.
    if state.db().delivered(&msg_id).await? {
        metrics::counter!("dots_proxy_webhooks_total", "outcome" => "duplicate").increment(1);
        tracing::info!(%msg_id, "webhook already processed");
        return Ok(StatusCode::NO_CONTENT);
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        tracing::warn!(%msg_id, "webhook body is not JSON; recorded and ignored");
        Value::Null
    });
    let event = WebhookEvent::from_json(payload);
    // Calls to Dots (retries included) stop well inside the request deadline, so the answer is
    // always ours (a 502 that makes Dots retry), never a cut connection.
    let deadline = Instant::now() + state.settings().webhook_upstream_budget;
    if let Err(err) = process(&state, &msg_id, &event, deadline).await {
        // Nothing was committed: Dots' retry does it all again.
        metrics::counter!("dots_proxy_webhooks_total", "outcome" => "failed").increment(1);
        tracing::warn!(%msg_id, %err, "webhook processing failed; Dots will retry");
        return Err(err);
    }
    metrics::counter!("dots_proxy_webhooks_total", "outcome" => "processed").increment(1);
    Ok(StatusCode::NO_CONTENT)
}

async fn process(
    state: &AppState,
    msg_id: &str,
    event: &WebhookEvent,
    deadline: Instant,
) -> Result<(), ProxyError> {
    let user_event = match event {
        WebhookEvent::FlowUpdated { flow_id } => {
            return flow_updated(state, msg_id, flow_id.as_str(), deadline).await;
        }
        WebhookEvent::TransferFinished { transfer } => Some((
            transfer.user_id.as_str(),
            StreamEvent::TransferUpdated {
                transfer_id: transfer.id.clone(),
                status: transfer.status.clone(),
                amount: transfer.amount,
                kind: transfer.kind.clone(),
            },
        )),
        WebhookEvent::UserUpdated { user_id } => Some((
            user_id.as_str(),
            StreamEvent::UserUpdated {
                user_id: user_id.clone(),
            },
        )),
        // A status change without the transfer (its terminal event carries it), and kinds
        // this proxy does not follow: recorded as delivered, nothing else.
        _ => None,
    };
    let Some(mut tx) = state.db().begin_webhook(msg_id).await? else {
        return Ok(());
    };
    if let Some((user, event)) = user_event {
        for identity in tx.identities_of_user(user).await? {
            tx.push(&identity, &event).await?;
        }
    }
    publish(state, tx.commit().await?);
    Ok(())
}

async fn flow_updated(
    state: &AppState,
    msg_id: &str,
    flow_id: &str,
    deadline: Instant,
) -> Result<(), ProxyError> {
    apply_flow(state, Some(msg_id), flow_id, deadline)
        .await
        .map(drop)
}

/// What [`apply_flow`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Recorded; `finished` when every step asked for is complete.
    Recorded {
        /// Every step asked for is complete.
        finished: bool,
    },
    /// Not a flow this proxy created, or already done by another delivery.
    Nothing,
}

/// Records the flow's progress as Dots tells it now, binds its user to the identity that owns
/// it, and tells that identity's stream what changed, all in one transaction: with the
/// delivery mark of webhook `mark`, or without one (the reconciliation sweep reads the same
/// way, so binding and step events happen exactly once whichever comes first).
pub(crate) async fn apply_flow(
    state: &AppState,
    mark: Option<&str>,
    flow_id: &str,
    deadline: Instant,
) -> Result<Applied, ProxyError> {
    let db = state.db();
    let begin = || async {
        match mark {
            Some(msg_id) => db.begin_webhook(msg_id).await,
            None => db.begin_change().await.map(Some),
        }
    };
    // No in-process lock: deliveries of one flow may be handled at once here or on other
    // instances. The compare-and-set below is the guard: of two transactions that read the
    // same stored progress, one commits, the other rolls back and looks again, so each step's
    // event is stored once, in order, and progress never goes back (a stale read from Dots
    // only ever adds nothing).
    loop {
        if db.flow(flow_id).await?.is_none() {
            if let Some(msg_id) = mark {
                tracing::info!(%flow_id, "webhook for a flow this proxy did not create; ignored");
                if let Some(tx) = db.begin_webhook(msg_id).await? {
                    tx.commit().await?;
                }
            }
            return Ok(Applied::Nothing);
        }
        let flow: Flow = tokio::time::timeout_at(deadline, state.dots().retrieve_flow(flow_id))
            .await
            .map_err(|_| {
                UpstreamError::Unavailable("no answer within the webhook's time budget".into())
            })??;
        let Some(mut tx) = begin().await? else {
            return Ok(Applied::Nothing); // a concurrent duplicate got there first
        };
        let Some(stored) = tx.flow(flow_id).await? else {
            tx.commit().await?;
            return Ok(Applied::Nothing);
        };
        let newly: Vec<_> = flow
            .completed_steps
            .iter()
            .filter(|s| !stored.completed_steps.contains(s))
            .cloned()
            .collect();
        // What is stored plus what is new: an answer read before another delivery committed
        // may know fewer steps than the database does.
        let merged: Vec<_> = stored
            .completed_steps
            .iter()
            .chain(&newly)
            .cloned()
            .collect();
        let user_id = flow.user_id.as_ref().map(|u| u.to_string());
        // Complete once every step asked for is done: a sign-in step (under any of Dots'
        // names for it) or a step this proxy does not know is reported, never counted.
        let was_complete = StepName::all_done(&stored.steps, &stored.completed_steps);
        let is_complete = StepName::all_done(&stored.steps, &merged);
        if !tx
            .update_flow_if(
                flow_id,
                &stored.completed_steps,
                &merged,
                user_id.as_deref(),
                is_complete,
            )
            .await?
        {
            // Another instance recorded progress meanwhile: roll back and look again.
            drop(tx);
            continue;
        }
        let identity = &stored.identity;
        if let Some(user) = &user_id {
            if tx.bind_user(identity, user, flow_id).await? {
                tracing::info!(%flow_id, "identity bound to its Dots user");
                let event = StreamEvent::UserBound {
                    user_id: UserId::from(user.as_str()),
                    flow_id: FlowId::from(flow_id),
                };
                tx.push(identity, &event).await?;
            }
        }
        for step in &newly {
            let event = StreamEvent::StepCompleted {
                flow_id: FlowId::from(flow_id),
                step: step.clone(),
            };
            tx.push(identity, &event).await?;
        }
        if !newly.is_empty() && is_complete && !was_complete {
            let event = StreamEvent::FlowCompleted {
                flow_id: FlowId::from(flow_id),
                completed_steps: merged.clone(),
            };
            tx.push(identity, &event).await?;
        }
        publish(state, tx.commit().await?);
        return Ok(Applied::Recorded {
            finished: is_complete,
        });
    }
}
