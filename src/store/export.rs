//! Everything `/export` and `coachbot export` write out, read in one snapshot: the steps, their
//! owners and update logs, barriers with their root-cause notes, indicator levels and the
//! coaching cycle's stages of a school (or of every school), and
//! check-in answers only for those allowed to see them.

use std::collections::HashMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::barriers::{Barrier, BarrierNote};
use super::steps::ActionStep;
use super::{Backend, Db, on_backend};
use crate::domain::cycle::{Stage, StageEntry};
use crate::domain::ids::{SchoolId, ServerId, StepId, UserId};

/// Whose check-in answers an export carries. Answers go only to the person and their coach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answers {
    /// None at all.
    Withheld,
    /// Confirmed check-ins in the schools the person exporting coaches: these, or every
    /// school for a coach of all of them (`None`).
    Coached(Option<Vec<SchoolId>>),
    /// Every answer this person gave, confirmed or not (their own export).
    OfPerson(UserId),
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UpdateRow {
    pub id: i64,
    pub step_id: StepId,
    pub school_id: SchoolId,
    pub author_id: UserId,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    pub note: Option<String>,
    /// For an edit (`kind` 'edited'): which field changed, and from what to what.
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LevelRow {
    pub id: i64,
    pub school_id: SchoolId,
    pub indicator_id: String,
    pub level: String,
    pub note: Option<String>,
    pub set_by: UserId,
    pub set_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AnswerRow {
    pub session_id: i64,
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub flow_title: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub position: i64,
    pub purpose: String,
    pub step_id: Option<StepId>,
    pub category: Option<String>,
    pub answer: String,
    pub answered_at: DateTime<Utc>,
    /// 1 when the person shared it to the plan, 0 when they kept it private.
    pub shared: i64,
    pub mark: Option<String>,
    pub about: Option<String>,
}

/// The rows of one export, oldest first within each kind.
#[derive(Clone, Debug, Default)]
pub struct Records {
    /// School names by id.
    pub schools: HashMap<SchoolId, String>,
    /// Member display names by Discord user id.
    pub names: HashMap<UserId, String>,
    pub steps: Vec<ActionStep>,
    /// `(step id, user id)`.
    pub owners: Vec<(StepId, UserId)>,
    pub updates: Vec<UpdateRow>,
    pub barriers: Vec<Barrier>,
    /// Root-cause notes on those barriers, from barrier deep-dives.
    pub barrier_notes: Vec<BarrierNote>,
    pub levels: Vec<LevelRow>,
    pub answers: Vec<AnswerRow>,
    /// Each school's stages in the coaching cycle, its start (assess, when it was set up)
    /// first, oldest first.
    pub cycle: Vec<StageEntry>,
}

type CycleRow = (
    SchoolId,
    Stage,
    DateTime<Utc>,
    Option<UserId>,
    Option<String>,
);

type Gathered = (
    Vec<(SchoolId, String)>,
    Vec<(UserId, String)>,
    Vec<ActionStep>,
    Vec<(StepId, UserId)>,
    Vec<UpdateRow>,
    Vec<Barrier>,
    Vec<BarrierNote>,
    Vec<LevelRow>,
    Vec<AnswerRow>,
    Vec<CycleRow>,
);

const ANSWERS: &str = "SELECT s.id AS session_id, s.school_id, s.person_id, s.flow_title, s.status,
            s.started_at, a.position, a.purpose, a.step_id, a.category, a.answer, a.answered_at,
            a.shared, a.mark, a.about
     FROM checkin_answers a JOIN checkin_sessions s ON s.id = a.session_id
     WHERE s.server_id = $1 AND ($2 IS NULL OR s.school_id = $2)";

/// Reads the records of `school_id` (or of every school when None) in `server_id`, all from
/// one snapshot of the database.
pub async fn records(
    db: &Db,
    server_id: ServerId,
    school_id: Option<SchoolId>,
    answers: &Answers,
) -> anyhow::Result<Records> {
    let server = server_id;
    let postgres = db.backend() == Backend::Postgres;
    let gathered: Gathered = on_backend!(db, pool => {
        let mut tx = pool.begin().await?;
        if postgres {
            // One snapshot for every query below, as SQLite's read transaction gives.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let schools = sqlx::query_as(
            "SELECT id, name FROM schools WHERE server_id = $1 AND ($2 IS NULL OR id = $2)",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let names = sqlx::query_as("SELECT user_id, display_name FROM members WHERE server_id = $1")
            .bind(server)
            .fetch_all(&mut *tx)
            .await?;
        let steps = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{} WHERE s.server_id = $1 AND ($2 IS NULL OR s.school_id = $2) ORDER BY s.id",
            super::steps::SELECT
        )))
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let owners = sqlx::query_as(
            "SELECT o.step_id, o.user_id FROM step_owners o JOIN action_steps s ON s.id = o.step_id
             WHERE s.server_id = $1 AND ($2 IS NULL OR s.school_id = $2)
             ORDER BY o.step_id, o.user_id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let updates = sqlx::query_as(
            "SELECT u.id, u.step_id, s.school_id, u.author_id, u.at, u.kind, u.old_status,
                    u.new_status, u.note, u.field, u.old_value, u.new_value
             FROM step_updates u JOIN action_steps s ON s.id = u.step_id
             WHERE s.server_id = $1 AND ($2 IS NULL OR s.school_id = $2)
             ORDER BY u.at, u.id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let barriers = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{} WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2) ORDER BY raised_at, id",
            super::barriers::SELECT
        )))
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let barrier_notes = sqlx::query_as(
            "SELECT n.id, n.barrier_id, n.kind, n.text, n.author_id, n.at, n.checkin_id
             FROM barrier_notes n JOIN barriers b ON b.id = n.barrier_id
             WHERE n.server_id = $1 AND ($2 IS NULL OR b.school_id = $2)
             ORDER BY n.at, n.id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let levels = sqlx::query_as(
            "SELECT l.id, f.school_id, f.indicator_id, l.level, l.note, l.set_by, l.set_at
             FROM indicator_levels l JOIN focus_indicators f ON f.id = l.focus_id
             WHERE l.server_id = $1 AND ($2 IS NULL OR f.school_id = $2)
             ORDER BY l.set_at, l.id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        let answers: Vec<AnswerRow> = match answers {
            Answers::Withheld => Vec::new(),
            Answers::Coached(Some(coached)) if coached.is_empty() => Vec::new(),
            Answers::Coached(coached) => {
                let rows: Vec<AnswerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{ANSWERS} AND s.status = 'confirmed' ORDER BY s.started_at, s.id, a.position"
                )))
                .bind(server)
                .bind(school_id)
                .fetch_all(&mut *tx)
                .await?;
                rows.into_iter()
                    .filter(|r| coached.as_ref().is_none_or(|ids| ids.contains(&r.school_id)))
                    .collect()
            }
            Answers::OfPerson(person) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{ANSWERS} AND s.person_id = $3 ORDER BY s.started_at, s.id, a.position"
                )))
                .bind(server)
                .bind(school_id)
                .bind(*person)
                .fetch_all(&mut *tx)
                .await?
            }
        };
        // Every school starts at assess when it is set up; then come its moves.
        let cycle = sqlx::query_as(
            "SELECT school_id, stage, began_at, moved_by, note FROM (
                 SELECT id AS school_id, 'assess' AS stage, created_at AS began_at,
                        NULL AS moved_by, NULL AS note, 0 AS id
                 FROM schools WHERE server_id = $1 AND ($2 IS NULL OR id = $2)
                 UNION ALL
                 SELECT school_id, stage, began_at, moved_by, note, id FROM cycle_stages
                 WHERE server_id = $1 AND ($2 IS NULL OR school_id = $2)
             ) AS moves ORDER BY began_at, id",
        )
        .bind(server)
        .bind(school_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((
            schools,
            names,
            steps,
            owners,
            updates,
            barriers,
            barrier_notes,
            levels,
            answers,
            cycle,
        ))
    })
    .context("reading the records to export")?;
    let (schools, names, steps, owners, updates, barriers, barrier_notes, levels, answers, cycle) =
        gathered;
    Ok(Records {
        schools: schools.into_iter().collect(),
        names: names.into_iter().collect(),
        steps,
        owners,
        updates,
        barriers,
        barrier_notes,
        levels,
        answers,
        cycle: cycle
            .into_iter()
            .map(|(school_id, stage, began_at, moved_by, note)| StageEntry {
                school_id,
                stage,
                began_at,
                moved_by,
                note,
            })
            .collect(),
    })
}

/// The ids of the servers coachbot has records for, with their names.
pub async fn servers(db: &Db) -> anyhow::Result<Vec<(ServerId, String)>> {
    on_backend!(db, pool => {
        sqlx::query_as("SELECT id, name FROM servers ORDER BY name, id")
            .fetch_all(pool)
            .await
    })
    .context("listing servers")
}
