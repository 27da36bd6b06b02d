//! Barriers: what is in the way of a step or a school, open until resolved with a note.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::outbox::{Announcement, announce_in};
use super::{BeginWrite as _, Db, on_backend};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};
use crate::domain::plan::BarrierNoteKind;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Barrier {
    pub id: i64,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub step_id: Option<StepId>,
    pub category: String,
    pub text: String,
    pub raised_by: UserId,
    pub raised_at: DateTime<Utc>,
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

/// A note on a barrier: a root cause named in a barrier deep-dive about it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct BarrierNote {
    pub id: i64,
    pub barrier_id: i64,
    pub kind: BarrierNoteKind,
    pub text: String,
    pub author_id: UserId,
    pub at: DateTime<Utc>,
    /// The check-in it came from.
    pub checkin_id: Option<i64>,
}

/// What is needed to raise a barrier.
#[derive(Clone, Debug)]
pub struct NewBarrier<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub step_id: Option<StepId>,
    pub category: &'a str,
    pub text: &'a str,
    pub raised_by: UserId,
}

/// Inserts a barrier on any executor (inside the caller's transaction); returns its id.
/// `$1` server, `$2` school, `$3` step, `$4` category, `$5` text, `$6` by, `$7` now.
pub(crate) const INSERT: &str = "INSERT INTO barriers
     (server_id, school_id, step_id, category, text, raised_by, raised_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

macro_rules! insert_barrier {
    ($executor:expr, $new:expr, $now:expr) => {
        sqlx::query_scalar::<_, i64>($crate::store::barriers::INSERT)
            .bind($new.server_id)
            .bind($new.school_id)
            .bind($new.step_id)
            .bind($new.category.to_owned())
            .bind($new.text.to_owned())
            .bind($new.raised_by)
            .bind($now)
            .fetch_one($executor)
    };
}
pub(crate) use insert_barrier;

pub(super) const SELECT: &str =
    "SELECT id, server_id, school_id, step_id, category, text, raised_by, raised_at,
            resolved_by, resolved_at, resolution
     FROM barriers";

pub async fn add(
    db: &Db,
    new: &NewBarrier<'_>,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<Barrier> {
    let id = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id = insert_barrier!(&mut *tx, new, now).await?;
        announce_in!(tx, announce, id, now);
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })
    .context("raising a barrier")?;
    get(db, new.server_id, id)
        .await?
        .context("the barrier just raised is missing")
}

/// The barrier with this id in this server.
pub async fn get(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<Option<Barrier>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1 AND server_id = $2")))
            .bind(id)
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up a barrier")
}

/// Resolves an open barrier; returns false when it was already resolved (nothing written).
pub async fn resolve(
    db: &Db,
    barrier: &Barrier,
    by: UserId,
    resolution: &str,
    now: DateTime<Utc>,
    announce: Option<&Announcement<'_>>,
) -> anyhow::Result<bool> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE barriers SET resolved_by = $1, resolved_at = $2, resolution = $3
             WHERE id = $4 AND server_id = $5 AND resolved_at IS NULL",
        )
        .bind(by)
        .bind(now)
        .bind(resolution.to_owned())
        .bind(barrier.id)
        .bind(barrier.server_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            announce_in!(tx, announce, barrier.id, now);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed == 1)
    })
    .context("resolving a barrier")
}

/// Barriers of a school (or of every school in the server): open ones first, oldest first.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
    include_resolved: bool,
) -> anyhow::Result<Vec<Barrier>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1
               AND ($2 IS NULL OR school_id = $2)
               AND ($3 OR resolved_at IS NULL)
             ORDER BY CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END, raised_at, id"
        )))
        .bind(server_id)
        .bind(school_id)
        .bind(include_resolved)
        .fetch_all(pool)
        .await
    })
    .context("listing barriers")
}

/// Open barriers raised against a step.
pub async fn open_for_step(
    db: &Db,
    server_id: ServerId,
    step_id: StepId,
) -> anyhow::Result<Vec<Barrier>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND step_id = $2 AND resolved_at IS NULL ORDER BY id"
        )))
        .bind(server_id)
        .bind(step_id)
        .fetch_all(pool)
        .await
    })
    .context("listing a step's barriers")
}

/// The notes on a barrier of this server, oldest first.
pub async fn notes(
    db: &Db,
    server_id: ServerId,
    barrier_id: i64,
) -> anyhow::Result<Vec<BarrierNote>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, barrier_id, kind, text, author_id, at, checkin_id FROM barrier_notes
             WHERE server_id = $1 AND barrier_id = $2 ORDER BY at, id",
        )
        .bind(server_id)
        .bind(barrier_id)
        .fetch_all(pool)
        .await
    })
    .context("reading a barrier's notes")
}
