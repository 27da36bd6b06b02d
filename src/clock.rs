//! The one clock. Everything the bot does reads the time here: commands, due-date words such
//! as "friday", previews, digests, the scheduler. The sandbox moves it forward, and all of the
//! bot moves with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The time as the bot sees it: the system's, plus however far it has been moved on.
/// Cheap to clone; clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds ahead of the system clock.
    ahead: Arc<AtomicI64>,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.ahead.load(Ordering::Relaxed))
    }

    /// Moves the clock on by `by` (the sandbox's `clock +3d`).
    pub fn advance(&self, by: TimeDelta) {
        self.ahead
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    /// How far this clock is ahead of the system's.
    pub fn ahead(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.ahead.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_moves_every_copy() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(TimeDelta::days(3));
        let after = copy.now();
        assert!(after - before >= TimeDelta::days(3), "{before} -> {after}");
        assert!(after - before < TimeDelta::days(3) + TimeDelta::minutes(1));
        assert_eq!(copy.ahead(), TimeDelta::days(3));
    }
}
