//! Places promised in a channel's line to commands that will send their message themselves.
//!
//! A command decides whether to send its announcement itself before it writes its change, and
//! gets in line only after it has answered. Without a promise, a burst of commands arriving
//! together would all see an empty line and take the send path, and all but the line's worth
//! would then be turned away, each at the cost of a write. A promise counts in the line from
//! the decision, until the command gets in line (it keeps it) or it lapses (the command
//! failed before sending).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a promise holds a place: a command writes its change and answers well within it.
pub(super) const PROMISE_SPAN: Duration = Duration::from_secs(5);

/// The promises made and not yet kept, by the key of the message each is for.
#[derive(Debug, Default)]
pub(super) struct Promises {
    made: HashMap<String, (u64, Instant)>,
}

impl Promises {
    /// Promises made in `channel` and still held at `now`: places taken ahead of any request
    /// that comes now. Lapsed promises are let go.
    pub fn held_in(&mut self, channel: u64, now: Instant) -> usize {
        self.made
            .retain(|_, (_, made)| now.saturating_duration_since(*made) < PROMISE_SPAN);
        self.made.values().filter(|(c, _)| *c == channel).count()
    }

    /// Promises a place in `channel` to the message with `key`.
    pub fn make(&mut self, channel: u64, key: &str, now: Instant) {
        self.made.insert(key.to_owned(), (channel, now));
    }

    /// The message with `key` takes its place in line: its promise is kept. False when no
    /// promise was made for it, or it lapsed.
    pub fn keep(&mut self, key: &str, now: Instant) -> bool {
        self.made
            .remove(key)
            .is_some_and(|(_, made)| now.saturating_duration_since(made) < PROMISE_SPAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promise_holds_its_place_until_kept_or_lapsed() {
        let mut promises = Promises::default();
        let start = Instant::now();
        promises.make(1, "announce:a", start);
        promises.make(1, "announce:b", start);
        promises.make(2, "announce:c", start);
        assert_eq!(promises.held_in(1, start), 2);
        assert!(promises.keep("announce:a", start), "kept");
        assert!(!promises.keep("announce:a", start), "once");
        assert!(!promises.keep("announce:x", start), "never made");
        assert_eq!(promises.held_in(1, start), 1);
        let later = start + PROMISE_SPAN;
        assert_eq!(promises.held_in(1, later), 0, "lapsed");
        assert_eq!(promises.held_in(2, later), 0, "lapsed everywhere");
        assert!(!promises.keep("announce:b", later));
    }
}
