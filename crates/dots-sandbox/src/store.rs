//! The sandbox's in-memory data.

use dots_api::{CreateFlowRequest, Flow, FlowId, Step, StepName};
use std::sync::{Mutex, MutexGuard};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A flow plus what the sandbox needs to render its hosted page.
#[derive(Clone, Debug)]
pub struct FlowRecord {
    /// The flow as the API returns it.
    pub flow: Flow,
    /// The steps with their options, as requested.
    pub requested: Vec<Step>,
}

/// Everything the sandbox knows, behind one lock (the sandbox is not a performance target).
#[derive(Default)]
pub struct Store {
    flows: Mutex<Vec<FlowRecord>>,
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

impl Store {
    fn flows(&self) -> MutexGuard<'_, Vec<FlowRecord>> {
        self.flows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a new flow for a validated request; `origin` is the sandbox's public origin.
    pub fn create_flow(&self, request: CreateFlowRequest, origin: &str) -> Flow {
        let id = FlowId(uuid::Uuid::new_v4().to_string());
        let created = now();
        let steps = request.steps.iter().map(|s| s.name.clone()).collect();
        let mut flow = Flow::new(id.clone(), format!("{origin}/flow/{id}"), steps);
        flow.created = Some(created.clone());
        flow.updated = Some(created);
        flow.user_id = request.user_id.clone();
        flow.metadata = request.metadata.clone();
        self.flows().push(FlowRecord {
            flow: flow.clone(),
            requested: request.steps,
        });
        flow
    }

    /// A flow and its requested steps.
    pub fn flow(&self, id: &str) -> Option<FlowRecord> {
        self.flows()
            .iter()
            .find(|r| r.flow.id.as_str() == id)
            .cloned()
    }

    /// A page of flows, newest first, Dots-style cursors.
    pub fn list_flows(
        &self,
        limit: usize,
        starting_after: Option<&str>,
        ending_before: Option<&str>,
    ) -> (Vec<Flow>, bool) {
        let flows = self.flows();
        let newest_first: Vec<&Flow> = flows.iter().rev().map(|r| &r.flow).collect();
        let position = |id: &str| newest_first.iter().position(|f| f.id.as_str() == id);
        let (start, end) = match (starting_after, ending_before) {
            (Some(after), _) => {
                let start = position(after).map_or(newest_first.len(), |p| p + 1);
                (start, newest_first.len().min(start + limit))
            }
            (None, Some(before)) => {
                let end = position(before).unwrap_or(0);
                (end.saturating_sub(limit), end)
            }
            (None, None) => (0, newest_first.len().min(limit)),
        };
        let page = newest_first[start..end]
            .iter()
            .map(|f| (*f).clone())
            .collect();
        let has_more = match (starting_after, ending_before) {
            (None, Some(_)) => start > 0,
            _ => end < newest_first.len(),
        };
        (page, has_more)
    }

    /// Marks `step` of flow `id` completed. Returns the updated flow, or `None` if the flow does
    /// not exist or does not have that step.
    pub fn complete_step(&self, id: &str, step: &StepName) -> Option<Flow> {
        let mut flows = self.flows();
        let record = flows.iter_mut().find(|r| r.flow.id.as_str() == id)?;
        if !record.flow.steps.contains(step) {
            return None;
        }
        if !record.flow.completed_steps.contains(step) {
            record.flow.completed_steps.push(step.clone());
            record.flow.updated = Some(now());
        }
        Some(record.flow.clone())
    }
}
