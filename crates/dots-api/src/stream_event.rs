//! What the proxy pushes to a browser on `GET /api/events` (Server-Sent Events): one typed
//! event, named by the SSE `event:` field, its fields as the JSON of `data:`. Built by the
//! proxy, read by the component, the demo and the tests: the names live here only.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FlowId, MessageFields, StepName, TransferId, TransferStatus, TransferType, UserId};

/// An event of a browser identity's stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The identity's onboarding created a Dots user, now bound to it.
    UserBound {
        /// The Dots user.
        user_id: UserId,
        /// The flow whose onboarding created it.
        flow_id: FlowId,
    },
    /// A step of one of the identity's flows completed (confirmed with Dots).
    StepCompleted {
        /// The flow.
        flow_id: FlowId,
        /// The step.
        step: StepName,
    },
    /// Every step of one of the identity's flows is complete.
    FlowCompleted {
        /// The flow.
        flow_id: FlowId,
        /// Its completed steps.
        completed_steps: Vec<StepName>,
    },
    /// A transfer of the identity's user reached a final status.
    TransferUpdated {
        /// The transfer.
        transfer_id: TransferId,
        /// Its status.
        status: TransferStatus,
        /// Cents (negative: the app paid the user).
        amount: i64,
        /// Its kind.
        #[serde(rename = "type")]
        kind: TransferType,
    },
    /// The identity's Dots user changed (e.g. its verification or payout methods).
    UserUpdated {
        /// The Dots user.
        user_id: UserId,
    },
}

impl StreamEvent {
    /// Every event name, as the SSE `event:` field carries it.
    pub const KINDS: [&'static str; 5] = [
        "user_bound",
        "step_completed",
        "flow_completed",
        "transfer_updated",
        "user_updated",
    ];

    /// The SSE `event:` name.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamEvent::UserBound { .. } => Self::KINDS[0],
            StreamEvent::StepCompleted { .. } => Self::KINDS[1],
            StreamEvent::FlowCompleted { .. } => Self::KINDS[2],
            StreamEvent::TransferUpdated { .. } => Self::KINDS[3],
            StreamEvent::UserUpdated { .. } => Self::KINDS[4],
        }
    }

    /// The SSE `data:` (a JSON object of the fields).
    pub fn data(&self) -> String {
        let mut value = serde_json::to_value(self).expect("plain fields serialize");
        if let Value::Object(map) = &mut value {
            map.remove("kind");
        }
        value.to_string()
    }

    /// The event an SSE `event:` name and `data:` carry; `None` for a name this version does
    /// not know or data that does not fit it.
    pub fn parse(kind: &str, data: &str) -> Option<Self> {
        if !Self::KINDS.contains(&kind) {
            return None;
        }
        let value: Value = serde_json::from_str(data).ok()?;
        value
            .is_object()
            .then(|| Self::from_fields(kind, &value))
            .flatten()
    }

    /// The event an SSE `event:` name and its data's fields make (read with whatever parsed
    /// the data: the browser's own `JSON.parse` in the component, so no JSON deserializer
    /// ships in its wasm); `None` for an unknown name or a missing or mistyped field.
    pub fn from_fields(kind: &str, data: &impl MessageFields) -> Option<Self> {
        if let Some(progress) = Self::progress_from_fields(kind, data) {
            return Some(progress);
        }
        let user_id = || data.text("user_id").map(UserId::from);
        Some(match kind {
            "user_bound" => StreamEvent::UserBound {
                user_id: user_id()?,
                flow_id: FlowId::from(data.text("flow_id")?),
            },
            "transfer_updated" => StreamEvent::TransferUpdated {
                transfer_id: TransferId::from(data.text("transfer_id")?),
                status: TransferStatus::parse(&data.text("status")?),
                amount: data
                    .number("amount")
                    .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)?
                    as i64,
                kind: TransferType::parse(&data.text("type")?),
            },
            "user_updated" => StreamEvent::UserUpdated {
                user_id: user_id()?,
            },
            _ => return None,
        })
    }

    /// [`StreamEvent::from_fields`] for a flow's progress only (`step_completed`,
    /// `flow_completed`): all an embedded flow listens for, so an app that reads nothing else
    /// does not carry the other kinds' code.
    pub fn progress_from_fields(kind: &str, data: &impl MessageFields) -> Option<Self> {
        let flow_id = || data.text("flow_id").map(FlowId::from);
        Some(match kind {
            "step_completed" => StreamEvent::StepCompleted {
                flow_id: flow_id()?,
                step: StepName::parse(&data.text("step")?),
            },
            "flow_completed" => StreamEvent::FlowCompleted {
                flow_id: flow_id()?,
                completed_steps: data
                    .texts("completed_steps")?
                    .iter()
                    .map(|s| StepName::parse(s))
                    .collect(),
            },
            _ => return None,
        })
    }

    /// The flow it concerns, if any.
    pub fn flow_id(&self) -> Option<&FlowId> {
        match self {
            StreamEvent::UserBound { flow_id, .. }
            | StreamEvent::StepCompleted { flow_id, .. }
            | StreamEvent::FlowCompleted { flow_id, .. } => Some(flow_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_name_and_data() {
        let events = [
            StreamEvent::UserBound {
                user_id: UserId::from("u1"),
                flow_id: FlowId::from("f1"),
            },
            StreamEvent::StepCompleted {
                flow_id: FlowId::from("f1"),
                step: StepName::Compliance,
            },
            StreamEvent::FlowCompleted {
                flow_id: FlowId::from("f1"),
                completed_steps: vec![StepName::Compliance, StepName::ManagePayouts],
            },
            StreamEvent::TransferUpdated {
                transfer_id: TransferId::from("t1"),
                status: TransferStatus::Completed,
                amount: -2500,
                kind: TransferType::Balance,
            },
            StreamEvent::UserUpdated {
                user_id: UserId::from("u1"),
            },
        ];
        let mut kinds = Vec::new();
        for event in events {
            let data = event.data();
            assert!(
                !data.contains("\"kind\""),
                "the name is not in the data: {data}"
            );
            assert_eq!(StreamEvent::parse(event.kind(), &data), Some(event.clone()));
            kinds.push(event.kind());
        }
        assert_eq!(
            kinds,
            StreamEvent::KINDS,
            "one name per event, in KINDS' order"
        );
    }

    #[test]
    fn the_wire_shape_is_what_clients_already_read() {
        let step = StreamEvent::StepCompleted {
            flow_id: FlowId::from("f1"),
            step: StepName::ManagePayouts,
        };
        assert_eq!(step.data(), r#"{"flow_id":"f1","step":"manage-payouts"}"#);
        let transfer = StreamEvent::parse(
            "transfer_updated",
            r#"{"transfer_id":"t1","status":"completed","amount":-2500,"type":"balance"}"#,
        )
        .expect("the proxy's transfer event");
        assert_eq!(transfer.kind(), "transfer_updated");
        assert_eq!(StreamEvent::parse("user_bound", "[]"), None);
        assert_eq!(
            StreamEvent::parse("user_bound", r#"{"user_id":"u1"}"#),
            None,
            "a missing field"
        );
        assert_eq!(
            StreamEvent::parse("step_completed", r#"{"flow_id":"f1","step":7}"#),
            None,
            "a mistyped field"
        );
        assert_eq!(
            StreamEvent::parse(
                "transfer_updated",
                r#"{"transfer_id":"t1","status":"completed","amount":1.5,"type":"balance"}"#
            ),
            None,
            "cents are whole"
        );
        assert_eq!(StreamEvent::parse("something_new", "{}"), None);
    }
}
