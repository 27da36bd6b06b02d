//! Everything coachbot holds about one person in one server, for their own copy
//! (`/privacy export`), read in one snapshot. Each query selects only what is the person's:
//! where a record is shared (a step they own, a session they were in, a barrier someone else
//! raised and they resolved) it says how they stand in it (`you_own`, `you_raised`) and never
//! who else is in it, nor what others wrote there.
//!
//! The rows serialize as the export's JSON records (field names are the documented keys).

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::audit::record_in;
use super::outbox::{NewRow, insert_row};
use super::{Backend, BeginWrite as _, Db, on_backend};
use crate::domain::ids::{CoachingSessionId, SchoolId, ServerId, StepId, UserId};
use crate::domain::privacy::AuditEntry;
use crate::domain::school::name_order_key;

/// Their member row: how the server knows them and how the bot reaches them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    pub display_name: String,
    /// The direct-message channel the bot writes to them in (a Discord id, as text).
    pub dm_channel_id: Option<String>,
    /// Since when their direct messages have been found closed, if they are.
    pub dms_closed_since: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A coachbot role they hold (from their Discord roles), for a school or the whole server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RoleRow {
    pub role: String,
    /// None: across the server.
    pub school: Option<String>,
}

/// A check-in they were asked (`started_by_you`: they started it themselves).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CheckinRow {
    pub checkin_id: i64,
    pub school: String,
    pub flow: String,
    pub status: String,
    pub started_by_you: bool,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One answer they gave; `draft` when its check-in is not confirmed (yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AnswerRow {
    pub checkin_id: i64,
    pub school: String,
    pub flow: String,
    pub draft: bool,
    pub question: i64,
    pub purpose: String,
    pub step_id: Option<StepId>,
    pub category: Option<String>,
    pub answer: String,
    /// `plan` (they shared it), `private` (them and their coach), `left out`, or
    /// `nothing in the way`.
    pub goes_to: String,
    /// For a general answer: the step it is about (`plan`: the plan as a whole).
    pub about: Option<String>,
    pub answered_at: DateTime<Utc>,
}

/// A step they own or wrote: its title and state, not who else owns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StepRow {
    pub step_id: StepId,
    pub school: String,
    pub indicator: String,
    pub title: String,
    pub status: String,
    pub due_on: NaiveDate,
    pub you_own: bool,
    pub you_created: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An entry they wrote in a step's log. For an (un)assignment `note` names whom only when it
/// was themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StepUpdateRow {
    pub update_id: i64,
    pub step_id: StepId,
    pub school: String,
    pub kind: String,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    pub note: Option<String>,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub checkin_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// A barrier they raised or resolved: its text when they raised it, the resolution when
/// they resolved it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BarrierRow {
    pub barrier_id: i64,
    pub school: String,
    pub step_id: Option<StepId>,
    pub category: String,
    pub text: Option<String>,
    pub you_raised: bool,
    pub raised_at: DateTime<Utc>,
    pub you_resolved: bool,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub checkin_id: Option<i64>,
}

/// A note they wrote on a barrier (a root cause, from a deep-dive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BarrierNoteRow {
    pub note_id: i64,
    pub barrier_id: i64,
    pub kind: String,
    pub text: String,
    pub checkin_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// A level they set on a school's focus indicator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LevelRow {
    pub level_id: i64,
    pub school: String,
    pub indicator: String,
    pub level: String,
    pub note: Option<String>,
    pub set_at: DateTime<Utc>,
}

/// A coaching session they were in or logged, without the other people in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: CoachingSessionId,
    #[serde(skip)]
    pub school_id: SchoolId,
    pub school: String,
    pub kind: String,
    pub held_on: NaiveDate,
    pub you_were_in_it: bool,
    pub you_logged_it: bool,
    pub shared_with_team: bool,
    pub worked_on: String,
    pub noticed: String,
    pub next_meeting_on: Option<NaiveDate>,
    pub logged_at: DateTime<Utc>,
}

/// A next step agreed in one of those sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AgreementRow {
    pub session_id: CoachingSessionId,
    pub position: i64,
    pub agreed: String,
    pub step_id: Option<StepId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct GoalRow {
    pub goal_id: i64,
    pub text: String,
    pub indicator: Option<String>,
    pub set_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct GoalNoteRow {
    pub goal_id: i64,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// A schedule about them (their check-ins, follow-ups, or their digest as a coach).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ScheduleRow {
    pub schedule_id: i64,
    pub school: Option<String>,
    pub kind: String,
    pub flow: Option<String>,
    pub step_id: Option<StepId>,
    pub spec: String,
    pub time_zone: String,
    pub paused: bool,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub created_by_you: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AwayRow {
    pub away_id: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub note: Option<String>,
    pub set_by_you: bool,
    pub created_at: DateTime<Utc>,
}

/// Something they asked not to get: `team feed` (their shared answers in the school's feed)
/// or `step reminders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OptOutRow {
    pub opted_out_of: String,
    pub since: DateTime<Utc>,
}

/// A scheduled check-in of theirs that could not start (`previous`: one was still open;
/// `elsewhere`: open in another server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MissRow {
    pub school: String,
    pub flow: String,
    pub due_at: DateTime<Utc>,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
}

/// A scheduled check-in of theirs skipped while they were away or the school on a break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SkipRow {
    pub schedule_id: i64,
    pub occurrence_at: DateTime<Utc>,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
}

/// Everything held about one person in one server, oldest first within each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holdings {
    /// The server's name as last seen.
    pub server_name: String,
    pub member: Vec<MemberRow>,
    pub roles: Vec<RoleRow>,
    pub checkins: Vec<CheckinRow>,
    pub answers: Vec<AnswerRow>,
    pub steps: Vec<StepRow>,
    pub step_updates: Vec<StepUpdateRow>,
    pub barriers: Vec<BarrierRow>,
    pub barrier_notes: Vec<BarrierNoteRow>,
    pub indicator_levels: Vec<LevelRow>,
    pub coaching_sessions: Vec<SessionRow>,
    pub session_agreements: Vec<AgreementRow>,
    pub growth_goals: Vec<GoalRow>,
    pub goal_notes: Vec<GoalNoteRow>,
    pub schedules: Vec<ScheduleRow>,
    pub away_periods: Vec<AwayRow>,
    pub opt_outs: Vec<OptOutRow>,
    pub checkin_misses: Vec<MissRow>,
    pub checkin_skips: Vec<SkipRow>,
}

impl Holdings {
    /// Keeps only the coaching sessions `may_read` allows (with their agreements): a person in
    /// a session reads it; one they logged but were not in, only while they may still read it.
    pub fn keep_sessions(&mut self, may_read: impl Fn(&SessionRow) -> bool) {
        self.coaching_sessions
            .retain(|s| s.you_were_in_it || may_read(s));
        let kept: Vec<CoachingSessionId> = self
            .coaching_sessions
            .iter()
            .map(|s| s.session_id)
            .collect();
        self.session_agreements
            .retain(|a| kept.contains(&a.session_id));
    }
}

/// The queries, each with `$1` the server and `$2` the person.
mod sql;
#[cfg(test)]
mod tests;

/// Reads everything held about `person` in `server_id`, from one snapshot of the database.
pub async fn of_person(db: &Db, server_id: ServerId, person: UserId) -> anyhow::Result<Holdings> {
    let postgres = db.backend() == Backend::Postgres;
    on_backend!(db, pool => {
        let mut tx = pool.begin().await?;
        if postgres {
            // One snapshot for every query below, as SQLite's read transaction gives.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        macro_rules! all {
            ($sql:expr) => {
                sqlx::query_as($sql)
                    .bind(server_id)
                    .bind(person)
                    .fetch_all(&mut *tx)
                    .await?
            };
        }
        let server_name: Option<String> =
            sqlx::query_scalar("SELECT name FROM servers WHERE id = $1")
                .bind(server_id)
                .fetch_optional(&mut *tx)
                .await?;
        let holdings = Holdings {
            server_name: server_name.unwrap_or_default(),
            member: all!(sql::MEMBER),
            roles: all!(sql::ROLES),
            checkins: all!(sql::CHECKINS),
            answers: all!(sql::ANSWERS),
            steps: all!(sql::STEPS),
            step_updates: all!(sql::STEP_UPDATES),
            barriers: all!(sql::BARRIERS),
            barrier_notes: all!(sql::BARRIER_NOTES),
            indicator_levels: all!(sql::LEVELS),
            coaching_sessions: all!(sql::SESSIONS),
            session_agreements: all!(sql::AGREEMENTS),
            growth_goals: all!(sql::GOALS),
            goal_notes: all!(sql::GOAL_NOTES),
            schedules: all!(sql::SCHEDULES),
            away_periods: all!(sql::AWAY),
            opt_outs: all!(sql::OPT_OUTS),
            checkin_misses: all!(sql::MISSES),
            checkin_skips: all!(sql::SKIPS),
        };
        tx.commit().await?;
        Ok::<_, sqlx::Error>(holdings)
    })
    .context("reading what is held about a person")
    .map(|mut holdings| {
        // Server-wide roles first, then by school in reading order: the engines' own orders
        // differ (where NULL goes, where "É" goes).
        holdings
            .roles
            .sort_by_cached_key(|r| (r.role.clone(), r.school.as_deref().map(name_order_key)));
        holdings
    })
}

/// Queues a person's copy, in one transaction: its messages (outbox rows, sent in this order),
/// the file each carries (`(row key, filename, bytes)`), and the audit entry that records it.
pub async fn queue_copy(
    db: &Db,
    server_id: ServerId,
    messages: &[NewRow],
    files: &[(String, String, Vec<u8>)],
    entry: &AuditEntry,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    on_backend!(db, pool => {
        let mut tx = pool.begin_write().await?;
        for row in messages {
            insert_row!(tx, row, now)?;
        }
        for (key, filename, bytes) in files {
            sqlx::query(
                "INSERT INTO outbox_files (outbox_key, filename, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT (outbox_key, filename) DO NOTHING",
            )
            .bind(key.clone())
            .bind(filename.clone())
            .bind(bytes.clone())
            .execute(&mut *tx)
            .await?;
        }
        record_in!(&mut *tx, server_id, entry).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
    .context("queueing a person's copy of their data")
}
