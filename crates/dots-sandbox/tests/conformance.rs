//! Conformance: every implemented operation's responses validate against the schemas of Dots'
//! own OpenAPI spec, loaded at test time from `../shared/dots-docs/v2.yaml` (or the file named
//! by `DOTS_OPENAPI_SPEC`). Nothing of the spec is copied here.

mod common;

use common::Sandbox;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;

fn spec_path() -> PathBuf {
    if let Some(path) = std::env::var_os("DOTS_OPENAPI_SPEC") {
        return PathBuf::from(path);
    }
    // `cargo test` sets CARGO_MANIFEST_DIR at run time too; prefer it to the compile-time value
    // so a moved checkout still finds `shared/` beside it.
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    crate_dir.join("../../../shared/dots-docs/v2.yaml")
}

/// YAML's bare `null` inside a `type` list means the JSON Schema type "null".
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                for t in types.iter_mut() {
                    if t.is_null() {
                        *t = json!("null");
                    }
                }
            }
            map.values_mut().for_each(normalize);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn load_spec() -> Value {
    let path = spec_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "Dots' OpenAPI spec must be readable at {}: {e}",
            path.display()
        )
    });
    let mut spec: Value = serde_norway::from_str(&text).expect("v2.yaml parses");
    normalize(&mut spec);
    spec
}

struct Spec(Value);

impl Spec {
    /// Validates `body` against the response schema of `method path` for `status`.
    fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), String> {
        let operation = &self.0["paths"][path][method];
        assert!(
            operation.is_object(),
            "the spec has no operation {method} {path}"
        );
        let schema =
            &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "the spec has no JSON schema for {method} {path} → {status}"
        );
        let pointer = format!(
            "#/paths/{}/{method}/responses/{status}/content/application~1json/schema",
            path.replace('~', "~0")
                .replace('/', "~1")
                .replace('{', "%7B")
                .replace('}', "%7D")
        );
        let mut root = self.0.clone();
        root["$ref"] = json!(pointer);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .expect("the schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {path} → {status}: {}", errors.join("; ")))
        }
    }
}

#[tokio::test]
async fn every_implemented_operation_matches_dots_schemas() {
    let spec = Spec(load_spec());
    let sb = Sandbox::start().await;
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    let mut record = |method: &str, path: &str, status: u16, body: &Value| {
        if let Err(e) = spec.check(method, path, status, body) {
            failures.push(e);
        }
        checked.push(format!("{method} {path}"));
    };

    // Users.
    let (status, user) = sb
        .api(
            Method::POST,
            "/v2/users",
            Some(json!({"first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "country_code": "1", "phone_number": "4155550400",
            "metadata": {"internal_id": "u_1"}})),
        )
        .await;
    assert_eq!(status, 201);
    record("post", "/v2/users", status, &user);
    let user_id = user["id"].as_str().unwrap().to_owned();
    sb.api(Method::PUT, &format!("/v2/users/{user_id}/compliance"), Some(json!({"w9": {"entity_type": "individual",
        "date_of_birth": "1990-04-01", "tin": "123456789", "address": {"line_1": "1 Main St", "city": "SF",
        "state": "CA", "country": "US", "postcode": "94107"}}}))).await;
    let (status, method) = sb
        .api(Method::PUT, &format!("/v2/users/{user_id}/payout-methods"),
             Some(json!({"platform": "ach", "routing_number": "110000000", "account_number": "000123456789", "account_type": "checking"})))
        .await;
    record("put", "/v2/users/{user_id}/payout-methods", status, &method);
    let (status, body) = sb
        .api(Method::GET, &format!("/v2/users/{user_id}"), None)
        .await;
    record("get", "/v2/users/{user_id}", status, &body);
    let (status, body) = sb.api(Method::GET, "/v2/users", None).await;
    record("get", "/v2/users", status, &body);
    let (status, body) = sb
        .api(
            Method::GET,
            &format!("/v2/users/{user_id}/payout-methods"),
            None,
        )
        .await;
    record("get", "/v2/users/{user_id}/payout-methods", status, &body);

    // Flows.
    let (status, flow) = sb
        .api(
            Method::POST,
            "/v2/flows",
            Some(json!({"steps": ["compliance",
            {"name": "redirect", "redirect_url": "https://example.com"}], "metadata": "order-7"})),
        )
        .await;
    record("post", "/v2/flows", status, &flow);
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    sb.raw(
        Method::POST,
        &format!("/_sandbox/flows/{flow_id}/complete"),
        Some(json!({"step": "compliance"})),
    )
    .await;
    let (status, body) = sb
        .api(Method::GET, &format!("/v2/flows/{flow_id}"), None)
        .await;
    record("get", "/v2/flows/{flow_id}", status, &body);
    let (_, with_user) = sb
        .api(
            Method::POST,
            "/v2/flows",
            Some(json!({"steps": ["payout"], "user_id": user_id})),
        )
        .await;
    record("post", "/v2/flows", 200, &with_user);
    let (status, body) = sb.api(Method::GET, "/v2/flows?limit=5", None).await;
    record("get", "/v2/flows", status, &body);

    // Transfers.
    let (status, transfer) = sb
        .api(Method::POST, "/v2/transfers", Some(json!({"amount": -1234, "user_id": user_id,
            "idempotency_key": "2b0f8c7e-5f0e-4c44-9d3a-1a2b3c4d5e6f", "metadata": {"order": "o_9"}})))
        .await;
    record("post", "/v2/transfers", status, &transfer);
    let (status, body) = sb
        .api(
            Method::GET,
            &format!("/v2/transfers/{}", transfer["id"].as_str().unwrap()),
            None,
        )
        .await;
    record("get", "/v2/transfers/{transfer_id}", status, &body);
    let (status, body) = sb
        .api(
            Method::GET,
            &format!("/v2/transfers?user_id={user_id}"),
            None,
        )
        .await;
    record("get", "/v2/transfers", status, &body);

    // A payout transfer (from the payout step) validates too.
    let (status, _) = sb
        .raw(
            Method::POST,
            &format!(
                "/flow/{}/steps/payout/complete",
                with_user["id"].as_str().unwrap()
            ),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = sb.api(Method::GET, "/v2/transfers?type=payout", None).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    record("get", "/v2/transfers", status, &body);

    assert!(
        failures.is_empty(),
        "responses that break Dots' spec:\n{}",
        failures.join("\n")
    );
    let mut distinct: Vec<String> = checked.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct,
        [
            "get /v2/flows",
            "get /v2/flows/{flow_id}",
            "get /v2/transfers",
            "get /v2/transfers/{transfer_id}",
            "get /v2/users",
            "get /v2/users/{user_id}",
            "get /v2/users/{user_id}/payout-methods",
            "post /v2/flows",
            "post /v2/transfers",
            "post /v2/users",
            "put /v2/users/{user_id}/payout-methods",
        ],
        "every implemented operation with a response schema was checked"
    );
}

#[test]
fn the_checker_rejects_what_the_spec_forbids() {
    let spec = Spec(load_spec());
    let bad_flow =
        json!({"id": "not-a-uuid", "steps": "compliance", "completed_steps": [], "link": "x"});
    let err = spec.check("post", "/v2/flows", 200, &bad_flow).unwrap_err();
    assert!(err.contains("steps"), "{err}");
    let bad_transfer =
        json!({"id": "5f0f8f8f-f8f8-4f8f-8f8f-f8f8f8f8f8f8", "status": "teleported"});
    assert!(spec
        .check("get", "/v2/transfers/{transfer_id}", 200, &bad_transfer)
        .is_err());
    let bad_user = json!({"id": "5f0f8f8f-f8f8-4f8f-8f8f-f8f8f8f8f8f8", "status": "verified",
        "compliance": {"tax_id_verification": "maybe"}});
    assert!(spec
        .check("get", "/v2/users/{user_id}", 200, &bad_user)
        .is_err());
}
