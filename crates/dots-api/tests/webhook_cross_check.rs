//! Our hand-written Svix verifier against an independent implementation of the same scheme
//! (the `standardwebhooks` crate): theirs signs, ours verifies, and the reverse, with rotated
//! secrets (issue 12).
#![cfg(feature = "svix")]

use dots_api::webhook::{verify, SvixHeaders, WebhookError, WebhookSecret};
use http::{HeaderMap, HeaderValue};
use standardwebhooks::Webhook;

const OLD: &str = "whsec_b2xkLXNpZ25pbmcta2V5LWZvci1yb3RhdGlvbg==";
const NEW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY: &[u8] = br#"{"event":"flow.updated","flow_id":"5f0f8f8f-f8f8-f8f8-f8f8-f8f8f8f8f8f8"}"#;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", HeaderValue::from_str(id).unwrap());
    headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
    headers.insert(
        "webhook-signature",
        HeaderValue::from_str(signature).unwrap(),
    );
    headers
}

#[test]
fn theirs_signs_ours_verifies() {
    let ts = now();
    let signature = Webhook::new(NEW).unwrap().sign("msg_1", ts, BODY).unwrap();
    let ours = WebhookSecret::parse(NEW).unwrap();
    let old = WebhookSecret::parse(OLD).unwrap();
    let check = |secrets: &[WebhookSecret], body: &[u8]| {
        verify(
            secrets,
            &SvixHeaders {
                id: Some("msg_1"),
                timestamp: Some(&ts.to_string()),
                signature: Some(&signature),
            },
            body,
            ts,
        )
    };
    assert_eq!(check(std::slice::from_ref(&ours), BODY), Ok(()));
    assert_eq!(
        check(&[old.clone(), ours], BODY),
        Ok(()),
        "during rotation, the new secret"
    );
    assert_eq!(
        check(&[old], BODY),
        Err(WebhookError::BadSignature),
        "the old secret alone"
    );
    let tampered = [BODY, b" "].concat();
    assert_eq!(
        check(&[WebhookSecret::parse(NEW).unwrap()], &tampered),
        Err(WebhookError::BadSignature)
    );
}

/// Theirs signs and sends with its own (unbranded) header names; ours reads them as it reads
/// the branded ones, with the secret written with or without `whsec_`.
#[test]
fn theirs_signs_with_either_header_set_ours_reads_both() {
    use dots_api::webhook::HeaderNames;
    let ts = now();
    let signature = Webhook::new(NEW).unwrap().sign("msg_9", ts, BODY).unwrap();
    let sent = headers("msg_9", ts, &signature);
    for names in [HeaderNames::Unbranded, HeaderNames::Branded] {
        let [id, timestamp, sig] = names.names();
        let mut renamed = HeaderMap::new();
        for (theirs, ours) in [
            ("webhook-id", id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", sig),
        ] {
            renamed.insert(ours, sent[theirs].clone());
        }
        let read = SvixHeaders::read(|name| renamed.get(name).and_then(|v| v.to_str().ok()));
        for secret in [NEW, NEW.trim_start_matches("whsec_")] {
            assert_eq!(
                verify(&[WebhookSecret::parse(secret).unwrap()], &read, BODY, ts),
                Ok(()),
                "{names:?}, secret {}",
                if secret.starts_with("whsec_") {
                    "with whsec_"
                } else {
                    "without"
                }
            );
        }
        assert_eq!(
            verify(&[WebhookSecret::parse(NEW).unwrap()], &read, b"{}", ts),
            Err(WebhookError::BadSignature)
        );
    }
}

#[test]
fn ours_signs_theirs_verifies() {
    let ts = now();
    let ours = WebhookSecret::parse(NEW).unwrap();
    let signature = ours.sign("msg_2", ts, BODY);
    let theirs = Webhook::new(NEW).unwrap();
    assert_eq!(
        signature,
        theirs.sign("msg_2", ts, BODY).unwrap(),
        "the same bytes"
    );
    assert!(theirs
        .verify(BODY, &headers("msg_2", ts, &signature))
        .is_ok());
    assert!(theirs
        .verify(b"{}", &headers("msg_2", ts, &signature))
        .is_err());
    assert!(theirs
        .verify(BODY, &headers("msg_3", ts, &signature))
        .is_err());

    // A sender mid-rotation signs with both secrets; a receiver with either accepts it.
    let old = WebhookSecret::parse(OLD).unwrap();
    let both = format!(
        "{} {}",
        old.sign("msg_4", ts, BODY),
        ours.sign("msg_4", ts, BODY)
    );
    assert!(theirs.verify(BODY, &headers("msg_4", ts, &both)).is_ok());
    assert!(Webhook::new(OLD)
        .unwrap()
        .verify(BODY, &headers("msg_4", ts, &both))
        .is_ok());
    assert_eq!(
        verify(
            &[old],
            &SvixHeaders {
                id: Some("msg_4"),
                timestamp: Some(&ts.to_string()),
                signature: Some(&both)
            },
            BODY,
            ts
        ),
        Ok(()),
        "ours too"
    );
}
