//! Schedules: what fires when, for whom. Claiming due schedules, recording their runs, writing
//! the outbox rows and the next fire time all happen in one transaction.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::outbox::{NewRow, insert_row};
use super::{BeginWrite as _, Db, db_id, on_backend};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};
use crate::domain::schedule::{CronSpec, MAX_ACTIVE_SCHEDULES};
use crate::domain::school::TimeZoneName;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Schedule {
    pub id: i64,
    pub server_id: ServerId,
    /// None for a coach's digest and a server-wide summary.
    pub school_id: Option<SchoolId>,
    /// `checkin`, `digest` or `summary`.
    pub kind: String,
    /// A check-in's one person (None: the school's principals and team); a digest's coach.
    pub person_id: Option<UserId>,
    /// A check-in's flow.
    pub flow_id: Option<String>,
    pub spec: String,
    pub time_zone: String,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub paused: i64,
    pub grace_minutes: i64,
    /// Hours an unanswered check-in waits before its one nudge.
    pub nudge_hours: i64,
    /// For a follow-up: the step it comes back to.
    pub step_id: Option<StepId>,
    /// A summary's channel.
    pub channel_id: Option<i64>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT id, server_id, school_id, kind, person_id, flow_id, spec, time_zone,
            next_fire_at, paused, grace_minutes, nudge_hours, step_id, channel_id, created_by, created_at, updated_at
     FROM schedules";

#[derive(Clone, Debug)]
pub struct NewSchedule<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub person_id: Option<UserId>,
    pub flow_id: &'a str,
    pub spec: &'a str,
    pub time_zone: &'a str,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub created_by: UserId,
    /// For a follow-up: the step it comes back to.
    pub step_id: Option<StepId>,
}

/// Active schedules (running, not finished) in server `$1`: what the cap counts.
const ACTIVE: &str = "SELECT COUNT(*) FROM schedules WHERE server_id = $1 AND paused = 0 AND next_fire_at IS NOT NULL";

/// The refusal when a server already has its most active schedules.
fn too_many() -> anyhow::Error {
    anyhow::Error::new(crate::error::UserError::TooManySchedules {
        max: MAX_ACTIVE_SCHEDULES,
    })
}

/// Refuses (a `UserError`) when the server already has [`MAX_ACTIVE_SCHEDULES`] active
/// schedules: asked before a preview, so nobody is offered a Save that cannot work.
pub async fn ensure_room(db: &Db, server_id: ServerId) -> anyhow::Result<()> {
    let active: i64 = on_backend!(db, pool => {
        sqlx::query_scalar(ACTIVE).bind(server_id).fetch_one(pool).await
    })
    .context("counting active schedules")?;
    if usize::try_from(active).unwrap_or(usize::MAX) >= MAX_ACTIVE_SCHEDULES {
        return Err(too_many());
    }
    Ok(())
}

/// Saves a check-in schedule; refused (a `UserError`) when the server already has
/// [`MAX_ACTIVE_SCHEDULES`] active ones.
pub async fn create(
    db: &Db,
    new: &NewSchedule<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Schedule> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let active: i64 = sqlx::query_scalar(ACTIVE)
            .bind(new.server_id)
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(active).unwrap_or(usize::MAX) >= MAX_ACTIVE_SCHEDULES {
            return Err(too_many());
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO schedules (server_id, school_id, kind, person_id, flow_id, spec, time_zone, next_fire_at, created_by, created_at, updated_at, step_id)
             VALUES ($1, $2, 'checkin', $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
        )
        .bind(new.server_id)
        .bind(new.school_id)
        .bind(new.person_id)
        .bind(new.flow_id.to_owned())
        .bind(new.spec.to_owned())
        .bind(new.time_zone.to_owned())
        .bind(new.next_fire_at)
        .bind(new.created_by)
        .bind(now)
        .bind(new.step_id)
        .fetch_one(&mut *tx)
        .await?;
        // Read back before the commit: what was saved, whatever another process does next.
        let saved: Schedule = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind::<i64>(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(saved)
    })
    .context("saving a schedule")
}

/// A coach's digest or an indicator summary on a schedule.
#[derive(Clone, Debug)]
pub struct NewReport<'a> {
    pub server_id: ServerId,
    pub kind: ReportKind,
    pub spec: &'a str,
    pub time_zone: &'a str,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub created_by: UserId,
}

/// What a report schedule sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// A coach's digest, by DM; a coach has one, so a new one replaces theirs.
    Digest { coach: UserId },
    /// An indicator summary for a school (or the whole server) posted in a channel; one per
    /// school and channel, so a new one replaces it.
    Summary {
        school_id: Option<SchoolId>,
        channel_id: u64,
    },
}

/// A report schedule saved from what a person typed, with its reading of it.
#[derive(Clone, Debug)]
pub struct SavedReport {
    pub schedule: Schedule,
    pub spec: CronSpec,
    /// When it first fires.
    pub first: DateTime<Utc>,
}

/// Reads `when` in `zone` as of `now` (refusing a schedule that never fires) and saves it as
/// [`create_report`] does.
pub async fn schedule_report(
    db: &Db,
    server_id: ServerId,
    kind: ReportKind,
    when: &str,
    zone: &TimeZoneName,
    created_by: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<SavedReport> {
    let spec = CronSpec::parse(when, now.with_timezone(&zone.tz()).date_naive())?;
    let first = spec.first_after(zone.tz(), now)?;
    let schedule = create_report(
        db,
        &NewReport {
            server_id,
            kind,
            spec: &spec.source,
            time_zone: zone.name(),
            next_fire_at: Some(first),
            created_by,
        },
        now,
    )
    .await?;
    Ok(SavedReport {
        schedule,
        spec,
        first,
    })
}

/// Saves a report schedule, replacing the one it supersedes (see [`ReportKind`]).
pub async fn create_report(
    db: &Db,
    new: &NewReport<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Schedule> {
    let (kind, school_id, person_id, channel_id) = match new.kind {
        ReportKind::Digest { coach } => ("digest", None, Some(coach), None),
        ReportKind::Summary {
            school_id,
            channel_id,
        } => ("summary", school_id, None, Some(db_id(channel_id))),
    };
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "DELETE FROM schedules WHERE server_id = $1 AND kind = $2
               AND (($2 = 'digest' AND person_id = $3)
                 OR ($2 = 'summary' AND channel_id = $4 AND COALESCE(school_id, 0) = COALESCE($5, 0)))",
        )
        .bind(new.server_id)
        .bind(kind)
        .bind(person_id)
        .bind(channel_id)
        .bind(school_id)
        .execute(&mut *tx)
        .await?;
        let active: i64 = sqlx::query_scalar(ACTIVE)
            .bind(new.server_id)
            .fetch_one(&mut *tx)
            .await?;
        if usize::try_from(active).unwrap_or(usize::MAX) >= MAX_ACTIVE_SCHEDULES {
            return Err(too_many());
        }
        // The delete above sees only committed rows: when two of these run at once on
        // PostgreSQL, both find nothing to replace, and the unique index (migration 0024)
        // turns the second insert into an update of the first's row. One schedule either way.
        let target = match new.kind {
            ReportKind::Digest { .. } => "(server_id, person_id) WHERE kind = 'digest'",
            ReportKind::Summary { .. } => {
                "(server_id, channel_id, (COALESCE(school_id, 0))) WHERE kind = 'summary'"
            }
        };
        let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "INSERT INTO schedules (server_id, school_id, kind, person_id, channel_id, spec, time_zone, next_fire_at, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT {target} DO UPDATE SET spec = excluded.spec, time_zone = excluded.time_zone,
                 next_fire_at = excluded.next_fire_at, created_by = excluded.created_by,
                 updated_at = excluded.updated_at
             RETURNING id",
        )))
        .bind(new.server_id)
        .bind(school_id)
        .bind(kind)
        .bind(person_id)
        .bind(channel_id)
        .bind(new.spec.to_owned())
        .bind(new.time_zone.to_owned())
        .bind(new.next_fire_at)
        .bind(new.created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // Read back in the same transaction: once it commits, another process's schedule for
        // the same digest or channel may replace this row at once, and this caller is told
        // what it saved, not what came after.
        let saved: Schedule = sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind::<i64>(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(saved)
    })
    .context("saving a report schedule")
}

/// The schedule with this id in this server.
pub async fn get(db: &Db, server_id: ServerId, id: i64) -> anyhow::Result<Option<Schedule>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1 AND server_id = $2")))
            .bind(id)
            .bind(server_id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up a schedule")
}

/// The server's schedules, for one school or all.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
) -> anyhow::Result<Vec<Schedule>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) ORDER BY id"
        )))
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("listing schedules")
}

/// Pauses or resumes; a resumed schedule gets its next fire time from now.
pub async fn set_paused(
    db: &Db,
    schedule: &Schedule,
    paused: bool,
    next_fire_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE schedules SET paused = $1, next_fire_at = $2, updated_at = $3 WHERE id = $4 AND server_id = $5")
            .bind(i64::from(paused))
            .bind(next_fire_at)
            .bind(now)
            .bind(schedule.id)
            .bind(schedule.server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("pausing or resuming a schedule")
}

pub async fn delete(db: &Db, schedule: &Schedule) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("DELETE FROM schedules WHERE id = $1 AND server_id = $2")
            .bind(schedule.id)
            .bind(schedule.server_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("deleting a schedule")
}

/// The earliest time any schedule is due (for the scheduler to sleep until).
pub async fn next_due(db: &Db) -> anyhow::Result<Option<DateTime<Utc>>> {
    on_backend!(db, pool => {
        sqlx::query_scalar("SELECT MIN(next_fire_at) FROM schedules WHERE paused = 0 AND next_fire_at IS NOT NULL")
            .fetch_one(pool)
            .await
    })
    .context("reading the next due schedule")
}

/// What one due schedule turns into, decided by the scheduler.
#[derive(Clone, Debug, Default)]
pub struct Firing {
    pub fired: Option<DateTime<Utc>>,
    pub missed: Vec<DateTime<Utc>>,
    pub next_fire_at: Option<DateTime<Utc>>,
    /// The outbox rows it writes.
    pub outbox: Vec<NewRow>,
    /// The fired occurrence's outcome when nobody was asked (`skipped_away`,
    /// `skipped_break`); None: `fired`.
    pub skipped_run: Option<&'static str>,
    /// People its check-in skipped (away, their school on a break): each with the key their
    /// row would have had and why (`away`, `break`).
    pub skipped: Vec<(UserId, String, &'static str)>,
}

/// Claims the schedules due at `now` (at most `limit`) and applies `decide` to each, writing
/// runs, outbox rows (once per key) and the next fire time in one transaction. `decide`
/// receives the schedule and the people it is for. On PostgreSQL, rows another process holds
/// are skipped (`FOR UPDATE SKIP LOCKED`); on SQLite the write lock is taken up front.
pub async fn fire_due(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
    mut decide: impl FnMut(&Schedule, &[UserId]) -> Firing,
) -> anyhow::Result<Vec<(Schedule, Firing)>> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<Schedule> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE paused = 0 AND next_fire_at IS NOT NULL AND next_fire_at <= $1 ORDER BY next_fire_at, id LIMIT $2{lock}"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut done = Vec::new();
        for schedule in due {
            let people: Vec<UserId> = match (schedule.person_id, schedule.step_id) {
                _ if schedule.kind == "summary" => Vec::new(),
                (Some(person), _) => vec![person],
                (None, Some(step)) => sqlx::query_scalar("SELECT user_id FROM step_owners WHERE step_id = $1 ORDER BY user_id")
                    .bind(step)
                    .fetch_all(&mut *tx)
                    .await?,
                (None, None) => sqlx::query_scalar(
                    "SELECT DISTINCT user_id FROM member_roles
                     WHERE server_id = $1 AND school_id = $2 AND role IN ('principal', 'team') ORDER BY user_id",
                )
                .bind(schedule.server_id)
                .bind(schedule.school_id)
                .fetch_all(&mut *tx)
                .await?,
            };
            let firing = decide(&schedule, &people);
            let fired_outcome = firing.skipped_run.unwrap_or("fired");
            for (at, outcome) in firing.fired.iter().map(|t| (*t, fired_outcome)).chain(firing.missed.iter().map(|t| (*t, "missed"))) {
                sqlx::query(
                    "INSERT INTO schedule_runs (schedule_id, occurrence_at, outcome, recorded_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (schedule_id, occurrence_at) DO NOTHING",
                )
                .bind(schedule.id)
                .bind(at)
                .bind(outcome)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for row in &firing.outbox {
                insert_row!(tx, row, now)?;
            }
            if let Some(at) = firing.fired {
                for (person, key, reason) in &firing.skipped {
                    sqlx::query(
                        "INSERT INTO checkin_skips (key, server_id, schedule_id, person_id, occurrence_at, reason, recorded_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key.clone())
                    .bind(schedule.server_id)
                    .bind(schedule.id)
                    .bind(*person)
                    .bind(at)
                    .bind(*reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query("UPDATE schedules SET next_fire_at = $1, updated_at = $2 WHERE id = $3")
                .bind(firing.next_fire_at)
                .bind(now)
                .bind(schedule.id)
                .execute(&mut *tx)
                .await?;
            done.push((schedule, firing));
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(done)
    })
    .context("firing due schedules")
}

/// A schedule's recorded runs, oldest first: `(occurrence, outcome)`.
pub async fn runs(db: &Db, schedule_id: i64) -> anyhow::Result<Vec<(DateTime<Utc>, String)>> {
    on_backend!(db, pool => {
        sqlx::query_as("SELECT occurrence_at, outcome FROM schedule_runs WHERE schedule_id = $1 ORDER BY occurrence_at")
            .bind(schedule_id)
            .fetch_all(pool)
            .await
    })
    .context("reading a schedule's runs")
}
