//! Check-in sessions and their answers. Every step of a conversation is a row, so a restart
//! resumes where it stopped; nothing becomes a step update or barrier until confirmed.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::outbox::{Finished, NewRow, OutboxMessage, insert_row};
use super::{BeginWrite as _, Db, db_id, on_backend};
pub use crate::domain::checkin::SessionStatus;
use crate::domain::checkin::{About, Answered, Mark, Outcome};
use crate::domain::flow::Asked;
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};
use crate::domain::message::Prompt;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckinSession {
    pub id: i64,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub flow_id: String,
    pub flow_title: String,
    pub opener: Option<String>,
    pub plan: String,
    pub status: SessionStatus,
    pub correcting: Option<i64>,
    /// The last prompt queued (`q3`, `k3`, `review`, `fix3`), so none is queued twice.
    pub prompted: Option<String>,
    /// How many prompts have been queued: the number of the last one (see [`prompt_keys`]).
    pub prompts: i64,
    pub dm_channel_id: Option<i64>,
    pub last_message_id: Option<i64>,
    pub started_by: UserId,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The outbox row that started it, for scheduled check-ins.
    pub origin: Option<String>,
    /// Hours without an answer before the one nudge.
    pub nudge_hours: i64,
    pub nudged_at: Option<DateTime<Utc>>,
    /// The existing barrier the check-in is about (a barrier deep-dive on `#12`).
    pub barrier_id: Option<i64>,
    /// The person's open steps when it began (JSON), for answers that say which step.
    pub steps: Option<String>,
}

/// One of the person's open steps as a check-in knows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenStep {
    pub id: StepId,
    pub title: String,
}

impl CheckinSession {
    /// The person's open steps when the check-in began (for a check-in begun before they were
    /// stored, the steps its questions name).
    pub fn open_steps(&self) -> anyhow::Result<Vec<OpenStep>> {
        if let Some(raw) = &self.steps {
            return serde_json::from_str(raw).context("reading a check-in's steps");
        }
        let mut out: Vec<OpenStep> = Vec::new();
        for asked in self.questions()? {
            if let Some(id) = asked.step_id
                && !out.iter().any(|s| s.id == id)
            {
                out.push(OpenStep {
                    id,
                    title: format!("step #{id}"),
                });
            }
        }
        Ok(out)
    }

    /// What its answers can be about, given its open steps' ids.
    pub fn subject<'a>(&self, steps: &'a [StepId]) -> crate::domain::checkin::Subject<'a> {
        crate::domain::checkin::Subject {
            steps,
            barrier: self.barrier_id,
        }
    }

    /// The ids of [`Self::open_steps`].
    pub fn open_step_ids(&self) -> anyhow::Result<Vec<StepId>> {
        Ok(self.open_steps()?.iter().map(|s| s.id).collect())
    }

    /// The questions as this person is asked them.
    pub fn questions(&self) -> anyhow::Result<Vec<Asked>> {
        serde_json::from_str(&self.plan).context("reading a check-in's questions")
    }

    pub fn person(&self) -> UserId {
        self.person_id
    }

    pub fn server(&self) -> ServerId {
        self.server_id
    }
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AnswerRow {
    pub session_id: i64,
    pub position: i64,
    pub purpose: String,
    pub step_id: Option<StepId>,
    pub answer: String,
    pub category: Option<String>,
    pub message_id: Option<i64>,
    pub answered_at: DateTime<Utc>,
    pub shared: i64,
    pub mark: Option<String>,
    pub about: Option<String>,
}

impl AnswerRow {
    pub fn answered(&self) -> Answered {
        Answered {
            position: usize::try_from(self.position).unwrap_or(usize::MAX),
            answer: self.answer.clone(),
            category: self.category.clone(),
            shared: self.shared != 0,
            mark: self.mark.as_deref().and_then(Mark::parse),
            about: self.about.as_deref().and_then(About::parse),
        }
    }
}

const SELECT: &str =
    "SELECT id, server_id, school_id, person_id, flow_id, flow_title, opener, plan, status,
            correcting, prompted, prompts, dm_channel_id, last_message_id, started_by,
            started_at, expires_at, updated_at, finished_at, origin, nudge_hours, nudged_at,
            barrier_id, steps
     FROM checkin_sessions";

/// Inside the transaction `$tx` that closes a check-in of `$person` in `$server`: the
/// scheduled check-ins of theirs waiting in that server's outbox for it are due at `$now`.
macro_rules! wake_waiting {
    ($tx:expr, $server:expr, $person:expr, $now:expr) => {
        sqlx::query(
            "UPDATE outbox SET not_before = $1
             WHERE kind = 'checkin_start' AND status = 'pending' AND server_id = $2
               AND person_id = $3 AND not_before > $1",
        )
        .bind($now)
        .bind($server)
        .bind($person)
        .execute(&mut *$tx)
        .await
    };
}

#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub flow_id: &'a str,
    pub flow_title: &'a str,
    pub opener: Option<&'a str>,
    pub plan: &'a [Asked],
    pub started_by: UserId,
    pub expires_at: DateTime<Utc>,
    /// The outbox key of a scheduled check-in: a retry finds the session it already started.
    pub origin: Option<&'a str>,
    pub nudge_hours: i64,
    /// The DM channel with the person, when already known.
    pub dm_channel_id: Option<u64>,
    /// The existing barrier the check-in is about, if any.
    pub barrier_id: Option<i64>,
    /// The person's open steps at the school.
    pub steps: &'a [OpenStep],
}

/// Starts a session, or returns the person's open one in the same server (or the one this
/// outbox key started before) without starting another. A person may have an open check-in in
/// each server; only one of them is in conversation at a time (see [`open_for`]).
pub async fn start(
    db: &Db,
    new: &NewSession<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<CheckinSession, CheckinSession>> {
    let plan = serde_json::to_string(new.plan).context("writing a check-in's questions")?;
    let steps = serde_json::to_string(new.steps).context("writing a check-in's steps")?;
    let (id, existing) = on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM checkin_sessions
             WHERE (server_id = $3 AND person_id = $1 AND status = 'open') OR origin = $2
             ORDER BY CASE WHEN origin = $2 THEN 0 ELSE 1 END, id LIMIT 1",
        )
        .bind(new.person_id)
        .bind(new.origin.map(str::to_owned))
        .bind(new.server_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(open) = open {
            tx.rollback().await?;
            Ok::<_, sqlx::Error>((open, true))
        } else {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO checkin_sessions
                     (server_id, school_id, person_id, flow_id, flow_title, opener, plan, status,
                      started_by, started_at, expires_at, updated_at, origin, nudge_hours, dm_channel_id,
                      barrier_id, steps)
                 VALUES ($1, $2, $3, $4, $5, $10, $6, 'open', $7, $8, $9, $8, $11, $12, $13, $14, $15) RETURNING id",
            )
            .bind(new.server_id)
            .bind(new.school_id)
            .bind(new.person_id)
            .bind(new.flow_id.to_owned())
            .bind(new.flow_title.to_owned())
            .bind(plan.clone())
            .bind(new.started_by)
            .bind(now)
            .bind(new.expires_at)
            .bind(new.opener.map(str::to_owned))
            .bind(new.origin.map(str::to_owned))
            .bind(new.nudge_hours)
            .bind(new.dm_channel_id.map(db_id))
            .bind(new.barrier_id)
            .bind(steps.clone())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((id, false))
        }
    })
    .context("starting a check-in")?;
    let session = get(db, id)
        .await?
        .context("the check-in just started is missing")?;
    Ok(if existing { Err(session) } else { Ok(session) })
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(pool)
            .await
    })
    .context("looking up a check-in")
}

/// The check-in the person's DMs answer, in whichever server it was started: the oldest open
/// one whose first prompt has gone out (`prompts > 0`). A person's DMs are one channel for
/// every server, so only one check-in is in conversation at a time; their other open ones
/// wait, unprompted, until it ends (see [`next_waiting`]).
pub async fn open_for(db: &Db, person_id: UserId) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE person_id = $1 AND status = 'open' AND prompts > 0 ORDER BY id LIMIT 1"
        )))
        .bind(person_id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up the check-in in conversation")
}

/// The person's open check-in in this server, in conversation or waiting.
pub async fn open_in_server(
    db: &Db,
    server_id: ServerId,
    person_id: UserId,
) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND person_id = $2 AND status = 'open'"
        )))
        .bind(server_id)
        .bind(person_id)
        .fetch_optional(pool)
        .await
    })
    .context("looking up an open check-in")
}

/// The person's check-in to start next, when none is in conversation: their oldest open one
/// whose first prompt has not gone out and whose time has not run out.
pub async fn next_waiting(
    db: &Db,
    person_id: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE person_id = $1 AND status = 'open' AND prompts = 0 AND expires_at > $2
             ORDER BY id LIMIT 1"
        )))
        .bind(person_id)
        .bind(now)
        .fetch_optional(pool)
        .await
    })
    .context("looking up a waiting check-in")
}

/// Every open check-in (to catch up on DMs after a restart).
pub async fn all_open(db: &Db) -> anyhow::Result<Vec<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE status = 'open' ORDER BY id")))
            .fetch_all(pool)
            .await
    })
    .context("listing open check-ins")
}

/// Open check-ins in a server, for one school or all.
pub async fn open_in(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
) -> anyhow::Result<Vec<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) AND status = 'open' ORDER BY started_at"
        )))
        .bind(server_id)
        .bind(school_id)
        .fetch_all(pool)
        .await
    })
    .context("listing open check-ins")
}

/// A person's check-ins in a server, newest first.
pub async fn of_person(
    db: &Db,
    server_id: ServerId,
    person_id: UserId,
) -> anyhow::Result<Vec<CheckinSession>> {
    on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE server_id = $1 AND person_id = $2 ORDER BY started_at DESC, id DESC"
        )))
        .bind(server_id)
        .bind(person_id)
        .fetch_all(pool)
        .await
    })
    .context("listing a person's check-ins")
}

pub async fn answers(db: &Db, session_id: i64) -> anyhow::Result<Vec<AnswerRow>> {
    on_backend!(db, pool => {
        sqlx::query_as(
            "SELECT session_id, position, purpose, step_id, answer, category, message_id, answered_at,
                    shared, mark, about
             FROM checkin_answers WHERE session_id = $1 ORDER BY position",
        )
        .bind(session_id)
        .fetch_all(pool)
        .await
    })
    .context("reading a check-in's answers")
}

/// The next step the person named in their last confirmed check-in for this school (a quote
/// never crosses schools or servers).
pub async fn last_next_step(
    db: &Db,
    server_id: ServerId,
    school_id: SchoolId,
    person_id: UserId,
) -> anyhow::Result<Option<String>> {
    on_backend!(db, pool => {
        sqlx::query_scalar(
            "SELECT a.answer FROM checkin_answers a JOIN checkin_sessions s ON s.id = a.session_id
             WHERE s.server_id = $1 AND s.school_id = $2 AND s.person_id = $3
               AND s.status = 'confirmed' AND a.purpose = 'next_step'
             ORDER BY s.finished_at DESC, a.position DESC LIMIT 1",
        )
        .bind(server_id)
        .bind(school_id)
        .bind(person_id)
        .fetch_optional(pool)
        .await
    })
    .context("reading the last next step")
}

/// One answer to store. A DM's id moves the session's read mark with it, in one transaction.
#[derive(Clone, Debug)]
pub struct NewAnswer<'a> {
    pub position: usize,
    pub purpose: &'a str,
    pub step_id: Option<StepId>,
    pub answer: &'a str,
    pub message_id: Option<u64>,
    /// Where it goes unless the person changes it (a corrected answer keeps its choice).
    pub shared: bool,
    pub mark: Option<Mark>,
}

/// Stores answers (replacing a corrected one but keeping its category, destination and step),
/// clears any correction, and marks the reflection as due again.
pub async fn record_answers(
    db: &Db,
    session_id: i64,
    answers: &[NewAnswer<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for answer in answers {
            let position = i64::try_from(answer.position).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO checkin_answers (session_id, position, purpose, step_id, answer, message_id, answered_at, shared, mark)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (session_id, position)
                 DO UPDATE SET answer = excluded.answer, message_id = excluded.message_id,
                               answered_at = excluded.answered_at, mark = excluded.mark",
            )
            .bind(session_id)
            .bind(position)
            .bind(answer.purpose.to_owned())
            .bind(answer.step_id)
            .bind(answer.answer.to_owned())
            .bind(answer.message_id.map(db_id))
            .bind(now)
            .bind(i64::from(answer.shared))
            .bind(answer.mark.map(Mark::key))
            .execute(&mut *tx)
            .await?;
            if let Some(message) = answer.message_id {
                sqlx::query("UPDATE checkin_sessions SET last_message_id = $1 WHERE id = $2")
                    .bind(db_id(message))
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE checkin_sessions SET correcting = NULL, prompted = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving a check-in answer")
}

/// Moves the read mark past a DM that was not an answer (so it is not handled twice).
pub async fn see_message(db: &Db, session_id: i64, message_id: u64) -> anyhow::Result<()> {
    set(
        db,
        "UPDATE checkin_sessions SET last_message_id = $1 WHERE id = $2",
        Some(db_id(message_id)),
        session_id,
    )
    .await
}

pub async fn set_category(
    db: &Db,
    session_id: i64,
    position: usize,
    category: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE checkin_answers SET category = $1 WHERE session_id = $2 AND position = $3")
            .bind(category.to_owned())
            .bind(session_id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE checkin_sessions SET prompted = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving a barrier's category")
}

/// Where answers go: shared to the plan, or kept private. The reflection is due again.
pub async fn set_shared(
    db: &Db,
    session_id: i64,
    positions: &[usize],
    shared: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for position in positions {
            sqlx::query("UPDATE checkin_answers SET shared = $1 WHERE session_id = $2 AND position = $3")
                .bind(i64::from(shared))
                .bind(session_id)
                .bind(i64::try_from(*position).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE checkin_sessions SET prompted = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving where answers go")
}

/// Which step the answer at `position` is about.
pub async fn set_about(
    db: &Db,
    session_id: i64,
    position: usize,
    about: About,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE checkin_answers SET about = $1 WHERE session_id = $2 AND position = $3")
            .bind(about.key())
            .bind(session_id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE checkin_sessions SET prompted = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("saving which step an answer is about")
}

async fn set(
    db: &Db,
    sql: &'static str,
    value: Option<i64>,
    session_id: i64,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(sql).bind(value).bind(session_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("updating a check-in")
}

/// The outbox key of a session's prompt number `number`.
pub fn prompt_key(session_id: i64, number: i64) -> String {
    format!("prompt:{session_id}:{number}")
}

/// Who sends a prompt just queued, and until when no one else may.
pub struct Lease<'a> {
    pub owner: &'a str,
    pub until: DateTime<Utc>,
}

/// Queues the prompt `key` (`q3`, `k3`, `review`, `fix3`) of an open session as an outbox row
/// in the same transaction that records it as the session's prompt, leased to its sender;
/// returns its number and whether it was queued now. A prompt already queued is not queued
/// again: its number is returned as it was. None when the session waits: its first prompt
/// is held back while another of the person's check-ins is in conversation. A session's first
/// prompt starts its time: it stays open as long from then as it was given when stored.
pub async fn queue_prompt(
    db: &Db,
    session: &CheckinSession,
    key: &str,
    messages: &[Prompt],
    lease: &Lease<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(i64, bool)>> {
    // Two first prompts of one person are decided one at a time (SQLite's write lock does
    // this already).
    let person_lock = match db {
        Db::Sqlite(_) => "SELECT $1",
        Db::Postgres(_) => "SELECT pg_advisory_xact_lock($1)",
    };
    let expires_at = now + (session.expires_at - session.started_at);
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(person_lock)
            .bind(session.person_id)
            .execute(&mut *tx)
            .await?;
        let number: Option<i64> = sqlx::query_scalar(
            "UPDATE checkin_sessions SET prompted = $1, prompts = prompts + 1, updated_at = $2,
                 expires_at = CASE WHEN prompts = 0 THEN $4 ELSE expires_at END
             WHERE id = $3 AND status = 'open' AND (prompted IS NULL OR prompted <> $1)
               AND (prompts > 0 OR NOT EXISTS (
                   SELECT 1 FROM checkin_sessions o
                   WHERE o.person_id = checkin_sessions.person_id AND o.status = 'open'
                     AND o.prompts > 0 AND o.id <> checkin_sessions.id))
             RETURNING prompts",
        )
        .bind(key.to_owned())
        .bind(now)
        .bind(session.id)
        .bind(expires_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(number) = number else {
            // Queued before, waiting for another check-in, or closed meanwhile: nothing new
            // to write.
            let current: i64 = sqlx::query_scalar("SELECT prompts FROM checkin_sessions WHERE id = $1")
                .bind(session.id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok((current > 0).then_some((current, false)));
        };
        let message = OutboxMessage::Prompt {
            session_id: session.id,
            messages: messages.to_vec(),
        };
        let row_key = prompt_key(session.id, number);
        let row = NewRow::new(row_key.clone(), session.server_id, Some(session.person_id), &message, now)
            .map_err(|error| sqlx::Error::Encode(error.into()))?;
        insert_row!(tx, &row, now)?;
        sqlx::query("UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE key = $3")
            .bind(lease.owner.to_owned())
            .bind(lease.until)
            .bind(row_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some((number, true)))
    })
    .context("queueing a check-in prompt")
}

/// Marks an answer as being corrected: the person's next DM replaces it.
pub async fn set_correcting(
    db: &Db,
    session_id: i64,
    position: Option<usize>,
) -> anyhow::Result<()> {
    let value = position.map(|p| i64::try_from(p).unwrap_or(i64::MAX));
    set(
        db,
        "UPDATE checkin_sessions SET correcting = $1, prompted = NULL WHERE id = $2",
        value,
        session_id,
    )
    .await
}

pub async fn set_dm_channel(db: &Db, session_id: i64, channel_id: u64) -> anyhow::Result<()> {
    set(
        db,
        "UPDATE checkin_sessions SET dm_channel_id = $1 WHERE id = $2",
        Some(db_id(channel_id)),
        session_id,
    )
    .await
}

/// Closes an open session as skipped or expired, deleting its draft answers; false when it
/// was not open. A scheduled check-in of the same person and server that waits for it in the
/// outbox is due at once (same transaction).
pub async fn finish(
    db: &Db,
    session_id: i64,
    status: SessionStatus,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let closed: Option<(ServerId, UserId)> = sqlx::query_as(
            "UPDATE checkin_sessions SET status = $1, finished_at = $2, updated_at = $2
             WHERE id = $3 AND status = 'open' RETURNING server_id, person_id",
        )
        .bind(status.key())
        .bind(now)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((server, person)) = closed {
            // A check-in closed without Confirm keeps no draft: the coach sees only that it
            // was skipped or ran out, never what was half said.
            if status != SessionStatus::Confirmed {
                sqlx::query("DELETE FROM checkin_answers WHERE session_id = $1")
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
            }
            wake_waiting!(tx, server, person, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(closed.is_some())
    })
    .context("closing a check-in")
}

/// Confirms an open session: writes its outcomes (step updates, barriers, barrier notes) and closes it, in
/// one transaction. False when it was not open (a second click writes nothing).
pub async fn confirm(
    db: &Db,
    session: &CheckinSession,
    outcomes: &[Outcome],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    confirm_with(db, session, outcomes, &[], now).await
}

/// [`confirm`], and in the same transaction: each answer about the person's growth goal
/// (`goal_notes`) becomes a note on it, and what was shared is queued for the school's team
/// feed when it has one (`domain::feed`).
pub async fn confirm_with(
    db: &Db,
    session: &CheckinSession,
    outcomes: &[Outcome],
    goal_notes: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let steps: Vec<(StepId, String)> = session
        .open_steps()?
        .into_iter()
        .map(|s| (s.id, s.title))
        .collect();
    let compose =
        |name: &str| crate::domain::feed::post(name, &session.flow_title, outcomes, &steps);
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE checkin_sessions SET status = 'confirmed', finished_at = $1, updated_at = $1 WHERE id = $2 AND status = 'open'",
        )
        .bind(now)
        .bind(session.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            for outcome in outcomes {
                match outcome {
                    Outcome::StepUpdate { step_id, note } => {
                        let touched = sqlx::query(
                            "UPDATE action_steps SET updated_at = $1 WHERE id = $2 AND server_id = $3",
                        )
                        .bind(now)
                        .bind(*step_id)
                        .bind(session.server_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if touched == 1 {
                            sqlx::query(
                                "INSERT INTO step_updates (step_id, author_id, at, kind, note, checkin_id)
                                 VALUES ($1, $2, $3, 'progress', $4, $5)",
                            )
                            .bind(*step_id)
                            .bind(session.person_id)
                            .bind(now)
                            .bind(note.clone())
                            .bind(session.id)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    Outcome::Barrier { step_id, category, text } => {
                        sqlx::query(
                            "INSERT INTO barriers (server_id, school_id, step_id, category, text, raised_by, raised_at, checkin_id)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(session.server_id)
                        .bind(session.school_id)
                        .bind(*step_id)
                        .bind(category.clone())
                        .bind(text.clone())
                        .bind(session.person_id)
                        .bind(now)
                        .bind(session.id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Outcome::BarrierNote { barrier_id, text } => {
                        // Only on the barrier of the check-in's own server and school.
                        sqlx::query(
                            "INSERT INTO barrier_notes (server_id, barrier_id, kind, text, author_id, at, checkin_id)
                             SELECT server_id, id, 'root_cause', $1, $2, $3, $4 FROM barriers
                             WHERE id = $5 AND server_id = $6 AND school_id = $7",
                        )
                        .bind(text.clone())
                        .bind(session.person_id)
                        .bind(now)
                        .bind(session.id)
                        .bind(*barrier_id)
                        .bind(session.server_id)
                        .bind(session.school_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            super::goals::note_in!(tx, session.server_id, session.person_id, goal_notes, now);
            if !outcomes.is_empty() {
                super::feed::queue_post!(tx, session, &compose, now);
            }
            wake_waiting!(tx, session.server_id, session.person_id, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed == 1)
    })
    .context("confirming a check-in")
}

/// A check-in that ran out of time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    pub id: i64,
    pub server_id: ServerId,
    pub person_id: UserId,
    /// Whether its first question had been queued (else it waited its whole time).
    pub started: bool,
}

/// What the person is told, once, when a check-in that had started runs out.
pub fn expired_notice(flow_title: &str) -> String {
    format!(
        "Your **{flow_title}** has closed: its time ran out before it was finished, so nothing from it was saved. Your coach can start a new one whenever you are ready."
    )
}

/// The outbox key of the notice that a check-in ran out: one per check-in, never sent twice.
pub fn expired_key(session_id: i64) -> String {
    format!("expired:{session_id}")
}

/// Closes open check-ins whose time ran out, deleting their draft answers; they count as
/// missed. In the same transaction: each person whose check-in had started (its first
/// question reached them) gets one notice
/// (an outbox row keyed by the check-in), and the scheduled check-ins waiting for it become
/// due. Returns the check-ins closed.
pub async fn expire_due(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Vec<Expired>> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let due: Vec<(i64, ServerId, UserId, String, i64)> = sqlx::query_as(
            "SELECT id, server_id, person_id, flow_title, prompts FROM checkin_sessions
             WHERE status = 'open' AND expires_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = Vec::new();
        for (id, server_id, person_id, flow_title, prompts) in due {
            let closed = sqlx::query(
                "UPDATE checkin_sessions SET status = 'expired', finished_at = $1, updated_at = $1
                 WHERE id = $2 AND status = 'open'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if closed == 0 {
                continue;
            }
            // The draft goes with it.
            sqlx::query("DELETE FROM checkin_answers WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // Only someone who was asked (the first question reached them) is told.
            let asked: Option<String> = sqlx::query_scalar(
                "SELECT status FROM outbox WHERE key = $1 AND status = 'sent'",
            )
            .bind(prompt_key(id, 1))
            .fetch_optional(&mut *tx)
            .await?;
            if prompts > 0 && asked.is_some() {
                // A DM to the person (a notice is for coaches).
                let notice = OutboxMessage::Message(crate::domain::outbox::Outgoing {
                    channel_id: None,
                    body: crate::domain::message::MessageBody {
                        content: expired_notice(&flow_title),
                        ..Default::default()
                    },
                    thread: None,
                });
                let row = NewRow::new(expired_key(id), server_id, Some(person_id), &notice, now)
                    .map_err(|error| sqlx::Error::Encode(error.into()))?;
                insert_row!(tx, &row, now)?;
            }
            wake_waiting!(tx, server_id, person_id, now)?;
            expired.push(Expired {
                id,
                server_id,
                person_id,
                started: prompts > 0,
            });
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(expired)
    })
    .context("expiring check-ins")
}

/// Records a scheduled check-in that never started (its outbox row `key`, done at once in the
/// same transaction), and why, for the coach's digest: only while `lease_owner`, the process
/// that claimed the row, still holds it ([`Finished::LeaseLost`] otherwise, nothing written).
pub async fn record_miss(
    db: &Db,
    row_id: i64,
    lease_owner: &str,
    miss: &Miss<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Finished> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let held = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, last_error = $2,
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $3 AND status = 'pending' AND lease_owner = $4",
        )
        .bind(now)
        .bind(format!("did not start: {}", miss.reason.key()))
        .bind(row_id)
        .bind(lease_owner.to_owned())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if held == 0 {
            tx.rollback().await?;
            return Ok(Finished::LeaseLost);
        }
        sqlx::query(
            "INSERT INTO checkin_misses (key, server_id, school_id, person_id, flow_title, due_at, reason, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING",
        )
        .bind(miss.key.to_owned())
        .bind(miss.server_id)
        .bind(miss.school_id)
        .bind(miss.person_id)
        .bind(miss.flow_title.to_owned())
        .bind(miss.due_at)
        .bind(miss.reason.key())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Finished::Recorded)
    })
    .context("recording a check-in that did not start")
}

/// A scheduled check-in that never started.
#[derive(Clone, Debug)]
pub struct Miss<'a> {
    /// The outbox key of the scheduled check-in.
    pub key: &'a str,
    pub server_id: ServerId,
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub flow_title: &'a str,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    pub reason: NotStarted,
}

pub use crate::domain::checkin::NotStarted;

/// Queues one nudge for each open check-in that has waited its hours without an answer,
/// marking it nudged in the same transaction. Returns the sessions nudged.
pub async fn nudge_due(db: &Db, now: DateTime<Utc>) -> anyhow::Result<Vec<i64>> {
    // "Quiet for its nudge hours", in each dialect's date arithmetic, so only the sessions due
    // are read (not every open one, every round).
    let quiet = match db {
        Db::Sqlite(_) => "julianday(updated_at) + nudge_hours / 24.0 <= julianday($1)",
        Db::Postgres(_) => "updated_at + nudge_hours * INTERVAL '1 hour' <= $1",
    };
    let select = format!(
        "SELECT id, server_id, person_id FROM checkin_sessions
         WHERE status = 'open' AND prompts > 0 AND nudged_at IS NULL AND expires_at > $1 AND {quiet}
         ORDER BY id"
    );
    let due: Vec<(i64, ServerId, UserId)> = on_backend!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
            .bind(now)
            .fetch_all(pool)
            .await
    })
    .context("finding check-ins to nudge")?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut nudged = Vec::new();
        for (id, server_id, person_id) in &due {
            // Another process may have nudged it since it was read: only the one that marks
            // it queues the nudge.
            let marked = sqlx::query(
                "UPDATE checkin_sessions SET nudged_at = $1
                 WHERE id = $2 AND status = 'open' AND nudged_at IS NULL",
            )
            .bind(now)
            .bind(*id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if marked == 0 {
                continue;
            }
            let (kind, payload) = OutboxMessage::Nudge { session_id: *id }
                .encode()
                .map_err(|e| sqlx::Error::Encode(e.into()))?;
            let row = NewRow {
                key: format!("nudge:{id}"),
                server_id: *server_id,
                person_id: Some(*person_id),
                kind,
                payload,
                not_before: now,
                held: None,
            };
            insert_row!(tx, &row, now)?;
            nudged.push(*id);
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(nudged)
    })
    .context("queueing nudges")
}

/// Forgets every stored DM channel id: for the sandbox, whose emulator hands out new channels
/// each time it starts (a stored id could name someone else's DM there). The prompt still
/// due is sent again in the new DM.
pub async fn forget_dm_channels(db: &Db) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE checkin_sessions SET dm_channel_id = NULL, last_message_id = NULL, prompted = NULL")
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE members SET dm_channel_id = NULL")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("forgetting DM channels")
}
