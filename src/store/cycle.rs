//! Where each school is in the coaching cycle: every stage it entered, who moved it and why.
//! A school with no stage recorded is in `assess` since it was set up.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::schools::School;
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::cycle::{Stage, StageEntry};
use crate::domain::ids::{SchoolId, ServerId, UserId};

#[derive(sqlx::FromRow)]
struct Row {
    school_id: SchoolId,
    stage: Stage,
    began_at: DateTime<Utc>,
    moved_by: UserId,
    note: Option<String>,
}

impl From<Row> for StageEntry {
    fn from(row: Row) -> Self {
        StageEntry {
            school_id: row.school_id,
            stage: row.stage,
            began_at: row.began_at,
            moved_by: Some(row.moved_by),
            note: row.note,
        }
    }
}

const SELECT: &str = "SELECT school_id, stage, began_at, moved_by, note FROM cycle_stages";

/// The start every school has: assess, since it was set up.
pub fn start(school: &School) -> StageEntry {
    StageEntry {
        school_id: school.id,
        stage: Stage::Assess,
        began_at: school.created_at,
        moved_by: None,
        note: None,
    }
}

/// The school's stages, oldest first, beginning with its start when no move replaced it.
pub async fn history(db: &Db, school: &School) -> anyhow::Result<Vec<StageEntry>> {
    let rows: Vec<Row> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND school_id = $2 ORDER BY began_at, id"
        )))
        .bind(school.server_id)
        .bind(school.id)
        .fetch_all(pool)
        .await
    })
    .context("reading a school's coaching cycle")?;
    let mut first = start(school);
    // Moves recorded with earlier dates (history brought in from before the school was set
    // up) put the start no later than the first of them.
    if let Some(row) = rows.first() {
        first.began_at = first.began_at.min(row.began_at);
    }
    let mut entries = vec![first];
    entries.extend(rows.into_iter().map(StageEntry::from));
    Ok(entries)
}

/// The school's stage now.
pub async fn current(db: &Db, school: &School) -> anyhow::Result<StageEntry> {
    let mut entries = history(db, school).await?;
    Ok(entries.pop().unwrap_or_else(|| start(school)))
}

/// Every school's stage now, for the schools given (those of one server).
pub async fn currents(
    db: &Db,
    server_id: ServerId,
    schools: &[School],
) -> anyhow::Result<BTreeMap<SchoolId, StageEntry>> {
    let rows: Vec<Row> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 ORDER BY began_at, id"
        )))
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading the schools' coaching cycles")?;
    let mut now: BTreeMap<SchoolId, StageEntry> =
        schools.iter().map(|s| (s.id, start(s))).collect();
    for row in rows {
        if let Some(entry) = now.get_mut(&row.school_id) {
            *entry = row.into();
        }
    }
    Ok(now)
}

/// Moves the school to `stage` (forward, back, or the same stage again to restart its clock).
pub async fn advance(
    db: &Db,
    school: &School,
    stage: Stage,
    by: UserId,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<StageEntry> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO cycle_stages (server_id, school_id, stage, began_at, moved_by, note)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(school.server_id)
        .bind(school.id)
        .bind(stage.key())
        .bind(now)
        .bind(by)
        .bind(note.map(str::to_owned))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("moving a school in the coaching cycle")?;
    Ok(StageEntry {
        school_id: school.id,
        stage,
        began_at: now,
        moved_by: Some(by),
        note: note.map(str::to_owned),
    })
}
