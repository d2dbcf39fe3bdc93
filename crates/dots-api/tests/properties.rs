//! Property tests: arbitrary input never panics the message parser or the styles encoder; only
//! well-formed messages become events; styles round-trip through their query encoding.

use dots_api::{
    decode_uri_component, encode_uri_component, FlowMessage, FlowStyle, StepName, StepStatus,
    StyleVariable, Theme,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Arbitrary JSON, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop_oneof![
            Just("height"),
            Just("step"),
            Just("status"),
            Just("completed"),
            Just("compliance")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("height".to_owned()),
                    Just("step".to_owned()),
                    Just("status".to_owned()),
                    ".{0,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_parser_never_panics_on_json(value in any_json()) {
        let parsed = FlowMessage::parse(&value);
        // Only objects (or strings holding objects) become messages.
        if !value.is_object() && !value.is_string() {
            prop_assert!(parsed.is_none());
        }
        match parsed {
            Some(FlowMessage::Height(h)) => {
                prop_assert!(h.is_finite() && h >= 0.0);
                prop_assert!(value.get("step").is_none() || value.is_string());
            }
            Some(FlowMessage::Step { .. }) => {
                let object = if let Value::String(s) = &value { serde_json::from_str(s).unwrap() } else { value.clone() };
                prop_assert!(object["step"].is_string() && object["status"].is_string());
            }
            _ => {}
        }
    }

    #[test]
    fn the_parser_never_panics_on_strings(text in ".{0,200}") {
        let _ = FlowMessage::parse_str(&text);
        let _ = FlowMessage::parse(&Value::String(text));
    }

    #[test]
    fn well_formed_messages_always_parse(height in 0u32..100_000, step in "[a-z-]{1,20}", saved in any::<bool>()) {
        prop_assert_eq!(FlowMessage::parse(&json!({"height": height})), Some(FlowMessage::Height(f64::from(height))));
        let status = if saved { "completed-saved" } else { "completed" };
        let message = json!({"step": step, "status": status});
        let expected = FlowMessage::Step { step: StepName::parse(&step), status: StepStatus::parse(status) };
        prop_assert_eq!(FlowMessage::parse(&message), Some(expected.clone()));
        prop_assert_eq!(FlowMessage::parse_str(&message.to_string()), Some(expected));
    }

    #[test]
    fn styles_round_trip(dark in any::<bool>(), values in prop::collection::vec((0usize..19, ".{1,24}"), 0..19)) {
        let mut style = FlowStyle::default().with_theme(if dark { Theme::Dark } else { Theme::Light });
        for (index, value) in values {
            style.set(StyleVariable::ALL[index], value);
        }
        let query = style.to_query_value();
        prop_assert!(query.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)), "{}", query);
        let decoded = decode_uri_component(&query).expect("decodes");
        prop_assert_eq!(serde_json::from_str::<FlowStyle>(&decoded).unwrap(), style.clone());
        let link = style.apply_to_link("https://x.test/flow/1?a=1#f");
        prop_assert!(link.ends_with("#f") && link.contains("?a=1&styles="));
    }

    #[test]
    fn uri_component_encoding_round_trips(text in ".{0,100}") {
        prop_assert_eq!(decode_uri_component(&encode_uri_component(&text)), Some(text));
    }
}

#[cfg(feature = "svix")]
mod webhooks {
    use dots_api::webhook::{verify, SvixHeaders, WebhookSecret};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic_or_verify(
            id in proptest::option::of(".{0,30}"),
            ts in proptest::option::of(".{0,15}"),
            sig in proptest::option::of(".{0,120}"),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let secret = WebhookSecret::from_key(b"a key for the property test");
            let result = verify(&[secret], &SvixHeaders { id: id.as_deref(), timestamp: ts.as_deref(), signature: sig.as_deref() }, &body, 1_700_000_000);
            prop_assert!(result.is_err(), "a random message must not verify");
        }

        #[test]
        fn signed_messages_verify_and_any_change_breaks_them(
            id in "msg_[a-zA-Z0-9]{1,20}",
            body in proptest::collection::vec(any::<u8>(), 1..200),
            flip in any::<prop::sample::Index>(),
        ) {
            let secret = WebhookSecret::from_key(b"a key for the property test");
            let ts = 1_700_000_000i64;
            let signature = secret.sign(&id, ts, &body);
            let timestamp = ts.to_string();
            let headers = SvixHeaders { id: Some(&id), timestamp: Some(&timestamp), signature: Some(&signature) };
            prop_assert!(verify(std::slice::from_ref(&secret), &headers, &body, ts).is_ok());
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 0x01;
            prop_assert!(verify(&[secret], &headers, &tampered, ts).is_err());
        }
    }
}
