//! The drift guard: Dots documents step options in two places (the step table of its payouts
//! guide and the `POST /v2/flows` schema of v2.yaml). Both are read here at test time, and
//! every documented step/option pair must be accepted by the typed builders, the proxy and the
//! sandbox alike, while every undocumented pair or value is refused by all three, naming the
//! field. Nothing of the docs is copied into this file: it only knows where to look.
//!
//! The rule (issue 13): accept the union of both sources; which option applies to which step
//! comes from the guide's table; an option only v2.yaml lists applies to the steps its
//! description names.

mod common;

use common::{Stack, API_KEY};
use dots_api::{
    is_dots_redirect_url, parse_json_body, PayoutFeeParty, StartFlowRequest, Step, StepName,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn docs_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOTS_DOCS_DIR") {
        return PathBuf::from(dir);
    }
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    crate_dir.join("../../../shared/dots-docs")
}

fn read_doc(name: &str) -> String {
    let path = docs_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("Dots' docs must be readable at {}: {e}", path.display()))
}

/// How an option's value is typed.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Boolean,
    /// One of these strings.
    Values(Vec<String>),
    /// A string matching this (JSON Schema, so unanchored) pattern.
    Pattern(String),
    Text,
}

/// What the docs say, read from both sources.
#[derive(Debug, Default)]
struct Documented {
    /// Step names v2.yaml lets a request name.
    requestable: BTreeSet<String>,
    /// step → options documented for it.
    options: BTreeMap<String, BTreeSet<String>>,
    /// option → how its value is typed.
    kinds: BTreeMap<String, Kind>,
    /// Top-level fields of the create-flow body.
    flow_fields: BTreeSet<String>,
}

/// Backticked words of `text`, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The guide's step table: `| `step` | description | <ul><li>`option` (type): ...</li></ul> |`.
fn guide_table(guide: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in guide.lines() {
        let line = line.trim();
        if line.starts_with('|') && line.contains("**Step**") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(step) = cells.get(1).and_then(|c| backticked(c).into_iter().next()) else {
            continue; // the separator row
        };
        let options_cell = cells.get(3).copied().unwrap_or_default();
        let options = options_cell
            .split("<li>")
            .skip(1)
            .filter_map(|item| {
                let name = backticked(item).into_iter().next()?;
                let after = &item[item.find(&format!("`{name}`"))? + name.len() + 2..];
                let kind = after
                    .trim_start()
                    .strip_prefix('(')
                    .and_then(|rest| rest.split(')').next())
                    .unwrap_or_default()
                    .to_owned();
                Some((name, kind))
            })
            .collect();
        rows.push((step, options));
    }
    rows
}

fn load_documented() -> Documented {
    let spec: Value = serde_norway::from_str(&read_doc("v2.yaml")).expect("v2.yaml is valid YAML");
    let body =
        &spec["paths"]["/v2/flows"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let mut documented = Documented {
        flow_fields: body["properties"]
            .as_object()
            .expect("the create-flow body has properties")
            .keys()
            .cloned()
            .collect(),
        ..Documented::default()
    };
    let variants = body["properties"]["steps"]["items"]["oneOf"]
        .as_array()
        .expect("steps are oneOf a name or an object");
    for variant in variants {
        if let Some(names) = variant["enum"].as_array() {
            documented
                .requestable
                .extend(names.iter().map(|n| n.as_str().unwrap().to_owned()));
        }
    }
    let object = variants
        .iter()
        .find(|v| v["properties"].is_object())
        .expect("a step-with-options variant");
    let spec_options: BTreeMap<String, Value> = object["properties"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.as_str() != "name")
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect();

    // The guide: which step takes which option (its `onboard` row is the step Dots adds).
    let guide = guide_table(&read_doc("guides--flow-payouts.mdx"));
    assert!(
        guide.len() >= 8,
        "the guide's step table was found: {guide:?}"
    );
    let mut guide_options = BTreeSet::new();
    for (step, options) in &guide {
        let step = if step == "onboard" {
            "onboarding"
        } else {
            step
        };
        let entry = documented.options.entry(step.to_owned()).or_default();
        for (option, kind_text) in options {
            entry.insert(option.clone());
            guide_options.insert(option.clone());
            let values = backticked(kind_text);
            let kind = if !values.is_empty() {
                Kind::Values(values)
            } else if kind_text.contains("string") {
                Kind::Text
            } else {
                // "boolean" (once spelled "bollean")
                assert!(kind_text.starts_with("bo"), "{option}: {kind_text}");
                Kind::Boolean
            };
            documented.kinds.entry(option.clone()).or_insert(kind);
        }
    }
    // v2.yaml: types (its word wins over the guide's prose), patterns, and the steps of the
    // options the guide does not list.
    for (option, schema) in &spec_options {
        let kind = match schema["type"].as_str() {
            Some("boolean") => Kind::Boolean,
            Some("string") => match schema["pattern"].as_str() {
                Some(pattern) => Kind::Pattern(pattern.to_owned()),
                None => Kind::Text,
            },
            other => panic!("{option}: unexpected type {other:?}"),
        };
        if let Some(guide_kind) = documented.kinds.get(option) {
            let agree = guide_kind == &kind
                || matches!((guide_kind, &kind), (Kind::Text, Kind::Pattern(_)));
            assert!(
                agree,
                "{option}: the guide says {guide_kind:?}, v2.yaml {kind:?}"
            );
        }
        documented.kinds.insert(option.clone(), kind);
        if guide_options.contains(option) {
            continue;
        }
        let description = schema["description"].as_str().unwrap_or_default();
        let steps: Vec<String> = backticked(description)
            .into_iter()
            .filter_map(|word| {
                documented
                    .requestable
                    .iter()
                    .find(|s| **s == word || (s.starts_with(&word) && word.contains('-')))
                    .cloned()
            })
            .collect();
        assert!(
            !steps.is_empty(),
            "v2.yaml's `{option}` names no step the guide could place: {description}"
        );
        for step in steps {
            documented
                .options
                .entry(step)
                .or_default()
                .insert(option.clone());
        }
    }
    documented
}

/// The smallest valid object for `step` (our own rule: these two steps need their target).
fn base(step: &str) -> serde_json::Map<String, Value> {
    let mut object = serde_json::Map::new();
    object.insert("name".into(), json!(step));
    match step {
        "redirect" => {
            object.insert("redirect_url".into(), json!("https://example.com/done"));
        }
        "pdf-form-fill" => {
            object.insert("template_id".into(), json!("tpl_1"));
        }
        _ => {}
    }
    object
}

fn valid_values(kind: &Kind) -> Vec<Value> {
    match kind {
        Kind::Boolean => vec![json!(true), json!(false)],
        Kind::Values(values) => values.iter().map(|v| json!(v)).collect(),
        Kind::Pattern(_) => vec![
            json!("https://example.com/done"),
            json!("http://127.0.0.1:3000/after?flow=1&x=y"),
        ],
        Kind::Text => vec![json!("tpl_2")],
    }
}

fn invalid_values(kind: &Kind) -> Vec<Value> {
    match kind {
        Kind::Boolean => vec![json!("yes"), json!(1)],
        Kind::Values(_) => vec![json!("app"), json!("PLATFORM"), json!(""), json!(true)],
        Kind::Pattern(_) => vec![
            json!("ftp://example.com"),
            json!("http://localhost:3000"),
            json!("javascript:x//https://example.com"),
            json!("https://example.com/a b"),
            json!(5),
        ],
        Kind::Text => vec![json!(""), json!(5)],
    }
}

/// The same step built with the typed builders.
fn built(step: &str, option: &str, value: &Value) -> Step {
    let name = StepName::parse(step);
    let start = match name {
        StepName::Redirect => Step::redirect("https://example.com/done"),
        StepName::PdfFormFill => Step::pdf_form_fill("tpl_1"),
        _ => Step::new(name),
    };
    let flag = || value.as_bool().unwrap();
    let text = || value.as_str().unwrap().to_owned();
    match option {
        "hide_continue_button" => start.hide_continue_button(flag()),
        "require_default_payout_method" => start.require_default_payout_method(flag()),
        "require_auto_payout_method" => start.require_auto_payout_method(flag()),
        "auto_payout_enabled" => start.auto_payout_enabled(flag()),
        "payout_fee_party" => start.payout_fee_party(PayoutFeeParty::parse(&text())),
        "redirect_url" => Step::redirect(text()),
        "template_id" => Step::pdf_form_fill(text()),
        other => panic!("Dots documents `{other}` but dots-api has no builder for it"),
    }
}

/// What each layer said about one step object.
struct Verdicts {
    typed: Result<(), String>,
    proxy: (u16, Value),
    sandbox: (u16, Value),
}

async fn judge(stack: &Stack, step: &Value) -> Verdicts {
    let body = json!({"steps": [step]});
    let typed = parse_json_body::<StartFlowRequest>(body.to_string().as_bytes())
        .and_then(|request| request.validate().map(|()| request))
        .map(|_| ())
        .map_err(|err| err.field);
    let mut browser = stack.browser();
    let answer = browser
        .send(reqwest::Method::POST, "/api/flows", Some(body.clone()))
        .await;
    let proxy = (answer.status, answer.json());
    let response = reqwest::Client::new()
        .post(format!("{}/v2/flows", stack.sandbox.api_base()))
        .basic_auth(dots_sandbox::DEFAULT_CLIENT_ID, Some(API_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    let sandbox = (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    );
    Verdicts {
        typed,
        proxy,
        sandbox,
    }
}

#[tokio::test]
async fn every_documented_step_option_is_accepted_and_nothing_else() {
    let documented = load_documented();
    let ours: BTreeSet<String> = StepName::REQUESTABLE
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(
        ours, documented.requestable,
        "the requestable steps match v2.yaml's"
    );
    assert!(
        !documented.requestable.contains("onboarding")
            && !documented.requestable.contains("onboard"),
        "onboarding is never requested"
    );
    // dots-api's own table says exactly what the docs say, step by step.
    for step in documented
        .requestable
        .iter()
        .chain(["onboarding".to_owned()].iter())
    {
        let theirs = documented.options.get(step).cloned().unwrap_or_default();
        let ours: BTreeSet<String> = StepName::parse(step)
            .documented_options()
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(ours, theirs, "options of `{step}`");
    }

    let stack = Stack::start().await;
    let all_options: BTreeSet<&String> = documented.kinds.keys().collect();
    let mut accepted = 0;
    let mut refused = 0;
    for step in &documented.requestable {
        let documented_here = documented.options.get(step).cloned().unwrap_or_default();
        for option in &all_options {
            let kind = &documented.kinds[*option];
            if documented_here.contains(*option) {
                for value in valid_values(kind) {
                    let mut object = base(step);
                    object.insert((*option).clone(), value.clone());
                    let object = Value::Object(object);
                    let v = judge(&stack, &object).await;
                    assert_eq!(v.typed, Ok(()), "typed: {object}");
                    assert_eq!(v.proxy.0, 200, "proxy: {object}: {}", v.proxy.1);
                    assert_eq!(v.sandbox.0, 200, "sandbox: {object}: {}", v.sandbox.1);
                    // What reached Dots carries the option as given.
                    let id = v.proxy.1["id"].as_str().unwrap();
                    let record = stack.sandbox.state().store().flow_record(id).unwrap();
                    let sent = serde_json::to_value(&record.requested[0]).unwrap();
                    assert_eq!(sent, object, "sent upstream as asked");
                    // And the builders write the same JSON.
                    let typed = serde_json::to_value(built(step, option, &value)).unwrap();
                    assert_eq!(typed, object, "built with the typed builder");
                    accepted += 1;
                }
                for value in invalid_values(kind) {
                    let mut object = base(step);
                    object.insert((*option).clone(), value.clone());
                    let object = Value::Object(object);
                    assert_refused(&stack, &object, &format!("steps[0].{option}")).await;
                    refused += 1;
                }
            } else {
                let value = valid_values(kind).remove(0);
                let mut object = base(step);
                object.insert((*option).clone(), value);
                let object = Value::Object(object);
                assert_refused(&stack, &object, &format!("steps[0].{option}")).await;
                refused += 1;
            }
        }
        // An option nobody documents.
        let mut object = base(step);
        object.insert("teleport".into(), json!(true));
        assert_refused(&stack, &Value::Object(object), "steps[0]").await;
    }
    for name in ["onboarding", "onboard", "teleport", "Compliance"] {
        assert_refused(&stack, &json!(name), "steps[0].name").await;
        assert_refused(&stack, &json!({"name": name}), "steps[0].name").await;
    }
    println!("{accepted} documented step/option values accepted, {refused} others refused");
    assert!(
        accepted >= 20 && refused >= 60,
        "the docs were read in full"
    );
}

async fn assert_refused(stack: &Stack, step: &Value, field: &str) {
    let v = judge(stack, step).await;
    let typed_field = v.typed.expect_err(&format!("typed accepted {step}"));
    assert!(
        typed_field.starts_with(field) || field.starts_with(&typed_field),
        "typed: {step} names {typed_field}, expected {field}"
    );
    assert_eq!(v.proxy.0, 400, "proxy refuses {step}: {}", v.proxy.1);
    let proxy_field = v.proxy.1["field"].as_str().unwrap_or_default();
    assert!(
        proxy_field.starts_with(field) || field.starts_with(proxy_field) && !proxy_field.is_empty(),
        "proxy: {step} names {proxy_field}, expected {field}"
    );
    assert_eq!(v.sandbox.0, 400, "sandbox refuses {step}: {}", v.sandbox.1);
    assert_eq!(v.sandbox.1["success"], json!(false), "{}", v.sandbox.1);
    assert_eq!(
        v.sandbox.1["error_code"],
        json!("invalid-input"),
        "{}",
        v.sandbox.1
    );
    let message = v.sandbox.1["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field.trim_start_matches("steps[0]").trim_start_matches('.'))
            || message.contains("steps[0]"),
        "sandbox names the field: {message}"
    );
}

/// The top-level keys `value` is written with.
fn keys_written(value: &impl serde::Serialize) -> BTreeSet<String> {
    match serde_json::to_value(value).unwrap() {
        Value::Object(map) => map.into_iter().map(|(k, _)| k).collect(),
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn flow_level_options_reach_dots_and_never_weaken_the_policy() {
    let documented = load_documented();
    // Every top-level field of the create-flow body is a field of the typed request.
    let mut full = dots_api::CreateFlowRequest::new([Step::compliance()]);
    full.user_id = Some(dots_api::UserId(
        "0b7e6a4e-58a8-4a48-9c3c-2b0d1c5e1a10".into(),
    ));
    full.require_auth = Some(true);
    full.hide_go_to_dashboard_on_complete = Some(true);
    full.metadata = Some(json!({"order": 7}));
    let written = keys_written(&full);
    assert_eq!(
        written, documented.flow_fields,
        "CreateFlowRequest's fields"
    );
    // The browser's request has them all but `user_id` (the proxy decides who the user is).
    let browser_fields: BTreeSet<String> = documented
        .flow_fields
        .iter()
        .filter(|f| f.as_str() != "user_id")
        .cloned()
        .collect();
    let mut start = StartFlowRequest::new([Step::compliance()]);
    start.require_auth = Some(true);
    start.hide_go_to_dashboard_on_complete = Some(true);
    start.metadata = Some(json!("x"));
    let written = keys_written(&start);
    assert_eq!(written, browser_fields, "StartFlowRequest's fields");

    let stack = Stack::start().await;
    let upstream = |id: &str| stack.sandbox.state().store().flow_record(id).unwrap();
    let mut browser = stack.browser();
    let flow = browser
        .create_flow(json!({"steps": ["compliance"], "hide_go_to_dashboard_on_complete": true}))
        .await;
    let record = upstream(flow["id"].as_str().unwrap());
    assert!(
        record.hide_dashboard,
        "hide_go_to_dashboard_on_complete reached Dots"
    );
    assert!(!record.require_auth);

    // A bound cookie session: id-verification is pre-authenticated by default, and the browser
    // may ask for its own sign-in instead.
    let flow = browser.create_flow(json!({"steps": ["compliance"]})).await;
    stack
        .onboard(flow["id"].as_str().unwrap(), "4155550199")
        .await;
    common::eventually("the identity is bound", || {
        let mut b = browser.clone();
        async move {
            let f = b.create_flow(json!({"steps": ["id-verification"]})).await;
            // Also as seconds from now (a browser's clock may be off the server's).
            f["expires_at"].is_string()
                && f["expires_in"]
                    .as_u64()
                    .is_some_and(|s| (890..=900).contains(&s))
        }
    })
    .await;
    let flow = browser
        .create_flow(json!({"steps": ["id-verification"], "require_auth": true}))
        .await;
    assert!(
        flow.get("expires_at").is_none(),
        "no expiry with require_auth: {flow}"
    );
    let record = upstream(flow["id"].as_str().unwrap());
    assert!(
        record.require_auth && !record.signed_in,
        "the user signs in"
    );
    // `false` never removes what the policy requires (money steps of a cookie session).
    let flow = browser
        .create_flow(json!({"steps": ["payout"], "require_auth": false}))
        .await;
    assert!(upstream(flow["id"].as_str().unwrap()).require_auth);
    // Wrong types name the field.
    for (body, field) in [
        (
            json!({"steps": ["compliance"], "require_auth": "yes"}),
            "require_auth",
        ),
        (
            json!({"steps": ["compliance"], "hide_go_to_dashboard_on_complete": 1}),
            "hide_go_to_dashboard_on_complete",
        ),
    ] {
        let answer = browser
            .send(reqwest::Method::POST, "/api/flows", Some(body))
            .await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.json()["field"], json!(field));
    }
}

#[test]
fn the_redirect_url_check_is_v2_yamls_pattern() {
    let documented = load_documented();
    let Kind::Pattern(pattern) = &documented.kinds["redirect_url"] else {
        panic!("v2.yaml gives redirect_url a pattern")
    };
    // Whole-value match: a URL that merely contains a match is not sent anywhere.
    let anchored = regex::Regex::new(&format!("^(?:{pattern})$")).expect("the pattern compiles");
    let mut samples: Vec<String> = [
        "https://example.com",
        "https://example.com/done?x=1&y=2#top",
        "http://127.0.0.1:3000/after",
        "https://www.example.co.uk/a/b",
        "https://a.b",
        "https://a.(b)",
        "https://a.bcdefgh",
        "https://a.bcdefg",
        "https://a.b_c",
        "https://a.bc-d",
        "http://localhost:3000",
        "https://",
        "https://.com",
        "ftp://example.com",
        "javascript:x//https://example.com",
        "https://exa mple.com",
        "https://example.com/<x>",
        "https://example.com/ü",
        "HTTPS://example.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    samples.push(format!("https://{}.com", "a".repeat(256)));
    samples.push(format!("https://{}.com", "a".repeat(257)));
    samples.push(format!("https://www.{}.com", "a".repeat(256)));
    // And many generated ones from the characters that matter (a fixed-seed xorshift).
    let alphabet: Vec<char> = "ab1._-()/:?&=#%@~+ ,;'!*$\u{e9}".chars().collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let len = (next() % 14) as usize;
        let tail: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let prefix = ["https://", "http://", "https://www.", "http:/", ""][(next() % 5) as usize];
        samples.push(format!("{prefix}{tail}"));
    }
    let mut both = 0;
    for url in &samples {
        let theirs = anchored.is_match(url);
        assert_eq!(is_dots_redirect_url(url), theirs, "{url:?}");
        both += usize::from(theirs);
    }
    println!("{} URLs compared, {both} match the pattern", samples.len());
    assert!(both > 100, "the generated URLs cover both answers");
}
