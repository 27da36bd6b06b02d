//! What an operator watches, read from the database when `/metrics` is scraped or `/healthz`
//! asked: whether the database answers, the outbox backlog, the oldest due work, the open
//! check-ins. Reads only; cheap (each through an index or over pending rows alone).

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Db, on_backend};

/// Answers when the database does: a `SELECT 1` on a pooled connection.
pub async fn ping(db: &Db) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await
    })
    .context("asking the database `SELECT 1`")?;
    Ok(())
}

/// Outbox rows waiting to be sent, by kind (`announcement`, `prompt`, `checkin_start`...):
/// the kinds are the program's own words, never user text.
pub async fn backlog(db: &Db) -> anyhow::Result<Vec<(String, i64)>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT kind, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY kind ORDER BY kind",
        )
        .fetch_all(pool)
        .await
    })
    .context("counting the outbox backlog")
}

/// The oldest work due at `now` and not yet done: a schedule whose fire time has passed, or
/// an outbox row ready to send. `None` when nothing is overdue.
pub async fn oldest_due(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
    let (schedule, row): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT (SELECT MIN(next_fire_at) FROM schedules
                      WHERE paused = 0 AND next_fire_at IS NOT NULL AND next_fire_at <= $1),
                    (SELECT MIN(not_before) FROM outbox
                      WHERE status = 'pending' AND not_before <= $1)",
        )
        .bind(now)
        .fetch_one(pool)
        .await
    })
    .context("reading the oldest due work")?;
    Ok(schedule.into_iter().chain(row).min())
}

/// Check-ins someone is in the middle of, across every server.
pub async fn open_checkins(db: &Db) -> anyhow::Result<i64> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM checkin_sessions WHERE status = 'open'")
            .fetch_one(pool)
            .await
    })
    .context("counting open check-ins")
}
