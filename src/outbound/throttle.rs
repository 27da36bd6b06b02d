//! Keeps one process below Discord's limits: the send budget (45 requests a second by
//! default) overall and 5 messages per 5 seconds in one channel. Processes that share a
//! PostgreSQL database also share the budget (`budget`); this throttle still keeps each
//! one's channel limits and its own pace. Pure: the caller passes the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Requests allowed per second across the bot, unless configured otherwise.
pub const GLOBAL_PER_SECOND: usize = crate::config::PER_SECOND;
/// Messages allowed per channel in [`CHANNEL_WINDOW`].
pub const PER_CHANNEL: usize = 5;
pub const CHANNEL_WINDOW: Duration = Duration::from_secs(5);
/// Added to the channel window: a request is counted here when it leaves, by Discord when it
/// arrives, and the first of five can take longer on its way than the sixth. Without it the
/// sixth can land a few milliseconds inside Discord's five seconds.
pub const CHANNEL_MARGIN: Duration = Duration::from_millis(250);
/// The channel window as this throttle keeps it.
const KEPT_WINDOW: Duration = CHANNEL_WINDOW.saturating_add(CHANNEL_MARGIN);
const GLOBAL_WINDOW: Duration = Duration::from_secs(1);
/// Channel windows kept before the idle ones are swept away.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
pub struct Throttle {
    per_second: usize,
    global: VecDeque<Instant>,
    channels: HashMap<u64, VecDeque<Instant>>,
    /// After a global 429: nothing goes out before this.
    paused_until: Option<Instant>,
    /// Sweep idle channels when this many are held.
    next_sweep: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(GLOBAL_PER_SECOND)
    }
}

fn forget_before(window: &mut VecDeque<Instant>, cutoff: Option<Instant>) {
    if let Some(cutoff) = cutoff {
        while window.front().is_some_and(|t| *t <= cutoff) {
            window.pop_front();
        }
    }
}

impl Throttle {
    /// A throttle allowing `per_second` requests a second overall (at least one).
    pub fn new(per_second: usize) -> Self {
        Self {
            per_second: per_second.max(1),
            global: VecDeque::new(),
            channels: HashMap::new(),
            paused_until: None,
            next_sweep: SWEEP_AT,
        }
    }

    /// How long to wait before sending to `channel` at `now` (zero when it may go now).
    /// `None` is a request that posts in no channel (opening a DM): only the global limit.
    pub fn wait(&mut self, channel: Option<u64>, now: Instant) -> Duration {
        forget_before(&mut self.global, now.checked_sub(GLOBAL_WINDOW));
        let mut wait = self
            .paused_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        if self.global.len() >= self.per_second
            && let Some(oldest) = self.global.front()
        {
            wait = wait.max((*oldest + GLOBAL_WINDOW).saturating_duration_since(now));
        }
        if let Some(channel) = channel {
            let window = self.channels.entry(channel).or_default();
            forget_before(window, now.checked_sub(KEPT_WINDOW));
            if window.len() >= PER_CHANNEL
                && let Some(oldest) = window.front()
            {
                wait = wait.max((*oldest + KEPT_WINDOW).saturating_duration_since(now));
            }
        }
        wait
    }

    /// Records a request (to `channel`, if it posts in one) at `at`.
    pub fn record(&mut self, channel: Option<u64>, at: Instant) {
        self.global.push_back(at);
        if let Some(channel) = channel {
            self.channels.entry(channel).or_default().push_back(at);
        }
        if self.channels.len() >= self.next_sweep {
            self.channels
                .retain(|_, w| w.back().is_some_and(|t| *t + KEPT_WINDOW > at));
            self.next_sweep = SWEEP_AT.max(self.channels.len() * 2);
        }
    }

    /// Discord said the whole bot is rate-limited: nothing goes out before `until`.
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_channel_in_five_seconds() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..PER_CHANNEL {
            assert_eq!(throttle.wait(Some(1), start), Duration::ZERO);
            throttle.record(Some(1), start);
        }
        assert_eq!(
            throttle.wait(Some(1), start),
            CHANNEL_WINDOW + CHANNEL_MARGIN
        );
        assert_eq!(
            throttle.wait(Some(2), start),
            Duration::ZERO,
            "another channel is free"
        );
        assert_eq!(
            throttle.wait(None, start),
            Duration::ZERO,
            "opening a DM is free"
        );
        assert_eq!(
            throttle.wait(Some(1), start + CHANNEL_WINDOW + CHANNEL_MARGIN),
            Duration::ZERO
        );
    }

    #[test]
    fn the_budget_a_second_overall() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        for channel in 0..GLOBAL_PER_SECOND as u64 {
            assert_eq!(throttle.wait(Some(channel), start), Duration::ZERO);
            throttle.record(Some(channel), start);
        }
        assert_eq!(throttle.wait(Some(999), start), GLOBAL_WINDOW);
        assert_eq!(
            throttle.wait(None, start),
            GLOBAL_WINDOW,
            "a DM open counts too"
        );
        assert_eq!(
            throttle.wait(Some(999), start + Duration::from_millis(500)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn a_global_rate_limit_pauses_everything() {
        let mut throttle = Throttle::new(1000);
        let start = Instant::now();
        throttle.pause_until(start + Duration::from_secs(3));
        assert_eq!(throttle.wait(Some(1), start), Duration::from_secs(3));
        assert_eq!(
            throttle.wait(None, start + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        assert_eq!(
            throttle.wait(Some(1), start + Duration::from_secs(3)),
            Duration::ZERO
        );
    }

    #[test]
    fn idle_channels_are_swept() {
        let mut throttle = Throttle::new(1_000_000);
        let start = Instant::now();
        for channel in 0..(SWEEP_AT as u64 * 3) {
            let at = start + Duration::from_millis(channel);
            throttle.record(Some(channel), at);
        }
        assert!(
            throttle.channels.len() < SWEEP_AT * 2,
            "{}",
            throttle.channels.len()
        );
    }
}
