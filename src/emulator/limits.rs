//! Discord's rate limits on the emulator's clock: the global limit per token (interaction
//! endpoints exempt), per-route buckets keyed by their top-level resource, and the
//! invalid-request limit (401, 403 and 429 answers) after which every request is refused.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::clock::seconds_between;
use super::rules::Rules;

/// The bucket a request counts against.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    /// The route without its top-level resource, e.g. `POST /channels/{channel_id}/messages`.
    route: String,
    /// The top-level resource: a channel, guild or webhook id, or empty.
    major: String,
    limit: u32,
    window: chrono::Duration,
    /// Whether the request counts against the global limit.
    global: bool,
}

impl Bucket {
    /// Classifies a request path (after `/api/v10`), split into segments.
    pub fn of(method: &str, segments: &[&str], rules: &Rules) -> Self {
        let (messages, messages_window) = rules.message_bucket;
        let messages_window = to_chrono(messages_window);
        let second = chrono::Duration::seconds(1);
        let template = |major_at: Option<usize>| {
            segments
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if Some(i) == major_at || s.parse::<u64>().is_ok() {
                        "{id}"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        };
        let (major_at, limit, window, global) = match (method, segments) {
            ("POST", ["channels", _, "messages"]) => (Some(1), messages, messages_window, true),
            ("PATCH" | "DELETE", ["channels", _, "messages", _]) => {
                (Some(1), messages, messages_window, true)
            }
            (_, ["channels" | "guilds", ..]) => (Some(1), 50, second, true),
            // Interaction endpoints are not bound to the global limit.
            (_, ["interactions", ..]) => (None, 50, second, false),
            (_, ["webhooks", _, _, ..]) => (Some(2), 50, second, false),
            _ => (None, 50, second, true),
        };
        let major = major_at
            .and_then(|i| segments.get(i))
            .map_or_else(String::new, |s| (*s).to_owned());
        // An interaction's id and token are its own resource: one bucket per route.
        let route = format!("{method} /{}", template(major_at));
        Self {
            route,
            major,
            limit,
            window,
            global,
        }
    }

    /// `X-RateLimit-Bucket`: a stable hash of the route, without the resource.
    fn hash(&self) -> String {
        // FNV-1a: stable across runs, unlike the std hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.route.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// Whether a request (`path` after `/api/v10`) counts against Discord's global limit for the
/// token: everything but the interaction endpoints and webhooks called with their own token.
/// A test that checks a bot's combined rate across processes counts these.
pub fn counts_against_global_limit(method: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Bucket::of(method, &segments, &Rules::default()).global
}

fn to_chrono(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// A fixed window: when it started and how many requests it has taken.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: DateTime<Utc>,
    used: u32,
}

impl Window {
    fn current(
        window: &mut Option<Self>,
        now: DateTime<Utc>,
        length: chrono::Duration,
    ) -> &mut Self {
        let fresh = window.is_none_or(|w| now >= w.start + length);
        if fresh {
            *window = Some(Self {
                start: now,
                used: 0,
            });
        }
        window.get_or_insert(Self {
            start: now,
            used: 0,
        })
    }
}

/// The headers and, when refused, the 429 body for one request.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub headers: Vec<(&'static str, String)>,
    /// `Some` when the request is refused: `(body, scope)`.
    pub refused: Option<Value>,
}

#[derive(Default)]
struct State {
    global: HashMap<String, Window>,
    buckets: HashMap<(String, String), Window>,
    invalid: VecDeque<DateTime<Utc>>,
}

#[derive(Default)]
pub(crate) struct Limiter {
    state: Mutex<State>,
}

impl Limiter {
    /// Counts a request against its limits, or refuses it with a 429.
    pub fn admit(
        &self,
        token: &str,
        bucket: &Bucket,
        now: DateTime<Utc>,
        rules: &Rules,
    ) -> Verdict {
        let mut state = super::lock(&self.state);
        let state = &mut *state;
        // The invalid-request limit: a ban on everything until the window has room again.
        let window = to_chrono(rules.invalid_request_window);
        while state.invalid.front().is_some_and(|t| *t + window <= now) {
            state.invalid.pop_front();
        }
        if state.invalid.len() >= rules.invalid_request_limit as usize {
            let until = state.invalid.front().map_or(now, |t| *t + window);
            let retry_after = seconds_between(now, until);
            return Verdict {
                headers: refusal_headers(retry_after, "global", true),
                refused: Some(json!({
                    "message": "You are being blocked from accessing our API temporarily due to exceeding our rate limits frequently. Please read our docs at https://discord.com/developers/docs/topics/rate-limits to prevent this moving forward.",
                    "retry_after": retry_after,
                    "global": true,
                    "code": 0,
                })),
            };
        }
        if bucket.global {
            let mut slot = state.global.get(token).copied();
            let global = Window::current(&mut slot, now, chrono::Duration::seconds(1));
            if global.used >= rules.global_per_second {
                let retry_after = seconds_between(now, global.start + chrono::Duration::seconds(1));
                return Verdict {
                    headers: refusal_headers(retry_after, "global", true),
                    refused: Some(json!({
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": true,
                    })),
                };
            }
            global.used += 1;
            let global = *global;
            state.global.insert(token.to_owned(), global);
        }
        let key = (bucket.route.clone(), bucket.major.clone());
        let mut slot = state.buckets.get(&key).copied();
        let window = Window::current(&mut slot, now, bucket.window);
        let reset = window.start + bucket.window;
        let reset_after = seconds_between(now, reset);
        let mut headers = vec![
            ("x-ratelimit-limit", bucket.limit.to_string()),
            (
                "x-ratelimit-reset",
                format!("{:.3}", reset.timestamp_micros() as f64 / 1e6),
            ),
            ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
            ("x-ratelimit-bucket", bucket.hash()),
        ];
        if window.used >= bucket.limit {
            headers.push(("x-ratelimit-remaining", "0".to_owned()));
            headers.push(("x-ratelimit-scope", "user".to_owned()));
            headers.push(("retry-after", retry_after_header(reset_after)));
            return Verdict {
                headers,
                refused: Some(json!({
                    "message": "You are being rate limited.",
                    "retry_after": reset_after,
                    "global": false,
                })),
            };
        }
        window.used += 1;
        headers.push((
            "x-ratelimit-remaining",
            (bucket.limit - window.used).to_string(),
        ));
        let window = *window;
        state.buckets.insert(key, window);
        Verdict {
            headers,
            refused: None,
        }
    }

    /// Counts an answer towards the invalid-request limit: 401, 403, and 429 unless its scope
    /// is `shared`.
    pub fn note_answer(&self, status: u16, shared_scope: bool, now: DateTime<Utc>) {
        if matches!(status, 401 | 403) || (status == 429 && !shared_scope) {
            super::lock(&self.state).invalid.push_back(now);
        }
    }
}

fn retry_after_header(seconds: f64) -> String {
    // Discord's `Retry-After` header is whole seconds, rounded up.
    format!("{}", seconds.ceil().max(0.0) as u64)
}

fn refusal_headers(retry_after: f64, scope: &str, global: bool) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("retry-after", retry_after_header(retry_after)),
        ("x-ratelimit-scope", scope.to_owned()),
    ];
    if global {
        headers.push(("x-ratelimit-global", "true".to_owned()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::default()
    }

    #[test]
    fn five_messages_per_channel_then_a_429_until_the_window_ends() {
        let limiter = Limiter::default();
        let now = Utc::now();
        let bucket = Bucket::of("POST", &["channels", "12", "messages"], &rules());
        for remaining in (0..5).rev() {
            let verdict = limiter.admit("t", &bucket, now, &rules());
            assert!(verdict.refused.is_none());
            assert!(
                verdict
                    .headers
                    .contains(&("x-ratelimit-remaining", remaining.to_string()))
            );
        }
        let refused = limiter.admit("t", &bucket, now, &rules());
        let body = refused.refused.expect("the sixth is refused");
        assert_eq!(body["global"], json!(false));
        assert!(
            refused
                .headers
                .contains(&("x-ratelimit-scope", "user".to_owned()))
        );
        // Another channel has its own bucket.
        let other = Bucket::of("POST", &["channels", "13", "messages"], &rules());
        assert!(limiter.admit("t", &other, now, &rules()).refused.is_none());
        // After the window, the channel may post again.
        let later = now + chrono::Duration::seconds(5);
        assert!(
            limiter
                .admit("t", &bucket, later, &rules())
                .refused
                .is_none()
        );
    }

    #[test]
    fn interaction_callbacks_are_not_bound_to_the_global_limit() {
        let limiter = Limiter::default();
        let now = Utc::now();
        let callback = Bucket::of("POST", &["interactions", "1", "tok", "callback"], &rules());
        let gateway = Bucket::of("GET", &["gateway"], &rules());
        for _ in 0..50 {
            assert!(
                limiter
                    .admit("t", &gateway, now, &rules())
                    .refused
                    .is_none()
            );
        }
        let refused = limiter.admit("t", &gateway, now, &rules());
        assert!(refused.refused.is_some());
        assert!(
            refused
                .headers
                .contains(&("x-ratelimit-scope", "global".to_owned()))
        );
        assert!(
            limiter
                .admit("t", &callback, now, &rules())
                .refused
                .is_none()
        );
    }

    /// Discord's global limit is per bot token: whichever connection or process a request
    /// comes from, whatever channel or route it names, the token's fifty a second are shared;
    /// another token has its own.
    #[test]
    fn the_global_limit_is_the_tokens_across_routes_and_processes() {
        let limiter = Limiter::default();
        let now = Utc::now();
        let rules = rules();
        // Fifty requests spread over channels (each far under its own bucket), opened DMs and
        // member reads, as three processes sending check-ins would make them.
        for i in 0..50_u32 {
            let channel = (100 + i).to_string();
            let segments: Vec<&str> = match i % 3 {
                0 => vec!["channels", &channel, "messages"],
                1 => vec!["users", "@me", "channels"],
                _ => vec!["guilds", "7", "members", &channel],
            };
            let method = if i % 3 == 2 { "GET" } else { "POST" };
            let bucket = Bucket::of(method, &segments, &rules);
            assert!(bucket.global);
            assert!(
                limiter
                    .admit("Bot a", &bucket, now, &rules)
                    .refused
                    .is_none()
            );
        }
        let fresh = Bucket::of("POST", &["channels", "999", "messages"], &rules);
        let refused = limiter
            .admit("Bot a", &fresh, now, &rules)
            .refused
            .expect("the fifty-first in the second is refused");
        assert_eq!(refused["global"], json!(true));
        assert!(
            limiter
                .admit("Bot b", &fresh, now, &rules)
                .refused
                .is_none(),
            "another token has its own budget"
        );
        let next_second = now + chrono::Duration::seconds(1);
        assert!(
            limiter
                .admit("Bot a", &fresh, next_second, &rules)
                .refused
                .is_none()
        );
    }

    #[test]
    fn what_counts_against_the_global_limit() {
        assert!(counts_against_global_limit("POST", "/channels/12/messages"));
        assert!(counts_against_global_limit("POST", "/users/@me/channels"));
        assert!(counts_against_global_limit("GET", "/guilds/7/members/9"));
        assert!(counts_against_global_limit("GET", "/gateway"));
        assert!(!counts_against_global_limit(
            "POST",
            "/interactions/1/tok/callback"
        ));
        assert!(!counts_against_global_limit(
            "PATCH",
            "/webhooks/1/tok/messages/@original?wait=true"
        ));
    }

    #[test]
    fn too_many_invalid_requests_ban_everything() {
        let limiter = Limiter::default();
        let now = Utc::now();
        let rules = Rules {
            invalid_request_limit: 3,
            ..Rules::default()
        };
        let bucket = Bucket::of("GET", &["gateway"], &rules);
        for _ in 0..3 {
            limiter.note_answer(401, false, now);
        }
        limiter.note_answer(429, true, now);
        let verdict = limiter.admit("t", &bucket, now, &rules);
        assert!(verdict.refused.is_some());
        let later = now + chrono::Duration::minutes(10);
        assert!(limiter.admit("t", &bucket, later, &rules).refused.is_none());
    }
}
