//! The sandbox's clock: real time plus an offset that tests and the demo can advance, so link
//! expiry, TIN verification and idempotency windows can be exercised without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// How far ahead of real time the clock may be moved in all: 100 years, far past every window
/// the sandbox emulates, and far from any arithmetic limit.
pub const MAX_OFFSET_SECS: i64 = 100 * 366 * 24 * 60 * 60;

/// An advance that would move the clock backwards or past [`MAX_OFFSET_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock can move forward by at most {MAX_OFFSET_SECS} seconds in all")]
pub struct ClockOutOfRange;

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
        dots_api::Timestamp::from_unix_ms(self.now_ms()).to_rfc3339()
    }

    /// Moves the clock forward by `seconds` (at most [`MAX_OFFSET_SECS`] ahead of real time in
    /// all); refused, and the clock left as it was, when that would go past the limit.
    pub fn advance(&self, seconds: i64) -> Result<(), ClockOutOfRange> {
        let step = seconds.checked_mul(1000).ok_or(ClockOutOfRange)?;
        self.offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                offset
                    .checked_add(step)
                    .filter(|next| (0..=MAX_OFFSET_SECS * 1000).contains(next))
            })
            .map(|_| ())
            .map_err(|_| ClockOutOfRange)
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}
