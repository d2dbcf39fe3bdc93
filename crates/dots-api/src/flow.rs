//! The Flow object and the requests that create one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transfer::list_or_null;
use crate::{FlowId, Step, StepName, Timestamp, UserId, ValidationError};

/// Most bytes of `metadata` (as JSON) accepted in a request.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// Most steps in one flow (there are only eight distinct requestable steps).
pub const MAX_STEPS: usize = StepName::REQUESTABLE.len();

/// A Dots flow, as `POST /v2/flows` and `GET /v2/flows/{id}` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Flow {
    /// The flow's id.
    pub id: FlowId,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
    /// The user who claimed the flow; set once onboarding completes.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The steps of the flow, in order.
    #[serde(default, deserialize_with = "list_or_null")]
    pub steps: Vec<StepName>,
    /// The steps completed so far.
    #[serde(default, deserialize_with = "list_or_null")]
    pub completed_steps: Vec<StepName>,
    /// The hosted page to embed in an iframe.
    pub link: String,
    /// The payout link the flow belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_link_id: Option<String>,
    /// Whatever the app attached when creating the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl Flow {
    /// A new flow with nothing completed, no user and no timestamps.
    pub fn new(id: FlowId, link: String, steps: Vec<StepName>) -> Self {
        Self {
            id,
            created: None,
            updated: None,
            user_id: None,
            steps,
            completed_steps: Vec::new(),
            link,
            payout_link_id: None,
            metadata: None,
        }
    }

    /// Whether every step asked for has been completed (see [`StepName::all_done`]: the
    /// sign-in step, under whichever name, and steps this crate does not know neither count
    /// nor block).
    pub fn is_complete(&self) -> bool {
        StepName::all_done(&self.steps, &self.completed_steps)
    }
}

/// A page of flows from `GET /v2/flows`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowList {
    /// The flows on this page.
    pub data: Vec<Flow>,
    /// Whether more flows follow.
    #[serde(default)]
    pub has_more: bool,
}

/// The body of `POST /v2/flows`, as the server side (proxy) sends it to Dots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateFlowRequest {
    /// Steps of the flow, each at most once.
    pub steps: Vec<Step>,
    /// An existing user: the link is then pre-authenticated for 15 minutes unless `require_auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Make the user sign in even when `user_id` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_auth: Option<bool>,
    /// Hide the "Go to dashboard" button at the end of the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_go_to_dashboard_on_complete: Option<bool>,
    /// A string or an object, returned as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl CreateFlowRequest {
    /// A request for these steps with every other field unset.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            user_id: None,
            require_auth: None,
            hide_go_to_dashboard_on_complete: None,
            metadata: None,
        }
    }

    /// Checks every documented rule; the error names the first field at fault.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_with(|value| value.to_string().len())
    }

    /// [`StartFlowRequest::validate`], with the length of the metadata's JSON measured by
    /// `json_len` (a browser measures what its own `JSON.stringify` writes, so its bundle
    /// carries no JSON writer).
    pub fn validate_with(&self, json_len: impl Fn(&Value) -> usize) -> Result<(), ValidationError> {
        validate_steps(&self.steps)?;
        validate_metadata(self.metadata.as_ref(), json_len)
    }
}

/// The body the browser sends to the proxy's `POST /api/flows`.
///
/// It deliberately has no `user_id`: the proxy decides which Dots user a browser acts as.
/// Unknown fields are rejected, so a browser that tries to send one gets a clear error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StartFlowRequest {
    /// Steps of the flow, each at most once.
    pub steps: Vec<Step>,
    /// A string or an object, attached to the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Ask for the user's own sign-in even when the server knows who they are. `true` can
    /// only add to the server's policy; `false` (Dots' default) never removes what the policy
    /// requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_auth: Option<bool>,
    /// Hide the "Go to dashboard" button once the flow is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_go_to_dashboard_on_complete: Option<bool>,
}

impl StartFlowRequest {
    /// A request for these steps.
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            metadata: None,
            require_auth: None,
            hide_go_to_dashboard_on_complete: None,
        }
    }

    /// Checks every documented rule; the error names the first field at fault.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_with(|value| value.to_string().len())
    }

    /// [`StartFlowRequest::validate`], with the length of the metadata's JSON measured by
    /// `json_len` (a browser measures what its own `JSON.stringify` writes, so its bundle
    /// carries no JSON writer).
    pub fn validate_with(&self, json_len: impl Fn(&Value) -> usize) -> Result<(), ValidationError> {
        validate_steps(&self.steps)?;
        validate_metadata(self.metadata.as_ref(), json_len)
    }
}

/// What the proxy gives the browser: enough to embed and follow a flow, nothing more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BrowserFlow {
    /// The flow's id.
    pub id: FlowId,
    /// The hosted page to embed.
    pub link: String,
    /// The steps of the flow, in order.
    pub steps: Vec<StepName>,
    /// The steps completed so far.
    pub completed_steps: Vec<StepName>,
    /// When a pre-authenticated link stops working (RFC 3339), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The same expiry as seconds from the answer: what a browser should count with, since its
    /// own clock may be minutes off the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Where the browser can hear the server confirm this flow's progress as it happens: the
    /// URL of the owner's event stream (Server-Sent Events of [`crate::StreamEvent`]s), when
    /// the backend offers one. A path is relative to the endpoint that answered. It starts
    /// after the events already reflected in this answer, and for a bearer-token caller it
    /// carries a short-lived token that opens only that stream (`EventSource` cannot send an
    /// `Authorization` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
}

impl BrowserFlow {
    /// A browser view of a flow.
    pub fn new(id: FlowId, link: String, steps: Vec<StepName>, completed: Vec<StepName>) -> Self {
        Self {
            id,
            link,
            steps,
            completed_steps: completed,
            expires_at: None,
            expires_in: None,
            events: None,
        }
    }
}

impl From<Flow> for BrowserFlow {
    fn from(flow: Flow) -> Self {
        BrowserFlow::new(flow.id, flow.link, flow.steps, flow.completed_steps)
    }
}

fn validate_steps(steps: &[Step]) -> Result<(), ValidationError> {
    if steps.is_empty() {
        return Err(ValidationError::new(
            "steps",
            "at least one step is required",
        ));
    }
    if steps.len() > MAX_STEPS {
        return Err(ValidationError::new(
            "steps",
            format!("at most {MAX_STEPS} steps are allowed"),
        ));
    }
    for (index, step) in steps.iter().enumerate() {
        step.validate(index)?;
        // At most eight steps: a scan beats a hash set (and keeps hashing out of the wasm).
        if steps[..index]
            .iter()
            .any(|earlier| earlier.name == step.name)
        {
            return Err(ValidationError::new(
                format!("steps[{index}]"),
                format!("step `{}` appears more than once", step.name),
            ));
        }
    }
    Ok(())
}

fn validate_metadata(
    metadata: Option<&Value>,
    json_len: impl Fn(&Value) -> usize,
) -> Result<(), ValidationError> {
    match metadata {
        None | Some(Value::Null) => Ok(()),
        Some(value @ (Value::String(_) | Value::Object(_))) => {
            if json_len(value) > MAX_METADATA_BYTES {
                Err(ValidationError::new(
                    "metadata",
                    format!("metadata must be at most {MAX_METADATA_BYTES} bytes of JSON"),
                ))
            } else {
                Ok(())
            }
        }
        Some(_) => Err(ValidationError::new(
            "metadata",
            "metadata must be a string or an object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flow_parses_the_documented_example() {
        let flow: Flow = serde_json::from_value(json!({
            "id": "5f0f8f8f-f8f8-f8f8-f8f8-f8f8f8f8f8f8",
            "created": "2020-12-09T00:40:51.107Z",
            "updated": "2020-12-09T00:40:51.107Z",
            "user_id": null,
            "steps": ["compliance", "manage-payouts"],
            "completed_steps": [],
            "payout_link_id": null,
            "link": "https://my.senddotssandbox.com/flow/5f0f8f8f-f8f8-f8f8-f8f8-f8f8f8f8f8f8"
        }))
        .unwrap();
        assert_eq!(
            flow.steps,
            vec![StepName::Compliance, StepName::ManagePayouts]
        );
        assert!(flow.user_id.is_none());
        assert!(!flow.is_complete());
    }

    #[test]
    fn duplicate_steps_are_rejected_naming_the_second() {
        let req = StartFlowRequest::new([
            Step::new(StepName::Compliance),
            Step::new(StepName::Payout),
            Step::new(StepName::Compliance),
        ]);
        assert_eq!(req.validate().unwrap_err().field, "steps[2]");
    }

    #[test]
    fn empty_steps_and_bad_metadata_are_rejected() {
        assert_eq!(
            StartFlowRequest::new([]).validate().unwrap_err().field,
            "steps"
        );
        let mut req = StartFlowRequest::new([Step::new(StepName::Payout)]);
        req.metadata = Some(json!(42));
        assert_eq!(req.validate().unwrap_err().field, "metadata");
        req.metadata = Some(json!({"order": "o_1"}));
        assert!(req.validate().is_ok());
        req.metadata = Some(json!("x".repeat(MAX_METADATA_BYTES + 1)));
        assert_eq!(req.validate().unwrap_err().field, "metadata");
    }

    #[test]
    fn browser_requests_cannot_carry_a_user_id() {
        let err = serde_json::from_value::<StartFlowRequest>(json!({
            "steps": ["payout"],
            "user_id": "someone-else"
        }))
        .unwrap_err();
        assert!(err.to_string().contains("user_id"), "{err}");
    }
}
