//! Digest items a coach snoozed (`digest_snoozes`): left out of their digest until `until`.

use std::collections::HashSet;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Db, on_backend};
use crate::domain::ids::{ServerId, UserId};

/// The items `coach` snoozed that are still snoozed at `now`.
pub async fn snoozed(
    db: &Db,
    server_id: ServerId,
    coach: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<HashSet<String>> {
    let items: Vec<String> = on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT item FROM digest_snoozes WHERE server_id = $1 AND coach_id = $2 AND until > $3",
        )
        .bind(server_id)
        .bind(coach)
        .bind(now)
        .fetch_all(pool)
        .await
    })
    .context("reading a coach's snoozed digest items")?;
    Ok(items.into_iter().collect())
}

/// Snoozes `item` for `coach` until `until` (again: the later snooze replaces the earlier).
pub async fn snooze(
    db: &Db,
    server_id: ServerId,
    coach: UserId,
    item: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        sqlx::query(
            "INSERT INTO digest_snoozes (server_id, coach_id, item, until, snoozed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (server_id, coach_id, item)
             DO UPDATE SET until = excluded.until, snoozed_at = excluded.snoozed_at",
        )
        .bind(server_id)
        .bind(coach)
        .bind(item.to_owned())
        .bind(until)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ())
    })
    .context("snoozing a digest item")
}
