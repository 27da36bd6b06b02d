//! Check-in sessions and their answers. Every step of a conversation is a row, so a restart
//! resumes where it stopped; nothing becomes a step update or barrier until confirmed.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{BeginWrite as _, Db, db_id, on_backend};
pub use crate::domain::checkin::SessionStatus;
use crate::domain::checkin::{About, Answered, Mark};
use crate::domain::flow::Asked;
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};

mod close;
mod lapse;
mod prompt;
mod read;

pub use close::{confirm, confirm_with, finish};
pub use lapse::{
    Expired, Miss, NotStarted, expire_due, expired_key, expired_notice, nudge_due, record_miss,
};
pub use prompt::{Lease, prompt_key, queue_prompt};
pub use read::{
    all_open, answers, get, last_next_step, next_waiting, of_person, open_for, open_in,
    open_in_server,
};

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
use wake_waiting;

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

/// What a barrier answer is about: its category (from the flow's list).
pub async fn set_category(
    db: &Db,
    session_id: i64,
    position: usize,
    category: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let value = AnswerValue::Text(category.to_owned());
    set_answers(db, session_id, &[position], SET_CATEGORY, value, now)
        .await
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
    let value = AnswerValue::Int(i64::from(shared));
    set_answers(db, session_id, positions, SET_SHARED, value, now)
        .await
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
    let value = AnswerValue::Text(about.key());
    set_answers(db, session_id, &[position], SET_ABOUT, value, now)
        .await
        .context("saving which step an answer is about")
}

const SET_CATEGORY: &str =
    "UPDATE checkin_answers SET category = $1 WHERE session_id = $2 AND position = $3";
const SET_SHARED: &str =
    "UPDATE checkin_answers SET shared = $1 WHERE session_id = $2 AND position = $3";
const SET_ABOUT: &str =
    "UPDATE checkin_answers SET about = $1 WHERE session_id = $2 AND position = $3";

/// A value for one column of an answer.
enum AnswerValue {
    Text(String),
    Int(i64),
}

/// Sets the answers at `positions` to `value` by `sql` (one of the `SET_` texts above: `$1`
/// the value, `$2` the session, `$3` the position) and, in the same transaction,
/// makes the session's next prompt due again (it is worked out afresh from the answers).
async fn set_answers(
    db: &Db,
    session_id: i64,
    positions: &[usize],
    sql: &'static str,
    value: AnswerValue,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for position in positions {
            let query = match &value {
                AnswerValue::Text(text) => sqlx::query(sql).bind(text.clone()),
                AnswerValue::Int(number) => sqlx::query(sql).bind(*number),
            };
            query
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
    .map_err(anyhow::Error::from)
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
