//! Browser-facing routes.

pub(crate) mod flows;
