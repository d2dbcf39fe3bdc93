//! `POST /webhooks/dots`: Dots webhooks (Svix). The raw body's signature and timestamp are
//! checked before anything is parsed; each `svix-id` is processed once.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use dots_api::webhook::verify;
use dots_api::Flow;
use serde_json::{json, Value};

use crate::db::now_ms;
use crate::error::ProxyError;
use crate::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ProxyError> {
    let msg_id = header(&headers, "svix-id");
    if let Err(err) = verify(
        &state.settings().webhook_secrets,
        msg_id,
        header(&headers, "svix-timestamp"),
        header(&headers, "svix-signature"),
        &body,
        now_ms() / 1000,
    ) {
        tracing::warn!(%err, "webhook refused");
        return Err(ProxyError::Unauthorized);
    }
    let msg_id = msg_id.expect("verified messages have an id").to_owned();
    let db = state.db();
    if !db.first_delivery(&msg_id).await? {
        tracing::info!(%msg_id, "webhook already processed");
        return Ok(StatusCode::NO_CONTENT);
    }
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            tracing::warn!(%msg_id, "webhook body is not JSON; ignored");
            return Ok(StatusCode::NO_CONTENT);
        }
    };
    if let Err(err) = process(&state, &payload).await {
        // Let Dots retry: forget the id, answer 5xx.
        db.forget_delivery(&msg_id).await?;
        tracing::warn!(%msg_id, %err, "webhook processing failed; Dots will retry");
        return Err(err);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn process(state: &AppState, payload: &Value) -> Result<(), ProxyError> {
    if payload["event"] == "flow.updated" {
        if let Some(flow_id) = payload["flow_id"].as_str() {
            return flow_updated(state, flow_id).await;
        }
    }
    if let Some(transfer) = payload.get("transfer") {
        let user = transfer["user_id"].as_str().unwrap_or_default();
        let data = json!({"transfer_id": transfer["id"], "status": transfer["status"], "amount": transfer["amount"], "type": transfer["type"]});
        for identity in state.db().identities_of_user(user).await? {
            state
                .hub()
                .publish(state.db(), &identity, "transfer_updated", data.clone())
                .await?;
        }
        return Ok(());
    }
    if let (Some(user), None) = (payload["user_id"].as_str(), payload.get("event")) {
        for identity in state.db().identities_of_user(user).await? {
            state
                .hub()
                .publish(
                    state.db(),
                    &identity,
                    "user_updated",
                    json!({"user_id": user}),
                )
                .await?;
        }
    }
    Ok(())
}

/// Records the flow's progress, binds its user to the identity that owns it, and tells that
/// identity's stream what changed.
async fn flow_updated(state: &AppState, flow_id: &str) -> Result<(), ProxyError> {
    let db = state.db();
    // One flow's webhooks are handled one at a time, so its events keep their order.
    let _guard = state.lock_flow(flow_id).await;
    let (stored, flow, newly, user_id) = loop {
        let Some(stored) = db.flow(flow_id).await? else {
            tracing::info!(%flow_id, "webhook for a flow this proxy did not create; ignored");
            return Ok(());
        };
        let flow: Flow = state.dots().retrieve_flow(flow_id).await?;
        let newly: Vec<_> = flow
            .completed_steps
            .iter()
            .filter(|s| !stored.completed_steps.contains(s))
            .cloned()
            .collect();
        let user_id = flow.user_id.as_ref().map(|u| u.to_string());
        // Compare-and-set: another proxy instance may have recorded progress meanwhile.
        if db
            .update_flow_if(
                flow_id,
                &stored.completed_steps,
                &flow.completed_steps,
                user_id.as_deref(),
            )
            .await?
        {
            break (stored, flow, newly, user_id);
        }
    };
    let identity = &stored.identity;
    if let Some(user) = &user_id {
        if db.bind_user(identity, user).await? {
            tracing::info!(%flow_id, "identity bound to its Dots user");
            state
                .hub()
                .publish(
                    db,
                    identity,
                    "user_bound",
                    json!({"user_id": user, "flow_id": flow_id}),
                )
                .await?;
        }
    }
    for step in &newly {
        state
            .hub()
            .publish(
                db,
                identity,
                "step_completed",
                json!({"flow_id": flow_id, "step": step}),
            )
            .await?;
    }
    let was_complete = stored
        .steps
        .iter()
        .all(|s| stored.completed_steps.contains(s));
    if !newly.is_empty() && flow.is_complete() && !was_complete {
        state
            .hub()
            .publish(
                db,
                identity,
                "flow_completed",
                json!({"flow_id": flow_id, "completed_steps": flow.completed_steps}),
            )
            .await?;
    }
    Ok(())
}
