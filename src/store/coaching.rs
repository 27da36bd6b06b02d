//! Coaching sessions a coach logged, who each was with, and what was agreed in it. Who may
//! read a session is `Access::may_read_session`: these functions return what is stored, and
//! the caller filters.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};

use super::{BeginWrite as _, Db, on_backend};
use crate::domain::coaching::{Agreement, CoachingSession, SessionKind, SessionNotes};
use crate::domain::ids::{CoachingSessionId, SchoolId, ServerId, StepId, UserId};

/// A session to log.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub kind: SessionKind,
    pub held_on: NaiveDate,
    pub logged_by: UserId,
    pub notes: &'a SessionNotes,
    pub next_meeting_on: Option<NaiveDate>,
    pub shared: bool,
    /// Who it was with, besides the coach logging it.
    pub people: &'a [UserId],
}

#[derive(sqlx::FromRow)]
struct Row {
    id: CoachingSessionId,
    server_id: ServerId,
    school_id: SchoolId,
    kind: SessionKind,
    held_on: NaiveDate,
    logged_by: UserId,
    worked_on: String,
    noticed: String,
    next_meeting_on: Option<NaiveDate>,
    shared: bool,
    logged_at: DateTime<Utc>,
}

impl From<Row> for CoachingSession {
    fn from(row: Row) -> Self {
        CoachingSession {
            id: row.id,
            server_id: row.server_id,
            school_id: row.school_id,
            kind: row.kind,
            held_on: row.held_on,
            logged_by: row.logged_by,
            worked_on: row.worked_on,
            noticed: row.noticed,
            next_meeting_on: row.next_meeting_on,
            shared: row.shared,
            logged_at: row.logged_at,
            people: Vec::new(),
        }
    }
}

const COLUMNS: &str = "s.id, s.server_id, s.school_id, s.kind, s.held_on, s.logged_by, s.worked_on,
     s.noticed, s.next_meeting_on, s.shared, s.logged_at";

#[derive(sqlx::FromRow)]
struct AgreementRow {
    id: i64,
    session_id: CoachingSessionId,
    position: i64,
    text: String,
    step_id: Option<StepId>,
}

impl From<AgreementRow> for Agreement {
    fn from(row: AgreementRow) -> Self {
        Agreement {
            id: row.id,
            session_id: row.session_id,
            position: row.position,
            text: row.text,
            step: row.step_id,
        }
    }
}

/// Logs a session with its people and agreed next steps, in one transaction.
pub async fn log(
    db: &Db,
    new: &NewSession<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<(CoachingSession, Vec<Agreement>)> {
    let id = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id: CoachingSessionId = sqlx::query_scalar(
            "INSERT INTO coaching_sessions
                 (server_id, school_id, kind, held_on, logged_by, worked_on, noticed, next_meeting_on, shared, logged_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(new.server_id)
        .bind(new.school_id)
        .bind(new.kind.key())
        .bind(new.held_on)
        .bind(new.logged_by)
        .bind(new.notes.worked_on.clone())
        .bind(new.notes.noticed.clone())
        .bind(new.next_meeting_on)
        .bind(new.shared)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for person in new.people.iter().filter(|p| **p != new.logged_by) {
            sqlx::query(
                "INSERT INTO coaching_session_people (session_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(*person)
            .execute(&mut *tx)
            .await?;
        }
        for (position, text) in (1_i64..).zip(&new.notes.agreements) {
            sqlx::query("INSERT INTO session_agreements (session_id, position, text) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(position)
                .bind(text.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })
    .context("logging a coaching session")?;
    let session = get(db, new.server_id, id)
        .await?
        .context("the session just logged is missing")?;
    let agreements = agreements(db, id).await?;
    Ok((session, agreements))
}

/// The session with this id in this server (never another server's), with its people.
pub async fn get(
    db: &Db,
    server_id: ServerId,
    id: CoachingSessionId,
) -> anyhow::Result<Option<CoachingSession>> {
    let row: Option<Row> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM coaching_sessions s WHERE s.id = $1 AND s.server_id = $2"
        )))
        .bind(id)
        .bind(server_id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up a coaching session")?;
    let Some(row) = row else { return Ok(None) };
    let mut session = CoachingSession::from(row);
    session.people = on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT user_id FROM coaching_session_people WHERE session_id = $1 ORDER BY user_id",
        )
        .bind(id)
        .fetch_all(pool)
        .await
    })
    .context("reading who a coaching session was with")?;
    Ok(Some(session))
}

/// What was agreed in a session, in the order written.
pub async fn agreements(db: &Db, session: CoachingSessionId) -> anyhow::Result<Vec<Agreement>> {
    let rows: Vec<AgreementRow> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT id, session_id, position, text, step_id FROM session_agreements
             WHERE session_id = $1 ORDER BY position",
        )
        .bind(session)
        .fetch_all(pool)
        .await
    })
    .context("reading what a coaching session agreed")?;
    Ok(rows.into_iter().map(Agreement::from).collect())
}

/// One agreed next step and its session, in this server (for its **Make it a step** button).
pub async fn agreement(
    db: &Db,
    server_id: ServerId,
    agreement_id: i64,
) -> anyhow::Result<Option<(Agreement, CoachingSession)>> {
    let row: Option<AgreementRow> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT a.id, a.session_id, a.position, a.text, a.step_id FROM session_agreements a
             JOIN coaching_sessions s ON s.id = a.session_id
             WHERE a.id = $1 AND s.server_id = $2",
        )
        .bind(agreement_id)
        .bind(server_id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up an agreed next step")?;
    let Some(row) = row else { return Ok(None) };
    let agreement = Agreement::from(row);
    let session = get(db, server_id, agreement.session_id)
        .await?
        .context("an agreed next step without its session")?;
    Ok(Some((agreement, session)))
}

/// Links an agreed next step to a step that already exists (the sandbox's seed: a session
/// whose agreement was planned before it was logged). Only an agreement not yet a step.
pub async fn link_agreement(db: &Db, agreement_id: i64, step: StepId) -> anyhow::Result<bool> {
    let linked = on_backend!(db, pool => {
        sqlx::query("UPDATE session_agreements SET step_id = $1 WHERE id = $2 AND step_id IS NULL")
            .bind(step)
            .bind(agreement_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
    })
    .context("linking an agreed next step to its step")?;
    Ok(linked)
}

/// The sessions of a school (or of every school), newest first, at most `limit`, each with
/// its people. Filter with `Access::may_read_session` before showing them.
pub async fn list(
    db: &Db,
    server_id: ServerId,
    school: Option<SchoolId>,
    limit: i64,
) -> anyhow::Result<Vec<CoachingSession>> {
    let rows: Vec<Row> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM coaching_sessions s
             WHERE s.server_id = $1 AND ($2 IS NULL OR s.school_id = $2)
             ORDER BY s.held_on DESC, s.id DESC LIMIT $3"
        )))
        .bind(server_id)
        .bind(school)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
    .context("listing coaching sessions")?;
    with_people(db, server_id, rows).await
}

/// Each school's latest session (by the day it was held), with its people.
pub async fn latest_by_school(
    db: &Db,
    server_id: ServerId,
) -> anyhow::Result<HashMap<SchoolId, CoachingSession>> {
    let rows: Vec<Row> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM coaching_sessions s
             WHERE s.server_id = $1 AND NOT EXISTS (
                 SELECT 1 FROM coaching_sessions t
                 WHERE t.server_id = s.server_id AND t.school_id = s.school_id
                   AND (t.held_on > s.held_on OR (t.held_on = s.held_on AND t.id > s.id)))"
        )))
        .bind(server_id)
        .fetch_all(pool)
        .await
    })
    .context("reading each school's latest coaching session")?;
    let sessions = with_people(db, server_id, rows).await?;
    Ok(sessions.into_iter().map(|s| (s.school_id, s)).collect())
}

/// Each school's next meeting on the calendar: the earliest "when we meet next" on or after
/// `from` (the school's today) among its sessions.
pub async fn next_meetings(
    db: &Db,
    server_id: ServerId,
    from: NaiveDate,
) -> anyhow::Result<HashMap<SchoolId, NaiveDate>> {
    let rows: Vec<(SchoolId, NaiveDate)> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT school_id, MIN(next_meeting_on) FROM coaching_sessions
             WHERE server_id = $1 AND next_meeting_on IS NOT NULL AND next_meeting_on >= $2
             GROUP BY school_id",
        )
        .bind(server_id)
        .bind(from)
        .fetch_all(pool)
        .await
    })
    .context("reading the schools' next coaching sessions")?;
    Ok(rows.into_iter().collect())
}

/// Sessions logged after `since` (by when they were logged), oldest first, with their people.
pub async fn logged_since(
    db: &Db,
    server_id: ServerId,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<CoachingSession>> {
    let rows: Vec<Row> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM coaching_sessions s
             WHERE s.server_id = $1 AND s.logged_at > $2 ORDER BY s.logged_at, s.id"
        )))
        .bind(server_id)
        .bind(since)
        .fetch_all(pool)
        .await
    })
    .context("reading the coaching sessions logged lately")?;
    with_people(db, server_id, rows).await
}

/// Attaches each session's people, in one query for the server.
async fn with_people(
    db: &Db,
    server_id: ServerId,
    rows: Vec<Row>,
) -> anyhow::Result<Vec<CoachingSession>> {
    let mut sessions: Vec<CoachingSession> = rows.into_iter().map(CoachingSession::from).collect();
    if sessions.is_empty() {
        return Ok(sessions);
    }
    let (low, high) = sessions.iter().fold((i64::MAX, i64::MIN), |(lo, hi), s| {
        (lo.min(s.id.get()), hi.max(s.id.get()))
    });
    let people: Vec<(CoachingSessionId, UserId)> = on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT p.session_id, p.user_id FROM coaching_session_people p
             JOIN coaching_sessions s ON s.id = p.session_id
             WHERE s.server_id = $1 AND p.session_id BETWEEN $2 AND $3
             ORDER BY p.session_id, p.user_id",
        )
        .bind(server_id)
        .bind(low)
        .bind(high)
        .fetch_all(pool)
        .await
    })
    .context("reading who coaching sessions were with")?;
    let mut by_session: HashMap<CoachingSessionId, Vec<UserId>> = HashMap::new();
    for (session, person) in people {
        by_session.entry(session).or_default().push(person);
    }
    for session in &mut sessions {
        session.people = by_session.remove(&session.id).unwrap_or_default();
    }
    Ok(sessions)
}
