//! Dots' docs as a test corpus (issue 23): every JSON answer, webhook payload and flow message
//! that an example in `../shared/dots-docs` shows, captured from Dots' service or written from
//! its schema, is read with this project's types, and the fields the project uses are checked.
//!
//! Nothing is copied here: the examples are extracted at test time (the `.mdx` code blocks,
//! with curl's `> ` prompts and request bodies told apart, and the response examples of
//! `v2.yaml`), so an example added to the docs is covered without touching this file. A doc
//! artifact that no server sends (a trailing comma) is forgiven; anything else that does not
//! read is a failure.

use dots_api::{Flow, FlowMessage, Transfer, User, WebhookEvent};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn docs_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOTS_DOCS_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/dots-docs")
}

/// One JSON example found in the docs.
struct Example {
    /// `file` (and, on the webhooks page, the event it illustrates).
    origin: String,
    /// The event a webhook example illustrates (its accordion's title).
    event: Option<String>,
    value: Value,
}

/// `{...,}` → `{...}`: a trailing comma is an artifact of a doc page, never of a server.
fn forgive_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut in_string = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// The top-level `{...}` spans of `text` that are not request bodies (`-d '{`, `--data '{`).
fn objects(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        let before = text[..i].trim_end();
        let request = before.ends_with("-d '")
            || before.ends_with("--data '")
            || before.ends_with("--data-raw '")
            || before.ends_with("-d")
            || before.ends_with("--data");
        // Balanced braces, strings respected.
        let (mut depth, mut in_string, mut escaped, mut end) = (0i32, false, false, None);
        for (j, &b) in bytes.iter().enumerate().skip(i) {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        if !request {
            found.push(text[i..=end].to_owned());
        }
        i = end + 1;
    }
    found
}

/// Every JSON example of the `.mdx` pages.
fn mdx_examples() -> Vec<Example> {
    let mut examples = Vec::new();
    let mut pages: Vec<_> = std::fs::read_dir(docs_dir())
        .expect("Dots' docs are readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mdx"))
        .collect();
    pages.sort();
    for page in pages {
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&page).unwrap();
        let mut event = None;
        let mut rest = text.as_str();
        while let Some(start) = rest.find("```") {
            // The accordion (webhook event) the next block belongs to.
            if let Some(title) = rest[..start].rfind("<Accordion title=\"") {
                let after = &rest[..start][title + 18..];
                event = after.split('"').next().map(str::to_owned);
            }
            let block = &rest[start + 3..];
            let Some(close) = block.find("```") else {
                break;
            };
            let (info, body) = block[..close].split_once('\n').unwrap_or(("", ""));
            let language = info.trim().to_ascii_lowercase();
            rest = &block[close + 3..];
            let first_word = language.split_whitespace().next().unwrap_or("");
            if matches!(first_word, "javascript" | "js" | "ts" | "typescript") {
                continue; // code, not data
            }
            // curl transcripts prompt with `> `.
            let body: String = body
                .lines()
                .map(|l| l.trim_start().strip_prefix("> ").unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n");
            for object in objects(&body) {
                let Ok(value) = serde_json::from_str::<Value>(&forgive_trailing_commas(&object))
                else {
                    // Placeholders such as `{"height": number}`: a description, not data.
                    continue;
                };
                examples.push(Example {
                    origin: name.clone(),
                    event: (name == "references--webhooks.mdx")
                        .then(|| event.clone())
                        .flatten(),
                    value,
                });
            }
        }
    }
    examples
}

/// The response examples of `v2.yaml` under the paths of flows, users and transfers, and its
/// webhooks section, if it has them.
fn spec_examples() -> Vec<Example> {
    let text = std::fs::read_to_string(docs_dir().join("v2.yaml")).expect("v2.yaml");
    let spec: Value = serde_norway::from_str(&text).expect("v2.yaml is YAML");
    let mut examples = Vec::new();
    let mut take = |origin: String, event: Option<String>, media: &Value| {
        if let Some(example) = media.get("example") {
            examples.push(Example {
                origin: origin.clone(),
                event: event.clone(),
                value: example.clone(),
            });
        }
        if let Some(Value::Object(named)) = media.get("examples") {
            for (name, example) in named {
                if let Some(value) = example.get("value") {
                    examples.push(Example {
                        origin: format!("{origin} ({name})"),
                        event: event.clone(),
                        value: value.clone(),
                    });
                }
            }
        }
    };
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        let followed = ["/v2/flows", "/v2/users", "/v2/transfers"]
            .iter()
            .any(|p| path.starts_with(p));
        if !followed {
            continue;
        }
        for (method, operation) in item.as_object().into_iter().flatten() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if let Some(media) = response["content"].get("application/json") {
                    take(format!("v2.yaml {method} {path} {status}"), None, media);
                }
            }
        }
    }
    for (event, item) in spec["webhooks"].as_object().into_iter().flatten() {
        for operation in item.as_object().into_iter().flatten().map(|(_, o)| o) {
            if let Some(media) = operation["requestBody"]["content"].get("application/json") {
                take(
                    format!("v2.yaml webhook {event}"),
                    Some(event.clone()),
                    media,
                );
            }
        }
    }
    examples
}

/// Cents the way any example writes them, for comparison.
fn cents_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.split('.').next()?.parse().ok(),
        _ => None,
    }
}

fn check_flow(example: &Example) -> Result<(), String> {
    let v = &example.value;
    let flow: Flow = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    assert_eq!(flow.id.as_str(), v["id"].as_str().unwrap());
    assert_eq!(flow.link, v["link"].as_str().unwrap());
    assert_eq!(flow.steps.len(), v["steps"].as_array().unwrap().len());
    assert_eq!(flow.user_id.is_some(), v["user_id"].is_string());
    assert_eq!(
        flow.created.is_some(),
        v["created"].is_string(),
        "{}",
        example.origin
    );
    Ok(())
}

fn check_transfer(example: &Example, transfer: &Transfer, v: &Value) {
    assert_eq!(transfer.id.as_str(), v["id"].as_str().unwrap());
    assert_eq!(
        Some(transfer.amount),
        cents_of(&v["amount"]),
        "{}",
        example.origin
    );
    assert_eq!(transfer.user_id.as_str(), v["user_id"].as_str().unwrap());
    let lines = v["transactions"].as_array().map_or(0, Vec::len);
    assert_eq!(transfer.transactions.len(), lines);
    for (line, raw) in transfer
        .transactions
        .iter()
        .zip(v["transactions"].as_array().into_iter().flatten())
    {
        assert_eq!(
            Some(line.amount),
            cents_of(&raw["amount"]),
            "{}",
            example.origin
        );
    }
    assert_eq!(
        transfer.status_history.len(),
        v["status_history"].as_array().map_or(0, Vec::len)
    );
    // The instant, not the text: a time without an offset is UTC.
    let text = v["created"].as_str().unwrap();
    assert!(
        transfer.created.to_rfc3339()[..19] == text[..19],
        "{}: {text} read as {}",
        example.origin,
        transfer.created
    );
}

fn check_user(example: &Example) -> Result<(), String> {
    let v = &example.value;
    let user: User = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    assert_eq!(user.id.as_str(), v["id"].as_str().unwrap());
    assert_eq!(user.first_name, v["first_name"].as_str().unwrap_or(""));
    assert_eq!(
        user.wallet.is_some(),
        v.get("wallet").is_some(),
        "{}",
        example.origin
    );
    assert_eq!(user.compliance.is_some(), v.get("compliance").is_some());
    let phone = user.phone_number.expect("a phone number");
    let raw = &v["phone_number"];
    assert_eq!(
        Some(phone.phone_number.as_str()),
        raw["phone_number"].as_str().or(raw["number"].as_str()),
        "{}",
        example.origin
    );
    if let Some(wallet) = v.get("wallet") {
        assert_eq!(
            Some(user.wallet.unwrap().amount),
            cents_of(&wallet["amount"])
        );
    }
    Ok(())
}

fn check_webhook(example: &Example) -> Result<&'static str, String> {
    let event = WebhookEvent::from_json(example.value.clone());
    let name = example.event.as_deref().unwrap_or("");
    let expected = match name {
        "flow.updated" => "flow",
        "transfer.updated" => "transfer.updated",
        "transfer.completed" | "transfer.failed" => "transfer.finished",
        n if n.starts_with("user.") => "user",
        _ => "other",
    };
    let got = match &event {
        WebhookEvent::FlowUpdated { .. } => "flow",
        WebhookEvent::TransferUpdated { .. } => "transfer.updated",
        WebhookEvent::TransferFinished { transfer } => {
            check_transfer(example, transfer, &example.value["transfer"]);
            "transfer.finished"
        }
        WebhookEvent::UserUpdated { .. } => "user",
        _ => "other",
    };
    if expected == got {
        Ok(expected)
    } else {
        Err(format!("{name} read as {got}: {event:?}"))
    }
}

#[test]
fn every_answer_dots_docs_show_is_read() {
    let mdx = mdx_examples();
    let spec = spec_examples();
    let spec_count = spec.len();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for example in mdx.iter().chain(&spec) {
        let v = &example.value;
        let kind = if example.event.is_some() || example.origin.contains("webhook") {
            match check_webhook(example) {
                Ok(_) => "webhook payloads",
                Err(e) => {
                    failures.push(format!("{}: {e}", example.origin));
                    continue;
                }
            }
        } else if v.get("link").is_some() && v.get("steps").is_some() {
            if let Err(e) = check_flow(example) {
                failures.push(format!("{}: flow: {e}", example.origin));
            }
            "flows"
        } else if v.get("transactions").is_some()
            || (v.get("amount").is_some()
                && v.get("user_id").is_some()
                && v.get("status").is_some())
        {
            match serde_json::from_value::<Transfer>(v.clone()) {
                Ok(transfer) => check_transfer(example, &transfer, v),
                Err(e) => failures.push(format!("{}: transfer: {e}", example.origin)),
            }
            "transfers"
        } else if v.get("first_name").is_some() && v.get("id").is_some() {
            if let Err(e) = check_user(example) {
                failures.push(format!("{}: user: {e}", example.origin));
            }
            "users"
        } else if v.get("step").is_some() || v.get("height").is_some() {
            match FlowMessage::parse(v) {
                Some(FlowMessage::Step { .. } | FlowMessage::Height(_)) => {}
                other => failures.push(format!("{}: message read as {other:?}", example.origin)),
            }
            "flow messages"
        } else {
            "requests and other shapes (not answers)"
        };
        *counts.entry(kind).or_default() += 1;
    }
    // Straight to stderr, not through `println!`: the test runner keeps a passing test's
    // printed output to itself, and this count belongs in the test command's output.
    use std::io::Write;
    let mut report = format!(
        "Dots' docs as a corpus: read {} examples ({} from the .mdx pages, {spec_count} from v2.yaml's response examples):\n",
        mdx.len() + spec_count,
        mdx.len()
    );
    for (kind, n) in &counts {
        report.push_str(&format!("  {n:3} {kind}\n"));
    }
    let _ = std::io::stderr().write_all(report.as_bytes());
    assert!(
        failures.is_empty(),
        "examples this project cannot read:\n{}",
        failures.join("\n")
    );
    // The extraction itself is checked: the docs as they are hold at least these.
    for (kind, least) in [
        ("flows", 4),
        ("transfers", 2),
        ("users", 2),
        ("webhook payloads", 10),
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) >= least,
            "at least {least} {kind} in the docs: {counts:?}"
        );
    }
}

#[test]
fn extraction_tells_answers_from_requests_and_forgives_only_trailing_commas() {
    let transcript = "curl https://x/v2/users \\\n -d '{\"email\": \"a@b.c\"}'\nHTTP/1.1 201 Created\n{\"id\": \"u\", \"tags\": [1,],}";
    let found = objects(transcript);
    assert_eq!(
        found.len(),
        1,
        "the request body is not an answer: {found:?}"
    );
    let value: Value = serde_json::from_str(&forgive_trailing_commas(&found[0])).unwrap();
    assert_eq!(value["tags"], serde_json::json!([1]));
    assert_eq!(forgive_trailing_commas(r#"{"a": ",}"}"#), r#"{"a": ",}"}"#);
}
