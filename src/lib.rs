//! Embed [Dots](https://dots.dev) Flows (payout onboarding, tax compliance, ID verification,
//! payout methods, payouts) in a Leptos app.
//!
//! The component asks your backend (the `dots-proxy` crate, which holds the Dots API key) for
//! a flow, frames it, and turns the flow's `postMessage`s into typed callbacks. Enable one of
//! Leptos' modes, as the app does (`csr`, `hydrate` or `ssr`); without one the crate is only
//! its framework-free [`engine`] and [`markup`] (what the `<dots-flow>` custom element uses).
//!
//! ```no_run
//! # #[cfg(feature = "leptos")] mod example {
//! use dots_flow::{DotsFlow, Step, StepName, StepCompleted};
//! use leptos::prelude::*;
//!
//! #[component]
//! fn Onboarding() -> impl IntoView {
//!     let steps = vec![Step::new(StepName::Compliance), Step::manage_payouts()];
//!     view! {
//!         <DotsFlow
//!             steps=steps
//!             on_step_complete=move |done: StepCompleted| {
//!                 leptos::logging::log!("finished {}", done.step);
//!             }
//!         />
//!     }
//! }
//! # }
//! ```
#![warn(missing_docs)]

#[cfg(feature = "leptos")]
mod early;
#[cfg(not(feature = "ssr"))]
pub mod engine;
mod events;
#[cfg(feature = "leptos")]
mod flow_frame;
#[cfg(feature = "leptos")]
mod hook;
mod json;
mod link;
pub mod markup;
mod messages;
mod options;
#[cfg(feature = "leptos")]
mod server_events;
mod stream;
#[cfg(not(feature = "ssr"))]
mod timer;

pub use dots_api::{
    BrowserFlow, FlowId, FlowMessage, FlowStyle, PayoutFeeParty, StartFlowRequest, Step, StepName,
    StepOptions, StepStatus, StreamEvent, StyleVariable, Theme, UserId,
};
#[cfg(feature = "leptos")]
pub use early::{DotsFlowEarlyMessages, DotsFlowStyles, EARLY_MESSAGES_SCRIPT, STYLESHEET};
pub use events::{FlowError, FlowEvent, FlowStatus, StepCompleted};
#[cfg(feature = "leptos")]
pub use flow_frame::{DotsFlow, DotsFlowProps};
#[cfg(feature = "leptos")]
pub use hook::{use_dots_flow, use_dots_flow_with_options, UseDotsFlowOptions, UseDotsFlowReturn};
pub use link::{
    parse_flow, prefetch_flow, request_flow, request_flow_with, Credentials, FlowFuture, FlowSource,
};
pub use markup::{
    chrome_css, Label, Labels, CHROME_PROPERTIES, DEFAULT_HEIGHT, DEFAULT_MAX_HEIGHT,
    DEFAULT_MIN_HEIGHT, HEIGHT_TOLERANCE,
};
pub use messages::{
    accept as accept_message, link_origin, parse_data as parse_message_data, FrameMessage,
};
pub use options::FlowOptions;
#[cfg(feature = "leptos")]
pub use server_events::{
    use_dots_events, use_dots_events_with_options, UseDotsEventsOptions, UseDotsEventsReturn,
};
pub use stream::StreamState;
