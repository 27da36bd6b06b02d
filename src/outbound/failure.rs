//! What a failed send means for the message that waits to be sent: try again when Discord
//! said (a 429), after a growing pause (a 5xx, the network), never (Discord refused it, or the
//! person's DMs are closed). One decision for every outbox row, whoever sent it.

use chrono::{DateTime, TimeDelta, Utc};

use super::SendError;
pub use crate::domain::outbox::Retry;

/// Attempts (not counting 429s, which say when to come back) before a row is given up.
pub const MAX_ATTEMPTS: i64 = 10;
/// The first retry after a 5xx or a network error; doubled each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: TimeDelta = TimeDelta::seconds(2);
const MAX_BACKOFF: TimeDelta = TimeDelta::minutes(10);

/// The decision for a send that failed with `error` after `attempts` earlier attempts.
pub fn decide(error: &anyhow::Error, attempts: i64, now: DateTime<Utc>) -> Retry {
    match error.chain().find_map(|e| e.downcast_ref::<SendError>()) {
        Some(SendError::DmsClosed) => Retry::Unreachable,
        Some(SendError::RateLimited {
            retry_after,
            global,
        }) => Retry::At {
            at: now + TimeDelta::from_std(*retry_after).unwrap_or(TimeDelta::seconds(5)),
            counts: false,
            global: *global,
        },
        Some(SendError::Deferred { wait }) => Retry::At {
            at: now + TimeDelta::from_std(*wait).unwrap_or(TimeDelta::seconds(5)),
            counts: false,
            global: false,
        },
        Some(SendError::Rejected { .. }) => Retry::GiveUp,
        Some(SendError::Unavailable { .. } | SendError::Network(_)) | None
            if attempts + 1 < MAX_ATTEMPTS =>
        {
            let doubling = 2_i32.pow(u32::try_from(attempts).unwrap_or(0).min(12));
            Retry::At {
                at: now + (FIRST_BACKOFF * doubling).min(MAX_BACKOFF),
                counts: true,
                global: false,
            }
        }
        Some(SendError::Unavailable { .. } | SendError::Network(_)) | None => Retry::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn each_failure_has_its_retry() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .single()
            .expect("a time");
        let limited = anyhow::Error::new(SendError::RateLimited {
            retry_after: Duration::from_millis(12_500),
            global: true,
        });
        assert_eq!(
            decide(&limited, 3, now),
            Retry::At {
                at: now + TimeDelta::milliseconds(12_500),
                counts: false,
                global: true
            }
        );
        let closed = anyhow::Error::new(SendError::DmsClosed).context("sending a prompt");
        assert_eq!(decide(&closed, 0, now), Retry::Unreachable);
        let down = anyhow::anyhow!("the database is away");
        assert_eq!(
            decide(&down, 2, now),
            Retry::At {
                at: now + TimeDelta::seconds(8),
                counts: true,
                global: false
            }
        );
        assert_eq!(decide(&down, MAX_ATTEMPTS - 1, now), Retry::GiveUp);
    }
}
