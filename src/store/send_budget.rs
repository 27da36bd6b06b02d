//! The send budget every process on one database shares: Discord's global limit is per bot
//! token, not per process. The budget is a line of send slots, `spacing` apart, on the
//! database's clock; one row holds the first free slot. A process reserves a few slots in one
//! `UPDATE … RETURNING` (rows are locked for the statement, so two processes never get the
//! same slot) and sends at those times (`outbound::budget` keeps them).

use std::time::Duration;

use anyhow::Context as _;

use super::{Db, on_backend};

/// Slots granted to one process: `count` of them, the first at `first_at_us`, each
/// `spacing_us` after the one before (microseconds since 1970 on the database's clock), and
/// the database's time when it granted them, so the process can place them on its own clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub first_at_us: i64,
    pub spacing_us: i64,
    pub count: u32,
    pub granted_at_us: i64,
}

impl Grant {
    /// How long after the grant slot `i` (from 0) comes.
    pub fn offset(&self, i: u32) -> Duration {
        let at = self.first_at_us + i64::from(i) * self.spacing_us;
        Duration::from_micros(u64::try_from(at - self.granted_at_us).unwrap_or(0))
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Reserves the next `count` send slots, `spacing` apart: none earlier than now, none that
/// another process holds. "Now" is the database's clock on PostgreSQL (processes on several
/// machines share it), this machine's on SQLite (one process).
pub async fn reserve(db: &Db, count: u32, spacing: Duration) -> anyhow::Result<Grant> {
    let spacing_us = micros(spacing).max(1);
    let span = spacing_us.saturating_mul(i64::from(count.max(1)));
    let (next, now): (i64, i64) = match db {
        Db::Postgres(pool) => sqlx::query_as(
            "WITH now AS (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT AS us)
             UPDATE send_budget SET next_at_us = GREATEST(next_at_us, now.us) + $1
             FROM now WHERE name = 'discord'
             RETURNING next_at_us, now.us",
        )
        .bind(span)
        .fetch_one(pool)
        .await,
        Db::Sqlite(pool) => {
            let now = chrono::Utc::now().timestamp_micros();
            sqlx::query_as(
                "UPDATE send_budget SET next_at_us = MAX(next_at_us, $1) + $2
                 WHERE name = 'discord'
                 RETURNING next_at_us, $1",
            )
            .bind(now)
            .bind(span)
            .fetch_one(pool)
            .await
        }
    }
    .context("reserving send slots from the shared budget")?;
    Ok(Grant {
        first_at_us: next - span,
        spacing_us,
        count: count.max(1),
        granted_at_us: now,
    })
}

/// Discord said the whole bot is rate-limited: no slot is handed out for `pause` from now
/// (slots already handed out stay with their processes).
pub async fn hold(db: &Db, pause: Duration) -> anyhow::Result<()> {
    let pause_us = micros(pause);
    match db {
        Db::Postgres(pool) => sqlx::query(
            "UPDATE send_budget
             SET next_at_us = GREATEST(next_at_us,
                 (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT + $1)
             WHERE name = 'discord'",
        )
        .bind(pause_us)
        .execute(pool)
        .await
        .map(|_| ()),
        Db::Sqlite(pool) => sqlx::query(
            "UPDATE send_budget SET next_at_us = MAX(next_at_us, $1 + $2) WHERE name = 'discord'",
        )
        .bind(chrono::Utc::now().timestamp_micros())
        .bind(pause_us)
        .execute(pool)
        .await
        .map(|_| ()),
    }
    .context("holding the shared send budget after a global rate limit")
}

/// The first free slot (microseconds since 1970), for tests and diagnostics.
pub async fn next_free_us(db: &Db) -> anyhow::Result<i64> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT next_at_us FROM send_budget WHERE name = 'discord'")
            .fetch_one(pool)
            .await
    })
    .context("reading the shared send budget")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_placed_after_the_grant() {
        let grant = Grant {
            first_at_us: 1_000_500,
            spacing_us: 25_000,
            count: 4,
            granted_at_us: 1_000_000,
        };
        assert_eq!(grant.offset(0), Duration::from_micros(500));
        assert_eq!(grant.offset(3), Duration::from_micros(75_500));
    }
}
