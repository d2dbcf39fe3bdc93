//! What the component reports: its status, typed events and typed errors.

use dots_api::{FlowId, StepName, StepStatus, StreamEvent, ValidationError};
use std::fmt;

/// Where an embedded flow stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlowStatus {
    /// Asking the host backend for a flow, or waiting for the frame's first message.
    #[default]
    Loading,
    /// The frame has reported its height: the flow is showing and the user can interact.
    Ready,
    /// Every step of the flow has been reported complete.
    Completed,
    /// The pre-authenticated link expired and could not be refreshed. A retry button is shown.
    Expired,
    /// Something failed; see the `on_error` callback. A retry button is shown.
    Error,
}

impl FlowStatus {
    /// A lowercase name, used as the `data-status` attribute of the component's root.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowStatus::Loading => "loading",
            FlowStatus::Ready => "ready",
            FlowStatus::Completed => "completed",
            FlowStatus::Expired => "expired",
            FlowStatus::Error => "error",
        }
    }
}

/// A step the flow reported finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepCompleted {
    /// Which step.
    pub step: StepName,
    /// `completed`, or `completed-saved` for a `manage-payouts` step saved unchanged.
    pub status: StepStatus,
}

/// Everything that happens to an embedded flow, for the catch-all `on_event` callback.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FlowEvent {
    /// The host backend returned a flow.
    Created {
        /// Its id.
        id: FlowId,
        /// Its link (without the `?styles=` query).
        link: String,
    },
    /// The frame has reported its height: the flow is showing.
    Ready,
    /// The frame reported its content height (CSS pixels, before min/max clamping).
    Height(f64),
    /// The frame reported a finished step.
    StepCompleted(StepCompleted),
    /// Every step of the flow is complete.
    FlowCompleted {
        /// The flow's id.
        id: FlowId,
    },
    /// The server confirmed these steps complete (it may know of steps whose message was lost).
    ServerConfirmed {
        /// The steps the server reports complete.
        completed_steps: Vec<StepName>,
    },
    /// The server's event stream told of this flow (see `use_dots_events`).
    Server(StreamEvent),
    /// The link was about to expire and a fresh one replaced it; completed steps are kept.
    LinkRefreshed {
        /// The new flow's id.
        id: FlowId,
    },
    /// The link expired and could not be refreshed.
    Expired,
    /// A message from the flow frame of a kind Dots has not documented, as JSON text.
    Unknown(String),
    /// Something failed.
    Error(FlowError),
}

/// Why a flow could not be shown or followed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FlowError {
    /// The steps given to the component break one of Dots' rules; no request was made.
    InvalidSteps(ValidationError),
    /// The host backend could not be reached.
    BackendUnreachable(String),
    /// The host backend answered with an error.
    BackendRejected {
        /// HTTP status.
        status: u16,
        /// The backend's error code (e.g. `invalid_request`, `upstream_unavailable`).
        code: String,
        /// The backend's message.
        message: String,
        /// The request field at fault, if the backend named one.
        field: Option<String>,
        /// What Dots itself said when it refused the request (`dots_error_code`, e.g.
        /// `transaction-insufficient-funds` or `invalid-input`), apart from the backend's code.
        dots_code: Option<String>,
    },
    /// The backend answered 2xx with something that is not a flow.
    InvalidResponse(String),
    /// The flow's link is not an absolute http(s) URL, so it is never put in the iframe.
    InvalidLink(String),
    /// The frame did not report its height within the load timeout.
    FrameTimeout,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::InvalidSteps(err) => write!(f, "invalid flow steps: {err}"),
            FlowError::BackendUnreachable(why) => write!(f, "could not reach the server: {why}"),
            FlowError::BackendRejected { message, .. } => write!(f, "{message}"),
            FlowError::InvalidResponse(why) => {
                write!(f, "unexpected answer from the server: {why}")
            }
            FlowError::InvalidLink(link) => {
                write!(f, "the flow link is not a valid http(s) URL: {link}")
            }
            FlowError::FrameTimeout => write!(f, "the payout form did not load in time"),
        }
    }
}

impl std::error::Error for FlowError {}
