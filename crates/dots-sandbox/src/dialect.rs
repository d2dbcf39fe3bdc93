//! How the sandbox speaks: which of the forms Dots is documented to use it answers in, how its
//! hosted pages report their height, what they call the sign-in step, and which Svix header
//! names its webhooks carry. Set at start ([`crate::SandboxConfig::behaviour`]) and changed at
//! run time with `PUT /_sandbox/behaviour`; a reset goes back to the start's settings.
//!
//! Dots' guides show answers captured from its real service that differ from its OpenAPI
//! schema. [`Dialect::Captured`], the default, answers as those captures do:
//!
//! | what | schema (`v2.yaml`) | captured (the guides) |
//! |---|---|---|
//! | times | `2024-07-11T21:10:30.846Z` | `2024-07-11T21:10:30.846081` (no offset) |
//! | a transfer's `amount` | `-1000` | `"-1000"` |
//! | a ledger line's `amount` | `1000` | `"1000.0000000000"` |
//! | a transfer's `status_history` stamps | (not in the schema) | `Thu, 11 Jul 2024 21:17:33 GMT` |
//! | a created user | with `wallet` and `compliance` | with `country` and `verified`, without `wallet` and `compliance` |
//! | a flow | `payout_link_id`, `metadata` left out when empty | both present, `null` |
//!
//! [`Dialect::Schema`] keeps the schema's forms, for conformance checks against `v2.yaml`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use dots_api::webhook::HeaderNames;
use dots_api::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::macros::format_description;

use crate::SandboxState;

/// The forms the API answers in (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// As the answers captured from Dots' service in its guides.
    #[default]
    Captured,
    /// As Dots' OpenAPI schema (`v2.yaml`) describes them.
    Schema,
}

/// When the hosted pages post `{height}` to their parent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[clap(rename_all = "kebab-case")]
pub enum Heights {
    /// On load and whenever the content's height changes.
    #[default]
    EveryResize,
    /// Once, when the flow first loads (as Dots' advanced-features guide words it).
    FirstLoad,
}

/// What the hosted pages and the flow object call the sign-in step Dots adds to a flow made
/// without a user. Dots' pages use each of these names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[clap(rename_all = "kebab-case")]
pub enum SignInStep {
    /// `onboarding` in its message; not listed in the flow's `steps` (this sandbox's old way).
    #[default]
    Onboarding,
    /// `onboard`, as the payouts guide's step table names it; listed in `steps`.
    Onboard,
    /// `authorization`, as an earlier version of that table named it; listed in `steps`.
    Authorization,
    /// `authentication` and then `onboarding`, as the Flow object's page lists them: both in
    /// `steps`, both posted.
    AuthenticationOnboarding,
}

impl SignInStep {
    /// The names the flow lists in `steps` (and completes) for its sign-in.
    pub fn listed(self) -> &'static [&'static str] {
        match self {
            SignInStep::Onboarding => &[],
            SignInStep::Onboard => &["onboard"],
            SignInStep::Authorization => &["authorization"],
            SignInStep::AuthenticationOnboarding => &["authentication", "onboarding"],
        }
    }

    /// The names the page posts in `{step, status}` once the user signed in.
    pub fn posted(self) -> &'static [&'static str] {
        match self {
            SignInStep::Onboarding => &["onboarding"],
            other => other.listed(),
        }
    }
}

/// The webhook header names, as Svix may send either set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum WebhookHeaders {
    /// `svix-id`, `svix-timestamp`, `svix-signature`.
    #[default]
    Svix,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Webhook,
}

impl From<WebhookHeaders> for HeaderNames {
    fn from(headers: WebhookHeaders) -> Self {
        match headers {
            WebhookHeaders::Svix => HeaderNames::Branded,
            WebhookHeaders::Webhook => HeaderNames::Unbranded,
        }
    }
}

/// Everything about how the sandbox speaks (see the module docs). Each field may be left out
/// of a `PUT /_sandbox/behaviour`, which changes only what it names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// The forms the API answers in.
    pub dialect: Dialect,
    /// When the hosted pages post `{height}`.
    pub heights: Heights,
    /// The sign-in step's name(s).
    pub sign_in_step: SignInStep,
    /// The webhook header names.
    pub webhook_headers: WebhookHeaders,
}

impl Behaviour {
    /// The settings named by `DOTS_SANDBOX_DIALECT`, `DOTS_SANDBOX_HEIGHTS`,
    /// `DOTS_SANDBOX_SIGN_IN_STEP` and `DOTS_SANDBOX_WEBHOOK_HEADERS` (the defaults for those
    /// unset), as the standalone sandbox reads them: for a sandbox started in-process. The
    /// error names the variable and the values it takes.
    pub fn from_env() -> Result<Self, String> {
        fn read<T: clap::ValueEnum + Default>(name: &str) -> Result<T, String> {
            match std::env::var(name) {
                Err(_) => Ok(T::default()),
                Ok(value) => T::from_str(value.trim(), true).map_err(|_| {
                    let names: Vec<String> = T::value_variants()
                        .iter()
                        .filter_map(|v| v.to_possible_value())
                        .map(|v| v.get_name().to_owned())
                        .collect();
                    format!("{name}: `{value}` is not one of {}", names.join(", "))
                }),
            }
        }
        Ok(Self {
            dialect: read("DOTS_SANDBOX_DIALECT")?,
            heights: read("DOTS_SANDBOX_HEIGHTS")?,
            sign_in_step: read("DOTS_SANDBOX_SIGN_IN_STEP")?,
            webhook_headers: read("DOTS_SANDBOX_WEBHOOK_HEADERS")?,
        })
    }
}

/// Middleware on the API routes: a successful JSON answer is rewritten into the captured
/// dialect when that is the one spoken. Errors are left as they are.
pub(crate) async fn speak(
    State(state): State<SandboxState>,
    request: Request,
    next: Next,
) -> Response {
    if state.behaviour().dialect != Dialect::Captured {
        return next.run(request).await;
    }
    let created_user = request.method() == Method::POST && request.uri().path() == "/v2/users";
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if created_user {
        as_created_user(&mut value);
    }
    captured(&mut value);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&value).unwrap_or_default()),
    )
}

/// The answer of `POST /v2/users` as Dots' guide shows it: `country` and `verified`, no
/// `wallet` or `compliance` yet.
fn as_created_user(user: &mut Value) {
    let Some(object) = user.as_object_mut() else {
        return;
    };
    object.remove("wallet");
    object.remove("compliance");
    let verified = object.get("status").and_then(Value::as_str) == Some("verified");
    object.insert("verified".into(), Value::Bool(verified));
    let country = match object
        .get("phone_number")
        .and_then(|p| p.get("country_code"))
        .and_then(Value::as_str)
    {
        Some("1") | None => "US",
        Some("44") => "GB",
        Some("52") => "MX",
        Some(_) => "ZZ",
    };
    object.insert("country".into(), Value::String(country.into()));
    object
        .entry("metadata")
        .and_modify(|m| {
            if m.is_null() {
                *m = Value::Object(Default::default());
            }
        })
        .or_insert_with(|| Value::Object(Default::default()));
}

/// Rewrites every object in `value` into the captured dialect (see the module docs).
pub fn captured(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(captured),
        Value::Object(object) => {
            let is_transfer = object.contains_key("transactions") && object.contains_key("amount");
            let is_flow = object.contains_key("link") && object.contains_key("steps");
            for (key, field) in object.iter_mut() {
                match (key.as_str(), &*field) {
                    ("created" | "updated", Value::String(text)) => {
                        if let Some(local) = without_offset(text) {
                            *field = Value::String(local);
                        }
                    }
                    ("amount", Value::Number(n)) if is_transfer => {
                        *field = Value::String(n.to_string());
                    }
                    ("transactions", _) => {
                        if let Value::Array(lines) = field {
                            for line in lines {
                                ledger_line(line);
                            }
                        }
                    }
                    ("status_history", _) => {
                        if let Value::Array(entries) = field {
                            for entry in entries {
                                if let Some(Value::String(text)) = entry.get_mut("timestamp") {
                                    if let Some(date) = http_date(text) {
                                        *text = date;
                                    }
                                }
                            }
                        }
                    }
                    _ => captured(field),
                }
            }
            if is_flow {
                object.entry("payout_link_id").or_insert(Value::Null);
                object.entry("metadata").or_insert(Value::Null);
            }
        }
        _ => {}
    }
}

fn ledger_line(line: &mut Value) {
    captured(line);
    if let Some(field) = line.get_mut("amount") {
        if let Some(cents) = field.as_i64() {
            *field = Value::String(format!("{cents}.0000000000"));
        }
    }
}

/// `2024-07-11T21:10:30.846Z` → `2024-07-11T21:10:30.846000`.
fn without_offset(text: &str) -> Option<String> {
    let at = Timestamp::parse(text).ok()?.to_offset_date_time();
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    ))
    .ok()
}

/// `2024-07-11T21:17:33Z` → `Thu, 11 Jul 2024 21:17:33 GMT`.
fn http_date(text: &str) -> Option<String> {
    let at = Timestamp::parse(text).ok()?.to_offset_date_time();
    at.format(format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_transfer_in_the_captured_dialect_reads_back_the_same() {
        let created = Timestamp::from_unix_ms(1_720_732_653_959);
        let mut transfer = dots_api::Transfer::new(
            "t-1".into(),
            created,
            "u-1".into(),
            dots_api::TransferStatus::Completed,
            dots_api::TransferType::Balance,
            -1000,
        );
        transfer.status_history = vec![dots_api::StatusChange::new(
            dots_api::TransferStatus::Completed,
            Timestamp::from_unix_ms(1_720_732_653_000),
        )];
        transfer.transactions = vec![dots_api::Transaction::new(7, 1000, created, "balance")];
        let mut value = serde_json::to_value(&transfer).unwrap();
        captured(&mut value);
        assert_eq!(value["amount"], "-1000");
        assert_eq!(value["created"], "2024-07-11T21:17:33.959000");
        assert_eq!(value["transactions"][0]["amount"], "1000.0000000000");
        assert_eq!(
            value["status_history"][0]["timestamp"],
            "Thu, 11 Jul 2024 21:17:33 GMT"
        );
        let back: dots_api::Transfer = serde_json::from_value(value).unwrap();
        assert_eq!(back, transfer);
    }

    #[test]
    fn a_created_user_loses_wallet_and_compliance_and_says_where_it_is() {
        let mut user = json!({"id": "u", "status": "unverified", "wallet": {}, "compliance": {},
            "phone_number": {"country_code": "1", "phone_number": "4155550100"}, "metadata": null});
        as_created_user(&mut user);
        assert!(user.get("wallet").is_none() && user.get("compliance").is_none());
        assert_eq!(user["verified"], false);
        assert_eq!(user["country"], "US");
        assert_eq!(user["metadata"], json!({}));
    }
}
