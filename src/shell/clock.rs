//! The wall clock, for the daemon: the time now as the core's
//! [`Timestamp`], and a core deadline as a tokio instant to sleep until.
//!
//! Invariant: the one place in the daemon's path that reads a clock; the
//! core gets the time only as the argument this returns.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::time::Timestamp;

/// Milliseconds since the Unix epoch, now.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Timestamp(ms)
}

/// The monotonic instant at which the wall clock reaches `at` (now, if it
/// already has). A wall-clock step after this call shifts the wake-up by
/// the step; the core is asked again on every wake-up, so that only delays
/// or advances one timer.
pub fn instant_of(at: Timestamp) -> tokio::time::Instant {
    let left_ms = at.millis().saturating_sub(now().millis()).max(0) as u64;
    tokio::time::Instant::now() + std::time::Duration::from_millis(left_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_past_deadline_is_due_at_once_and_a_future_one_later() {
        let start = tokio::time::Instant::now();
        assert!(instant_of(Timestamp(0)) <= tokio::time::Instant::now());
        let later = instant_of(now().plus_ms(60_000));
        let ahead = later.duration_since(start).as_millis();
        assert!((59_000..=60_500).contains(&ahead), "{ahead} ms");
    }
}
