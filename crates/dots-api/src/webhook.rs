//! Svix webhook signatures, as Dots sends them: headers `svix-id`, `svix-timestamp` and
//! `svix-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
//! base64 part of a `whsec_...` secret. Svix also signs with unbranded header names
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`, the Standard Webhooks names), and
//! its libraries take a secret with or without the `whsec_` prefix: so does this module.
//! (Feature `svix`.)

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a webhook's timestamp may be from now, in seconds, before it is refused.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// A `whsec_...` signing secret. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not base64 (after an optional `whsec_`).
    #[error("the webhook secret must be base64, with or without a `whsec_` prefix")]
    BadSecret,
    /// A required header is missing or unreadable.
    #[error("missing or malformed header `{0}` (or its unbranded `webhook-` form)")]
    MissingHeader(&'static str),
    /// The timestamp is outside the tolerance window.
    #[error("timestamp outside the allowed window")]
    StaleTimestamp,
    /// No signature matched.
    #[error("no valid signature")]
    BadSignature,
}

impl WebhookSecret {
    /// Parses a signing secret: `whsec_` followed by base64 (as Svix shows it), or the base64
    /// alone (as Svix's libraries also accept).
    pub fn parse(secret: &str) -> Result<Self, WebhookError> {
        let trimmed = secret.trim();
        let encoded = trimmed.strip_prefix("whsec_").unwrap_or(trimmed);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::BadSecret)?;
        if key.is_empty() {
            return Err(WebhookError::BadSecret);
        }
        Ok(Self { key })
    }

    /// A secret for raw key bytes.
    pub fn from_key(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The `whsec_...` form of this secret.
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.key))
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// The `svix-signature` header value for a message: `v1,<base64>`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(msg_id, timestamp, body)))
    }
}

/// The form a signing secret was written in, for a person checking a configuration.
pub fn secret_form(secret: &str) -> &'static str {
    match WebhookSecret::parse(secret) {
        Ok(_) if secret.trim().starts_with("whsec_") => {
            "`whsec_` followed by base64 (as Svix shows it)"
        }
        Ok(_) => "base64 without the `whsec_` prefix (accepted, as Svix's libraries do)",
        Err(_) => "not a signing secret (neither `whsec_...` nor base64)",
    }
}

/// The message id header.
pub const SVIX_ID: &str = "svix-id";
/// The timestamp header (Unix seconds).
pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
/// The signature header (`v1,<base64>`, space-separated when several).
pub const SVIX_SIGNATURE: &str = "svix-signature";
/// [`SVIX_ID`] under its unbranded (Standard Webhooks) name.
pub const WEBHOOK_ID: &str = "webhook-id";
/// [`SVIX_TIMESTAMP`] under its unbranded name.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// [`SVIX_SIGNATURE`] under its unbranded name.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// The two sets of header names Svix signs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderNames {
    /// `svix-id`, `svix-timestamp`, `svix-signature`.
    #[default]
    Branded,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Unbranded,
}

impl HeaderNames {
    /// The id, timestamp and signature header names of this set.
    pub fn names(self) -> [&'static str; 3] {
        match self {
            HeaderNames::Branded => [SVIX_ID, SVIX_TIMESTAMP, SVIX_SIGNATURE],
            HeaderNames::Unbranded => [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE],
        }
    }
}

/// A message's Svix headers as received; any may be missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SvixHeaders<'a> {
    /// [`SVIX_ID`].
    pub id: Option<&'a str>,
    /// [`SVIX_TIMESTAMP`].
    pub timestamp: Option<&'a str>,
    /// [`SVIX_SIGNATURE`].
    pub signature: Option<&'a str>,
}

impl<'a> SvixHeaders<'a> {
    /// Reads the headers through `get` (a header map's lookup): each one under its `svix-`
    /// name, else under its unbranded `webhook-` name. The three always come from one set:
    /// the branded one when its id is present, the unbranded one otherwise.
    pub fn read(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let names = if get(SVIX_ID).is_some() {
            HeaderNames::Branded
        } else {
            HeaderNames::Unbranded
        };
        let [id, timestamp, signature] = names.names();
        Self {
            id: get(id),
            timestamp: get(timestamp),
            signature: get(signature),
        }
    }
}

/// Verifies a webhook against any of `secrets` (several are accepted during rotation).
///
/// Checks the timestamp window first, then every `v1,` signature in the header in constant
/// time. `now` is Unix seconds, injectable for tests.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: &SvixHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let msg_id = headers
        .id
        .filter(|id| !id.is_empty())
        .ok_or(WebhookError::MissingHeader(SVIX_ID))?;
    // Unix seconds in digits only (`+1700000000` is not a Svix timestamp).
    let timestamp: i64 = headers
        .timestamp
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .ok_or(WebhookError::MissingHeader(SVIX_TIMESTAMP))?;
    let header = headers
        .signature
        .ok_or(WebhookError::MissingHeader(SVIX_SIGNATURE))?;
    // An unsigned distance: `now - timestamp` overflows for timestamps near i64::MIN (a panic
    // in debug builds, and a wrap to a tiny distance in release builds).
    if now.abs_diff(timestamp) > TIMESTAMP_TOLERANCE_SECS.unsigned_abs() {
        return Err(WebhookError::StaleTimestamp);
    }
    let candidates: Vec<Vec<u8>> = header
        .split_whitespace()
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .collect();
    for secret in secrets {
        let expected = secret.mac(msg_id, timestamp, body);
        for candidate in &candidates {
            if bool::from(candidate.as_slice().ct_eq(&expected)) {
                return Ok(());
            }
        }
    }
    Err(WebhookError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Svix's published test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_svix_reference_signature() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TS, BODY), SIG);
        assert_eq!(
            verify(
                &[secret],
                &SvixHeaders {
                    id: Some(ID),
                    timestamp: Some(&TS.to_string()),
                    signature: Some(SIG)
                },
                BODY,
                TS
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_tampering_staleness_and_missing_headers() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let ts = TS.to_string();
        let check = |id, ts: Option<&str>, sig, body: &[u8], now| {
            verify(
                std::slice::from_ref(&secret),
                &SvixHeaders {
                    id,
                    timestamp: ts,
                    signature: sig,
                },
                body,
                now,
            )
        };
        assert_eq!(
            check(Some(ID), Some(&ts), Some(SIG), br#"{"test": 1}"#, TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(Some("msg_other"), Some(&ts), Some(SIG), BODY, TS),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(Some(ID), Some(&ts), Some(SIG), BODY, TS + 301),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            check(Some(ID), Some(&ts), Some(SIG), BODY, TS - 301),
            Err(WebhookError::StaleTimestamp)
        );
        assert_eq!(
            check(None, Some(&ts), Some(SIG), BODY, TS),
            Err(WebhookError::MissingHeader("svix-id"))
        );
        assert_eq!(
            check(Some(ID), None, Some(SIG), BODY, TS),
            Err(WebhookError::MissingHeader("svix-timestamp"))
        );
        assert_eq!(
            check(Some(ID), Some(&ts), None, BODY, TS),
            Err(WebhookError::MissingHeader("svix-signature"))
        );
        assert_eq!(
            check(Some(ID), Some(&ts), Some("v1,AAAA"), BODY, TS),
            Err(WebhookError::BadSignature)
        );
        // Issue 25: `+<ts>` was read as `<ts>`; a Svix timestamp is digits only.
        for odd in [
            format!("+{TS}"),
            format!("{TS}.0"),
            format!("-{TS}"),
            String::new(),
        ] {
            assert_eq!(
                check(Some(ID), Some(&odd), Some(SIG), BODY, TS),
                Err(WebhookError::MissingHeader(SVIX_TIMESTAMP)),
                "{odd:?}"
            );
        }
    }

    #[test]
    fn either_header_set_is_read_never_a_mix() {
        let ts = TS.to_string();
        for names in [HeaderNames::Branded, HeaderNames::Unbranded] {
            let [id, timestamp, signature] = names.names();
            let map = [(id, ID), (timestamp, ts.as_str()), (signature, SIG)];
            let headers =
                SvixHeaders::read(|name| map.iter().find(|(n, _)| *n == name).map(|(_, v)| *v));
            assert_eq!(
                verify(&[WebhookSecret::parse(SECRET).unwrap()], &headers, BODY, TS),
                Ok(()),
                "{names:?}"
            );
        }
        // A branded id with unbranded rest: the branded set is read, and is incomplete.
        let map = [
            (SVIX_ID, ID),
            (WEBHOOK_TIMESTAMP, ts.as_str()),
            (WEBHOOK_SIGNATURE, SIG),
        ];
        let headers =
            SvixHeaders::read(|name| map.iter().find(|(n, _)| *n == name).map(|(_, v)| *v));
        assert_eq!(
            verify(&[WebhookSecret::parse(SECRET).unwrap()], &headers, BODY, TS),
            Err(WebhookError::MissingHeader(SVIX_TIMESTAMP))
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic_or_a_pass() {
        // Issue 12: `(now - timestamp).abs()` overflowed at these. (Negative ones are not
        // timestamps at all since issue 25: refused as malformed, before any arithmetic.)
        let secret = WebhookSecret::parse(SECRET).unwrap();
        for timestamp in [i64::MIN, TS.wrapping_add(i64::MIN), i64::MAX, i64::MIN + 1] {
            let expected = if timestamp < 0 {
                WebhookError::MissingHeader(SVIX_TIMESTAMP)
            } else {
                WebhookError::StaleTimestamp
            };
            let signature = secret.sign(ID, timestamp, BODY);
            assert_eq!(
                verify(
                    std::slice::from_ref(&secret),
                    &SvixHeaders {
                        id: Some(ID),
                        timestamp: Some(&timestamp.to_string()),
                        signature: Some(&signature)
                    },
                    BODY,
                    TS
                ),
                Err(expected),
                "timestamp {timestamp}, even correctly signed"
            );
        }
    }

    #[test]
    fn rotation_accepts_any_listed_secret_and_any_listed_signature() {
        let old = WebhookSecret::from_key(b"old key");
        let new = WebhookSecret::parse(SECRET).unwrap();
        let header = format!("v1,bm90IGl0 {}", new.sign(ID, TS, BODY));
        assert_eq!(
            verify(
                &[old, new],
                &SvixHeaders {
                    id: Some(ID),
                    timestamp: Some(&TS.to_string()),
                    signature: Some(&header)
                },
                BODY,
                TS
            ),
            Ok(())
        );
    }

    #[test]
    fn secrets_parse_strictly_and_never_print() {
        for bad in ["not base64!", "whsec_not base64!", "", "whsec_"] {
            assert_eq!(
                WebhookSecret::parse(bad).unwrap_err(),
                WebhookError::BadSecret,
                "{bad}"
            );
        }
        // Without the prefix, as Svix's libraries accept it: the same key.
        let bare = WebhookSecret::parse(SECRET.trim_start_matches("whsec_")).unwrap();
        assert_eq!(bare.sign(ID, TS, BODY), SIG);
        assert!(secret_form(SECRET).starts_with("`whsec_`"));
        assert!(secret_form("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").contains("without"));
        assert!(secret_form("nope!").starts_with("not"));
        assert_eq!(
            WebhookSecret::parse("whsec_").unwrap_err(),
            WebhookError::BadSecret
        );
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.to_whsec(), SECRET);
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}
