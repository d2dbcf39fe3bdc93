//! The messages a Dots flow iframe posts to its parent window.
//!
//! Dots documents two: `{"height": number}` when the flow loads or changes height, and
//! `{"step": name, "status": "completed" | "completed-saved"}` after each step. Parsing is
//! total: anything else becomes [`FlowMessage::Other`] or `None`, never a panic.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::StepName;

/// The tallest height (CSS pixels) taken at face value; larger reports are clamped.
pub const MAX_REPORTED_HEIGHT: f64 = 100_000.0;

/// How a step ended, as reported in a step message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepStatus {
    /// The step was completed.
    Completed,
    /// `manage-payouts` only: saved without changing anything.
    CompletedSaved,
    /// A status this version does not know.
    Unknown(String),
}

impl StepStatus {
    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            StepStatus::Completed => "completed",
            StepStatus::CompletedSaved => "completed-saved",
            StepStatus::Unknown(s) => s,
        }
    }

    /// Parses the wire form; never fails.
    pub fn parse(s: &str) -> Self {
        match s {
            "completed" => StepStatus::Completed,
            "completed-saved" => StepStatus::CompletedSaved,
            other => StepStatus::Unknown(other.to_owned()),
        }
    }

    /// Whether the status means the step is done (`completed` or `completed-saved`).
    pub fn is_done(&self) -> bool {
        matches!(self, StepStatus::Completed | StepStatus::CompletedSaved)
    }
}

impl Serialize for StepStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StepStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(StepStatus::parse(&String::deserialize(deserializer)?))
    }
}

/// One message from a flow iframe.
///
/// `O` is what an undocumented message is kept as: a `serde_json::Value` when parsed here, or
/// whatever the caller classified with [`FlowMessage::classify`] (the component keeps the
/// browser's own object, so no JSON parser ships in its wasm).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FlowMessage<O = Value> {
    /// The flow's content height in CSS pixels (finite, non-negative, clamped).
    Height(f64),
    /// A step finished.
    Step {
        /// Which step.
        step: StepName,
        /// How it finished.
        status: StepStatus,
    },
    /// A JSON object of a kind Dots has not documented; kept for catch-all listeners.
    Other(O),
}

/// Read access to the fields of one message object, so a single classifier serves both a
/// `serde_json` object and a JavaScript object read in place.
pub trait MessageFields {
    /// Whether the object has the field at all (whatever its value, `null` included).
    fn has(&self, key: &str) -> bool;
    /// The field's value if it is a string.
    fn text(&self, key: &str) -> Option<String>;
    /// The field's value if it is a number.
    fn number(&self, key: &str) -> Option<f64>;
    /// The field's value if it is an array of strings.
    fn texts(&self, key: &str) -> Option<Vec<String>>;
}

/// A `serde_json::Value` that is an object (anything else has no fields).
impl MessageFields for Value {
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key)?.as_str().map(str::to_owned)
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }

    fn texts(&self, key: &str) -> Option<Vec<String>> {
        self.get(key)?
            .as_array()?
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect()
    }
}

impl<O: MessageFields> FlowMessage<O> {
    /// Classifies one message object: `{step, status}` (both strings) is a step message,
    /// `{height}` (a finite number ≥ 0, without `step`) a height; anything else is kept
    /// as [`FlowMessage::Other`].
    pub fn classify(object: O) -> Self {
        if let (Some(step), Some(status)) = (object.text("step"), object.text("status")) {
            return FlowMessage::Step {
                step: StepName::parse(&step),
                status: StepStatus::parse(&status),
            };
        }
        if !object.has("step") {
            if let Some(height) = object.number("height") {
                if height.is_finite() && height >= 0.0 {
                    return FlowMessage::Height(height.min(MAX_REPORTED_HEIGHT));
                }
            }
        }
        FlowMessage::Other(object)
    }

    /// The same message with an undocumented one's payload turned by `f` (e.g. an object
    /// into its JSON text).
    pub fn map_other<P>(self, f: impl FnOnce(O) -> P) -> FlowMessage<P> {
        match self {
            FlowMessage::Height(height) => FlowMessage::Height(height),
            FlowMessage::Step { step, status } => FlowMessage::Step { step, status },
            FlowMessage::Other(object) => FlowMessage::Other(f(object)),
        }
    }
}

impl FlowMessage {
    /// Classifies the `data` of a message event. `data` may be the object itself or a JSON
    /// string holding it. Returns `None` for anything that is not a JSON object.
    pub fn parse(data: &Value) -> Option<FlowMessage> {
        match data {
            Value::Object(_) => Some(Self::classify(data.clone())),
            Value::String(text) => match serde_json::from_str::<Value>(text) {
                Ok(inner @ Value::Object(_)) => Some(Self::classify(inner)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Parses a message whose `data` is a string (e.g. `JSON.stringify`-ed by the frame).
    pub fn parse_str(text: &str) -> Option<FlowMessage> {
        Self::parse(&Value::String(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_messages() {
        assert_eq!(
            FlowMessage::parse(&json!({"height": 640})),
            Some(FlowMessage::Height(640.0))
        );
        assert_eq!(
            FlowMessage::parse(&json!({"step": "background-check", "status": "completed"})),
            Some(FlowMessage::Step {
                step: StepName::BackgroundCheck,
                status: StepStatus::Completed
            })
        );
        assert_eq!(
            FlowMessage::parse(&json!({"step": "manage-payouts", "status": "completed-saved"})),
            Some(FlowMessage::Step {
                step: StepName::ManagePayouts,
                status: StepStatus::CompletedSaved
            })
        );
    }

    #[test]
    fn json_strings_are_accepted() {
        assert_eq!(
            FlowMessage::parse_str(r#"{"height": 12.5}"#),
            Some(FlowMessage::Height(12.5))
        );
    }

    #[test]
    fn junk_is_never_an_event() {
        for junk in [
            json!(null),
            json!(3),
            json!("not json"),
            json!("[1,2]"),
            json!([{"height": 3}]),
        ] {
            assert_eq!(FlowMessage::parse(&junk), None, "{junk}");
        }
        for odd in [
            json!({"height": -1}),
            json!({"height": "100"}),
            json!({"step": 3, "status": "completed"}),
            json!({"type": "webpackOk"}),
        ] {
            assert!(
                matches!(FlowMessage::parse(&odd), Some(FlowMessage::Other(_))),
                "{odd}"
            );
        }
        assert_eq!(
            FlowMessage::parse(&json!({"height": 1e12})),
            Some(FlowMessage::Height(MAX_REPORTED_HEIGHT))
        );
    }
}
