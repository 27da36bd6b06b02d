//! Which of Discord's rules the emulator enforces, and with which limits. `Rules::default()` is
//! Discord as documented; a benchmark or a scene may turn parts off and say so through
//! [`Rules::describe`].

use std::time::Duration;

/// Discord's rules of time, state and rate that the emulator enforces.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// Interaction deadlines: the initial response within `initial_response`, follow-ups and
    /// edits within `token_lifetime`, one initial response, callback types that fit the kind.
    pub interactions: bool,
    /// Discord's 3 seconds for the initial response.
    pub initial_response: Duration,
    /// Discord's 15 minutes of life for an interaction token.
    pub token_lifetime: Duration,
    /// How long a nonce sent with `enforce_nonce` dedupes (Discord: "the past few minutes").
    pub nonce_window: Duration,
    /// Rate limits: the global limit, per-route buckets and the invalid-request limit.
    pub rate_limits: bool,
    /// Requests per second per token, interaction endpoints excepted (Discord: 50).
    pub global_per_second: u32,
    /// `POST /channels/{id}/messages` per channel: `(requests, window)` (Discord: 5 per 5 s).
    pub message_bucket: (u32, Duration),
    /// 401, 403 and 429 answers allowed per `invalid_request_window` before every request
    /// is refused (Discord: 10,000 per 10 minutes).
    pub invalid_request_limit: u32,
    pub invalid_request_window: Duration,
    /// Checks the schema cannot express: empty messages, at most 5 action rows, unique
    /// custom ids, 6,000 embed characters, named embed fields, file count and size.
    pub message_checks: bool,
    /// Bytes of files per request (Discord: 10 MiB for a bot in a server without boosts).
    pub upload_limit: usize,
    /// Files per message (Discord: 10).
    pub max_files: usize,
    /// `Authorization: Bot <token>` on every route that is not authorised by its own token.
    pub require_authorization: bool,
}

/// Discord's `attachment_size_limit` for a bot where nobody boosted: 10 MiB.
pub const DEFAULT_UPLOAD_LIMIT: usize = 10 * 1024 * 1024;

impl Default for Rules {
    fn default() -> Self {
        Self {
            interactions: true,
            initial_response: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(15 * 60),
            nonce_window: Duration::from_secs(5 * 60),
            rate_limits: true,
            global_per_second: 50,
            message_bucket: (5, Duration::from_secs(5)),
            invalid_request_limit: 10_000,
            invalid_request_window: Duration::from_secs(10 * 60),
            message_checks: true,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            max_files: 10,
            require_authorization: true,
        }
    }
}

impl Rules {
    /// Discord's rules, as documented (the same as `default()`).
    pub fn discord() -> Self {
        Self::default()
    }

    /// Discord's rules without rate limits: for benchmarks that measure the bot, not
    /// Discord's pacing.
    pub fn without_rate_limits() -> Self {
        Self {
            rate_limits: false,
            ..Self::default()
        }
    }

    /// One line naming what is off, for a benchmark's or a scene's output.
    pub fn describe(&self) -> String {
        let off: Vec<&str> = [
            (self.interactions, "interaction deadlines"),
            (self.rate_limits, "rate limits"),
            (self.message_checks, "message checks"),
            (self.require_authorization, "authorization"),
        ]
        .into_iter()
        .filter(|(on, _)| !on)
        .map(|(_, name)| name)
        .collect();
        if off.is_empty() {
            "Discord's rules: all enforced".to_owned()
        } else {
            format!("Discord's rules: {} off", off.join(", "))
        }
    }
}
