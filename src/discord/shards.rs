//! Which gateway shards a `coachbot run` process holds: the count Discord recommends
//! (`GET /gateway/bot`), or a range given on the command line so several processes split the
//! servers. Discord sends each server's events to shard `(server_id >> 22) % total` and DMs to
//! shard 0, so the process holding shard 0 is the one that hears check-in answers.

use std::fmt;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

/// The shards one process runs: `first..=last` of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardRange {
    pub first: u32,
    pub last: u32,
    pub total: u32,
}

impl ShardRange {
    /// `--shards` and `--total-shards` as typed: none of them is "what Discord recommends";
    /// `--total-shards` alone is every shard of that many; `--shards` needs `--total-shards`.
    /// A bad value is an error sentence that names the flag and what to type.
    pub fn from_args(shards: Option<&str>, total: Option<u32>) -> anyhow::Result<Option<Self>> {
        let Some(total) = total else {
            if let Some(shards) = shards {
                anyhow::bail!(
                    "--shards {shards} needs --total-shards: how many shards the whole bot runs, \
                     across every process (for example --shards {shards} --total-shards 8)"
                );
            }
            return Ok(None);
        };
        if total == 0 {
            anyhow::bail!("--total-shards must be at least 1");
        }
        let Some(shards) = shards else {
            return Ok(Some(Self {
                first: 0,
                last: total - 1,
                total,
            }));
        };
        let number = |text: &str| {
            text.trim().parse::<u32>().map_err(|_| {
                anyhow::anyhow!(
                    "--shards `{shards}` should be a shard id or a range of them, such as 2 or 0-3"
                )
            })
        };
        let (first, last) = match shards.split_once('-') {
            Some((first, last)) => (number(first)?, number(last)?),
            None => {
                let only = number(shards)?;
                (only, only)
            }
        };
        if first > last {
            anyhow::bail!("--shards {shards} runs backwards: write the lower shard id first");
        }
        if last >= total {
            anyhow::bail!(
                "--shards {shards} does not fit in --total-shards {total}: shard ids run from 0 to {}",
                total - 1
            );
        }
        Ok(Some(Self { first, last, total }))
    }

    /// How many shards this process runs (never 0).
    pub fn count(self) -> u32 {
        self.last - self.first + 1
    }

    /// Whether this process holds shard 0, where Discord sends DMs (check-in answers).
    pub fn has_dms(self) -> bool {
        self.first == 0
    }
}

impl fmt::Display for ShardRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{} of {}", self.first, self.total)
        } else {
            write!(f, "{}-{} of {}", self.first, self.last, self.total)
        }
    }
}

/// The shards to start: `wanted`, or all of the count Discord recommends. Waits out
/// `session_start_limit` when too few session starts are left for them (Discord would refuse
/// the IDENTIFYs and, past the daily total, reset the token). serenity 0.12's shard queuer
/// starts this process's shards one at a time, 5 seconds apart, which stays within any
/// `max_concurrency`.
pub async fn plan(http: &serenity::Http, wanted: Option<ShardRange>) -> anyhow::Result<ShardRange> {
    let gateway = match http.get_bot_gateway().await {
        Ok(gateway) => gateway,
        Err(error) if super::token_refused(&error) => anyhow::bail!("{}", super::TOKEN_REFUSED),
        Err(error) => {
            return Err(error).context("asking Discord how many shards to run (GET /gateway/bot)");
        }
    };
    let range = wanted.unwrap_or(ShardRange {
        first: 0,
        last: gateway.shards.max(1) - 1,
        total: gateway.shards.max(1),
    });
    let limit = &gateway.session_start_limit;
    tracing::info!(
        shards = %range,
        recommended = gateway.shards,
        max_concurrency = limit.max_concurrency,
        sessions_left = limit.remaining,
        "starting gateway shards"
    );
    if range.total < gateway.shards {
        tracing::warn!(
            total = range.total,
            recommended = gateway.shards,
            "fewer shards than Discord recommends: past 2,500 servers on one shard Discord refuses the connection (close 4011)"
        );
    }
    if limit.remaining < u64::from(range.count()) {
        let wait = std::time::Duration::from_millis(limit.reset_after);
        tracing::warn!(
            remaining = limit.remaining,
            wait_secs = wait.as_secs(),
            "Discord's session start limit is nearly used up: waiting for it to reset"
        );
        tokio::time::sleep(wait).await;
    }
    Ok(range)
}

/// Runs `client` on `range` until its shards stop.
pub async fn start(client: &mut serenity::Client, range: ShardRange) -> serenity::Result<()> {
    // serenity's range end is inclusive: `first..last` starts `first` through `last`.
    client
        .start_shard_range(range.first..range.last, range.total)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u32, last: u32, total: u32) -> Option<ShardRange> {
        Some(ShardRange { first, last, total })
    }

    #[test]
    fn ranges_read_as_operators_write_them() {
        assert_eq!(ShardRange::from_args(None, None).ok(), Some(None));
        assert_eq!(
            ShardRange::from_args(Some("0-3"), Some(8)).ok(),
            Some(range(0, 3, 8))
        );
        assert_eq!(
            ShardRange::from_args(Some("5"), Some(8)).ok(),
            Some(range(5, 5, 8))
        );
        assert_eq!(
            ShardRange::from_args(None, Some(4)).ok(),
            Some(range(0, 3, 4))
        );
        assert_eq!(
            range(2, 3, 4).map(|r| r.to_string()).as_deref(),
            Some("2-3 of 4")
        );
        assert_eq!(
            range(0, 0, 1).map(|r| r.to_string()).as_deref(),
            Some("0 of 1")
        );
    }

    #[test]
    fn a_bad_range_is_one_sentence_that_says_what_to_type() {
        for (shards, total, says) in [
            (Some("0-8"), Some(8), "shard ids run from 0 to 7"),
            (Some("3-1"), Some(8), "lower shard id first"),
            (Some("a-b"), Some(8), "such as 2 or 0-3"),
            (Some("0-3"), None, "needs --total-shards"),
            (None, Some(0), "at least 1"),
        ] {
            let error = ShardRange::from_args(shards, total)
                .expect_err("refused")
                .to_string();
            assert!(error.contains(says), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
