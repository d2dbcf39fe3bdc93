//! The proxy's routes, one file per area.

pub(crate) mod events;
pub(crate) mod flows;
pub(crate) mod host;
pub(crate) mod webhooks;
