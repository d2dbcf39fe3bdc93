//! Fault injection for the API routes: added latency, error statuses, dropped connections and
//! malformed bodies, for a number of requests or a ratio of them. Set through
//! `POST /_sandbox/faults`; cleared by `DELETE /_sandbox/faults` or a reset.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dots_api::ApiError;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

use crate::SandboxState;

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait before answering normally.
    Latency {
        /// Milliseconds to wait.
        latency_ms: u64,
    },
    /// Answer with this status and a Dots error body (429 gets `Retry-After`).
    Status {
        /// HTTP status, e.g. 500, 502, 429.
        status: u16,
        /// Seconds for `Retry-After` (429 only; default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Close the connection without answering.
    Drop,
    /// Handle the request, then answer with the first half of its body (invalid JSON).
    Malformed,
    /// Handle the request, then answer (with its status) with `body` instead: a JSON value, or
    /// a string sent as raw text. With `keep_ids`, an object body takes the real answer's
    /// `id` and `user_id`, so an answer copied from Dots' docs speaks of what was really made.
    Replace {
        /// What to answer.
        body: serde_json::Value,
        /// Keep the real answer's `id` and `user_id`.
        #[serde(default)]
        keep_ids: bool,
    },
}

/// A Dots API operation the sandbox serves, named by its `operationId` in Dots' OpenAPI spec
/// (`v2.yaml`), e.g. `create-transfer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Operation {
    /// `POST /v2/flows`
    CreateFlow,
    /// `GET /v2/flows/{id}`
    GetFlow,
    /// `GET /v2/flows`
    GetFlows,
    /// `POST /v2/users`
    CreateUser,
    /// `GET /v2/users/{id}`
    GetUser,
    /// `GET /v2/users`
    GetUsers,
    /// `PUT /v2/users/{id}/compliance`
    SubmitCompliance,
    /// `POST /v2/users/{id}/send-verification-token`
    SendVerificationToken,
    /// `POST /v2/users/{id}/verify`
    Verify,
    /// `GET /v2/users/{id}/payout-methods`
    GetPayoutMethods,
    /// `PUT /v2/users/{id}/payout-methods`
    AddPayoutMethod,
    /// `POST /v2/transfers`
    CreateTransfer,
    /// `GET /v2/transfers/{id}`
    GetTransfer,
    /// `GET /v2/transfers`
    GetTransfers,
}

impl Operation {
    /// Every operation, in the order above.
    pub const ALL: [Operation; 14] = [
        Operation::CreateFlow,
        Operation::GetFlow,
        Operation::GetFlows,
        Operation::CreateUser,
        Operation::GetUser,
        Operation::GetUsers,
        Operation::SubmitCompliance,
        Operation::SendVerificationToken,
        Operation::Verify,
        Operation::GetPayoutMethods,
        Operation::AddPayoutMethod,
        Operation::CreateTransfer,
        Operation::GetTransfer,
        Operation::GetTransfers,
    ];

    /// Its `operationId`, e.g. `create-transfer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateFlow => "create-flow",
            Operation::GetFlow => "get-flow",
            Operation::GetFlows => "get-flows",
            Operation::CreateUser => "create-user",
            Operation::GetUser => "get-user",
            Operation::GetUsers => "get-users",
            Operation::SubmitCompliance => "submit-compliance",
            Operation::SendVerificationToken => "send-verification-token",
            Operation::Verify => "verify",
            Operation::GetPayoutMethods => "get-payout-methods",
            Operation::AddPayoutMethod => "add-payout-method",
            Operation::CreateTransfer => "create-transfer",
            Operation::GetTransfer => "get-transfer",
            Operation::GetTransfers => "get-transfers",
        }
    }

    /// The operation a request to the API (`path` after `/api`) is, if the sandbox serves it.
    pub fn of(method: &Method, path: &str) -> Option<Operation> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let get = *method == Method::GET;
        let post = *method == Method::POST;
        let put = *method == Method::PUT;
        Some(match segments.as_slice() {
            ["v2", "flows"] if post => Operation::CreateFlow,
            ["v2", "flows"] if get => Operation::GetFlows,
            ["v2", "flows", _] if get => Operation::GetFlow,
            ["v2", "users"] if post => Operation::CreateUser,
            ["v2", "users"] if get => Operation::GetUsers,
            ["v2", "users", _] if get => Operation::GetUser,
            ["v2", "users", _, "compliance"] if put => Operation::SubmitCompliance,
            ["v2", "users", _, "send-verification-token"] if post => {
                Operation::SendVerificationToken
            }
            ["v2", "users", _, "verify"] if post => Operation::Verify,
            ["v2", "users", _, "payout-methods"] if get => Operation::GetPayoutMethods,
            ["v2", "users", _, "payout-methods"] if put => Operation::AddPayoutMethod,
            ["v2", "transfers"] if post => Operation::CreateTransfer,
            ["v2", "transfers"] if get => Operation::GetTransfers,
            ["v2", "transfers", _] if get => Operation::GetTransfer,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FaultKind {
    /// Answer with `status` and a Dots error body (429 with `Retry-After: 1`).
    pub fn status(status: u16) -> Self {
        FaultKind::Status {
            status,
            retry_after: None,
        }
    }
}

/// One rule: which requests, what fault, how many or how often.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Only this operation (e.g. `create-transfer`); combined with `path` and `method` when
    /// those are given too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// API path prefix after `/api`, e.g. `/v2/flows` (empty matches everything).
    #[serde(default)]
    pub path: String,
    /// Only this method (e.g. `POST`), or any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The fault.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Apply to this many matching requests, then retire (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Apply to this share of matching requests, spread evenly (default 1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
}

#[derive(Debug)]
struct ActiveRule {
    rule: FaultRule,
    remaining: Option<u32>,
    credit: f64,
}

/// The active rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<ActiveRule>>,
}

impl FaultRule {
    /// A rule for the next `times` calls of `operation`.
    pub fn next(operation: Operation, times: u32, kind: FaultKind) -> Self {
        Self {
            operation: Some(operation),
            path: String::new(),
            method: None,
            kind,
            count: Some(times),
            ratio: None,
        }
    }
}

impl Faults {
    /// Adds a rule (checked in the order added; the first that fires wins).
    pub fn add(&self, rule: FaultRule) {
        let remaining = rule.count;
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ActiveRule {
                rule,
                remaining,
                credit: 0.0,
            });
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The rules still active.
    pub fn list(&self) -> Vec<FaultRule> {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|a| a.rule.clone())
            .collect()
    }

    /// The fault to apply to a request, if any; consumes one use of the rule.
    fn pick(&self, method: &Method, path: &str) -> Option<FaultKind> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let mut fired = None;
        for active in rules.iter_mut() {
            let rule = &active.rule;
            if rule
                .operation
                .is_some_and(|op| Operation::of(method, path) != Some(op))
                || !path.starts_with(&rule.path)
                || rule
                    .method
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case(method.as_str()))
                || active.remaining == Some(0)
            {
                continue;
            }
            active.credit += rule.ratio.unwrap_or(1.0).clamp(0.0, 1.0);
            if active.credit < 1.0 - 1e-9 {
                continue;
            }
            active.credit -= 1.0;
            if let Some(n) = active.remaining.as_mut() {
                *n -= 1;
            }
            fired = Some(rule.kind.clone());
            break;
        }
        rules.retain(|a| a.remaining != Some(0));
        fired
    }
}

/// Middleware on the API routes.
pub(crate) async fn inject(
    State(state): State<SandboxState>,
    request: Request,
    next: Next,
) -> Response {
    state.note_request(&request);
    let Some(fault) = state.faults().pick(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    tracing::info!(path = %request.uri().path(), ?fault, "sandbox: injecting fault");
    match fault {
        FaultKind::Latency { latency_ms } => {
            tokio::time::sleep(Duration::from_millis(latency_ms)).await;
            next.run(request).await
        }
        FaultKind::Status {
            status,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = ApiError::new("Injected fault", Some("service-unavailable"));
            let mut response = (status, Json(body)).into_response();
            if status == StatusCode::TOO_MANY_REQUESTS {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.unwrap_or(1)),
                );
            }
            response
        }
        // Unwinding out of the connection's task makes the server drop the connection without
        // a response; `resume_unwind` skips the panic hook, so nothing is printed.
        FaultKind::Drop => std::panic::resume_unwind(Box::new("sandbox fault: drop connection")),
        // The request is really handled (a create does create); only its answer is cut short,
        // as when a response is truncated in transit.
        FaultKind::Malformed => {
            let response = next.run(request).await;
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
        FaultKind::Replace { body, keep_ids } => {
            let response = next.run(request).await;
            let (mut parts, real) = response.into_parts();
            let real = axum::body::to_bytes(real, usize::MAX)
                .await
                .unwrap_or_default();
            parts.headers.remove(header::CONTENT_LENGTH);
            let bytes = match body {
                serde_json::Value::String(text) => text.into_bytes(),
                mut value => {
                    if keep_ids {
                        let real: serde_json::Value =
                            serde_json::from_slice(&real).unwrap_or_default();
                        for key in ["id", "user_id"] {
                            if let (Some(object), Some(id)) = (value.as_object_mut(), real.get(key))
                            {
                                object.insert(key.to_owned(), id.clone());
                            }
                        }
                    }
                    serde_json::to_vec(&value).unwrap_or_default()
                }
            };
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, count: Option<u32>, ratio: Option<f64>) -> FaultRule {
        FaultRule {
            operation: None,
            path: path.into(),
            method: Some("POST".into()),
            kind: FaultKind::Drop,
            count,
            ratio,
        }
    }

    #[test]
    fn counts_ratios_paths_and_methods() {
        let faults = Faults::default();
        faults.add(rule("/v2/flows", Some(2), None));
        assert!(
            faults.pick(&Method::GET, "/v2/flows").is_none(),
            "method must match"
        );
        assert!(
            faults.pick(&Method::POST, "/v2/users").is_none(),
            "path must match"
        );
        assert!(faults.pick(&Method::POST, "/v2/flows").is_some());
        assert!(faults.pick(&Method::POST, "/v2/flows/x").is_some());
        assert!(
            faults.pick(&Method::POST, "/v2/flows").is_none(),
            "count exhausted"
        );
        assert!(faults.list().is_empty(), "exhausted rules retire");

        faults.add(rule("", None, Some(0.25)));
        let fired = (0..100)
            .filter(|_| faults.pick(&Method::POST, "/v2/transfers").is_some())
            .count();
        assert_eq!(fired, 25, "a ratio fires on exactly that share");
    }

    #[test]
    fn operations_are_told_apart_by_method_and_shape() {
        let faults = Faults::default();
        faults.add(FaultRule::next(Operation::GetFlow, 1, FaultKind::Drop));
        assert!(
            faults.pick(&Method::GET, "/v2/flows").is_none(),
            "listing flows is not get-flow"
        );
        assert!(
            faults.pick(&Method::POST, "/v2/flows").is_none(),
            "creating a flow is not get-flow"
        );
        assert!(faults.pick(&Method::GET, "/v2/flows/abc").is_some());
        assert!(faults.list().is_empty(), "the rule was for one call");
        for op in Operation::ALL {
            let json = serde_json::to_value(op).unwrap();
            assert_eq!(json, op.as_str(), "{op:?} is named by its operationId");
        }
        assert_eq!(
            Operation::of(&Method::PUT, "/v2/users/u1/payout-methods"),
            Some(Operation::AddPayoutMethod)
        );
        assert_eq!(Operation::of(&Method::DELETE, "/v2/users/u1"), None);
    }
}
