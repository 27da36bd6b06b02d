//! The token's one send budget, shared by every process on a PostgreSQL database: Discord
//! counts its global limit per bot token, so three processes that each kept 45 a second would
//! send 135. Each request needs a send slot from the shared line (`store::send_budget`); a
//! process reserves a few at a time and keeps them here. Pure: the caller passes the time.
//!
//! The promise is a ceiling: in no one-second window does Discord see more than the budget's
//! `per_second` requests from all processes together. A slot is used at its time or up to
//! [`LATE`] after it (a slot missed by more is given up, never spent late), and the request
//! then has up to [`ON_THE_WAY`] to reach Discord, so a one-second window at Discord holds
//! requests whose slots lie in `1 s + SPREAD`. Slots are spaced so that no such stretch
//! holds more than `per_second` of them: about 39 a second go out when the budget is 45.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::store::send_budget::Grant;

/// How late after its time a slot may still be used.
pub const LATE: Duration = Duration::from_millis(50);
/// How long a request may take from leaving this process to reaching Discord, counted in the
/// spacing.
pub const ON_THE_WAY: Duration = Duration::from_millis(100);
/// How far a request can land after its slot's time.
pub const SPREAD: Duration = LATE.saturating_add(ON_THE_WAY);
/// Slots reserved at once: about a tenth of a second's worth, so a busy process asks the
/// database about ten times a second, not once per request.
const BATCH_PER_SECOND: usize = 10;

/// The time between two slots for a budget of `per_second`: any stretch of `1 s + SPREAD`
/// holds at most `per_second` slots (slots `d` apart in a stretch of length `L` number at
/// most `floor(L / d) + 1`, which is `per_second` when `d` is just over `L / per_second`).
pub fn spacing(per_second: usize) -> Duration {
    let stretch = Duration::from_secs(1) + SPREAD;
    let per_second = u32::try_from(per_second.max(1)).unwrap_or(u32::MAX);
    stretch / per_second + Duration::from_micros(1)
}

/// How many slots a process reserves at once for a budget of `per_second`.
pub fn batch(per_second: usize) -> u32 {
    u32::try_from((per_second / BATCH_PER_SECOND).max(1)).unwrap_or(u32::MAX)
}

/// The slots this process holds, as instants on its own clock.
#[derive(Debug, Default)]
pub struct Slots {
    held: VecDeque<Instant>,
    /// Slots given up because they came too late to use, since the start.
    pub lapsed: u64,
}

impl Slots {
    /// Keeps the slots of `grant`, received at `received` (each placed by its distance from
    /// the database's time of granting: never earlier than on the shared line, since the
    /// answer took some time to arrive).
    pub fn keep(&mut self, grant: &Grant, received: Instant) {
        self.held
            .extend((0..grant.count).map(|i| received + grant.offset(i)));
    }

    /// The next slot to use at `now`: when it may go (now or later). `None` when no slot is
    /// left (reserve more). Slots more than [`LATE`] past are given up.
    pub fn take(&mut self, now: Instant) -> Option<Instant> {
        while let Some(slot) = self.held.pop_front() {
            if now <= slot + LATE {
                return Some(slot);
            }
            self.lapsed += 1;
        }
        None
    }

    /// Whether a slot taken for `slot` may still be used at `now`.
    pub fn usable(slot: Instant, now: Instant) -> bool {
        now <= slot + LATE
    }

    /// How many slots are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most slot times, `spacing` apart, that fit in a closed stretch of `length`.
    fn most_in(length: Duration, spacing: Duration) -> u128 {
        length.as_micros() / spacing.as_micros() + 1
    }

    #[test]
    fn no_second_at_discord_holds_more_than_the_budget() {
        for per_second in [1, 2, 5, 40, 45, 50, 1000] {
            let d = spacing(per_second);
            assert!(
                most_in(Duration::from_secs(1) + SPREAD, d) <= per_second as u128,
                "{per_second}/s: {d:?}"
            );
            // And the budget is not wasted: one slot more a stretch would break it.
            let tighter = d - Duration::from_micros(2);
            assert!(most_in(Duration::from_secs(1) + SPREAD, tighter) <= per_second as u128 + 1);
        }
        // 45 a second as a ceiling sends about 39 a second.
        let steady = Duration::from_secs(1).as_secs_f64() / spacing(45).as_secs_f64();
        assert!((39.0..=40.0).contains(&steady), "{steady}");
    }

    #[test]
    fn a_process_asks_for_a_tenth_of_a_second_at_a_time() {
        assert_eq!(batch(45), 4);
        assert_eq!(batch(5), 1);
        assert_eq!(batch(5000), 500);
    }

    #[test]
    fn granted_slots_are_used_in_order_and_late_ones_given_up() {
        let start = Instant::now();
        let grant = Grant {
            first_at_us: 2_000_000,
            spacing_us: i64::try_from(spacing(45).as_micros()).expect("small"),
            count: 4,
            granted_at_us: 1_900_000,
        };
        // The slots as the database spaced them (whole microseconds).
        let d = grant.offset(1) - grant.offset(0);
        let mut slots = Slots::default();
        slots.keep(&grant, start);
        assert_eq!(slots.len(), 4);
        let first = start + Duration::from_millis(100);
        assert_eq!(slots.take(start), Some(first), "waits for its time");
        // The process was busy: the second slot is more than LATE past, the third is not.
        let now = first + d * 2 + LATE;
        let third = first + d * 2;
        assert_eq!(slots.take(now), Some(third));
        assert_eq!(
            slots.lapsed, 1,
            "the missed slot is given up, never spent late"
        );
        assert!(Slots::usable(third, now));
        assert!(!Slots::usable(third, now + Duration::from_millis(1)));
        assert_eq!(slots.take(now + Duration::from_secs(1)), None);
        assert_eq!(slots.lapsed, 2);
        assert!(slots.is_empty());
    }
}
