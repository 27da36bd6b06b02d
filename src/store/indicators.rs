//! Focus indicators: the indicators a school targets, their current level and its history.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::outbox::{Announcement, announce_in};
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::ids::{SchoolId, ServerId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FocusIndicator {
    pub id: i64,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub indicator_id: String,
    /// The current level's key, once one was set.
    pub level: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// Which indicator a school focuses on, without its level: what `store::settings` keeps
/// between commands (a level recorded does not change it).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Focus {
    pub id: i64,
    pub school_id: SchoolId,
    pub indicator_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LevelChange {
    pub level: String,
    pub note: Option<String>,
    pub set_by: UserId,
    pub set_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, server_id, school_id, indicator_id, level, created_by, created_at
     FROM focus_indicators";

/// Makes the indicator one of the school's focus indicators; returns it and whether it is new.
pub async fn focus(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    indicator_id: &str,
    by: UserId,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<(FocusIndicator, bool)> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO focus_indicators (server_id, school_id, indicator_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id, indicator_id) DO NOTHING",
        )
        .bind(server_id)
        .bind(school_id)
        .bind(indicator_id.to_owned())
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let focus: FocusIndicator = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND school_id = $2 AND indicator_id = $3"
        )))
        .bind(server_id)
        .bind(school_id)
        .bind(indicator_id.to_owned())
        .fetch_one(&mut *tx)
        .await?;
        if added {
            announce_in!(tx, announce, focus.id, now);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>((focus, added))
    })
    .context("adding a focus indicator")
}

pub async fn find(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    indicator_id: &str,
) -> anyhow::Result<Option<FocusIndicator>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND school_id = $2 AND indicator_id = $3"
        )))
        .bind(server_id)
        .bind(school_id)
        .bind(indicator_id.to_owned())
        .fetch_optional(pool)
        .await
    })
    .context("looking up a focus indicator")
}

/// Every school's focus indicators in the server, by id: what `store::settings` keeps.
pub async fn focuses_of(db: &Db, server_id: ServerId) -> anyhow::Result<Vec<Focus>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, school_id, indicator_id FROM focus_indicators WHERE server_id = $1 ORDER BY id",
        )
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading the server's focus indicators")
}

/// The school's focus indicators, in the order they were chosen.
pub async fn for_school(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<Vec<FocusIndicator>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND school_id = $2 ORDER BY id"
        )))
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("listing focus indicators")
}

/// Sets the current level and appends it to the history, in one transaction.
pub async fn set_level(
    db: &Db,
    focus: &FocusIndicator,
    level: &str,
    note: Option<&str>,
    by: UserId,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE focus_indicators SET level = $1 WHERE id = $2 AND server_id = $3")
            .bind(level.to_owned())
            .bind(focus.id)
            .bind(focus.server_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO indicator_levels (server_id, focus_id, level, note, set_by, set_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(focus.server_id)
        .bind(focus.id)
        .bind(level.to_owned())
        .bind(note.map(str::to_owned))
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        announce_in!(tx, announce, focus.id, now);
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("setting an indicator's level")
}

/// Every level change, newest first.
pub async fn history(db: &Db, focus: &FocusIndicator) -> anyhow::Result<Vec<LevelChange>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT level, note, set_by, set_at FROM indicator_levels
             WHERE focus_id = $1 AND server_id = $2 ORDER BY set_at DESC, id DESC",
        )
        .bind(focus.id)
        .bind(focus.server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading level history")
}

/// Every level set on a school's focus indicators, oldest first, in one query: (focus id,
/// level key, when).
pub async fn levels_at(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
) -> anyhow::Result<Vec<(i64, String, DateTime<Utc>)>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT l.focus_id, l.level, l.set_at FROM indicator_levels l
             JOIN focus_indicators f ON f.id = l.focus_id
             WHERE l.server_id = $1 AND f.school_id = $2 ORDER BY l.set_at, l.id",
        )
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("reading a school's level history")
}
