//! Arbitrary webhook headers and bodies never panic the verifier and never verify.
#![no_main]

use dots_api::webhook::{verify, SvixHeaders, WebhookSecret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // id \n timestamp \n signature \n body
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let id = parts.next().map(String::from_utf8_lossy);
    let timestamp = parts.next().map(String::from_utf8_lossy);
    let signature = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    let secret = WebhookSecret::from_key(b"fuzzing key");
    let result = verify(&[secret], &SvixHeaders { id: id.as_deref(), timestamp: timestamp.as_deref(), signature: signature.as_deref() }, body, 1_700_000_000);
    assert!(result.is_err(), "an unsigned message verified");
});
