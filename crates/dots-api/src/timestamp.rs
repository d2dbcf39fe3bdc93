//! Instants as Dots writes them.
//!
//! Dots' schema promises RFC 3339 (`2023-11-07T05:31:56Z`), but the answers captured in its
//! guides write times without an offset (`2024-07-11T21:10:30.846081`), and a transfer's
//! `status_history` stamps them as HTTP dates (`Thu, 11 Jul 2024 21:17:33 GMT`). All three are
//! read here; a time without an offset is UTC. What this crate exposes is the instant, never
//! Dots' text: it is written back as RFC 3339 in UTC.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// An instant read from any of the forms Dots writes (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A text that is none of the forms Dots writes times in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time (RFC 3339, an ISO 8601 date and time without an offset, or an HTTP date)"
)]
pub struct TimestampError(String);

impl Timestamp {
    /// Reads `text` in any form Dots writes (RFC 3339; ISO 8601 without an offset, taken as
    /// UTC; an HTTP date).
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let text = text.trim();
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Ok(Self(at.to_offset(time::UtcOffset::UTC)));
        }
        let local = format_description!(
            version = 2,
            "[year]-[month]-[day][first [T][ ]][hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
        );
        if let Ok(at) = PrimitiveDateTime::parse(text, &local) {
            return Ok(Self(at.assume_utc()));
        }
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc2822) {
            return Ok(Self(at.to_offset(time::UtcOffset::UTC)));
        }
        Err(TimestampError(text.chars().take(64).collect()))
    }

    /// The instant `ms` milliseconds after the Unix epoch (clamped to what can be written).
    pub fn from_unix_ms(ms: i64) -> Self {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self(at)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant as a `time` value, in UTC.
    pub fn to_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// RFC 3339 in UTC (`2024-07-11T21:10:30.846081Z`).
    pub fn to_rfc3339(&self) -> String {
        self.0
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.unix_timestamp().to_string())
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        Self(at.to_offset(time::UtcOffset::UTC))
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // The message leaves the text out: an answer's times are not worth logging.
        Timestamp::parse(&text).map_err(|_| {
            serde::de::Error::custom(
                "is not a time (RFC 3339, ISO 8601 without an offset, or an HTTP date)",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_dots_writes_is_the_same_instant() {
        let utc = Timestamp::parse("2024-07-11T21:17:33Z").unwrap();
        for text in [
            "2024-07-11T21:17:33",
            "2024-07-11T21:17:33.000000",
            "2024-07-11 21:17:33",
            "2024-07-11T23:17:33+02:00",
            "Thu, 11 Jul 2024 21:17:33 GMT",
            "Thu, 11 Jul 2024 21:17:33 +0000",
        ] {
            assert_eq!(Timestamp::parse(text).unwrap(), utc, "{text}");
        }
        let fine = Timestamp::parse("2024-07-11T21:10:30.846081").unwrap();
        assert_eq!(fine.to_rfc3339(), "2024-07-11T21:10:30.846081Z");
        assert_eq!(
            Timestamp::parse("2019-01-01T00:00:00.000Z")
                .unwrap()
                .unix_seconds(),
            1_546_300_800
        );
    }

    #[test]
    fn other_text_is_refused_and_named() {
        for text in ["", "yesterday", "2024-13-01T00:00:00", "1720732653"] {
            let err = Timestamp::parse(text).unwrap_err();
            assert!(err.to_string().contains("is not a time"), "{text}: {err}");
        }
    }

    #[test]
    fn millis_round_trip() {
        let at = Timestamp::from_unix_ms(1_720_732_653_123);
        assert_eq!(at.unix_ms(), 1_720_732_653_123);
        assert_eq!(at.to_rfc3339(), "2024-07-11T21:17:33.123Z");
    }
}
