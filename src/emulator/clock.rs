//! The emulator's clock: the system clock plus an offset that tests move forward. Every rule
//! of time (interaction deadlines, token lifetimes, nonce windows, rate-limit windows, message
//! timestamps and snowflakes) reads this clock, so `Emulator::advance` moves them all at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct EmulatorClock {
    /// How far the emulator is ahead of the system clock, in microseconds.
    offset_micros: AtomicU64,
}

impl EmulatorClock {
    /// The emulator's time now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }

    /// How far tests have moved the clock ahead of the system clock.
    pub fn offset(&self) -> chrono::Duration {
        let micros = self.offset_micros.load(Ordering::Relaxed);
        chrono::Duration::microseconds(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    /// Moves the clock forward; it never goes back.
    pub fn advance(&self, by: Duration) {
        let micros = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Seconds between two instants as a float, never negative.
pub fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let micros = (to - from).num_microseconds().unwrap_or(i64::MAX).max(0);
    micros as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = EmulatorClock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        let after = clock.now();
        assert!(after - before >= chrono::Duration::seconds(3600));
        assert!(after - before < chrono::Duration::seconds(3660));
    }
}
