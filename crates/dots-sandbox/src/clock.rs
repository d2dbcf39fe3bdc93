//! The sandbox's clock: real time plus an offset that tests and the demo can advance, so link
//! expiry, TIN verification and idempotency windows can be exercised without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Real time shifted by an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let real = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        real as i64 + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Now as RFC 3339 with milliseconds, as Dots formats dates.
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now_ms())
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset_ms.fetch_add(seconds * 1000, Ordering::Relaxed);
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

/// Formats Unix milliseconds as RFC 3339 (UTC).
pub fn rfc3339(unix_ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}
