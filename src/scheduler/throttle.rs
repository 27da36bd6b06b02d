//! Keeps the outbox below Discord's limits on its own: about 40 requests a second overall and
//! 5 messages per 5 seconds in one channel. Pure: the caller passes the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Requests allowed per second across the bot.
pub const GLOBAL_PER_SECOND: usize = 40;
/// Messages allowed per channel in [`CHANNEL_WINDOW`].
pub const PER_CHANNEL: usize = 5;
pub const CHANNEL_WINDOW: Duration = Duration::from_secs(5);
const GLOBAL_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Throttle {
    global: VecDeque<Instant>,
    channels: HashMap<u64, VecDeque<Instant>>,
}

fn forget_before(window: &mut VecDeque<Instant>, cutoff: Option<Instant>) {
    if let Some(cutoff) = cutoff {
        while window.front().is_some_and(|t| *t <= cutoff) {
            window.pop_front();
        }
    }
}

impl Throttle {
    /// How long to wait before sending to `channel` at `now` (zero when it may go now).
    pub fn wait(&mut self, channel: u64, now: Instant) -> Duration {
        forget_before(&mut self.global, now.checked_sub(GLOBAL_WINDOW));
        let window = self.channels.entry(channel).or_default();
        forget_before(window, now.checked_sub(CHANNEL_WINDOW));
        let mut wait = Duration::ZERO;
        if self.global.len() >= GLOBAL_PER_SECOND
            && let Some(oldest) = self.global.front()
        {
            wait = wait.max((*oldest + GLOBAL_WINDOW).saturating_duration_since(now));
        }
        if window.len() >= PER_CHANNEL
            && let Some(oldest) = window.front()
        {
            wait = wait.max((*oldest + CHANNEL_WINDOW).saturating_duration_since(now));
        }
        wait
    }

    /// Records a send to `channel` at `at`.
    pub fn record(&mut self, channel: u64, at: Instant) {
        self.global.push_back(at);
        self.channels.entry(channel).or_default().push_back(at);
        if self.channels.len() > 10_000 {
            self.channels.retain(|_, w| !w.is_empty());
        }
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
            assert_eq!(throttle.wait(1, start), Duration::ZERO);
            throttle.record(1, start);
        }
        assert_eq!(throttle.wait(1, start), CHANNEL_WINDOW);
        assert_eq!(
            throttle.wait(2, start),
            Duration::ZERO,
            "another channel is free"
        );
        assert_eq!(throttle.wait(1, start + CHANNEL_WINDOW), Duration::ZERO);
    }

    #[test]
    fn forty_a_second_overall() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        for channel in 0..GLOBAL_PER_SECOND as u64 {
            assert_eq!(throttle.wait(channel, start), Duration::ZERO);
            throttle.record(channel, start);
        }
        assert_eq!(throttle.wait(999, start), GLOBAL_WINDOW);
        assert_eq!(
            throttle.wait(999, start + Duration::from_millis(500)),
            Duration::from_millis(500)
        );
    }
}
