//! Dots API wire types, shared by the `dots-flow` component, the proxy and the local sandbox.
//!
//! Nothing here does I/O: these are the shapes that cross the wire (flows, steps, the
//! messages a flow iframe posts to its parent, errors), with the validation rules that every
//! side applies the same way.
//!
//! ```
//! use dots_api::{CreateFlowRequest, Step, StepName};
//!
//! let request = CreateFlowRequest::new([Step::new(StepName::Compliance), Step::redirect("https://example.com/done")]);
//! request.validate().expect("a valid request");
//! let json = serde_json::to_value(&request).unwrap();
//! assert_eq!(json["steps"][0], "compliance");
//! assert_eq!(json["steps"][1]["redirect_url"], "https://example.com/done");
//! ```
#![warn(missing_docs)]

mod enums;
mod error;
mod flow;
mod ids;
mod message;
mod step;
mod stream_event;
mod style;
mod timestamp;
mod transfer;
mod user;
#[cfg(feature = "svix")]
pub mod webhook;
mod webhook_event;

pub use error::{parse_json_body, ApiError, ProxyErrorBody, ValidationError};
pub use flow::{BrowserFlow, CreateFlowRequest, Flow, FlowList, StartFlowRequest};
pub use ids::{FlowId, TransferId, UserId};
pub use message::{FlowMessage, MessageFields, StepStatus, MAX_REPORTED_HEIGHT};
pub use step::{is_dots_redirect_url, PayoutFeeParty, Step, StepName, StepOptions};
pub use stream_event::StreamEvent;
pub use style::{
    decode_uri_component, encode_uri_component, link_with_styles, FlowStyle, StyleVariable,
    StyleVariables, Theme,
};
pub use timestamp::{Timestamp, TimestampError};
pub use transfer::{
    CreateTransferRequest, StatusChange, Transaction, Transfer, TransferList, TransferStatus,
    TransferType, UserList,
};
pub use user::{
    AddPayoutMethodRequest, Address, BackgroundCheck, BackgroundCheckStatus, Compliance,
    ComplianceFlags, ComplianceRequest, CreateUserRequest, OfacStatus, PayoutMethod, PhoneNumber,
    TaxIdVerification, User, UserStatus, W9Form, W9Summary, Wallet,
};
pub use webhook_event::WebhookEvent;
