//! What a Dots webhook says, typed: the payloads of Dots' webhook reference, built by the
//! sandbox and read by the proxy (one home, instead of `json!` on one side and string probing
//! on the other).
//!
//! Svix sends no event type with a message, so a payload is recognized by its documented
//! shape: an `event` field (`flow.updated`, `transfer.updated`, ...), a complete `transfer`
//! (`transfer.completed` / `transfer.failed`), or a `user_id` (the `user.*` events: Dots'
//! reference shows it bare, and a payload that also names its `user.*` event or carries
//! `metadata` is the same event). Anything else is kept as [`WebhookEvent::Unknown`], so a new kind of event from
//! Dots never fails a delivery.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FlowId, Transfer, TransferId, UserId};

/// One webhook payload.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `flow.updated`: the user completed steps of a flow (or signed in through it).
    FlowUpdated {
        /// The flow.
        flow_id: FlowId,
    },
    /// `transfer.updated`: a transfer's status changed.
    TransferUpdated {
        /// The transfer.
        transfer_id: TransferId,
    },
    /// `transfer.completed` or `transfer.failed`: a transfer reached its terminal state; the
    /// payload carries the whole transfer.
    TransferFinished {
        /// The transfer, as Dots reports it.
        transfer: Box<Transfer>,
    },
    /// One of the `user.updated.*` events: something about the user changed (payout method,
    /// ID verification, background check, ...).
    UserUpdated {
        /// The user.
        user_id: UserId,
    },
    /// A payload of another shape, kept as it came.
    Unknown(Value),
}

/// The wire shapes, tried in order.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Flow {
        event: FlowEventName,
        flow_id: FlowId,
    },
    TransferUpdated {
        event: TransferEventName,
        transfer_id: TransferId,
    },
    TransferFinished {
        transfer: Box<Transfer>,
        transfer_id: TransferId,
    },
    User {
        user_id: UserId,
        #[serde(default, skip_serializing)]
        event: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
enum FlowEventName {
    #[serde(rename = "flow.updated")]
    Updated,
}

#[derive(Serialize, Deserialize)]
enum TransferEventName {
    #[serde(rename = "transfer.updated")]
    Updated,
}

impl WebhookEvent {
    /// Reads a payload (never fails: an unrecognized one is [`WebhookEvent::Unknown`]).
    pub fn from_json(payload: Value) -> Self {
        // A `user_id` is a `user.*` event unless the payload says it is another kind, or it
        // names another object (a payout link's `claimed_user_id` comes with its own id).
        let user_event = |event: &Option<String>| {
            event.as_deref().is_none_or(|e| e.starts_with("user."))
                && payload.as_object().is_some_and(|o| {
                    !["flow_id", "transfer_id", "payout_link_id", "id"]
                        .iter()
                        .any(|key| o.contains_key(*key))
                })
        };
        match serde_json::from_value::<Wire>(payload.clone()) {
            Ok(Wire::Flow { flow_id, .. }) => WebhookEvent::FlowUpdated { flow_id },
            Ok(Wire::TransferUpdated { transfer_id, .. }) => {
                WebhookEvent::TransferUpdated { transfer_id }
            }
            Ok(Wire::TransferFinished { transfer, .. }) => {
                WebhookEvent::TransferFinished { transfer }
            }
            Ok(Wire::User { user_id, event }) if user_event(&event) => {
                WebhookEvent::UserUpdated { user_id }
            }
            _ => WebhookEvent::Unknown(payload),
        }
    }

    /// The payload as Dots sends it.
    pub fn to_json(&self) -> Value {
        let wire = match self {
            WebhookEvent::FlowUpdated { flow_id } => Wire::Flow {
                event: FlowEventName::Updated,
                flow_id: flow_id.clone(),
            },
            WebhookEvent::TransferUpdated { transfer_id } => Wire::TransferUpdated {
                event: TransferEventName::Updated,
                transfer_id: transfer_id.clone(),
            },
            WebhookEvent::TransferFinished { transfer } => Wire::TransferFinished {
                transfer_id: transfer.id.clone(),
                transfer: transfer.clone(),
            },
            WebhookEvent::UserUpdated { user_id } => Wire::User {
                user_id: user_id.clone(),
                event: None,
            },
            WebhookEvent::Unknown(value) => return value.clone(),
        };
        serde_json::to_value(wire).expect("webhook payloads serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_payloads_read_and_write_back() {
        // Shapes from Dots' webhook reference.
        let flow =
            json!({"event": "flow.updated", "flow_id": "d48d42ca-efdf-4b41-b3a7-aa3cdd6c129f"});
        let transfer_updated = json!({"event": "transfer.updated", "transfer_id": "68db1237-3953-47b0-86aa-739a201dcb16"});
        let finished = json!({"transfer": {
            "amount": 123, "created": "2023-11-07T05:31:56Z", "external_data": {"platform": "ach"},
            "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status": "completed",
            "transactions": [{"amount": 123, "created": "2023-11-07T05:31:56Z", "id": 123, "type": "balance"}],
            "type": "refill", "user_id": "3c90c3cc-0d44-4b50-8888-8dd25736052b"
        }, "transfer_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"});
        let user = json!({"user_id": "some string"});
        for payload in [&flow, &transfer_updated, &user] {
            let event = WebhookEvent::from_json(payload.clone());
            assert!(!matches!(event, WebhookEvent::Unknown(_)), "{payload}");
            assert_eq!(&event.to_json(), payload, "written back as Dots sends it");
        }
        assert_eq!(
            WebhookEvent::from_json(flow),
            WebhookEvent::FlowUpdated {
                flow_id: FlowId("d48d42ca-efdf-4b41-b3a7-aa3cdd6c129f".into())
            }
        );
        match WebhookEvent::from_json(finished) {
            WebhookEvent::TransferFinished { transfer } => {
                assert_eq!(
                    transfer.user_id.as_str(),
                    "3c90c3cc-0d44-4b50-8888-8dd25736052b"
                );
                assert_eq!(transfer.amount, 123);
            }
            other => panic!("a finished transfer, not {other:?}"),
        }
    }

    #[test]
    fn user_payloads_that_name_their_event_or_carry_metadata_are_user_events() {
        for payload in [
            json!({"user_id": "u-1", "event": "user.updated.payout_method"}),
            json!({"user_id": "u-1", "metadata": {"internal_id": "x"}}),
            json!({"user_id": "u-1", "event": "user.updated.ide_verified", "metadata": null}),
        ] {
            assert_eq!(
                WebhookEvent::from_json(payload.clone()),
                WebhookEvent::UserUpdated {
                    user_id: UserId::from("u-1")
                },
                "{payload}"
            );
        }
    }

    #[test]
    fn other_shapes_are_unknown_not_errors() {
        for payload in [
            json!({"app_id": "5d9278aa"}),
            json!({"event": "flow.transaction_updated", "flow_id": "d48d"}),
            json!({"event": "payout_link.updated", "payout_link_id": "1324"}),
            json!({"user_id": "u", "event": "something.new"}),
            json!({"user_id": "u", "flow_id": "f"}),
            json!("text"),
            Value::Null,
        ] {
            assert_eq!(
                WebhookEvent::from_json(payload.clone()),
                WebhookEvent::Unknown(payload)
            );
        }
    }
}
