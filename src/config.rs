//! Typed settings from the environment and an optional `.env` file. The token is never
//! printed: `Token`'s `Debug` hides it.

use std::fmt;
use std::path::PathBuf;

/// A setting that is missing or malformed; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var} is malformed: {reason}")]
    Invalid { var: &'static str, reason: String },
    /// A setting that is well formed but not allowed; the reason says what to do.
    #[error("{var} is refused: {reason}")]
    Refused { var: &'static str, reason: String },
    #[error(".env could not be read: {0}")]
    DotEnv(String),
}

/// The bot token. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://coachbot.db";
pub const DEFAULT_LOG_FILTER: &str = "info,serenity=warn,sqlx=warn,tracing::span=warn";

/// How a process sends: its pace and its hold on outbox rows. `Default` is what production uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sending {
    /// How long a claimed outbox row stays with this process without a heartbeat. A process
    /// renews its leases every third of this while it works; a dead one's rows are taken over
    /// when it runs out.
    pub lease: std::time::Duration,
    /// The token's send budget: requests a second the bot allows itself overall, in any one
    /// second (Discord allows 50 per token). On PostgreSQL every process on the database
    /// shares it; on SQLite the one process keeps it alone.
    pub per_second: usize,
}

/// The token's send budget, by default: below Discord's 50, with room for what is not
/// counted against it (the gateway's start-up calls, a command's follow-ups).
pub const PER_SECOND: usize = 45;

/// How long a claimed outbox row stays with the process that claimed it, by default.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(30);

impl Sending {
    /// The lease as a time span on a clock.
    pub fn lease_span(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.lease).unwrap_or(chrono::TimeDelta::seconds(30))
    }
}

impl Default for Sending {
    fn default() -> Self {
        Self {
            lease: LEASE,
            per_second: PER_SECOND,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    token: Option<Token>,
    pub database_url: String,
    /// When set, REST and gateway go to this Discord emulator instead of Discord: a loopback
    /// address, or (with `COACHBOT_ALLOW_REMOTE_API=1`) an `https://` host ([`api_url`]).
    pub discord_api_url: Option<String>,
    pub log_filter: String,
    /// The outbox sender's pace and leases (`COACHBOT_SEND_PER_SECOND`,
    /// `COACHBOT_OUTBOX_LEASE_SECS`).
    pub sending: Sending,
    /// Where `/metrics` and `/healthz` are served (`COACHBOT_METRICS_ADDR`); off when unset.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Config {
    /// Reads `.env` in the working directory (if present; variables already set win; never a
    /// parent directory's) and then the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        match dotenvy::from_path(".env") {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(ConfigError::DotEnv(error.to_string())),
        }
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        let token = match (non_empty("DISCORD_TOKEN"), non_empty("DISCORD_TOKEN_FILE")) {
            (Some(token), _) => Some(Token(token.trim().to_owned())),
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Invalid {
                    var: "DISCORD_TOKEN_FILE",
                    reason: format!("cannot read {}: {e}", path.display()),
                })?;
                Some(Token(text.trim().to_owned()))
            }
            (None, None) => None,
        };
        if let Some(token) = &token
            && (token.0.is_empty() || token.0.chars().any(char::is_whitespace))
        {
            return Err(ConfigError::Invalid {
                var: "DISCORD_TOKEN",
                reason: "a bot token is one word with no spaces".into(),
            });
        }

        let database_url =
            non_empty("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|scheme| database_url.starts_with(scheme))
        {
            return Err(ConfigError::Invalid {
                var: "DATABASE_URL",
                reason: "expected sqlite://FILE or postgres://USER@HOST/DB".into(),
            });
        }

        let allow_remote = match non_empty("COACHBOT_ALLOW_REMOTE_API")
            .as_deref()
            .map(str::trim)
        {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "COACHBOT_ALLOW_REMOTE_API",
                    reason: format!("`{other}` should be 1 (allow) or 0 (loopback only)"),
                });
            }
        };
        let discord_api_url = non_empty("DISCORD_API_URL")
            .map(|raw| api_url(&raw, allow_remote))
            .transpose()?;

        let log_filter = non_empty("COACHBOT_LOG")
            .or_else(|| non_empty("RUST_LOG"))
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned());
        if let Err(error) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(ConfigError::Invalid {
                var: "COACHBOT_LOG",
                reason: error.to_string(),
            });
        }

        let number = |var: &'static str, range: std::ops::RangeInclusive<u64>| {
            non_empty(var)
                .map(|raw| match raw.trim().parse::<u64>() {
                    Ok(n) if range.contains(&n) => Ok(n),
                    _ => Err(ConfigError::Invalid {
                        var,
                        reason: format!(
                            "`{raw}` should be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    }),
                })
                .transpose()
        };
        let defaults = Sending::default();
        let sending = Sending {
            per_second: number("COACHBOT_SEND_PER_SECOND", 1..=10_000)?
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(defaults.per_second),
            lease: number("COACHBOT_OUTBOX_LEASE_SECS", 2..=3600)?
                .map_or(defaults.lease, std::time::Duration::from_secs),
        };

        let metrics_addr = non_empty("COACHBOT_METRICS_ADDR")
            .map(|raw| {
                raw.trim()
                    .parse::<std::net::SocketAddr>()
                    .map_err(|_| ConfigError::Invalid {
                        var: "COACHBOT_METRICS_ADDR",
                        reason: format!(
                            "`{raw}` should be an address and port, e.g. 127.0.0.1:9464"
                        ),
                    })
            })
            .transpose()?;

        Ok(Self {
            token,
            database_url,
            discord_api_url,
            log_filter,
            sending,
            metrics_addr,
        })
    }

    /// The token, which `run` needs.
    pub fn token(&self) -> Result<&Token, ConfigError> {
        self.token.as_ref().ok_or(ConfigError::Missing {
            var: "DISCORD_TOKEN",
            hint: "set it to your bot's token (or DISCORD_TOKEN_FILE to a file holding it); see .env.example",
        })
    }
}

/// Checks `DISCORD_API_URL`, which receives the bot token with every request: an http(s) URL
/// on this machine (127.0.0.0/8, ::1, localhost), such as the emulator's; elsewhere only when
/// `allow_remote` (`COACHBOT_ALLOW_REMOTE_API=1`) and only over `https://`.
pub fn api_url(raw: &str, allow_remote: bool) -> Result<String, ConfigError> {
    const VAR: &str = "DISCORD_API_URL";
    let trimmed = raw.trim().trim_end_matches('/').to_owned();
    let url = match url::Url::parse(&trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
        _ => {
            return Err(ConfigError::Invalid {
                var: VAR,
                reason: format!("`{raw}` is not an http URL like http://127.0.0.1:5100"),
            });
        }
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if loopback {
        return Ok(trimmed);
    }
    if !allow_remote {
        return Err(ConfigError::Refused {
            var: VAR,
            reason: format!(
                "`{raw}` is not on this machine, and the bot token goes with every request: \
                 point it at a local emulator (127.0.0.1, ::1 or localhost) or unset it to talk \
                 to Discord (COACHBOT_ALLOW_REMOTE_API=1 allows an https:// host elsewhere)"
            ),
        });
    }
    if url.scheme() != "https" {
        return Err(ConfigError::Refused {
            var: VAR,
            reason: format!(
                "`{raw}` would carry the bot token in clear text: use https:// for a host \
                 that is not this machine"
            ),
        });
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|key| map.get(key).cloned())
    }

    #[test]
    fn defaults_to_a_local_sqlite_file() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert!(config.discord_api_url.is_none());
    }

    #[test]
    fn a_missing_token_names_the_variable() {
        let error = config(&[]).expect("valid").token().expect_err("no token");
        assert!(error.to_string().starts_with("DISCORD_TOKEN is not set"));
    }

    #[test]
    fn a_malformed_database_url_names_the_variable() {
        let error = config(&[("DATABASE_URL", "mysql://x")]).expect_err("rejected");
        assert!(error.to_string().starts_with("DATABASE_URL is malformed"));
    }

    #[test]
    fn a_malformed_api_url_names_the_variable() {
        let error = config(&[("DISCORD_API_URL", "not a url")]).expect_err("rejected");
        assert!(
            error
                .to_string()
                .starts_with("DISCORD_API_URL is malformed")
        );
    }

    #[test]
    fn the_metrics_address_is_off_unless_set_and_must_be_an_address_and_port() {
        assert_eq!(config(&[]).expect("valid").metrics_addr, None);
        let config_with = config(&[("COACHBOT_METRICS_ADDR", "127.0.0.1:9464")]).expect("valid");
        assert_eq!(
            config_with.metrics_addr,
            Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9464)))
        );
        for raw in ["9464", "localhost:9464", "127.0.0.1"] {
            let error = config(&[("COACHBOT_METRICS_ADDR", raw)]).expect_err(raw);
            assert!(
                error
                    .to_string()
                    .starts_with("COACHBOT_METRICS_ADDR is malformed"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_token_is_never_shown_in_debug_output() {
        let config = config(&[("DISCORD_TOKEN", "secret-token-value")]).expect("valid");
        assert!(!format!("{config:?}").contains("secret-token-value"));
    }

    #[test]
    fn the_api_url_may_be_any_loopback_address() {
        for url in [
            "http://127.0.0.1:5100",
            "http://127.8.9.10:80/",
            "http://[::1]:5100",
            "http://localhost:5100",
            "https://LOCALHOST",
        ] {
            let config = config(&[("DISCORD_API_URL", url)]).expect(url);
            assert_eq!(
                config.discord_api_url.as_deref(),
                Some(url.trim_end_matches('/'))
            );
        }
    }

    #[test]
    fn a_remote_api_url_is_refused_unless_allowed() {
        for url in [
            "http://example.com",
            "https://example.com",
            "http://10.0.0.5:5100",
            "http://localhost.example.com",
            "http://[::2]:80",
        ] {
            let error = config(&[("DISCORD_API_URL", url)]).expect_err(url);
            let text = error.to_string();
            assert!(text.starts_with("DISCORD_API_URL is refused"), "{text}");
            assert!(text.contains("COACHBOT_ALLOW_REMOTE_API"), "{text}");
        }
        let allowed = config(&[
            ("DISCORD_API_URL", "https://discord-proxy.example.com/"),
            ("COACHBOT_ALLOW_REMOTE_API", "1"),
        ])
        .expect("https elsewhere, when allowed");
        assert_eq!(
            allowed.discord_api_url.as_deref(),
            Some("https://discord-proxy.example.com")
        );
    }

    #[test]
    fn a_remote_api_url_over_plain_http_is_refused_even_when_allowed() {
        let error = config(&[
            ("DISCORD_API_URL", "http://example.com"),
            ("COACHBOT_ALLOW_REMOTE_API", "1"),
        ])
        .expect_err("the token would travel in clear");
        let text = error.to_string();
        assert!(text.starts_with("DISCORD_API_URL is refused"), "{text}");
        assert!(text.contains("https://"), "{text}");
        let unclear = config(&[("COACHBOT_ALLOW_REMOTE_API", "maybe")]).expect_err("0 or 1");
        assert!(
            unclear
                .to_string()
                .starts_with("COACHBOT_ALLOW_REMOTE_API is malformed")
        );
    }
}
