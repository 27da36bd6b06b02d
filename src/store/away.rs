//! Away periods: a person's absence in one server, as local dates (both included), and the
//! record of check-ins skipped while someone was away or their school on a break.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::calendar::Span;
use crate::domain::ids::{SchoolId, ServerId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AwayPeriod {
    pub id: i64,
    pub server_id: ServerId,
    pub person_id: UserId,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub note: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

impl AwayPeriod {
    pub fn span(&self) -> Span {
        Span {
            from: self.starts_on,
            to: self.ends_on,
        }
    }
}

const SELECT: &str =
    "SELECT id, server_id, person_id, starts_on, ends_on, note, created_by, created_at
     FROM away_periods";

/// What `/away add` saves.
#[derive(Clone, Debug)]
pub struct NewAway<'a> {
    pub server_id: ServerId,
    pub person_id: UserId,
    pub span: Span,
    pub note: Option<&'a str>,
    pub created_by: UserId,
}

pub async fn add(db: &Db, new: &NewAway<'_>, now: DateTime<Utc>) -> anyhow::Result<AwayPeriod> {
    let id: i64 = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id = sqlx::query_scalar(
            "INSERT INTO away_periods (server_id, person_id, starts_on, ends_on, note, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.server_id)
        .bind(new.person_id)
        .bind(new.span.from)
        .bind(new.span.to)
        .bind(new.note.map(str::to_owned))
        .bind(new.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })
    .context("saving an away period")?;
    get(db, new.server_id, id)
        .await?
        .context("the away period just saved is missing")
}

pub async fn get(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<Option<AwayPeriod>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1 AND server_id = $2")))
            .bind(id)
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up an away period")
}

/// The server's away periods not over before `since` (one person's, or everyone's), soonest
/// first.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    person: Option<UserId>,
    since: NaiveDate,
) -> anyhow::Result<Vec<AwayPeriod>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND ($2 IS NULL OR person_id = $2) AND ends_on >= $3
             ORDER BY starts_on, id"
        )))
        .bind(server_id)
        .bind(person)
        .bind(since)
        .fetch_all(pool)
        .await
    })
    .context("listing away periods")
}

/// Ends an away period (it is forgotten: nothing is skipped for it any more).
pub async fn delete(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM away_periods WHERE id = $1 AND server_id = $2")
            .bind(id)
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("ending an away period")
}

/// Every server's away periods that touch the dates `from..=to`: what the scheduler checks.
pub async fn touching(db: &Db, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<AwayPeriod>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE ends_on >= $1 AND starts_on <= $2 ORDER BY id"
        )))
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
    })
    .context("reading away periods")
}

/// Whether `person` is away on `date` in this server.
pub async fn is_away(
    db: &Db,
    server_id: ServerId,
    person: UserId,
    date: NaiveDate,
) -> anyhow::Result<bool> {
    let found: Option<i64> = on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM away_periods WHERE server_id = $1 AND person_id = $2
               AND starts_on <= $3 AND ends_on >= $3 LIMIT 1",
        )
        .bind(server_id)
        .bind(person)
        .bind(date)
        .fetch_optional(pool)
        .await
    })
    .context("reading whether someone is away")?;
    Ok(found.is_some())
}

/// A scheduled check-in skipped for one person: `(person, occurrence, reason)`.
pub type SkippedCheckin = (UserId, DateTime<Utc>, String);

/// The check-ins a schedule skipped (away, break), oldest first.
pub async fn skipped(db: &Db, schedule_id: i64) -> anyhow::Result<Vec<SkippedCheckin>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT person_id, occurrence_at, reason FROM checkin_skips WHERE schedule_id = $1
             ORDER BY occurrence_at, person_id",
        )
        .bind(schedule_id)
        .fetch_all(pool)
        .await
    })
    .context("reading skipped check-ins")
}

/// The server's away periods touching `from..=to`, with each school the person is principal
/// or on the team of: `(school, person, span)`, for the coach's digest.
pub async fn by_school(
    db: &Db,
    server_id: ServerId,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<(SchoolId, UserId, Span)>> {
    let rows: Vec<(SchoolId, UserId, NaiveDate, NaiveDate)> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT DISTINCT r.school_id, a.person_id, a.starts_on, a.ends_on FROM away_periods a
             JOIN member_roles r ON r.server_id = a.server_id AND r.user_id = a.person_id
             WHERE a.server_id = $1 AND r.school_id IS NOT NULL AND r.role IN ('principal', 'team')
               AND a.ends_on >= $2 AND a.starts_on <= $3
             ORDER BY a.starts_on",
        )
        .bind(server_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
    })
    .context("reading who is away, by school")?;
    Ok(rows
        .into_iter()
        .map(|(school, person, from, to)| (school, person, Span { from, to }))
        .collect())
}

/// What a skipped check-in was: its outbox key, schedule, person and occurrence.
#[derive(Clone, Debug)]
pub struct Skipped<'a> {
    pub key: &'a str,
    pub server_id: ServerId,
    pub schedule_id: i64,
    pub person_id: UserId,
    pub occurrence: DateTime<Utc>,
    /// `away` or `break`.
    pub reason: &'static str,
}

/// Records a scheduled check-in skipped when it would have started (it waited for an earlier
/// one and its person is away now, or their school on a break); once per key.
pub async fn record_skip(db: &Db, skipped: &Skipped<'_>, now: DateTime<Utc>) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO checkin_skips (key, server_id, schedule_id, person_id, occurrence_at, reason, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING",
        )
        .bind(skipped.key.to_owned())
        .bind(skipped.server_id)
        .bind(skipped.schedule_id)
        .bind(skipped.person_id)
        .bind(skipped.occurrence)
        .bind(skipped.reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("recording a skipped check-in")
}

/// Whether a check-in was already started from the outbox row with this key (a retry).
pub async fn started_from(db: &Db, key: &str) -> anyhow::Result<bool> {
    let found: Option<i64> = on_backend!(db, pool => {
        sqlx::query_scalar("SELECT id FROM checkin_sessions WHERE origin = $1")
            .bind(key.to_owned())
            .fetch_optional(pool)
            .await
    })
    .context("looking for a check-in started from a row")?;
    Ok(found.is_some())
}
